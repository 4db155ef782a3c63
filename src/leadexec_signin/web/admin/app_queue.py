"""Operator pages: the queue of applications waiting for approval, search, and approve,
reject with a reason (its own page: the reason is written there and mailed), suspend or
reinstate (the owner is told by email).

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
from leadexec_signin.core.errors import (
    AccessDenied,
    Conflict,
    InvalidRequest,
    LoginRequired,
    NotFound,
)
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
    "reject": N_("Application rejected: it is stopped. Its owner was emailed your reason."),
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


async def reject_page(
    request: Request, user: User, error: str | None = None, reason: str = ""
) -> Response:
    app_id = request.path_params["app_id"]
    found = [i for i in await call(services(request).operator.listing, app_id[:80])]
    item = next((i for i in found if i.app.id == app_id), None)
    if item is None:
        raise NotFound(N_("No such application."))
    return page(
        request,
        "admin_reject.html",
        {
            "user": user,
            "item": item,
            "error": error,
            "reason": reason,
            "title": N_("Reject an application"),
            "statuses": STATUS_WORDS,
        },
        status=400 if error and item.app.status == PENDING else 409 if error else 200,
    )


async def reject_get(request: Request) -> Response:
    return await reject_page(request, await operator(request))


async def reject(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8, max_part_size=8192)
    check_csrf(request, services(request).settings, form.get("csrf"))
    user = await operator(request)
    reason = form.get("reason")
    try:
        await call(
            services(request).operator.reject, request.path_params["app_id"][:80], reason,
            actor=user.id,
        )  # fmt: skip
    except (InvalidRequest, Conflict) as exc:
        kept = reason[:1000] if isinstance(reason, str) else ""
        return await reject_page(request, user, exc.description, kept)
    return RedirectResponse("/admin?done=reject", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/apps/{app_id}/status", change_status, methods=["POST"]),
    Route("/admin/apps/{app_id}/reject", reject_get, methods=["GET"]),
    Route("/admin/apps/{app_id}/reject", reject, methods=["POST"]),
]
