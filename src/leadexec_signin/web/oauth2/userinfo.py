"""``/oauth2/userinfo`` (OpenID Connect Core section 5.3): the claims an access token's
scopes release, for a bearer token of either surface that carries ``openid``. GET or POST,
the token in the Authorization header or, for POST, in the form (RFC 6750 section 2.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.dpop import DpopPresented
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.web.context import services
from leadexec_signin.web.dpop_http import resource_token
from leadexec_signin.web.oauth2.params import read_form

CORS = {"Access-Control-Allow-Origin": "*"}


async def access_token(request: Request) -> tuple[str | None, DpopPresented | None]:
    from_header, proof = resource_token(request)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await read_form(request)
        if form.get("access_token"):
            if from_header or proof:
                raise InvalidRequest("Send the access token once, not in two places.")
            return form["access_token"], None
    return from_header, proof


async def userinfo(request: Request) -> Response:
    token, proof = await access_token(request)
    claims = await services(request).placement.userinfo(token, proof)
    return JSONResponse(claims, headers={"Cache-Control": "no-store", **CORS})


async def preflight(request: Request) -> Response:
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, DPoP",
            "Access-Control-Max-Age": "600",
        },
    )


routes = [
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/userinfo", preflight, methods=["OPTIONS"]),
]
