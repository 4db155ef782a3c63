"""Operator pages: approve, suspend or reinstate applications (SPEC section 5).

Only operators see them; to anyone else they do not exist (404), so their paths reveal nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.operator import ACTIONS
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.web.account.routes import page, require_user
from leadexec_signin.web.context import call, services
from leadexec_signin.web.security import check_csrf


async def operator(request: Request) -> User:
    user = await require_user(request)
    if not user.is_operator:
        raise NotFound("There is nothing at this address.")
    return user


async def admin_home(request: Request) -> Response:
    user = await operator(request)
    apps = await call(services(request).registry.list_apps)
    done = request.query_params.get("done", "")
    # Only a known action is echoed: free text here would let a link put words in our mouth.
    done = done if done in ACTIONS else ""
    return page(
        request,
        "admin.html",
        {"user": user, "apps": apps, "done": done, "title": "Applications"},
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
