"""The LeadExec API called on the user's behalf with ``Authorization: Bearer`` (docs/api.md,
RFC 6750). Tokens are accepted only in the header, never in the query string."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import InsufficientScope, InvalidToken
from leadexec_signin.core.scopes import user_claims, user_settings
from leadexec_signin.core.tokens import AccessToken, TokenContext
from leadexec_signin.web.context import call_read, services


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("Send the authToken as Authorization: Bearer AUTH_TOKEN.")
    return value.strip()


async def authenticate(request: Request) -> tuple[AccessToken, TokenContext]:
    return await call_read(request, services(request).api.check_access_token, bearer(request))


async def me(request: Request) -> Response:
    access, ctx = await authenticate(request)
    claims = user_claims(ctx.user, access.scopes)
    if not claims:
        raise InsufficientScope("profile")
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})


async def settings(request: Request) -> Response:
    access, ctx = await authenticate(request)
    if "settings" not in access.scopes:
        raise InsufficientScope("settings")
    return JSONResponse(user_settings(ctx.user), headers={"Cache-Control": "no-store"})


routes = [
    Route("/me", me, methods=["GET"]),
    Route("/settings", settings, methods=["GET"]),
]
