"""JSONP callback injection at ``/api/revoke`` (OWASP ASVS V13.1): only a
JavaScript identifier path of at most 64 characters is ever written into the script, anything
else is a 400 that revokes nothing, and the answer cannot be sniffed as another type."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from support.refusals import refused_seed
from support.signin import authorize, sign_in

INJECTIONS = {
    "a call with a comment": "alert(1)//",
    "two statements": "a;b",
    "a unicode escape": "\\u0061lert",
    "a hex escape": "\\x61lert",
    "a full-width letter": "\uff41lert",
    "a line separator": "a\u2028b",
    "a newline": "a\nb",
    "a space": "a b",
    "a call": "a.b()",
    "an index": "a[0]",
    "an assignment": "a=alert",
    "a comma": "a,alert",
    "an empty segment": "a..b",
    "a leading dot": ".a",
    "a trailing dot": "a.",
    "a leading digit": "1a",
    "markup": "<script>alert(1)</script>",
    "a block comment": "/**/alert",
    "an arrow function": "(()=>alert(1))",
    "a NUL": "a\x00b",
    "an empty name": "",
    "65 characters": "a" * 65,
}


@pytest.fixture
def refresh(client: TestClient, world) -> str:
    sign_in(client)
    return authorize(client, world.btn_id)["refreshToken"]  # type: ignore[return-value]


def still_valid(client: TestClient, world, refresh: str) -> None:
    r = client.get("/api/token", params={"appId": world.app_id, "refreshToken": refresh})
    assert r.status_code == 200, "a refused JSONP request revoked the grant"


@pytest.mark.parametrize("callback", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_an_injected_callback_is_a_400_in_json_that_revokes_nothing(
    client: TestClient, world, refresh: str, callback: str
) -> None:
    r = client.get("/api/revoke", params={"token": refresh, "callback": callback})
    refused_seed(r, 400, "invalid_request")
    assert "callback must be a JavaScript identifier path" in r.json()["errorMessage"]
    still_valid(client, world, refresh)


def test_a_10_kb_callback_in_a_form_body_is_a_400(client: TestClient, world, refresh) -> None:
    r = client.post("/api/revoke", data={"token": refresh, "callback": "a" * 10_240})
    refused_seed(r, 400, "invalid_request")
    still_valid(client, world, refresh)


def test_a_10_kb_callback_in_the_address_is_refused_before_parsing(
    client: TestClient, world, refresh
) -> None:
    """Over the 8 KB address limit the middleware answers first: 414, same error code."""
    r = client.get("/api/revoke", params={"token": refresh, "callback": "a" * 10_240})
    refused_seed(r, 414, "invalid_request")
    still_valid(client, world, refresh)


def test_a_callback_sent_twice_is_a_400(client: TestClient, world, refresh) -> None:
    r = client.get(f"/api/revoke?token={refresh}&callback=ok&callback=alert(1)//")
    refused_seed(r, 400, "invalid_request")
    still_valid(client, world, refresh)


@pytest.mark.parametrize("callback", ["cb", "jQuery3600_17", "a.b.$c", "$", "_" * 64])
def test_an_accepted_callback_cannot_be_sniffed_as_html_or_flash(
    client: TestClient, refresh: str, callback: str
) -> None:
    r = client.get("/api/revoke", params={"token": refresh, "callback": callback})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    # The body starts with a comment, never with attacker-chosen bytes (Rosetta Flash).
    assert r.text.startswith(f"/**/ typeof {callback} === 'function' && {callback}(")
    assert '"valid": true' in r.text


def test_jsonp_output_escapes_line_separators_in_data(client: TestClient) -> None:
    """JSON allows U+2028 in strings and old JavaScript engines end a line there."""
    r = client.get("/api/revoke", params={"token": "ler_\u2028" + "x" * 40, "callback": "cb"})
    assert r.status_code == 200
    assert "\u2028" not in r.text and "\u2029" not in r.text
    assert '"error": "invalid_grant"' in r.text
