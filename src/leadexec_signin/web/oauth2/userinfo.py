"""``/oauth2/userinfo`` (OpenID Connect Core section 5.3): the claims an access token's
scopes release, for a bearer token of either surface that carries ``openid``. GET or POST,
the token in the Authorization header or, for POST, in the form (RFC 6750 section 2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.web.context import services
from leadexec_signin.web.oauth2.params import read_form

CORS = {"Access-Control-Allow-Origin": "*"}


async def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    from_header = value.strip() if scheme.lower() == "bearer" else None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await read_form(request)
        if form.get("access_token"):
            if from_header:
                raise InvalidRequest("Send the access token once, not in two places.")
            return form["access_token"]
    return from_header


async def userinfo(request: Request) -> Response:
    token = await bearer_token(request)
    claims = await services(request).placement.userinfo(token)
    return JSONResponse(claims, headers={"Cache-Control": "no-store", **CORS})


async def preflight(request: Request) -> Response:
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


routes = [
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/userinfo", preflight, methods=["OPTIONS"]),
]
