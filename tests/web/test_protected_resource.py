"""RFC 9728 Protected Resource Metadata over HTTP: the documents of the LeadExec API, of /mcp
and of the issuer itself; the API's 401 and 403 say where its metadata is, in the Bearer and
the DPoP form; a client that starts from the 401 finds the authorization server and gets a
token that works. Hostile: another method, an unknown path."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from leadexec_signin.core.dpop import ALGS
from support.signin import ISSUER, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, register

WELL_KNOWN = ISSUER + "/.well-known/oauth-protected-resource"
API_METADATA = WELL_KNOWN + "/api/v1"


@pytest.mark.parametrize(
    ("path", "name"),
    [("/api/v1", "LeadExec API"), ("/mcp", "LeadExec for AI assistants (MCP)"), ("", "LeadExec")],
    ids=["the LeadExec API", "the MCP endpoint", "the issuer itself"],
)
def test_each_resource_describes_itself(client: TestClient, path: str, name: str) -> None:
    r = client.get("/.well-known/oauth-protected-resource" + path)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    doc = r.json()
    # Section 3.3: the resource is exactly the URL the well-known address was made from.
    assert doc["resource"] == ISSUER + path and doc["resource_name"] == name
    assert doc["authorization_servers"] == [ISSUER]
    assert doc["scopes_supported"] == ["profile", "email", "account", "settings", "offline_access"]
    assert doc["bearer_methods_supported"] == ["header"]
    assert doc["dpop_signing_alg_values_supported"] == list(ALGS)


def challenge_of(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers["www-authenticate"]))


@pytest.mark.parametrize(
    ("path", "headers", "status", "error"),
    [
        ("/api/v1/me", {}, 401, "invalid_token"),
        ("/api/v1/settings", {"Authorization": "Bearer lea_nope"}, 401, "invalid_token"),
        ("/api/v1/me?x=1", {"Authorization": "Bearer lea_nope"}, 401, "invalid_token"),
    ],
    ids=["no token (the hot path)", "a bad token", "a bad token (the routed path)"],
)
def test_the_apis_refusals_say_where_its_metadata_is(client, path, headers, status, error) -> None:
    r = client.get(path, headers=headers)
    assert r.status_code == status
    assert r.headers["www-authenticate"].startswith("Bearer ")
    assert challenge_of(r) == {
        "realm": "LeadExec", "error": error, "resource_metadata": API_METADATA,
    }  # fmt: skip


def test_a_dpop_refusal_says_it_too(client: TestClient) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": "DPoP lea_nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("DPoP ")
    got = challenge_of(r)
    assert got["error"] == "invalid_dpop_proof" and got["resource_metadata"] == API_METADATA
    assert got["algs"] == " ".join(ALGS)


def test_an_insufficient_scope_says_it_too(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, "openid profile"))
    token = exchange(client, c, got["code"], pkce).json()["access_token"]  # type: ignore[attr-defined]
    r = client.get("/api/v1/settings", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert challenge_of(r)["scope"] == "settings"
    assert challenge_of(r)["resource_metadata"] == API_METADATA


@pytest.mark.parametrize("which", ["the API's metadata", "the issuer's metadata"])
def test_a_client_starting_from_the_401_gets_a_token_that_works(client, world, which) -> None:
    """The path MCP clients take: the challenge, the resource's metadata, the authorization
    server's (RFC 8414), then the code flow naming the resource the metadata named."""
    where = challenge_of(client.get("/api/v1/me"))["resource_metadata"]
    if which == "the issuer's metadata":
        where = WELL_KNOWN  # a client that falls back to the bare well-known name
    doc = client.get(where.removeprefix(ISSUER)).json()
    server = doc["authorization_servers"][0]
    found = client.get(server.removeprefix(ISSUER) + "/.well-known/oauth-authorization-server")
    assert found.json()["issuer"] == server
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, resource=doc["resource"]))
    answer = exchange(client, c, got["code"], pkce, resource=doc["resource"])
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    token = answer.json()["access_token"]  # type: ignore[attr-defined]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_hostile_requests_for_metadata_are_refused(client: TestClient) -> None:
    assert client.post("/.well-known/oauth-protected-resource/api/v1").status_code == 405
    r = client.get("/.well-known/oauth-protected-resource/api/v2")
    assert r.status_code == 404
