"""The addresses and password the suite shares, and the sign-in popup driven over HTTP (any
``httpx.Client`` whose ``base_url`` is the issuer: Starlette's TestClient or a live server)."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

ISSUER = "http://127.0.0.1:8000"
PARTNER = "http://127.0.0.1:9000"
OTHER_PARTNER = "http://127.0.0.1:9001"
PASSWORD = "correct horse battery"
# Every field of the authorization object a callback receives (docs/sdk.md).
RESULT_FIELDS = frozenset(
    {"valid", "error", "errorMessage", "immediate", "appId", "btnId", "scopes",
     "refreshToken", "authToken", "expireDate", "user"}
)  # fmt: skip

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_RESULT = re.compile(r'<script id="le-result"[^>]*>(.*?)</script>', re.S)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def result_of(html: str) -> dict[str, object]:
    """The message the result page posts to its opener: {source, state, result}."""
    found = _RESULT.search(html)
    assert found, "page carries no result"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def sign_in(client: TestClient, email: str = "ann@example.com", password: str = PASSWORD) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def open_popup(
    client: TestClient, btn_id: str, origin: str = PARTNER, state: str = "st-1"
) -> object:
    return client.get(
        "/signin/authorize",
        params={"btnId": btn_id, "origin": origin, "state": state},
        follow_redirects=False,
    )


def decide(
    client: TestClient, consent_html: str, decision: str, btn_id: str, origin: str = PARTNER
) -> object:
    scopes = re.search(r'name="scopes" value="([^"]*)"', consent_html)
    state = re.search(r'name="state" value="([^"]*)"', consent_html)
    return client.post(
        "/signin/authorize",
        data={
            "csrf": csrf_of(consent_html),
            "btnId": btn_id,
            "origin": origin,
            "state": state.group(1) if state else "",
            "scopes": scopes.group(1) if scopes else "",
            "decision": decision,
        },
        follow_redirects=False,
    )


def authorize(client: TestClient, btn_id: str, origin: str = PARTNER) -> dict[str, object]:
    """Sign-in already done: open the popup, Allow if asked, return the authorization object."""
    r = open_popup(client, btn_id, origin)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    html = r.text  # type: ignore[attr-defined]
    if 'value="allow"' in html:
        html = decide(client, html, "allow", btn_id, origin).text  # type: ignore[attr-defined]
    return result_of(html)["result"]  # type: ignore[return-value]
