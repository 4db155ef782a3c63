"""``/device`` (RFC 8628 section 3.3): a signed-in person types the code their device shows
(or arrives with it, ``verification_uri_complete``), checks which application asks for what,
and allows or cancels. Signed out, they sign in first and come back here with the code."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadexec_signin.core.actions.device import Prompt
from leadexec_signin.core.actions.sessions import public_sid
from leadexec_signin.core.errors import LoginRequired, SigninError
from leadexec_signin.core.scopes import OFFLINE_ACCESS, OPENID, OPENID_WORDS, SCOPES, ordered
from leadexec_signin.i18n import N_
from leadexec_signin.web.account.passkeys import form_of
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import session_cookie

PATH = "/device"
STAY_WORDS = N_("Stay connected until you remove its access")


async def _signed_in(request: Request, typed: str = ""):  # noqa: ANN202 - (Session, User)
    svc = services(request)
    found = await call(svc.sessions.current, session_cookie(request, svc.settings))
    if found is None:
        # Back here after signing in, with the code already filled in.
        raise LoginRequired(PATH + ("?user_code=" + quote(typed[:32]) if typed else ""))
    return found


def _lines(prompt: Prompt) -> list[str]:
    lines = [SCOPES[s] for s in ordered(prompt.scopes)]
    if not lines and OPENID in prompt.scopes:
        lines = [OPENID_WORDS]
    if OFFLINE_ACCESS in prompt.scopes:
        lines.append(STAY_WORDS)
    return lines


def _entry(request: Request, user, typed: str = "", error: SigninError | None = None) -> Response:  # noqa: ANN001
    status = error.status if error is not None else 200
    context = {"step": "enter", "user": user, "typed": typed, "error": error}
    return page(request, "device.html", context, status)


async def device_page(request: Request) -> Response:
    typed = request.query_params.get("user_code", "")[:64]
    session, user = await _signed_in(request, typed)
    if not typed:
        return _entry(request, user)
    return await _confirm(request, session, user, typed)


async def _confirm(request: Request, session, user, typed: str) -> Response:  # noqa: ANN001
    svc = services(request)
    try:
        ip = client_ip(request, svc.settings)
        prompt = await call(svc.device.prompt, typed, user, ip, session.amr)
    except SigninError as exc:
        return _entry(request, user, typed, exc)
    context = {"step": "confirm", "user": user, "prompt": prompt, "app": prompt.app,
               "lines": _lines(prompt)}  # fmt: skip
    return page(request, "device.html", context)


async def device_post(request: Request) -> Response:
    form = await form_of(request)
    typed = form.get("user_code", "")[:64]
    session, user = await _signed_in(request, typed)
    decision = form.get("decision", "")
    if decision not in ("allow", "cancel"):
        return await _confirm(request, session, user, typed)
    svc = services(request)
    try:
        prompt = await call(
            svc.device.decide, typed, decision == "allow", user, client_ip(request, svc.settings),
            auth_time=session.proven_at, sid=public_sid(session), amr=session.amr,
        )  # fmt: skip
    except SigninError as exc:
        return _entry(request, user, typed, exc)
    step = "allowed" if decision == "allow" else "denied"
    return page(request, "device.html", {"step": step, "user": user, "app": prompt.app})


routes = [
    Route(PATH, device_page, methods=["GET"]),
    Route(PATH, device_post, methods=["POST"]),
]
