"""The rules of development mode, without storage: which origins are loopback, who a status
serves, and the secret a rotation keeps for its grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadexec_signin.core import credentials
from leadexec_signin.core.apps import is_loopback_origin, normalize_origin, serves_user

LOOPBACK = ["http://localhost:3000", "http://localhost", "http://127.0.0.1:9000",
            "http://[::1]:8080", "http://[::1]"]  # fmt: skip
NOT_LOOPBACK = [
    "https://localhost:3000",  # development mode is plain http on the developer's machine
    "http://localhost:3000/",
    "http://LOCALHOST:3000",
    "http://localhost.evil.com",
    "http://sub.localhost:3000",
    "http://127.0.0.1.evil:9000",
    "http://localhost:99999",
    "http://a@localhost:3000",
    "http://localhost:3000@evil.com",
    "http://[::2]:80",
    "http://localhost:",
    "http://localhost:3000?x",
]


@pytest.mark.parametrize("origin", LOOPBACK)
def test_a_loopback_origin_is_recognised(origin: str) -> None:
    assert is_loopback_origin(origin)


@pytest.mark.parametrize("origin", NOT_LOOPBACK)
def test_anything_else_is_not_loopback(origin: str) -> None:
    assert not is_loopback_origin(origin)


def test_the_ipv6_loopback_registers_as_browsers_write_it() -> None:
    assert normalize_origin("http://[::1]:8080") == "http://[::1]:8080"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    assert is_loopback_origin(normalize_origin("http://[::1]:8080"))


@pytest.mark.parametrize(
    ("status", "owner", "user", "served"),
    [
        ("approved", "usr_a", "usr_b", True),
        ("pending", "usr_a", "usr_a", True),
        ("pending", "usr_a", "usr_b", False),
        ("pending", None, "usr_a", False),
        ("suspended", "usr_a", "usr_a", False),
    ],
    ids=["approved serves everyone", "pending serves its owner", "pending serves no one else",
         "pending without an owner serves no one", "suspended serves no one"],
)  # fmt: skip
def test_who_a_status_serves(status: str, owner: str | None, user: str, served: bool) -> None:
    assert serves_user(status, owner, user) is served


def test_the_previous_secret_works_until_its_grace_ends() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old, new = "lesk_old-secret-xxxxxxxxxxxx", "lesk_new-secret-xxxxxxxxxxxx"
    current, previous = credentials.token_hash(new), credentials.token_hash(old)
    until = now + timedelta(hours=1)

    def matches(raw: str, at: datetime, prev: str | None = previous) -> bool:
        return credentials.secret_matches(raw, current, prev, until if prev else None, at)

    assert matches(new, now) and matches(old, now)
    assert matches(new, until) and not matches(old, until)
    assert not matches(old, now, prev=None) and not matches("lesk_guess-xxxxxxxxxxxxxxx", now)
