"""``/api/token``: trade a refresh token (or hardened delivery's code) for a 1-hour authToken.

The answer always has the documented shape (docs/api.md) and is never cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core import credentials
from leadexec_signin.core.actions.token import GRANT_TYPES
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest, SigninError
from leadexec_signin.core.scopes import ordered
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.storage.tokencache import NotInMemory, cache_only
from leadexec_signin.web.context import call, services
from leadexec_signin.web.leadexec_api.params import put_param, read_params, required
from leadexec_signin.web.metrics import Exchanges
from leadexec_signin.web.renderers import seed_renderer
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.surfaces import MAX_QUERY_BYTES, refusal, send_json

if TYPE_CHECKING:
    from leadexec_signin.compose import Services

PARAMS = frozenset({"appId", "refreshToken", "appSecret", "code"})
RENDER = seed_renderer()  # the /api surface's, as app.py mounts it
EXCHANGES = Exchanges("api", GRANT_TYPES)


async def token_endpoint(request: Request) -> Response:
    svc = services(request)
    grant_type = ""  # counted as "other" if the request is refused before naming one
    try:
        params = await read_params(request, PARAMS)
        app_id = required(params, "appId")
        secret = params.get("appSecret") or None
        ip = client_ip(request, svc.settings)
        if params.get("code") and params.get("refreshToken"):
            raise InvalidRequest("Send either refreshToken or code, not both.")
        if params.get("code"):
            grant_type, credential = "code", params["code"]
        else:
            grant_type, credential = "refresh_token", required(params, "refreshToken")
        # The refresh exchange only reads; a code exchange writes and may wait for a lock.
        if grant_type == "refresh_token":
            issued = await exchange_refresh(svc, app_id, credential, secret, ip)
        else:
            issued = await call(svc.tokens.exchange, grant_type, app_id, credential, secret, ip)
    except Exception as exc:
        EXCHANGES.refused(grant_type, exc)
        raise
    EXCHANGES.issued(grant_type)
    return JSONResponse(answer(issued), headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NO_STORE_HEADERS = tuple((k.lower().encode(), v.encode()) for k, v in NO_STORE.items())


async def exchange_refresh(
    svc: Services, app_id: str, token: str, secret: str | None, ip: str
) -> IssuedTokens:
    """Where the exchange runs: in place when nothing in it can wait (SQLite's few
    microseconds, or a read the token cache answers, with the rate limits in memory), in a
    thread otherwise. With a network database the token is first read through the async
    driver into the cache; in place, a refusal's audit row is written from a thread."""
    tokens = svc.tokens
    if svc.reads_in_place:
        return tokens.exchange("refresh_token", app_id, token, secret, ip)
    if not svc.limits_in_memory:  # a Redis round trip: a thread
        return await call(tokens.exchange, "refresh_token", app_id, token, secret, ip)
    try:
        tokens.admit(app_id, ip)  # counted once, however the exchange goes on
        in_memory = svc.exchange_in_memory(app_id, token)
        if not in_memory and svc.can_prefetch(token):
            await svc.token_checks.prefetch_refresh(
                credentials.token_hash(token),
                svc.async_reads.refresh_grant,  # type: ignore[union-attr]
            )
            in_memory = svc.exchange_in_memory(app_id, token)
        if in_memory:
            with cache_only():
                return tokens.refresh_unrecorded(app_id, token, secret, ip, admitted=True)
    except NotInMemory:
        pass  # dropped from the cache a moment ago (an invalidation): read it in a thread
    except SigninError as exc:
        await call(tokens.record_refused, exc, app_id, "refresh_token")
        raise
    return await call(tokens.exchange, "refresh_token", app_id, token, secret, ip, admitted=True)


def answer(issued: IssuedTokens) -> dict[str, object]:
    return {
        "valid": True,
        "refreshToken": issued.refresh_token,
        "authToken": issued.access_token,
        "expireDate": iso_z(issued.expires_at),
        "scopes": ordered(issued.scopes),
        "errorMessage": None,
        "error": None,
    }


# A refusal still carries the token fields, as null (see web/errors.py).
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
        svc = services(request)
        ip = client_ip(request, svc.settings)
        args = (params["appId"], params["refreshToken"], params.get("appSecret"), ip)
        try:
            issued = await exchange_refresh(svc, *args)
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
