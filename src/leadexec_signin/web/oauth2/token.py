"""``/oauth2/token`` (RFC 6749 section 3.2), ``/oauth2/revoke`` (RFC 7009) and
``/oauth2/introspect`` (RFC 7662): a form in, JSON out, never cached.

CORS: a single-page app (a public client) calls the token endpoint from its own origin, so an
answer to a client names that origin when the client registered it (client-based CORS, as
node-oidc-provider does). A form POST needs no preflight; the preflight below is for clients
that send an Authorization header.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core.actions.client_auth import presented
from leadexec_signin.core.actions.grant_handlers.device_code import GRANT_TYPE as DEVICE_CODE
from leadexec_signin.core.actions.token_answers import scope_order
from leadexec_signin.core.actions.token_endpoint import OAUTH
from leadexec_signin.core.actions.token_step import Issued, TokenRequest
from leadexec_signin.web.context import call, services
from leadexec_signin.web.dpop_http import proof_header, url_of
from leadexec_signin.web.metrics import Exchanges
from leadexec_signin.web.oauth2.oauth_renderer import NO_STORE, render_oauth
from leadexec_signin.web.oauth2.params import basic_credentials, read_form
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.surfaces import ANSWER, MAX_QUERY_BYTES, refusal

EXCHANGES = Exchanges("oauth2", ("authorization_code", "refresh_token", DEVICE_CODE))
PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, DPoP",
    "Access-Control-Max-Age": "600",
}


def cors_for(request: Request, origins: tuple[str, ...]) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if origin and origin in origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


async def preflight(request: Request) -> Response:
    origin = request.headers.get("origin", "")
    headers = {**PREFLIGHT, "Access-Control-Allow-Origin": origin or "*", "Vary": "Origin"}
    return Response(status_code=204, headers=headers)


async def token(request: Request) -> Response:
    svc = services(request)
    grant_type = ""  # counted as "other" until the form names a known one
    try:
        basic = basic_credentials(request)
        form = await read_form(request)
        grant_type = form.get("grant_type", "")
        proof = proof_header(request)
        exchange = TokenRequest(
            OAUTH, grant_type, form, presented(basic, form), client_ip(request, svc.settings),
            dpop=proof, htu=url_of(request),
        )  # fmt: skip
        issued = await svc.placement.token(exchange)
    except Exception as exc:
        EXCHANGES.refused(grant_type, exc)
        raise
    EXCHANGES.issued(grant_type)
    headers = {**NO_STORE, **cors_for(request, issued.origins)}
    if proof is not None:  # the nonce for the next proof (RFC 9449 section 8)
        headers["DPoP-Nonce"] = svc.dpop.nonce()
        headers["Access-Control-Expose-Headers"] = "DPoP-Nonce"
    return JSONResponse(body(issued), headers=headers)


def body(issued: Issued) -> dict[str, object]:
    """RFC 6749 section 5.1 (+ ``id_token``, OpenID Connect Core section 3.1.3.3)."""
    answer: dict[str, object] = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
        "scope": " ".join(scope_order(issued.scopes)),
    }
    if issued.refresh_token:
        answer["refresh_token"] = issued.refresh_token
    if issued.id_token:
        answer["id_token"] = issued.id_token
    return answer


async def revoke(request: Request) -> Response:
    svc = services(request)
    basic = basic_credentials(request)
    form = await read_form(request)
    await call(
        svc.client_tokens.revoke, presented(basic, form), form, client_ip(request, svc.settings)
    )
    # RFC 7009 section 2.2: 200 with an empty body, whether or not the token was known.
    return Response(status_code=200, headers={**NO_STORE, "Access-Control-Allow-Origin": "*"})


async def introspect(request: Request) -> Response:
    svc = services(request)
    basic = basic_credentials(request)
    form = await read_form(request)
    answer = await call(
        svc.client_tokens.introspect, presented(basic, form), form, client_ip(request, svc.settings)
    )
    return JSONResponse(answer, headers=NO_STORE)


routes = [
    Route("/token", token, methods=["POST"]),
    Route("/token", preflight, methods=["OPTIONS"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/revoke", preflight, methods=["OPTIONS"]),
    Route("/introspect", introspect, methods=["POST"]),
]


class HotTokenPath:
    """``POST /oauth2/token``, which every OAuth client's refresh takes, without Starlette's
    routing levels (the request passes some fifteen routes' patterns on its way): the same
    endpoint, its refusals rendered in RFC 6749's shape as the ``/oauth2`` surface renders
    them, and the route's metrics label. Anything else (the CORS preflight, another method,
    an over-long address) goes on to the routes."""

    PATH = "/oauth2/token"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _takes(scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and len(scope.get("query_string", b"")) <= MAX_QUERY_BYTES
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._takes(scope):
            await self.app(scope, receive, send)
            return
        scope["route"], scope["endpoint"] = routes[0], token  # the metrics' route label
        request = Request(scope, receive)
        try:
            response = await token(request)
        except Exception as exc:
            if scope.get(ANSWER, {}).get("status"):
                raise  # the answer already began (as the surface does)
            response = refusal(render_oauth, request, exc)
        await response(scope, receive, send)
