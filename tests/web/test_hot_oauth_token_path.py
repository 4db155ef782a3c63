"""``POST /oauth2/token`` skips the router (``web/oauth2/token.py``'s ``HotTokenPath``): every
case must be answered exactly as the routed endpoint answers it. Each request is sent twice,
once the fast way and once with the fast path turned away (the routes then answer); status,
body (but the freshly minted tokens) and headers must match."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from leadexec_signin.web.oauth2.token import HotTokenPath
from support.signin import PARTNER, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, register, tokens

FRESH = {"access_token", "refresh_token", "id_token"}  # minted anew on every exchange
PER_REQUEST = {"x-request-id", "content-length", "date"}


def send(client: TestClient, fast: bool, monkeypatch: pytest.MonkeyPatch, **request: object):  # type: ignore[no-untyped-def]
    taken: list[bool] = []
    real = HotTokenPath._takes

    def spy(scope):  # type: ignore[no-untyped-def]
        takes = real(scope) and fast
        taken.append(takes)
        return takes

    with monkeypatch.context() as m:
        m.setattr(HotTokenPath, "_takes", staticmethod(spy))
        r = client.request("POST", "/oauth2/token", **request)  # type: ignore[arg-type]
    assert taken == [fast]
    return r


def same_answer(fast, routed) -> None:  # type: ignore[no-untyped-def]
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    a, b = fast.json(), routed.json()
    assert set(a) == set(b)
    assert {k: v for k, v in a.items() if k not in FRESH} == {
        k: v for k, v in b.items() if k not in FRESH
    }
    ha = {k: v for k, v in fast.headers.items() if k not in PER_REQUEST}
    hb = {k: v for k, v in routed.headers.items() if k not in PER_REQUEST}
    assert ha == hb


def test_every_refusal_is_answered_as_the_route_answers_it(
    client: TestClient, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = register(world.services, origins=(PARTNER,))
    sign_in(client)
    token = tokens(client, c)["refresh_token"]
    auth = (c.id, c.secret or "")
    form = {"grant_type": "refresh_token", "refresh_token": token}
    cases: dict[str, dict[str, object]] = {
        "a good refresh, from a registered origin": {
            "data": form, "auth": auth, "headers": {"Origin": PARTNER},
        },
        "a wrong secret": {"data": form, "auth": (c.id, "nope")},
        "no client at all": {"data": form},
        "an unknown refresh token": {
            "data": {**form, "refresh_token": "ler_" + "x" * 43}, "auth": auth,
        },
        "a wider scope": {"data": {**form, "scope": "openid settings"}, "auth": auth},
        "an unknown grant type": {"data": {**form, "grant_type": "password"}, "auth": auth},
        "no grant type": {"data": {"refresh_token": token}, "auth": auth},
        "a JSON body": {"json": form, "auth": auth},
        "a body too large": {"data": {**form, "pad": "x" * 70_000}, "auth": auth},
        "a broken DPoP proof": {"data": form, "auth": auth, "headers": {"DPoP": "not.a.jwt"}},
        "two client authentications": {
            "data": {**form, "client_id": c.id, "client_secret": "x"}, "auth": auth,
        },
    }  # fmt: skip
    for name, request in cases.items():
        fast = send(client, True, monkeypatch, **request)
        routed = send(client, False, monkeypatch, **request)
        same_answer(fast, routed)
        assert (fast.status_code == 200) == name.startswith("a good"), (name, fast.text)


def test_a_code_exchange_and_a_rotation_are_answered_as_the_route_answers_them(
    client: TestClient, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = register(world.services, rotate_refresh_tokens=True)
    sign_in(client)
    answers = []
    for fast in (True, False):
        pkce = Pkce()
        code = authorize(client, auth_params(c, pkce))["code"]
        data = {
            "grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
            "code_verifier": pkce.verifier,
        }  # fmt: skip
        issued = send(client, fast, monkeypatch, data=data, auth=(c.id, c.secret or ""))
        refresh = {"grant_type": "refresh_token", "refresh_token": issued.json()["refresh_token"]}
        rotated = send(client, fast, monkeypatch, data=refresh, auth=(c.id, c.secret or ""))
        answers.append((issued, rotated))
    (fast_code, fast_rotation), (routed_code, routed_rotation) = answers
    same_answer(fast_code, routed_code)
    same_answer(fast_rotation, routed_rotation)
    assert fast_rotation.status_code == 200


def test_the_preflight_and_other_methods_go_to_the_routes(client: TestClient) -> None:
    preflight = client.options(
        "/oauth2/token",
        headers={"Origin": PARTNER, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "POST"
    get = client.get("/oauth2/token")
    assert get.status_code == 405 and get.json()["error"] == "method_not_allowed"
    assert get.headers["allow"] == "POST"
