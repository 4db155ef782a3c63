"""The second step of a two-step sign-in (``/account/second-step``): after the right password,
an account with a second factor proves it with a passkey, the authenticator app or a recovery
code. Until then the browser holds only a 5-minute pending token (``le_2fa``), never a
session; the session that follows records both methods (RFC 8176 ``amr``: pwd + ... + mfa).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.factors import PWD, combined
from leadexec_signin.web.account.passkeys import binding, form_of, options, refusal
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import after_form, page, safe_next
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import cookie_name, session_cookie, set_session_cookie

PATH = "/account/second-step"
# ``__Host-le_2fa`` over HTTPS, like the session and CSRF cookies: a sibling subdomain cannot
# plant a pending sign-in of its own (which needs Path=/).
COOKIE = "le_2fa"


def _cookie(request: Request) -> str:
    return cookie_name(services(request).settings, COOKIE)


async def begin(request: Request, user: User, next_url: str) -> Response:
    svc = services(request)
    raw = await call(svc.factors.begin_second_step, user, next_url)
    response = RedirectResponse(PATH, status_code=303)
    response.set_cookie(
        _cookie(request),
        raw,
        max_age=300,
        httponly=True,
        secure=svc.settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return response


async def pending(request: Request) -> tuple[User, str] | None:
    return await call(services(request).factors.pending, request.cookies.get(_cookie(request)))


async def finish(request: Request, user: User, second: tuple[str, ...], next_url: str) -> str:
    svc = services(request)
    await call(svc.factors.finish_second_step, request.cookies.get(_cookie(request), ""))
    await call(svc.sessions.end, session_cookie(request, svc.settings), "")
    return await call(
        svc.sessions.start,
        user,
        combined((PWD,), second),
        client_ip(request, svc.settings),
        request.headers.get("user-agent", "")[:256],
    )


def signed_in(response: Response, request: Request, raw: str) -> Response:
    set_session_cookie(response, services(request).settings, raw)
    settings = services(request).settings
    response.delete_cookie(
        _cookie(request), path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )
    return response


async def step_page(request: Request, error: SigninError | None = None) -> Response:
    found = await pending(request)
    if found is None:
        return RedirectResponse("/account/login", status_code=303)
    user, _next = found
    svc = services(request)
    app = await call(svc.codes.app, user.id)
    response = page(
        request,
        "second_step.html",
        {
            "title": "Two-step sign-in",
            "email": user.email,
            "has_passkey": bool(await call(svc.passkeys.list, user.id)),
            "has_app": bool(app and app.confirmed_at),
            "error": error,
        },
        status=error.status if error else 200,
    )
    if error is not None and error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def step_get(request: Request) -> Response:
    return await step_page(request)


async def step_code(request: Request) -> Response:
    form = await form_of(request)
    found = await pending(request)
    if found is None:
        return RedirectResponse("/account/login", status_code=303)
    user, next_url = found
    codes = services(request).codes
    try:
        if form.get("recovery_code"):
            second = await call(codes.use_recovery_code, user.id, form["recovery_code"])
        else:
            second = await call(codes.check, user.id, form.get("code"))
    except SigninError as exc:
        return await step_page(request, exc)
    raw = await finish(request, user, second, next_url)
    return signed_in(after_form(next_url), request, raw)


async def passkey_options(request: Request) -> Response:
    try:
        await form_of(request)
        found = await pending(request)
        if found is None:
            return JSONResponse({"error": "login_required", "next": "/account/login"}, 401)
        body = await call(services(request).passkeys.confirm_options, found[0].id, binding(request))
    except SigninError as exc:
        return refusal(exc)
    return options(body)


async def passkey(request: Request) -> Response:
    svc = services(request)
    try:
        form = await form_of(request)
        found = await pending(request)
        if found is None:
            return JSONResponse({"error": "login_required", "next": "/account/login"}, 401)
        user, next_url = found
        second = await call(svc.passkeys.confirm, user.id, binding(request), form.get("credential"))
    except SigninError as exc:
        return refusal(exc)
    raw = await finish(request, user, second, next_url)
    return signed_in(JSONResponse({"next": safe_next(next_url)}), request, raw)


routes = [
    Route(PATH, step_get, methods=["GET"]),
    Route(PATH, step_code, methods=["POST"]),
    Route(PATH + "/passkey/options", passkey_options, methods=["POST"]),
    Route(PATH + "/passkey", passkey, methods=["POST"]),
]
