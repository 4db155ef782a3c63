"""The plain ``GET /api/token`` call skips the router (``HotTokenPath``): it must answer every
case exactly as the route does. Each request is sent twice, once plain (the fast path) and once
with an empty ``code`` parameter, which the route ignores but which sends the request past the
fast path; status, body (but the freshly minted token) and headers must match."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from leadexec_signin.web.leadexec_api import api_v1
from leadexec_signin.web.leadexec_api.token import HotTokenPath
from support.signin import ISSUER, authorize, sign_in

FRESH = {"authToken", "expireDate"}  # minted anew on every exchange
PER_REQUEST = {"x-request-id", "content-length", "date"}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each request went the fast way."""
    seen: list[bool] = []
    plain = HotTokenPath._plain

    def spy(self: HotTokenPath, scope: dict[str, object]) -> object:
        found = plain(self, scope)
        if scope.get("path") == "/api/token":
            seen.append(found is not None)
        return found

    posted = HotTokenPath._posted

    async def spy_posted(self: HotTokenPath, scope: dict[str, object], receive: object) -> object:
        found, replay = await posted(self, scope, receive)  # type: ignore[arg-type]
        seen.append(found is not None)
        return found, replay

    monkeypatch.setattr(HotTokenPath, "_plain", spy)
    monkeypatch.setattr(HotTokenPath, "_posted", spy_posted)
    yield seen


def both(client: TestClient, params: dict[str, str], method: str = "GET") -> tuple[object, object]:
    if method == "POST":
        fast = client.post("/api/token", data=params)
        routed = client.post("/api/token", data={**params, "code": ""})
    else:
        fast = client.get("/api/token", params=params)
        routed = client.get("/api/token", params={**params, "code": ""})
    return fast, routed


def same_answer(fast, routed) -> None:  # type: ignore[no-untyped-def]
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    a, b = fast.json(), routed.json()
    assert {k: v for k, v in a.items() if k not in FRESH} == {
        k: v for k, v in b.items() if k not in FRESH
    }
    assert set(a) == set(b)
    ha = {k: v for k, v in fast.headers.items() if k not in PER_REQUEST}
    hb = {k: v for k, v in routed.headers.items() if k not in PER_REQUEST}
    # The two requests may fall either side of a second: Retry-After counts down.
    wait_a, wait_b = ha.pop("retry-after", None), hb.pop("retry-after", None)
    assert (wait_a is None) == (wait_b is None)
    if wait_a is not None and wait_b is not None:
        assert abs(int(wait_a) - int(wait_b)) <= 1, (wait_a, wait_b)
    assert ha == hb


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_fast_path_answers_every_case_as_the_route_does(
    client: TestClient, world, taken: list[bool], method: str
) -> None:
    sign_in(client)
    refresh = str(authorize(client, world.btn_id)["refreshToken"])
    cases = {
        "a good exchange": {"appId": world.app_id, "refreshToken": refresh},
        "an unknown refresh token": {"appId": world.app_id, "refreshToken": "ler_" + "x" * 43},
        "a malformed refresh token": {"appId": world.app_id, "refreshToken": "nope"},
        "a malformed appId": {"appId": "app_<script>", "refreshToken": refresh},
        "another application's id": {"appId": "app_" + "A" * 22, "refreshToken": refresh},
        "a secret the app does not have": {
            "appId": world.app_id, "refreshToken": refresh, "appSecret": "lesk_wrong",
        },
    }  # fmt: skip
    for name, params in cases.items():
        taken.clear()
        fast, routed = both(client, params, method)
        assert taken == [True, False], name
        same_answer(fast, routed)
    good = client.get("/api/token", params=cases["a good exchange"]).json()
    assert good["valid"] is True and good["authToken"].startswith("lea_")
    # The access token from the fast path works on the API.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {good['authToken']}"})
    assert me.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "appId=a&appId=b&refreshToken=x",  # a parameter twice
        "refreshToken=x",  # no appId
        "appId=a",  # no refresh token
        "appId=a&refreshToken=" + "x" * 600,  # over-long
        "appId=a&code=c",  # hardened delivery's code
        "appId=a&refreshToken=x&pad=" + "y" * 9000,  # a long address (414)
    ],
)
def test_anything_unusual_goes_to_the_route(
    client: TestClient, taken: list[bool], query: str
) -> None:
    r = client.get("/api/token?" + query)
    assert taken == [False]
    assert r.status_code in (400, 401, 414) and r.json()["valid"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"appId=a&appId=b&refreshToken=x"),
        ("application/x-www-form-urlencoded", b"appId=a&refreshToken=" + b"x" * 3000),  # large
        ("application/x-www-form-urlencoded", b"appId=a&refreshToken=\xff\xfe"),  # not UTF-8
        ("application/json", b'{"appId": "a", "refreshToken": "x"}'),
        ("text/plain", b"appId=a&refreshToken=x"),
    ],
)
def test_an_unusual_post_goes_to_the_route_with_its_body(
    client: TestClient, taken: list[bool], content_type: str, body: bytes
) -> None:
    r = client.post("/api/token", content=body, headers={"Content-Type": content_type})
    assert taken == [False]
    assert r.status_code in (400, 401) and r.json()["valid"] is False, r.text


