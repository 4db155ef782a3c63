"""Passkeys over HTTP: the account security page (``/account/security``: add, rename, remove,
re-authenticate) and passwordless sign-in from the sign-in page, wherever it appears.

The browser's WebAuthn calls are made by ``static/account/passkeys.js`` (no inline script):
it asks for options, hands them to ``navigator.credentials``, and posts the answer back with
the page's CSRF token. Those exchanges answer JSON; the forms answer pages.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.browsers import device
from leadexec_signin.core.actions.sessions import public_sid
from leadexec_signin.core.errors import (
    InvalidCredentials,
    LoginRequired,
    NotFound,
    RateLimited,
    SigninError,
)
from leadexec_signin.core.factors import is_fresh
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.language import describe
from leadexec_signin.web.pages import page, safe_next
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import cookie_name, session_cookie, set_session_cookie
from leadexec_signin.web.security.csrf import CSRF, check_csrf

SECURITY = "/account/security"


def binding(request: Request) -> str:
    """The browser a challenge belongs to: its session, or before sign-in the CSRF cookie the
    sign-in page set (HttpOnly, and ``__Host-`` over https)."""
    settings = services(request).settings
    raw = session_cookie(request, settings)
    if raw:
        return hashlib.sha256(b"session:" + raw.encode()).hexdigest()
    pre = request.cookies.get(cookie_name(settings, CSRF), "")
    return hashlib.sha256(b"pre:" + pre.encode()).hexdigest()


def refusal(exc: SigninError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.code, "message": describe(exc.description, exc.code)},
        status_code=exc.status,
        headers={"Cache-Control": "no-store"},
    )


def options(body: str) -> Response:
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def form_of(request: Request) -> dict[str, str]:
    """A form whose CSRF token was checked (a fetch of the page's script posts one too)."""
    form = await request.form(max_files=0, max_fields=16, max_part_size=16 * 1024)
    check_csrf(request, services(request).settings, form.get("csrf"))
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def signed_in(request: Request) -> tuple[Session, User]:
    svc = services(request)
    found = await call(svc.sessions.current, session_cookie(request, svc.settings))
    if found is None:
        raise LoginRequired(request.url.path)
    return found


# -- passwordless sign-in ---------------------------------------------------------------


async def signin_options(request: Request) -> Response:
    try:
        await form_of(request)
        return options(await call(services(request).passkeys.signin_options, binding(request)))
    except SigninError as exc:
        return refusal(exc)


async def signin(request: Request) -> Response:
    svc = services(request)
    try:
        form = await form_of(request)
        ip = client_ip(request, svc.settings)
        user, amr = await call(svc.passkeys.sign_in, binding(request), form.get("credential"), ip)
        if user.email_verified_at is None:
            raise InvalidCredentials(N_("Confirm your email address first."))
    except SigninError as exc:
        return refusal(exc)
    # As after a password: a fresh session id (no fixation), this browser's.
    await call(svc.sessions.end, session_cookie(request, svc.settings), "")
    raw = await call(svc.sessions.start, user, amr, ip, request.headers.get("user-agent", "")[:256])
    response = JSONResponse({"next": safe_next(form.get("next"))})
    set_session_cookie(response, svc.settings, raw)
    return response


# -- the security page ------------------------------------------------------------------


async def security_page(
    request: Request, error: SigninError | None = None, **extra: object
) -> Response:
    """The page, with what the address asks it to say, or a refusal."""
    session, user = await signed_in(request)
    svc = services(request)
    app = await call(svc.codes.app, user.id)
    return page(
        request,
        "security.html",
        {
            "user": user,
            "title": "Security",
            "passkeys": await call(svc.passkeys.list, user.id),
            "app_on": bool(app and app.confirmed_at),
            "codes_left": await call(svc.codes.codes_left, user.id),
            "browsers": [
                {
                    "sid": public_sid(s),
                    "device": device(s.user_agent),
                    "ip": s.ip,
                    "created": s.created_at,
                    "seen": s.last_seen_at,
                    "this": s.id_hash == session.id_hash,
                }
                for s in await call(svc.browsers.list, user.id)
            ],
            "fresh": is_fresh(session.proven_at, svc.clock.now()),
            "done": None if error else DONE.get(request.query_params.get("done", "")),
            "error": error,
            # Sent here to enrol by a page that needs a second factor (/admin).
            "step_mfa": not error and request.query_params.get("step") == "mfa",
            "next": safe_next(request.query_params.get("next")),
            **extra,
        },
        status=error.status if error else 200,
    )


async def security_get(request: Request) -> Response:
    return await security_page(request)


async def security_error(request: Request, exc: SigninError) -> Response:
    return await security_page(request, exc)


DONE = {
    "added": N_("Passkey added. You can now sign in with it, without your password."),
    "renamed": N_("Passkey renamed."),
    "removed": N_("Passkey removed."),
    "confirmed": N_("Thank you. You can change your security settings for the next 5 minutes."),
    "app": N_("Authenticator app added. Sign-in now asks for a code after your password."),
    "app_removed": N_("Authenticator app removed."),
    "password": N_("Password changed. Every other browser was signed out."),
    "signed_out": N_("Signed out."),
}


def require_fresh(session: Session, request: Request) -> None:
    if not is_fresh(session.proven_at, services(request).clock.now()):
        raise InvalidCredentials(
            N_(
                "For your security, confirm it is you (password or passkey) before changing "
                "how you sign in."
            ),
            status=403,
        )


async def confirm_password(request: Request) -> Response:
    svc = services(request)
    form = await form_of(request)
    session, user = await signed_in(request)
    try:
        again = await call(
            svc.accounts.sign_in,
            user.email,
            form.get("password", ""),
            client_ip(request, svc.settings),
        )
        if again.id != user.id:
            raise InvalidCredentials()
    except (InvalidCredentials, RateLimited) as exc:
        return await security_error(request, exc)
    await call(svc.factors.confirmed, session, session.amr)
    return RedirectResponse(SECURITY + "?done=confirmed", status_code=303)


async def confirm_options(request: Request) -> Response:
    try:
        await form_of(request)
        session, _user = await signed_in(request)
        body = await call(
            services(request).passkeys.confirm_options, session.user_id, binding(request)
        )
    except SigninError as exc:
        return refusal(exc)
    return options(body)


async def confirm_passkey(request: Request) -> Response:
    svc = services(request)
    try:
        form = await form_of(request)
        session, _user = await signed_in(request)
        await call(svc.passkeys.confirm, session.user_id, binding(request), form.get("credential"))
    except SigninError as exc:
        return refusal(exc)
    await call(svc.factors.confirmed, session, session.amr)
    return JSONResponse({"next": SECURITY + "?done=confirmed"})


async def add_options(request: Request) -> Response:
    try:
        await form_of(request)
        session, user = await signed_in(request)
        require_fresh(session, request)
        body = await call(services(request).passkeys.registration_options, user, binding(request))
    except SigninError as exc:
        return refusal(exc)
    return options(body)


async def add(request: Request) -> Response:
    svc = services(request)
    try:
        form = await form_of(request)
        session, user = await signed_in(request)
        require_fresh(session, request)
        await call(
            svc.passkeys.register, user, binding(request), form.get("credential"), form.get("name")
        )
    except SigninError as exc:
        return refusal(exc)
    then = form.get("next")
    step = f"&step=mfa&next={quote(safe_next(then), safe='/')}" if then else ""
    return JSONResponse({"next": SECURITY + "?done=added" + step})


async def rename(request: Request) -> Response:
    form = await form_of(request)
    _session, user = await signed_in(request)
    try:
        await call(services(request).passkeys.rename, user, passkey_id(request), form.get("name"))
    except SigninError as exc:
        return await security_error(request, exc)
    return RedirectResponse(SECURITY + "?done=renamed", status_code=303)


async def remove(request: Request) -> Response:
    await form_of(request)
    session, user = await signed_in(request)
    try:
        require_fresh(session, request)
        await call(services(request).factors.remove_passkey, user, passkey_id(request))
    except SigninError as exc:
        return await security_error(request, exc)
    return RedirectResponse(SECURITY + "?done=removed", status_code=303)


def passkey_id(request: Request) -> str:
    raw = request.path_params["passkey_id"]
    if not (raw.startswith("pk_") and 3 < len(raw) <= 80 and raw.isascii() and raw.isprintable()):
        raise NotFound(N_("That passkey is not on your account."))
    return str(raw)


routes = [
    Route("/account/passkey/options", signin_options, methods=["POST"]),
    Route("/account/passkey/signin", signin, methods=["POST"]),
    Route(SECURITY, security_get, methods=["GET"]),
    Route(SECURITY + "/confirm", confirm_password, methods=["POST"]),
    Route(SECURITY + "/confirm/options", confirm_options, methods=["POST"]),
    Route(SECURITY + "/confirm/passkey", confirm_passkey, methods=["POST"]),
    Route(SECURITY + "/passkeys/options", add_options, methods=["POST"]),
    Route(SECURITY + "/passkeys", add, methods=["POST"]),
    Route(SECURITY + "/passkeys/{passkey_id}/rename", rename, methods=["POST"]),
    Route(SECURITY + "/passkeys/{passkey_id}/remove", remove, methods=["POST"]),
]
