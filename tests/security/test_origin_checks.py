"""Origin checks of the popup, the silent iframe and the consent Allow (RFC 9700 section 4.1,
RFC 6819 section 4.4.1.8): a page that is not exactly a registered origin gets no token.

Every case starts from a user who is signed in and has already allowed the button from
``PARTNER``, so the popup and the silent check would hand out tokens at once; the only thing
standing between a look-alike page and those tokens is the origin check under test.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from support.refusals import page_code, refused_page
from support.signin import OTHER_PARTNER, PARTNER, csrf_of, open_popup, result_of, sign_in

# A look-alike the server can parse as an origin: it is told "origin_not_allowed" (no secret)
# at the exact origin it claimed, which is not the registered one.
NOT_REGISTERED = {
    "a look-alike host with the port": "http://127.0.0.1.evil:9000",
    "a look-alike host without a port": "http://127.0.0.1.evil",
    "a different port": "http://127.0.0.1:9002",
    "the port with a leading zero": "http://127.0.0.1:09000",
    "a different scheme": "https://127.0.0.1:9000",
    "a trailing dot on the host": "http://127.0.0.1.:9000",
    "localhost for 127.0.0.1": "http://localhost:9000",
    "a prefix on the host": "http://x127.0.0.1:9000",
    "an unregistered partner": OTHER_PARTNER,
}
# Not an origin at all: nowhere safe to post even an error, so nothing is posted.
UNPARSEABLE = {
    "a trailing slash": "http://127.0.0.1:9000/",
    "uppercase": "HTTP://127.0.0.1:9000",
    "an uppercase host": "http://LOCALHOST:9000",
    "the null origin of a sandboxed frame": "null",
    "credentials before a look-alike host": "http://127.0.0.1:9000@evil.example",
    "a path after the origin": "http://127.0.0.1:9000/callback",
    "a javascript: URL": "javascript:alert(document.domain)",
    "a data: URL": "data:text/html,<script>alert(1)</script>",
    "a file: URL": "file:///etc/passwd",
    "leading whitespace": " http://127.0.0.1:9000",
    "a wildcard": "*",
}
_FRAME_ANCESTORS = re.compile(r"frame-ancestors ([^;]+)")


def frame_ancestors(r: object) -> str:
    found = _FRAME_ANCESTORS.search(r.headers["content-security-policy"])  # type: ignore[attr-defined]
    assert found
    return found.group(1).strip()


def no_token_anywhere(text: str) -> None:
    assert "ler_" not in text and "lea_" not in text and "lec_" not in text


def test_the_registered_origin_gets_tokens_posted_to_itself_only(
    client: TestClient, world, granted
) -> None:
    """Control: without this, every refusal below could be a broken flow."""
    r = open_popup(client, world.btn_id, PARTNER)
    assert r.status_code == 200
    assert f'data-target="{PARTNER}"' in r.text
    assert result_of(r.text)["result"]["refreshToken"].startswith("ler_")
    silent = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    )
    assert silent.status_code == 200
    assert result_of(silent.text)["result"]["authToken"].startswith("lea_")
    assert frame_ancestors(silent) == PARTNER


@pytest.mark.parametrize("origin", NOT_REGISTERED.values(), ids=NOT_REGISTERED.keys())
def test_popup_from_an_unregistered_origin_gets_origin_not_allowed(
    client: TestClient, world, granted, origin: str
) -> None:
    r = open_popup(client, world.btn_id, origin)
    assert r.status_code == 400  # a refusal, still posted to the claimed origin
    message = result_of(r.text)
    assert message["result"]["error"] == "origin_not_allowed"
    assert message["result"]["valid"] is False
    assert f'data-target="{origin}"' in r.text
    no_token_anywhere(r.text)
    assert frame_ancestors(r) == "'none'"


@pytest.mark.parametrize("origin", UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_popup_with_an_unparseable_origin_is_a_400_that_posts_nothing(
    client: TestClient, world, granted, origin: str
) -> None:
    r = open_popup(client, world.btn_id, origin)
    refused_page(r, 400, "invalid_request")
    assert 'id="le-result"' not in r.text
    no_token_anywhere(r.text)


@pytest.mark.parametrize("origin", NOT_REGISTERED.values(), ids=NOT_REGISTERED.keys())
def test_silent_check_from_an_unregistered_origin_fails_and_frames_only_there(
    client: TestClient, world, granted, origin: str
) -> None:
    r = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": origin, "state": "s"}
    )
    assert r.status_code == 200  # immediate_failed: told in the result, as to a signed-out visitor
    result = result_of(r.text)["result"]
    assert result["error"] == "immediate_failed" and result["valid"] is False
    assert "(origin_not_allowed)" in result["errorMessage"]
    no_token_anywhere(r.text)
    # Only the page that claimed this origin may frame the answer; never the real partner's.
    assert frame_ancestors(r) == origin


@pytest.mark.parametrize("origin", UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_silent_check_with_an_unparseable_origin_cannot_be_framed(
    client: TestClient, world, granted, origin: str
) -> None:
    r = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": origin, "state": "s"}
    )
    refused_page(r, 400, "immediate_failed")
    assert 'id="le-result"' not in r.text
    assert frame_ancestors(r) == "'none'"
    assert r.headers["x-frame-options"] == "DENY"
    no_token_anywhere(r.text)


def consent_form(client: TestClient, btn_id: str) -> str:
    r = open_popup(client, btn_id, PARTNER)
    assert r.status_code == 200 and 'value="allow"' in r.text
    return r.text


def allow_from(client: TestClient, html: str, btn_id: str, origin: str) -> object:
    scopes = re.search(r'name="scopes" value="([^"]*)"', html)
    assert scopes
    return client.post(
        "/signin/authorize",
        data={
            "csrf": csrf_of(html),
            "btnId": btn_id,
            "origin": origin,
            "state": "s",
            "scopes": scopes.group(1),
            "decision": "allow",
        },
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    "origin",
    [*NOT_REGISTERED.values(), *UNPARSEABLE.values()],
    ids=[*NOT_REGISTERED.keys(), *UNPARSEABLE.keys()],
)
def test_allow_with_a_swapped_origin_creates_no_grant_and_no_token(
    client: TestClient, world, origin: str
) -> None:
    """The consent form was shown for PARTNER; an Allow that names another origin (a page
    that edited the form, or replayed it) must not grant or deliver anything."""
    sign_in(client)
    html = consent_form(client, world.btn_id)
    r = allow_from(client, html, world.btn_id, origin)
    if origin in NOT_REGISTERED.values():
        assert r.status_code == 400
        assert result_of(r.text)["result"]["error"] == "origin_not_allowed"
    else:
        refused_page(r, 400, "invalid_request")
    no_token_anywhere(r.text)
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_an_origin_registered_for_another_app_does_not_open_this_one(
    client: TestClient, world, granted
) -> None:
    other_app, _ = world.app(origins=(OTHER_PARTNER,), name="Other")
    r = open_popup(client, world.btn_id, OTHER_PARTNER)
    assert r.status_code == 400
    assert result_of(r.text)["result"]["error"] == "origin_not_allowed"
    no_token_anywhere(r.text)
    # And that app's own button from its own origin still works (the refusal is the origin).
    assert open_popup(client, world.button("profile", other_app), OTHER_PARTNER).status_code == 200


def test_the_origin_parameter_cannot_be_sent_twice(client: TestClient, world, granted) -> None:
    r = client.get(
        f"/signin/authorize?btnId={world.btn_id}&origin=http://127.0.0.1.evil:9000"
        f"&origin={PARTNER}&state=s"
    )
    refused_page(r, 400, "invalid_request")
    no_token_anywhere(r.text)
    assert page_code(r.text) == "invalid_request"