def test_a_post_with_a_query_goes_to_the_route(client: TestClient, world, taken) -> None:
    r = client.post("/api/token?appId=x", data={"appId": world.app_id, "refreshToken": "nope"})
    assert taken == [False]
    assert r.json()["error"] == "invalid_request"  # appId sent twice


def test_a_refused_fast_exchange_is_rate_limited_like_the_route(
    settings: Settings, clock, world, taken: list[bool]
) -> None:
    services = build(settings.with_changes(token_limit_per_ip="2/minute"), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            params = {"appId": world.app_id, "refreshToken": "ler_" + "x" * 43}
            fast = [client.get("/api/token", params=params) for _ in range(3)]
            routed = client.get("/api/token", params={**params, "code": ""})
    finally:
        services.close()
    assert [r.status_code for r in fast] == [400, 400, 429]
    assert taken == [True, True, True, False]
    same_answer(fast[2], routed)  # the limit counts both ways alike
    assert int(fast[2].headers["retry-after"]) >= 1


# -- GET /api/v1/me (``HotMePath``): sent plain (the fast path) and with a query the route
# ignores (which sends it past the fast path); status, body and headers must match.


@pytest.fixture
def me_fast(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What answered each /me request the fast way (the route answers through its surface)."""
    seen: list[str] = []
    real_send, real_refusal = api_v1.send_json, api_v1.refusal

    async def spy_send(*args: object) -> None:
        seen.append("answer")
        await real_send(*args)  # type: ignore[arg-type]

    def spy_refusal(*args: object) -> object:
        seen.append("refusal")
        return real_refusal(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(api_v1, "send_json", spy_send)
    monkeypatch.setattr(api_v1, "refusal", spy_refusal)
    yield seen


def test_the_fast_me_answers_every_case_as_the_route_does(
    client: TestClient, world, me_fast: list[str]
) -> None:
    sign_in(client)
    good = authorize(client, world.btn_id)
    other_app, _ = world.app(name="Other")
    settings_only = authorize(client, world.button("settings", world.app(name="Third")[0]))
    revoked = authorize(client, world.button("profile", other_app))
    assert client.get("/api/revoke", params={"token": revoked["refreshToken"]}).status_code == 200
    cases = {
        "a good token": f"Bearer {good['authToken']}",
        "no header": None,
        "basic auth": "Basic dXNlcjpwYXNz",
        "an empty token": "Bearer ",
        "an unknown token": "Bearer lea_" + "A" * 43,
        "a refresh token": f"Bearer {good['refreshToken']}",
        "a token without a releasing scope": f"Bearer {settings_only['authToken']}",
        "a revoked grant's token": f"Bearer {revoked['authToken']}",
    }
    for name, header in cases.items():
        headers = {"Authorization": header} if header is not None else {}
        me_fast.clear()
        fast = client.get("/api/v1/me", headers=headers)
        assert me_fast == ["answer" if name == "a good token" else "refusal"], name
        routed = client.get("/api/v1/me?via=route", headers=headers)
        assert len(me_fast) == 1, name  # the second went to the route
        assert fast.status_code == routed.status_code, (name, fast.text, routed.text)
        assert fast.json() == routed.json(), name
        ha = {k: v for k, v in fast.headers.items() if k not in PER_REQUEST}
        hb = {k: v for k, v in routed.headers.items() if k not in PER_REQUEST}
        assert ha == hb, name
    assert (
        client.get("/api/v1/me", headers={"Authorization": cases["a good token"]}).json()["id"]
        == world.user_id
    )
