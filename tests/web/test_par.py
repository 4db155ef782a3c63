"""Pushed authorization requests (RFC 9126): ``/oauth2/par`` with client authentication
answers a ``request_uri`` (60 s, single use, bound to the client) that
``/oauth2/authorize?client_id&request_uri`` continues; a client may be registered to require
it; discovery says so. Hostile: a ``request_uri`` used twice, by another client, too late."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from leadexec_signin.core.pushed_requests import URN
from support.signin import ISSUER, sign_in
from web.oauth_flow import (
    Client,
    Pkce,
    auth_params,
    authorize,
    consent,
    exchange,
    query_of,
    register,
)


def push(client: TestClient, c: Client, params: dict[str, str], **extra: str):  # type: ignore[no-untyped-def]
    body = {k: v for k, v in params.items() if k != "client_id"} | extra
    return client.post("/oauth2/par", data=body, auth=c.auth)


def pushed(client: TestClient, c: Client, pkce: Pkce, **extra: str) -> str:
    r = push(client, c, auth_params(c, pkce, **extra))
    assert r.status_code == 201, r.text
    return r.json()["request_uri"]


def by_reference(c: Client, request_uri: str, **extra: str) -> dict[str, str]:
    return {"client_id": c.id, "request_uri": request_uri, **extra}


def test_a_pushed_request_is_answered_with_a_request_uri(client: TestClient, world) -> None:
    c = register(world.services)
    r = push(client, c, auth_params(c, Pkce()))
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["expires_in"] == 60 and body.keys() == {"request_uri", "expires_in"}
    assert body["request_uri"].startswith(URN) and len(body["request_uri"]) == len(URN) + 43


def test_the_request_uri_continues_to_a_code_that_redeems(client: TestClient, world) -> None:
    c = register(world.services)
    pkce = Pkce()
    request_uri = pushed(client, c, pkce)
    sign_in(client)
    got = authorize(client, {**by_reference(c, request_uri), "redirect_uri": c.redirect_uri})
    assert got["state"] == "st-42" and "code" in got
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]


def test_only_the_pushed_parameters_count(client: TestClient, world) -> None:
    c = register(world.services)
    request_uri = pushed(client, c, Pkce())
    sign_in(client)
    evil = by_reference(c, request_uri, state="forged", redirect_uri="https://evil.example/cb",
                        scope="openid settings")  # fmt: skip
    r = client.get("/oauth2/authorize", params=evil, follow_redirects=False)
    page = consent(client, r.text)
    location = page.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith(c.redirect_uri) and query_of(location)["state"] == "st-42"
    assert 'value="settings"' not in r.text


def test_the_sign_in_and_consent_carry_only_the_reference(client: TestClient, world) -> None:
    c = register(world.services)
    request_uri = pushed(client, c, Pkce())
    r = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    nxt = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    assert parse_qs(urlsplit(nxt).query).keys() == {"client_id", "request_uri"}
    sign_in(client)
    page = client.get(nxt)
    assert 'name="request_uri"' in page.text and 'name="redirect_uri"' not in page.text


def test_a_request_uri_used_twice_is_refused_and_shown_not_redirected(
    client: TestClient, world
) -> None:
    c = register(world.services)
    request_uri = pushed(client, c, Pkce())
    sign_in(client)
    authorize(client, {**by_reference(c, request_uri), "redirect_uri": c.redirect_uri})
    again = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                       follow_redirects=False)  # fmt: skip
    assert again.status_code == 400 and "location" not in again.headers
    assert "invalid_request_uri" in again.text


def test_an_error_sent_back_spends_the_request_uri(client: TestClient, world) -> None:
    """RFC 9126 section 4: one-time use, a refusal included: prompt=none with no session is
    answered login_required at the client, and the request_uri is then refused."""
    c = register(world.services)
    request_uri = pushed(client, c, Pkce(), prompt="none")
    r = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert query_of(r.headers["location"])["error"] == "login_required"
    sign_in(client)  # what would have let it through the first time
    again = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                       follow_redirects=False)  # fmt: skip
    assert again.status_code == 400 and "location" not in again.headers
    assert "invalid_request_uri" in again.text


def test_a_cancelled_consent_spends_the_request_uri(client: TestClient, world) -> None:
    c = register(world.services)
    request_uri = pushed(client, c, Pkce())
    sign_in(client)
    page = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                      follow_redirects=False)  # fmt: skip
    assert page.status_code == 200 and 'value="allow"' in page.text
    # The dialog may be shown again while the request is in progress (a reload)...
    reload = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                        follow_redirects=False)  # fmt: skip
    assert reload.status_code == 200 and 'value="allow"' in reload.text
    cancelled = consent(client, page.text, decision="cancel")
    location = cancelled.headers["location"]  # type: ignore[attr-defined]
    assert query_of(location)["error"] == "access_denied"
    # ...but not after its answer: neither a new presentation nor the dialog's Allow.
    again = client.get("/oauth2/authorize", params=by_reference(c, request_uri),
                       follow_redirects=False)  # fmt: skip
    assert again.status_code == 400 and "invalid_request_uri" in again.text
    allowed = consent(client, reload.text)
    assert allowed.status_code == 400 and "invalid_request_uri" in allowed.text  # type: ignore[attr-defined]


def test_a_request_uri_of_another_client_is_refused(client: TestClient, world) -> None:
    a, b = register(world.services), register(world.services)
    request_uri = pushed(client, a, Pkce())
    sign_in(client)
    r = client.get("/oauth2/authorize", params=by_reference(b, request_uri),
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 400 and "invalid_request_uri" in r.text
    # Its own client may still use it: the refusal spent nothing.
    got = authorize(client, {**by_reference(a, request_uri), "redirect_uri": a.redirect_uri})
    assert "code" in got


def test_a_request_uri_is_brought_within_60_seconds_then_lives_through_the_sign_in(
    client: TestClient, world
) -> None:
    clock = world.services.clock
    c = register(world.services)
    late = pushed(client, c, Pkce())
    clock.advance(seconds=61)
    r = client.get("/oauth2/authorize", params=by_reference(c, late), follow_redirects=False)
    assert r.status_code == 400 and "invalid_request_uri" in r.text
    in_time = pushed(client, c, Pkce())
    r = client.get("/oauth2/authorize", params=by_reference(c, in_time), follow_redirects=False)
    assert r.status_code == 303  # to the sign-in form
    clock.advance(seconds=300)  # a person signing in
    sign_in(client)
    assert "code" in authorize(client, {**by_reference(c, in_time), "redirect_uri": c.redirect_uri})


def test_a_made_up_or_foreign_request_uri_is_refused(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    for made_up in (URN + "A" * 43, URN + "short", URN):
        r = client.get("/oauth2/authorize", params=by_reference(c, made_up),
                       follow_redirects=False)  # fmt: skip
        assert r.status_code == 400 and "invalid_request_uri" in r.text
    # A request_uri that is not ours: request objects by reference are not supported.
    foreign = {**auth_params(c, Pkce()), "request_uri": "https://rp.example/request.jwt"}
    r = client.get("/oauth2/authorize", params=foreign, follow_redirects=False)
    assert query_of(r.headers["location"])["error"] == "request_uri_not_supported"


def test_the_par_endpoint_refuses_what_authorize_would(client: TestClient, world) -> None:
    c = register(world.services)
    params = auth_params(c, Pkce())
    cases = {
        "no client authentication": (client.post("/oauth2/par", data=params), 401),
        "a wrong secret": (client.post("/oauth2/par", data=params, auth=(c.id, "lesk_x")), 401),
        "a request_uri pushed": (push(client, c, params, request_uri=URN + "x"), 400),
        "an unregistered redirect_uri": (
            push(client, c, {**params, "redirect_uri": "https://evil.example/cb"}), 400),
        "no PKCE": (push(client, c, {k: v for k, v in params.items()
                                     if not k.startswith("code_challenge")}), 400),
        "another client_id": (push(client, c, params, client_id="app_" + "Z" * 22), 401),
        "a bad response_type": (push(client, c, {**params, "response_type": "token"}), 400),
        "parameters in the query string": (
            client.post("/oauth2/par?scope=openid", data=params, auth=c.auth), 400),
    }  # fmt: skip
    for name, (r, status) in cases.items():
        assert r.status_code == status, (name, r.text)
        assert r.headers["cache-control"] == "no-store", name
        assert r.json()["error"] in ("invalid_client", "invalid_request",
                                     "unsupported_response_type"), name  # fmt: skip
    assert client.get("/oauth2/par").status_code == 405


def test_a_client_that_requires_par_sends_nothing_else(client: TestClient, world) -> None:
    c = register(world.services, require_par=True)
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    answer = query_of(r.headers["location"])
    assert answer["error"] == "invalid_request" and "/oauth2/par" in answer["error_description"]
    request_uri = pushed(client, c, Pkce())
    assert "code" in authorize(client, {**by_reference(c, request_uri),
                                        "redirect_uri": c.redirect_uri})  # fmt: skip


def test_a_public_client_pushes_naming_itself(client: TestClient, world) -> None:
    c = register(world.services, secret=False)
    r = client.post("/oauth2/par", data={**auth_params(c, Pkce())})
    assert r.status_code == 201, r.text


def test_discovery_names_the_par_endpoint(client: TestClient) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["pushed_authorization_request_endpoint"] == ISSUER + "/oauth2/par"
    assert meta["require_pushed_authorization_requests"] is False
