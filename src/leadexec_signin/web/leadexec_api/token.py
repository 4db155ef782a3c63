"""``/api/token``: trade a refresh token (or hardened delivery's code) for a 1-hour authToken.

The answer always has the documented shape (docs/api.md) and is never cached.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core.actions.client_auth import APP_SECRET, Presented
from leadexec_signin.core.actions.token_endpoint import SEED
from leadexec_signin.core.actions.token_step import Issued, TokenRequest
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import ordered
from leadexec_signin.web.context import services
from leadexec_signin.web.leadexec_api.params import put_param, read_params, required
from leadexec_signin.web.metrics import Exchanges
from leadexec_signin.web.renderers import SUPPLIED_REFRESH_TOKEN, seed_renderer
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.surfaces import MAX_QUERY_BYTES, refusal, send_json

PARAMS = frozenset({"appId", "refreshToken", "appSecret", "code"})
RENDER = seed_renderer()  # the /api surface's, as app.py mounts it
EXCHANGES = Exchanges("api", ("refresh_token", "code"))


def token_request(params: dict[str, str], ip: str) -> TokenRequest:
    """The sign-in API's parameters in the token endpoint's neutral terms."""
    app_id = required(params, "appId")
    if params.get("code") and params.get("refreshToken"):
        raise InvalidRequest("Send either refreshToken or code, not both.")
    if params.get("code"):
        grant_type, grant = "code", {"code": params["code"]}
    else:
        grant_type, grant = "refresh_token", {"refresh_token": required(params, "refreshToken")}
    client = Presented(app_id, APP_SECRET, secret=params.get("appSecret") or "")
    return TokenRequest(SEED, grant_type, grant, client, ip)


async def token_endpoint(request: Request) -> Response:
    svc = services(request)
    grant_type = ""  # counted as "other" if the request is refused before naming one
    try:
        params = await read_params(request, PARAMS)
        # A refusal echoes the refresh token the caller supplied (its own value).
        request.scope[SUPPLIED_REFRESH_TOKEN] = params.get("refreshToken")
        exchange = token_request(params, client_ip(request, svc.settings))
        grant_type = exchange.grant_type
        issued = await svc.placement.token(exchange)
    except Exception as exc:
        EXCHANGES.refused(grant_type, exc)
        raise
    EXCHANGES.issued(grant_type)
    return JSONResponse(answer(issued), headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NO_STORE_HEADERS = tuple((k.lower().encode(), v.encode()) for k, v in NO_STORE.items())


def answer(issued: Issued) -> dict[str, object]:
    return {
        "valid": True,
        "refreshToken": issued.refresh_token,
        "authToken": issued.access_token,
        "expireDate": iso_z(issued.expires_at),
        "scopes": ordered(issued.scopes),
        "errorMessage": None,
        "error": None,
    }


# A refusal still carries the token fields: null, but the refresh token supplied (see
# web/renderers.py).
token_endpoint.error_fields = {  # type: ignore[attr-defined]
    "refreshToken": None,
    "authToken": None,
    "expireDate": None,
}

routes = [Route("/token", token_endpoint, methods=["GET", "POST"])]


class HotTokenPath:
    """``GET /api/token?appId=...&refreshToken=...``, the call every partner backend makes
    once an hour per user, answered without Starlette's routing levels, request and response
    objects (a third of an exchange's cost in the profile). Only that plain, well-formed call
    is taken here; anything else (a code, a secret sent twice, a missing or over-long value,
    another method, a long address) goes on to the route above, which answers every case, so
    both give the same answers. Pure ASGI, inside the security and request-context layers."""

    PATH = "/api/token"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = self._plain(scope)
        if params is None:
            await self.app(scope, receive, send)
            return
        # What the router would have set: the metrics label the route by its template.
        scope["route"], scope["endpoint"] = routes[0], token_endpoint
        request = Request(scope, receive)
        scope[SUPPLIED_REFRESH_TOKEN] = params["refreshToken"]
        svc = services(request)
        try:
            issued = await svc.placement.token(
                token_request(params, client_ip(request, svc.settings))
            )
        except Exception as exc:
            EXCHANGES.refused("refresh_token", exc)
            # Answered and logged as the /api surface answers a refusal of the route.
            await refusal(RENDER, request, exc)(scope, receive, send)
            return
        EXCHANGES.issued("refresh_token")
        await send_json(send, answer(issued), NO_STORE_HEADERS)

    def _plain(self, scope: Scope) -> dict[str, str] | None:
        if scope["type"] != "http" or scope["path"] != self.PATH or scope["method"] != "GET":
            return None
        query: bytes = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            return None
        found: dict[str, str] = {}
        try:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                put_param(found, name, value, PARAMS)
        except InvalidRequest:
            return None  # twice, or too long: the route says which
        if not found.get("appId") or not found.get("refreshToken") or "code" in found:
            return None
        if "appSecret" in found and not found["appSecret"]:
            del found["appSecret"]  # an empty secret is no secret, as on the route
        return found
