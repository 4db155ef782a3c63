"""The LeadExec API as an MCP server at ``/mcp`` (Streamable HTTP), for AI assistants acting
with the user's consent. The protocol is the official MCP Python SDK's (``mcp`` on PyPI: the
reference implementation, kept by the protocol's authors, and the one whose client the tests
drive); the tools are the LeadExec API's two calls over the same checks as ``/api/v1``.

Access is checked here, before the SDK sees the request, as the LeadExec API checks it: the
token must be live and made for this resource (RFC 8707: its audience is ``/mcp``), and a
``tools/call`` needs the scope its tool does, else 403 ``insufficient_scope`` naming it, the
MCP authorization specification's step-up answer. Refusals carry ``resource_metadata`` (RFC
9728) like the API's. The server is stateless (a bearer token on every request, no MCP
session to keep between processes) and answers JSON, not an event stream.
"""

from __future__ import annotations

import contextvars
import functools
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from leadexec_signin.core import resources
from leadexec_signin.core.errors import InsufficientScope, InvalidRequest, InvalidToken
from leadexec_signin.core.scopes import user_settings
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.web.context import services
from leadexec_signin.web.dpop_http import resource_token
from leadexec_signin.web.leadexec_api.api_v1 import me_claims
from leadexec_signin.web.renderers import resource_renderer
from leadexec_signin.web.surfaces import refusal

if TYPE_CHECKING:
    # The SDK is imported at the first MCP request (``build_server``): it is 0.46 s of a
    # process's 1.3 s start-up, paid by every server process and command that never answers
    # /mcp.
    from mcp.server.mcpserver import MCPServer
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

PATH = resources.MCP
MAX_BODY = 64 * 1024
# The scope each tool needs, checked before the call (the API's: /api/v1/me, /settings).
TOOL_SCOPES = {"get_settings": "settings"}
# What a 401 tells a client to ask for: what whoami needs. The MCP authorization
# specification has clients take the challenge's scope before the metadata's
# scopes_supported, which lists every scope (account, settings) and would make an agent ask
# for more than an unreviewed client may have; get_settings' 403 asks for settings itself.
BASE_SCOPE = "profile email"
RENDER = resource_renderer(resources.MCP, BASE_SCOPE)
# The caller of this request, for the tools; set before the SDK runs them (its tasks start
# from this request's context).
CALLER: contextvars.ContextVar[tuple[AccessToken, GrantContext]] = contextvars.ContextVar(
    "leadexec_mcp_caller"
)


def build_server() -> MCPServer:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        "LeadExec",
        instructions="The signed-in LeadExec user's profile and settings, with their consent.",
    )

    @server.tool(name="whoami", description="The user's LeadExec profile, as the token allows.")
    def whoami() -> dict[str, Any]:
        access, ctx = CALLER.get()
        return me_claims(access, ctx)

    @server.tool(name="get_settings", description="The user's LeadExec settings.")
    def get_settings() -> dict[str, Any]:
        access, ctx = CALLER.get()
        if "settings" not in access.scopes:  # checked before the call too
            raise InsufficientScope("settings")
        return user_settings(ctx.user)

    return server


class McpEndpoint:
    """A pure ASGI app in front of the SDK's Streamable HTTP handler."""

    @functools.cached_property
    def security(self) -> TransportSecuritySettings:
        from mcp.server.transport_security import TransportSecuritySettings

        # Bearer tokens, never cookies: a rebinding attack has no credential to borrow, and
        # the host is the issuer's whatever proxy is in front.
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)

    @functools.cached_property
    def server(self) -> MCPServer:
        # Built at the first MCP request, not with the app: describing the tools (their JSON
        # schemas, by pydantic) is most of an app's construction, and most apps a process
        # builds (the tests make hundreds) never answer /mcp. Two first requests at once would
        # each build one, the same.
        return build_server()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            body = await self._body(request)
            caller = await self._authenticate(request)
            _check_scope(body, caller[0])
        except Exception as exc:
            await refusal(RENDER, request, exc)(scope, receive, send)
            return
        CALLER.set(caller)
        manager = self._manager()
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async with manager.run():
            await manager.handle_request(scope, replay, send)

    def _manager(self) -> StreamableHTTPSessionManager:
        """A Streamable HTTP handler for one request: stateless, so nothing outlives it, and
        no lifespan to run (the live servers and the tests run without one). Made through the
        SDK's public API: ``streamable_http_app()`` makes the server's session manager and
        ``session_manager`` hands it out; nothing is awaited in between, so another request
        on this event loop cannot swap it. (The Starlette app it also returns is not used:
        access is checked here, before the SDK.)"""
        self.server.streamable_http_app(
            streamable_http_path=PATH,
            json_response=True,
            stateless_http=True,
            transport_security=self.security,
        )
        return self.server.session_manager

    @staticmethod
    async def _body(request: Request) -> bytes:
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            raise InvalidRequest("The request is too large.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise InvalidRequest("The request is too large.")
        return body

    @staticmethod
    async def _authenticate(request: Request) -> tuple[AccessToken, GrantContext]:
        token, proof = resource_token(request)
        if not token:
            raise InvalidToken("Send the access token as Authorization: Bearer TOKEN.")
        return await services(request).placement.check(token, proof, served=resources.MCP)


def routes() -> list[Route]:
    # POST only: GET would open an event stream (held open until the client leaves) and
    # DELETE end a session; a stateless server offers neither, so both are 405 (the
    # Streamable HTTP transport allows a server to refuse GET so).
    return [Route(PATH, McpEndpoint(), methods=["POST"])]


def _check_scope(body: bytes, access: AccessToken) -> None:
    """A ``tools/call`` without its tool's scope: 403, the challenge naming the scope."""
    try:
        message = json.loads(body) if body else None
    except ValueError:
        return  # the SDK answers a parse error in JSON-RPC's words
    calls = message if isinstance(message, list) else [message]
    for call in calls:
        if not isinstance(call, dict) or call.get("method") != "tools/call":
            continue
        params = call.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        needed = TOOL_SCOPES.get(name) if isinstance(name, str) else None
        if needed is not None and needed not in access.scopes:
            raise InsufficientScope(needed)
        if name == "whoami" and not user_claims_of(access):
            raise InsufficientScope("profile")


def user_claims_of(access: AccessToken) -> bool:
    """Whether the token releases any profile field (the API's /me refuses otherwise)."""
    return bool({"profile", "email", "account"} & access.scopes)
