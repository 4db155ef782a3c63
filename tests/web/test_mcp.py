"""The /mcp endpoint (Streamable HTTP) driven by the official MCP Python SDK's client, with an
access token obtained through the real flow (authorize with resource=/mcp, consent, code,
token): it lists and calls the tools, which answer as /api/v1 does. Hostile: no token, a
token for the LeadExec API, a call without its tool's scope, an oversized body."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from starlette.testclient import TestClient

from support.signin import ISSUER, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, register

MCP = ISSUER + "/mcp"
METADATA = ISSUER + "/.well-known/oauth-protected-resource/mcp"


def token_for(client: TestClient, world, resource: str, scope: str) -> str:  # type: ignore[no-untyped-def]
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, scope, resource=resource))
    r = exchange(client, c, got["code"], pkce, resource=resource)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    return str(r.json()["access_token"])  # type: ignore[attr-defined]


def session_run(client: TestClient, token: str, calls: list[tuple[str, dict[str, Any]]]):  # type: ignore[no-untyped-def]
    """The SDK's client over HTTP to the app: initialize, list the tools, call each."""

    async def run() -> tuple[list[str], list[Any]]:
        http = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=client.app),
            headers={"Authorization": f"Bearer {token}"},
        )
        async with http, streamable_http_client(MCP, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = [t.name for t in (await session.list_tools()).tools]
                results = [await session.call_tool(name, args) for name, args in calls]
        return tools, results

    return asyncio.run(run())


def test_the_sdk_client_lists_and_calls_the_tools(client: TestClient, world) -> None:
    token = token_for(client, world, MCP, "profile email settings")
    tools, (whoami, settings) = session_run(client, token, [("whoami", {}), ("get_settings", {})])
    assert sorted(tools) == ["get_settings", "whoami"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401  # a token for /mcp is not the API's
    assert not whoami.is_error and whoami.structured_content["name"] == "Ann Example"
    assert json.loads(whoami.content[0].text)["email"] == "ann@example.com"
    assert not settings.is_error and "timezone" in settings.structured_content


def challenge_of(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(re.findall(r'(\w+)="([^"]*)"', r.headers["www-authenticate"]))


INIT = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_settings", "arguments": {}}}  # fmt: skip
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_no_token_is_a_401_that_points_to_the_metadata(client: TestClient) -> None:
    r = client.post("/mcp", json=INIT, headers=HEADERS)
    assert r.status_code == 401
    assert challenge_of(r)["resource_metadata"] == METADATA
    assert challenge_of(r)["error"] == "invalid_token"
    # What to ask for (RFC 6750 section 3): what whoami needs, not every scope there is.
    assert challenge_of(r)["scope"] == "profile email"


def test_a_token_for_the_api_is_refused_at_mcp(client: TestClient, world) -> None:
    for resource in (ISSUER + "/api/v1", None):
        c = register(world.services)
        sign_in(client)
        pkce = Pkce()
        extra = {"resource": resource} if resource else {}
        got = authorize(client, auth_params(c, pkce, "profile settings", **extra))
        token = exchange(client, c, got["code"], pkce).json()["access_token"]  # type: ignore[attr-defined]
        r = client.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and challenge_of(r)["error"] == "invalid_token"


def test_a_call_without_its_scope_is_a_403_naming_it(client: TestClient, world) -> None:
    token = token_for(client, world, MCP, "profile")
    r = client.post("/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    got = challenge_of(r)
    assert (got["error"], got["scope"], got["resource_metadata"]) == (
        "insufficient_scope", "settings", METADATA,
    )  # fmt: skip


@pytest.mark.parametrize("size", [70 * 1024])
def test_an_oversized_body_is_refused(client: TestClient, world, size: int) -> None:
    token = token_for(client, world, MCP, "profile")
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * size + b'"}}'
    r = client.post("/mcp", content=body, headers={**HEADERS, "Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    # A stateless server opens no event stream and has no session to end.
    auth = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    assert client.get("/mcp", headers=auth).status_code == 405
    assert client.delete("/mcp", headers=auth).status_code == 405


def test_a_revoked_grant_stops_the_agent(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, "profile offline_access", resource=MCP))
    answer = exchange(client, c, got["code"], pkce).json()  # type: ignore[attr-defined]
    auth = {**HEADERS, "Authorization": f"Bearer {answer['access_token']}"}
    call = {**INIT, "params": {"name": "whoami", "arguments": {}}}
    assert client.post("/mcp", json=call, headers=auth).status_code == 200
    client.post("/oauth2/revoke", data={"token": answer["refresh_token"]}, auth=c.auth)
    r = client.post("/mcp", json=call, headers=auth)
    assert r.status_code == 401 and challenge_of(r)["error"] == "invalid_token"
