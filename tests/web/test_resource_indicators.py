"""RFC 8707 resource indicators over HTTP: ``resource`` at /oauth2/authorize, /oauth2/token and
/oauth2/par; the access token carries the resource as its audience and the LeadExec API
refuses a token made for another; consent names the resource. Hostile: an unknown resource,
a fragment, two resources, a token request changing the code's resource, a refresh trying
to, and a token for /mcp presented at /api/v1."""

from __future__ import annotations

import jwt
import pytest
from starlette.testclient import TestClient

from support.signin import ISSUER, sign_in
from web.oauth_flow import (
    Client,
    Pkce,
    auth_params,
    authorize,
    exchange,
    query_of,
    refresh,
    register,
)
from web.test_par import by_reference, push

API, MCP = ISSUER + "/api/v1", ISSUER + "/mcp"


def me(client: TestClient, token: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def flow(client: TestClient, c: Client, at_authorize: str | None, at_token: str | None):  # type: ignore[no-untyped-def]
    """Signed in already: authorize (naming ``at_authorize``), exchange (``at_token``)."""
    pkce = Pkce()
    extra = {"resource": at_authorize} if at_authorize else {}
    got = authorize(client, auth_params(c, pkce, **extra))
    return exchange(client, c, got["code"], pkce, **({"resource": at_token} if at_token else {}))


def test_consent_names_the_resource_and_an_mcp_token_is_refused_by_the_api(
    client: TestClient, world
) -> None:
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    page = client.get("/oauth2/authorize", params=auth_params(c, pkce, resource=MCP))
    assert page.status_code == 200
    assert f'data-resource="{MCP}"' in page.text and "LeadExec for AI assistants (MCP)" in page.text
    got = authorize(client, auth_params(c, pkce, resource=MCP))
    r = exchange(client, c, got["code"], pkce, resource=MCP)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    refused = me(client, r.json()["access_token"])  # type: ignore[attr-defined]
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("at_authorize", "at_token"),
    [(API, API), (API, None), (None, API), (None, None)],
    ids=["named at both", "named at authorize", "named at the token endpoint", "named nowhere"],
)
def test_a_token_for_the_api_works_at_the_api(
    client: TestClient, world, at_authorize, at_token
) -> None:
    c = register(world.services)
    sign_in(client)
    r = flow(client, c, at_authorize, at_token)
    assert r.status_code == 200, r.text
    assert me(client, r.json()["access_token"]).status_code == 200


def test_a_resource_named_only_at_the_token_endpoint_is_the_audience(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    r = flow(client, c, None, MCP)
    assert r.status_code == 200, r.text
    assert me(client, r.json()["access_token"]).status_code == 401


@pytest.mark.parametrize(
    "resource",
    ["https://evil.example/api/v1", ISSUER + "/api/v2", ISSUER + "/mcp#x", "/mcp", "x" * 600],
    ids=["another host", "an unknown path", "a fragment", "a relative URI", "an oversized one"],
)
def test_an_unknown_resource_is_sent_back_as_invalid_target(client, world, resource) -> None:
    c = register(world.services)
    sign_in(client)
    r = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), resource=resource),
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    got = query_of(r.headers["location"])
    assert got["error"] == "invalid_target" and got["state"] == "st-42"


def test_two_resources_are_refused_at_authorize_and_token(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    params = [*auth_params(c, Pkce()).items(), ("resource", API), ("resource", MCP)]
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert query_of(r.headers["location"])["error"] == "invalid_target"
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce))
    body = {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": c.redirect_uri,
            "code_verifier": pkce.verifier}  # fmt: skip
    form = "&".join(f"{k}={v}" for k, v in body.items()) + f"&resource={API}&resource={MCP}"
    r2 = client.post("/oauth2/token", content=form, auth=c.auth,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r2.status_code == 400 and r2.json()["error"] == "invalid_target"


def test_the_token_endpoint_cannot_change_the_codes_resource(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    r = flow(client, c, MCP, API)
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"
    unknown = flow(client, c, None, "https://evil.example/")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_target"


def test_a_refresh_keeps_the_resource_and_cannot_change_it(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    answer = flow(client, c, MCP, None).json()
    again = refresh(client, c, answer["refresh_token"])
    assert again.status_code == 200, again.text  # type: ignore[attr-defined]
    assert me(client, again.json()["access_token"]).status_code == 401  # type: ignore[attr-defined]
    moved = refresh(client, c, again.json()["refresh_token"], resource=API)  # type: ignore[attr-defined]
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_target"  # type: ignore[attr-defined]


def test_a_jwt_access_token_names_the_resource_as_its_audience(client, world) -> None:
    c = register(world.services, access_token_format="jwt")
    sign_in(client)
    token = flow(client, c, MCP, MCP).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == MCP
    assert me(client, token).status_code == 401
    api_token = flow(client, c, API, None).json()["access_token"]
    assert jwt.decode(api_token, options={"verify_signature": False})["aud"] == API
    assert me(client, api_token).status_code == 200


def test_a_pushed_request_names_the_resource(client, world) -> None:
    c = register(world.services)
    bad = push(client, c, auth_params(c, Pkce(), resource="https://evil.example/"))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_target"
    pkce = Pkce()
    r = push(client, c, auth_params(c, pkce, resource=MCP))
    assert r.status_code == 201, r.text
    sign_in(client)
    got = authorize(
        client, {**by_reference(c, r.json()["request_uri"]), "redirect_uri": c.redirect_uri}
    )
    answer = exchange(client, c, got["code"], pkce)
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert me(client, answer.json()["access_token"]).status_code == 401  # type: ignore[attr-defined]


def test_introspection_says_which_resource_a_token_is_for(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    token = flow(client, c, MCP, None).json()["access_token"]
    seen = client.post("/oauth2/introspect", data={"token": token}, auth=c.auth).json()
    assert seen["active"] is True and seen["aud"] == MCP
    plain = flow(client, c, None, None).json()["access_token"]
    assert "aud" not in client.post("/oauth2/introspect", data={"token": plain}, auth=c.auth).json()
