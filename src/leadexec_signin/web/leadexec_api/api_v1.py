"""The LeadExec API called on the user's behalf with ``Authorization: Bearer`` (docs/api.md,
RFC 6750) or ``Authorization: DPoP`` with a proof (RFC 9449 section 7). Tokens are accepted
only in the header, never in the query string."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core import resources
from leadexec_signin.core.errors import InsufficientScope, InvalidToken
from leadexec_signin.core.scopes import user_claims, user_settings
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.web.context import services
from leadexec_signin.web.dpop_http import resource_token
from leadexec_signin.web.renderers import resource_renderer
from leadexec_signin.web.surfaces import refusal, send_json


async def authenticate(request: Request) -> tuple[AccessToken, GrantContext]:
    token, proof = resource_token(request)
    if not token:
        raise InvalidToken("Send the authToken as Authorization: Bearer AUTH_TOKEN.")
    return await services(request).placement.check(token, proof)


def me_claims(access: AccessToken, ctx: GrantContext) -> dict[str, object]:
    claims = user_claims(ctx.user, access.scopes)
    if not claims:
        raise InsufficientScope("profile")
    return claims


async def me(request: Request) -> Response:
    access, ctx = await authenticate(request)
    return JSONResponse(me_claims(access, ctx), headers={"Cache-Control": "no-store"})


async def settings(request: Request) -> Response:
    access, ctx = await authenticate(request)
    if "settings" not in access.scopes:
        raise InsufficientScope("settings")
    return JSONResponse(user_settings(ctx.user), headers={"Cache-Control": "no-store"})


routes = [
    Route("/me", me, methods=["GET"]),
    Route("/settings", settings, methods=["GET"]),
]
NO_STORE = ((b"cache-control", b"no-store"),)
RENDER = resource_renderer(resources.API)  # the surface's own renderer (web/app.py)


class HotMePath:
    """``GET /api/v1/me`` with a bearer token and no query, the call partners make most,
    answered without Starlette's routing levels, request and response objects; anything else
    goes on to the route above, and a refusal is answered as the route's surface answers it
    (``resource_renderer``), so both give the same answers."""

    PATH = "/api/v1/me"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != self.PATH
            or scope["method"] != "GET"
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        scope["route"], scope["endpoint"] = routes[0], me  # the metrics' route label
        request = Request(scope, receive)
        try:
            access, ctx = await authenticate(request)
            claims = me_claims(access, ctx)
        except Exception as exc:
            await refusal(RENDER, request, exc)(scope, receive, send)
            return
        await send_json(send, claims, NO_STORE)
