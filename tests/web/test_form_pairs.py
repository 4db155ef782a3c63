"""The seed API's form and query parser (``form_pairs``) gives exactly what ``parse_qsl`` gives,
pairs and refusals, for any text: its shortcut for texts with nothing escaped must not change
an answer."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leadexec_signin.web.leadexec_api.params import form_pairs

TEXT = st.text(alphabet="ab=&%+;2F é\x00", max_size=40)


def parsed(text: str, max_fields: int | None) -> object:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError as exc:
        return type(exc)


def ours(text: str, max_fields: int | None) -> object:
    try:
        return form_pairs(text, max_fields)
    except ValueError as exc:
        return type(exc)


@given(TEXT, st.one_of(st.none(), st.integers(1, 6)))
@example("appId=a&refreshToken=b&&x&=y&z=", None)
@example("a=1&b=2&c=3", 2)
@example("a=1&b=2", 2)
def test_the_same_pairs_and_refusals_as_parse_qsl(text: str, max_fields: int | None) -> None:
    assert ours(text, max_fields) == parsed(text, max_fields)


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("appId=app_1&refreshToken=ler_a-b_c", [("appId", "app_1"), ("refreshToken", "ler_a-b_c")]),
        ("appId=a%20b&x=1+2", [("appId", "a b"), ("x", "1 2")]),
        ("appId&=v&k=a=b", [("appId", ""), ("", "v"), ("k", "a=b")]),
    ],
    ids=["a plain call", "escapes and pluses decoded", "blank values and a second equals sign"],
)
def test_pairs(text: str, pairs: list[tuple[str, str]]) -> None:
    assert form_pairs(text) == pairs
