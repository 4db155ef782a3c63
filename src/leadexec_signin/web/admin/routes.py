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
from leadexec_signin.core.apps import PENDING
from leadexec_signin.core.errors import AccessDenied, InvalidRequest, NotFound
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.web.account.routes import page, require_user
from leadexec_signin.web.context import call, services
from leadexec_signin.web.security import check_csrf

MAX_QUERY = 200


async def operator(request: Request) -> User:
    user = await require_user(request)
    if not user.is_operator:
        raise AccessDenied(
            f"This page is for LeadExec operators, and {user.email} is not one. Your "
            "applications are in the partner console at /developers.",
            status=403,
        )
    return user


async def admin_home(request: Request) -> Response:
    user = await operator(request)
    query = request.query_params.get("q", "")[:MAX_QUERY]
    svc = services(request)
    listed = await call(svc.operator.listing, query)
    done = request.query_params.get("done", "")
    # Only a known action is echoed: free text here would let a link put words in our mouth.
    done = done if done in ACTIONS else ""
    return page(
        request,
        "admin.html",
        {
            "user": user,
            "pending": [item for item in listed if item.app.status == PENDING],
            "others": [item for item in listed if item.app.status != PENDING],
            "query": query,
            "done": done,
            "title": "Applications",
            "scopes": SCOPES,
        },
    )


async def change_status(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, services(request).settings, form.get("csrf"))
    user = await operator(request)
    action = form.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidRequest("Choose approve, suspend or reinstate.")
    app_id = request.path_params["app_id"]
    if len(app_id) > 80:
        raise NotFound("No such application.")
    await call(services(request).operator.act, app_id, action, actor=user.id)
    return RedirectResponse(f"/admin?done={action}", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/apps/{app_id}/status", change_status, methods=["POST"]),
]
