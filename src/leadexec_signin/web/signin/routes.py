"""The sign-in popup (``/signin/authorize``), the silent iframe (``/signin/immediate``), the
button configuration the SDK reads, and the SDK's own files (SPEC section 1).

Tokens leave this module only inside a result page that posts them with ``postMessage`` to the
exact registered origin that asked; error results carry no secret and go to the claimed origin.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.authorize import AuthorizeContext, AuthorizeRequest, is_btn_id
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import (
    AccessDenied,
    ImmediateFailed,
    InvalidButton,
    InvalidRequest,
    SigninError,
)
from leadexec_signin.core.provider import Authorization
from leadexec_signin.core.scopes import SCOPES, ordered
from leadexec_signin.web.app import PACKAGE, call, services
from leadexec_signin.web.security import (
    attach_csrf_cookie,
    check_csrf,
    client_ip,
    csrf_token,
    page_csp,
    session_cookie,
)

# A serialized origin as browsers write it: the only thing ever put into a CSP source list or
# a postMessage target, so no quoting, spaces or semicolons can reach either.
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]{1,253}(?::[0-9]{1,5})?$")
MESSAGE_SOURCE = "leadexec-signin"
CALLBACK_ERRORS = frozenset(
    {
        "access_denied",
        "popup_closed",
        "popup_blocked",
        "invalid_button",
        "origin_not_allowed",
        "app_not_approved",
        "immediate_failed",
        "server_error",
    }
)


def claimed_origin(raw: str) -> str | None:
    return raw if _ORIGIN.fullmatch(raw) else None


def read_request(values: dict[str, str], *, immediate: bool) -> AuthorizeRequest:
    return AuthorizeRequest(
        btn_id=values.get("btnId") or values.get("btnid") or "",
        origin=values.get("origin", ""),
        state=values.get("state", ""),
        immediate=immediate,
    )


def query_values(request: Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in ("btnId", "btnid", "origin", "state"):
            if name in values:
                raise InvalidRequest(f"The parameter {name} was sent more than once.")
            values[name] = value[:600]
    return values


def result_object(
    req: AuthorizeRequest,
    *,
    authorization: Authorization | None = None,
    error: SigninError | None = None,
) -> dict[str, object]:
    """The authorization object of SPEC section 1, exactly as the callback receives it."""
    if authorization is not None:
        tokens = authorization.tokens
        return {
            "valid": True,
            "error": None,
            "errorMessage": None,
            "immediate": req.immediate,
            "appId": authorization.app_id,
            "btnId": authorization.btn_id,
            "scopes": ordered(authorization.scopes),
            "refreshToken": tokens.refresh_token if tokens else None,
            "authToken": tokens.access_token if tokens else None,
            "expireDate": iso_z(tokens.expires_at) if tokens else None,
            "code": authorization.code,
            "user": authorization.user,
        }
    assert error is not None
    # The callback's error is always one of SPEC's codes; any other refusal (a malformed
    # parameter, the database away) is a server_error whose message names the real code.
    code = error.code if error.code in CALLBACK_ERRORS else "server_error"
    message = error.description if code == error.code else f"{error.description} ({error.code})"
    return {
        "valid": False,
        "error": code,
        "errorMessage": message,
        "immediate": req.immediate,
        "appId": None,
        "btnId": req.btn_id[:80] or None,
        "scopes": [],
        "refreshToken": None,
        "authToken": None,
        "expireDate": None,
        "code": None,
        "user": None,
    }


def result_page(
    request: Request,
    req: AuthorizeRequest,
    *,
    mode: str,
    authorization: Authorization | None = None,
    error: SigninError | None = None,
) -> Response:
    target = claimed_origin(req.origin)
    result = result_object(req, authorization=authorization, error=error)
    templates = request.app.state.templates
    status = 200
    if target is None:
        # No origin we could safely post to: show the reason, deliver nothing.
        status = 400
    response = templates.TemplateResponse(
        request,
        "signin_result.html",
        {
            "message": {"source": MESSAGE_SOURCE, "state": req.state, "result": result},
            "target": target,
            "mode": mode,
            "result": result,
            "title": "Signed in" if result["valid"] else "Sign-in result",
        },
        status_code=status,
    )
    frame_ancestors = target if (mode == "iframe" and target) else "'none'"
    response.headers["Content-Security-Policy"] = page_csp(frame_ancestors)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


async def current_user(request: Request, *, third_party: bool = False) -> User | None:
    svc = services(request)
    raw = session_cookie(request, svc.settings, third_party=third_party)
    return await call(svc.provider.session_user, raw) if raw else None


def authorize_url(req: AuthorizeRequest) -> str:
    return "/signin/authorize?" + urlencode(
        {"btnId": req.btn_id, "origin": req.origin, "state": req.state}
    )


def login_redirect(req: AuthorizeRequest) -> Response:
    return RedirectResponse(
        "/account/login?next=" + quote(authorize_url(req), safe=""), status_code=303
    )


@dataclass(frozen=True)
class ScopeLine:
    name: str
    words: str


def consent_page(
    request: Request, ctx: AuthorizeContext, user: User, ask: frozenset[str], had: frozenset[str]
) -> Response:
    svc = services(request)
    templates = request.app.state.templates
    response = templates.TemplateResponse(
        request,
        "consent.html",
        {
            "app": ctx.app,
            "origin": ctx.request.origin,
            "user": user,
            "ask": [ScopeLine(s, SCOPES[s]) for s in ordered(ask)],
            "had": [ScopeLine(s, SCOPES[s]) for s in ordered(had)],
            "req": ctx.request,
            "scopes_field": " ".join(ordered(ask)),
            "csrf": csrf_token(request, svc.settings),
            "switch_next": authorize_url(ctx.request),
            "title": f"Allow {ctx.app.name} to access your account?",
        },
        headers={"Referrer-Policy": "same-origin"},
    )
    attach_csrf_cookie(request, response, svc.settings)
    return response


async def authorize_get(request: Request) -> Response:
    req = read_request(query_values(request), immediate=False)
    return await _authorize(request, req, decision=None, shown=None)


async def authorize_post(request: Request) -> Response:
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, svc.settings, form.get("csrf"))
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    req = read_request(values, immediate=False)
    decision = values.get("decision")
    if decision not in ("allow", "cancel"):
        raise InvalidRequest("Choose Allow or Cancel.")
    return await _authorize(request, req, decision=decision, shown=values.get("scopes", ""))


async def _authorize(
    request: Request, req: AuthorizeRequest, *, decision: str | None, shown: str | None
) -> Response:
    svc = services(request)
    provider = svc.provider
    if claimed_origin(req.origin) is None:
        raise InvalidRequest(
            "This sign-in link is missing the page's origin, so the result could not be "
            "returned safely. Close this window and try the button again."
        )
    try:
        ctx = await call(provider.check_authorize, req)
    except SigninError as exc:
        return result_page(request, req, mode="popup", error=exc)
    user = await current_user(request)
    if user is None:
        return login_redirect(req)
    ip = client_ip(request, svc.settings)
    if decision == "cancel":
        await call(provider.deny, ctx, user, ip)
        return result_page(request, req, mode="popup", error=AccessDenied())
    had = await call(provider.granted_scopes, ctx, user)
    ask = ctx.scopes - had
    if ask and (decision is None or shown != " ".join(ordered(ask))):
        # Ask, or ask again if what the user saw is no longer what the button wants.
        return consent_page(request, ctx, user, ask, had & ctx.scopes)
    authorization = await call(provider.authorize, ctx, user, ip, consent=bool(ask))
    if authorization is None:
        return consent_page(request, ctx, user, ctx.scopes, frozenset())
    return result_page(request, req, mode="popup", authorization=authorization)


async def immediate(request: Request) -> Response:
    """The silent check: never shows UI, answers immediate_failed when a prompt is needed."""
    svc = services(request)
    req = AuthorizeRequest("", "", "", immediate=True)
    try:
        req = read_request(query_values(request), immediate=True)
        ctx = await call(svc.provider.check_authorize, req)
        user = await current_user(request, third_party=True)
        authorization = (
            await call(
                svc.provider.authorize, ctx, user, client_ip(request, svc.settings), consent=False
            )
            if user
            else None
        )
    except SigninError as exc:
        if exc.status >= 500:
            raise
        failed = ImmediateFailed(f"{exc.description} ({exc.code})")
        return result_page(request, req, mode="iframe", error=failed)
    if authorization is None:
        return result_page(request, req, mode="iframe", error=ImmediateFailed())
    return result_page(request, req, mode="iframe", authorization=authorization)


async def button_config(request: Request) -> Response:
    """Public appearance of a button, read by the SDK before it draws (CORS: anyone)."""
    btn_id = request.path_params["btn_id"]
    # Only a well-formed id reaches storage (a NUL byte would be a 500 on PostgreSQL).
    found = await call(services(request).provider.button, btn_id) if is_btn_id(btn_id) else None
    cors = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"}
    if found is None:
        exc = InvalidButton()
        return JSONResponse(
            {"valid": False, "error": exc.code, "errorMessage": exc.description},
            status_code=404,
            headers=cors,
        )
    button, app = found
    return JSONResponse(
        {
            "btnId": button.id,
            "appId": app.id,
            "appName": app.name,
            "scopes": ordered(button.scopes),
            "theme": button.theme,
            "size": button.size,
            "text": button.text,
        },
        headers=cors,
    )


_TYPES = {".js": "application/javascript", ".css": "text/css"}


@lru_cache(maxsize=16)
def _asset(name: str) -> tuple[bytes, str]:
    body = (PACKAGE / "static" / "signin" / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def asset(name: str) -> Route:
    """The SDK files: cached briefly, revalidated by ETag; loadable from any partner page."""

    async def endpoint(request: Request) -> Response:
        body, etag = _asset(name)
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=_TYPES[name[name.rindex(".") :]], headers=headers)

    return Route(f"/signin/{name}", endpoint, methods=["GET", "HEAD"])


routes = [
    Route("/signin/authorize", authorize_get, methods=["GET"]),
    Route("/signin/authorize", authorize_post, methods=["POST"]),
    Route("/signin/immediate", immediate, methods=["GET"]),
    Route("/signin/buttons/{btn_id}", button_config, methods=["GET"]),
    asset("button.js"),
    asset("button.css"),
    asset("result.js"),
]
