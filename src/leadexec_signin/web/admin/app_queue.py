"""Operator pages: the queue of applications waiting for approval, search, and approve,
suspend or reinstate (the owner is told by email).

A signed-in partner who is not an operator gets a 403 that says so: the paths are documented,
so hiding them would only leave a partner wondering whether the link is broken.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.operator import ACTIONS
from leadexec_signin.core.apps import APPROVED, PENDING, SUSPENDED
from leadexec_signin.core.clients import CONFIDENTIAL, PUBLIC
from leadexec_signin.core.errors import AccessDenied, InvalidRequest, LoginRequired, NotFound
from leadexec_signin.core.factors import MFA
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page, require_user
from leadexec_signin.web.security.cookies import session_cookie
from leadexec_signin.web.security.csrf import check_csrf

MAX_QUERY = 200
# What the page says once an action is done (the address carries only the action's verb).
DONE = {
    "approve": N_("Application approved. Its owner was emailed."),
    "suspend": N_("Application suspended: its tokens stopped working. Its owner was emailed."),
    "reinstate": N_("Application reinstated. Its owner was emailed."),
}
# An application's status as the page names it (the class keeps the code).
STATUS_WORDS = {
    PENDING: N_("pending"),
    APPROVED: N_("approved"),
    SUSPENDED: N_("suspended"),
}
# The OAuth client type in words (the authentication method beside it is a code).
CLIENT_TYPE_WORDS = {CONFIDENTIAL: N_("confidential"), PUBLIC: N_("public")}


async def operator(request: Request) -> User:
    user = await require_user(request)
    if not user.is_operator:
        raise AccessDenied(
            f"This page is for LeadExec operators, and {user.email} is not one. Your "
            "applications are in the partner console at /developers.",
            status=403,
        )
    await second_factor_used(request, user)
    return user


async def second_factor_used(request: Request, user: User) -> None:
    """Operators approve access to everyone's data: with ``LEADEXEC_OPERATOR_MFA=required``
    their session must have been signed in with a second factor. Without one they enrol
    first; with one they sign in again with it (step-up)."""
    svc = services(request)
    if svc.settings.operator_mfa != "required":
        return
    found = await call(svc.sessions.current, session_cookie(request, svc.settings))
    if found is not None and MFA in found[0].amr:
        return
    if await call(svc.factors.count, user.id) == 0:
        raise LoginRequired(request.url.path, to="/account/security", step="mfa")
    raise LoginRequired(request.url.path, step="mfa")


async def admin_home(request: Request) -> Response:
    user = await operator(request)
    query = request.query_params.get("q", "")[:MAX_QUERY]
    svc = services(request)
    listed = await call(svc.operator.listing, query)
    done = request.query_params.get("done", "")
    # Only a known action is echoed: free text here would let a link put words in our mouth.
    done = DONE.get(done, "")
    return page(
        request,
        "admin.html",
        {
            "user": user,
            "pending": [item for item in listed if item.app.status == PENDING],
            "others": [item for item in listed if item.app.status != PENDING],
            "query": query,
            "done": done,
            "title": N_("Applications"),
            "scopes": SCOPES,
            "statuses": STATUS_WORDS,
            "client_types": CLIENT_TYPE_WORDS,
        },
    )


async def change_status(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, services(request).settings, form.get("csrf"))
    user = await operator(request)
    action = form.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidRequest(N_("Choose approve, suspend or reinstate."))
    app_id = request.path_params["app_id"]
    if len(app_id) > 80:
        raise NotFound(N_("No such application."))
    await call(services(request).operator.act, app_id, action, actor=user.id)
    return RedirectResponse(f"/admin?done={action}", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/apps/{app_id}/status", change_status, methods=["POST"]),
]
