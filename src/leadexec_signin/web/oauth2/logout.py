"""``/oauth2/logout``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The user confirms (a CSRF-checked POST), since a page anywhere could otherwise sign them out
with a link; then the session ends, back-channel logout notices are queued, and the browser
goes to the client's registered ``post_logout_redirect_uri`` with its ``state``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.logout import LogoutPlan, LogoutRequest
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.oauth2.authorize import with_form_target
from leadexec_signin.web.oauth2.params import collect, form_pairs
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import clear_session_cookie, session_cookie
from leadexec_signin.web.security.csrf import attach_csrf_cookie, check_csrf, csrf_token
from leadexec_signin.web.security.headers import page_csp

FIELDS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


def read(values: dict[str, str]) -> LogoutRequest:
    return LogoutRequest(**{name: values.get(name, "") for name in FIELDS})


def logout_page(request: Request, req: LogoutRequest, plan: LogoutPlan) -> Response:
    settings = services(request).settings
    hidden = [(name, getattr(req, name)) for name in FIELDS if getattr(req, name)]
    response = request.app.state.templates.TemplateResponse(
        request,
        "oidc_logout.html",
        {
            "app": plan.app,
            "signed_in": plan.signed_in,
            "hidden": hidden,
            "csrf": csrf_token(request, settings),
            "title": N_("Sign out"),
        },
        headers={
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": with_form_target(page_csp(), plan.return_to or ""),
        },
    )
    attach_csrf_cookie(request, response, settings)
    return response


async def logout_get(request: Request) -> Response:
    values, _ = collect(request.query_params.multi_items())
    req = read(values)
    svc = services(request)
    plan = await call(svc.logout.plan, req, session_cookie(request, svc.settings))
    if not plan.signed_in and plan.return_to:
        return RedirectResponse(plan.return_to, status_code=303)
    return logout_page(request, req, plan)


async def logout_post(request: Request) -> Response:
    svc = services(request)
    values, _ = collect(await form_pairs(request))
    req = read(values)
    raw = session_cookie(request, svc.settings)
    if "confirm" not in values:  # the request itself, sent as a form (section 2)
        plan = await call(svc.logout.plan, req, raw)
        if not plan.signed_in and plan.return_to:
            return RedirectResponse(plan.return_to, status_code=303)
        return logout_page(request, req, plan)
    check_csrf(request, svc.settings, values.get("csrf"))
    plan = await call(svc.logout.plan, req, raw)
    if values["confirm"] == "yes":
        await call(svc.logout.sign_out, raw, client_ip(request, svc.settings))
    after = plan.return_to or ("/account/login" if values["confirm"] == "yes" else "/account/apps")
    response = RedirectResponse(after, status_code=303)
    if values["confirm"] == "yes":
        clear_session_cookie(response, svc.settings)
    return response


routes = [
    Route("/logout", logout_get, methods=["GET"]),
    Route("/logout", logout_post, methods=["POST"]),
]
