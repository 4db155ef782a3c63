"""``/api/revoke``: the seed's disconnect as JSON and JSONP, and its hostile inputs."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from support.signin import authorize, open_popup, sign_in


@pytest.fixture
def tokens(client: TestClient, world) -> dict[str, object]:
    sign_in(client)
    return authorize(client, world.btn_id)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_revoke_as_json(client, world, tokens, method) -> None:
    if method == "GET":
        r = client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    else:
        r = client.post("/api/revoke", data={"token": tokens["refreshToken"]})
    assert r.status_code == 200
    assert r.json() == {"valid": True, "errorMessage": None, "error": None}
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_revoking_twice_says_the_token_is_gone(client, tokens) -> None:
    client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    r = client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    assert r.status_code == 400
    assert r.json()["valid"] is False and r.json()["error"] == "invalid_grant"


def test_revoking_an_access_token_revokes_its_grant(client, world, tokens) -> None:
    r = client.post("/api/revoke", json={"token": tokens["authToken"]})
    assert r.status_code == 200
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": tokens["refreshToken"]}
    )
    assert r.json()["error"] == "invalid_grant"


def test_jsonp_errors_reach_the_callback(client) -> None:
    r = client.get("/api/revoke", params={"token": "ler_nope", "callback": "jQuery123_456"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.text.startswith("/**/")
    assert '"valid": false' in r.text and '"error": "invalid_grant"' in r.text


@pytest.mark.parametrize(
    "callback",
    [
        "alert(1)//",
        "a;b",
        "a b",
        "a-b",
        "1abc",
        "a..b",
        ".a",
        "a.",
        "\\u0061lert",
        "caf\u00e9",
        "a\nb",
        "cb\n",
        "<script>",
        "x" * 65,
        "x" * 10_000,
        "",
    ],
    ids=[
        "a call and comment",
        "a statement separator",
        "a space",
        "a dash",
        "a leading digit",
        "an empty path segment",
        "a leading dot",
        "a trailing dot",
        "a unicode escape",
        "a non-ascii letter",
        "a newline",
        "a trailing newline",
        "markup",
        "65 characters",
        "10 KB",
        "an empty name",
    ],
)
def test_bad_jsonp_callbacks_are_refused(client, tokens, callback) -> None:
    r = client.get("/api/revoke", params={"token": tokens["refreshToken"], "callback": callback})
    if len(callback) > 512:
        assert r.status_code in (400, 414)
    else:
        assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "invalid_request"
    # Nothing was revoked by a refused request.
    assert 'value="allow"' not in open_popup(client, tokens["btnId"]).text


@pytest.mark.parametrize(
    "callback",
    ["cb", "$", "_private", "window.handlers.onRevoke", "jQuery3600123_1699999999", "a" * 64],
)
def test_good_jsonp_callbacks_are_accepted(client, callback) -> None:
    r = client.get("/api/revoke", params={"token": "ler_unknown-token-x", "callback": callback})
    assert r.status_code == 200 and f"{callback}(" in r.text


def test_revoke_needs_a_token(client) -> None:
    r = client.get("/api/revoke")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_revoke_refuses_a_repeated_token(client, tokens) -> None:
    r = client.get(f"/api/revoke?token={tokens['refreshToken']}&token=ler_other")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_an_expired_access_token_cannot_revoke_its_grant(client, world, tokens, clock) -> None:
    """An expired access token proves nothing any more, even before the sweep deletes it."""
    clock.advance(minutes=61)
    r = client.get("/api/revoke", params={"token": tokens["authToken"]})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert [g.grant.app_id for g in world.services.accounts.connected_apps(world.user_id)] == [
        world.app_id
    ]
    live = client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    assert live.json() == {"valid": True, "errorMessage": None, "error": None}
