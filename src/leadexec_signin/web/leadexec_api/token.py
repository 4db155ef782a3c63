"""``/api/token``: trade a refresh token (or hardened delivery's code) for a 1-hour authToken.

The answer always has the documented shape (docs/api.md) and is never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadexec_signin.core.actions.client_auth import APP_SECRET, Presented
from leadexec_signin.core.actions.token_endpoint import SEED
from leadexec_signin.core.actions.token_step import Issued, TokenRequest
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import ordered
from leadexec_signin.web.context import services
from leadexec_signin.web.leadexec_api.params import (
    MAX_FIELDS,
    form_pairs,
    put_param,
    read_params,
    required,
)
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
    """The call every partner backend makes once an hour per user, answered without
    Starlette's routing levels, request and response objects (a third of an exchange's cost
    in the profile): ``GET /api/token?appId=...&refreshToken=...``, and the same as a
    ``POST`` of a small form (what backends should send: tokens stay out of URLs and logs).
    Only that plain, well-formed call is taken here; anything else (a code, a parameter sent
    twice, a missing or over-long value, a query beside a form, JSON, another method, a long
    address) goes on to the route above, which answers every case, so both give the same
    answers. Pure ASGI, inside the security and request-context layers."""

    PATH = "/api/token"
    MAX_FORM = 2048  # bytes; a larger form goes to the route (which allows up to 64 KB)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params: dict[str, str] | None = None
        if scope["type"] == "http" and scope["path"] == self.PATH:
            if scope["method"] == "GET":
                params = self._plain(scope)
            elif scope["method"] == "POST":
                params, receive = await self._posted(scope, receive)
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
        query: bytes = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            return None
        return _checked(form_pairs(query.decode("latin-1")))

    async def _posted(
        self, scope: Scope, receive: Receive
    ) -> tuple[dict[str, str] | None, Receive]:
        """A small form and no query. The body read here is handed on (``replay``) when the
        route answers instead."""
        kind = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                kind = value.split(b";")[0].strip().lower()
        if scope.get("query_string") or kind != b"application/x-www-form-urlencoded":
            return None, receive
        messages: list[Message] = []
        size, more = 0, True
        while more and size <= self.MAX_FORM:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return None, _replay(messages, receive)  # the client went away
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        replay = _replay(messages, receive)
        if more or size > self.MAX_FORM:
            return None, replay
        try:
            text = b"".join(m.get("body", b"") for m in messages).decode("utf-8")
            pairs = form_pairs(text, MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            return None, replay
        return _checked(pairs), replay


def _checked(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    """The plain exchange's parameters, or None for anything the route must answer."""
    found: dict[str, str] = {}
    try:
        for name, value in pairs:
            put_param(found, name, value, PARAMS)
    except InvalidRequest:
        return None  # twice, or too long: the route says which
    if not found.get("appId") or not found.get("refreshToken") or "code" in found:
        return None
    if "appSecret" in found and not found["appSecret"]:
        del found["appSecret"]  # an empty secret is no secret, as on the route
    return found


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` again from the start: the messages already read, then the rest."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
