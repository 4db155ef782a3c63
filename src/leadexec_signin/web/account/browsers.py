"""The security page's password and signed-in browsers: change the password (the current
one is required, under the sign-in limits; other sessions end), sign one browser out, or
every browser but this one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import InvalidCredentials, SigninError
from leadexec_signin.web.account.passkeys import SECURITY, form_of, security_page, signed_in
from leadexec_signin.web.context import call, services
from leadexec_signin.web.security.client_ip import client_ip


async def change_password(request: Request) -> Response:
    form = await form_of(request)
    session, user = await signed_in(request)
    svc = services(request)
    try:
        again = await call(
            svc.accounts.sign_in,
            user.email,
            form.get("current_password", ""),
            client_ip(request, svc.settings),
        )
        if again.id != user.id:
            raise InvalidCredentials()
        await call(svc.browsers.change_password, user, session, form.get("new_password", ""))
    except SigninError as exc:
        return await security_page(request, exc)
    return RedirectResponse(SECURITY + "?done=password", status_code=303)


async def end_one(request: Request) -> Response:
    await form_of(request)
    _session, user = await signed_in(request)
    sid = request.path_params["sid"]
    try:
        if not (len(sid) == 32 and all(c in "0123456789abcdef" for c in sid)):
            raise InvalidCredentials(status=404)
        await call(services(request).browsers.end, user.id, sid)
    except SigninError as exc:
        return await security_page(request, exc)
    return RedirectResponse(SECURITY + "?done=signed_out", status_code=303)


async def end_others(request: Request) -> Response:
    await form_of(request)
    session, user = await signed_in(request)
    await call(services(request).browsers.end_others, user.id, session)
    return RedirectResponse(SECURITY + "?done=signed_out", status_code=303)


routes = [
    Route(SECURITY + "/password", change_password, methods=["POST"]),
    Route(SECURITY + "/sessions/others/end", end_others, methods=["POST"]),
    Route(SECURITY + "/sessions/{sid}/end", end_one, methods=["POST"]),
]
