"""An application's buttons: add, edit and delete one, and the page of all of a partner's
buttons with their markup to copy."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import DEFAULT_BUTTON_TEXT
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.app_page import app_page
from leadexec_signin.web.developers.forms import chosen_scopes, text
from leadexec_signin.web.developers.layout import console_page
from leadexec_signin.web.developers.snippets import button_markup
from leadexec_signin.web.pages import require_user


async def add_button(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        await call(
            services(request).console.create_button,
            app_id,
            user,
            scopes=chosen_scopes(form),
            theme=text(form, "theme", 20) or "light",
            size=text(form, "size", 20) or "medium",
            text=text(form, "text", 100) or DEFAULT_BUTTON_TEXT,
        )
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400, tab="buttons")
    return RedirectResponse(f"/developers/apps/{app_id}?done=button#buttons", status_code=303)


async def edit_button(request: Request, user: User, form: FormData, app_id: str) -> Response:
    btn_id = request.path_params["btn_id"]
    try:
        await call(
            services(request).console.edit_button,
            app_id,
            btn_id,
            user,
            scopes=chosen_scopes(form),
            theme=text(form, "theme", 20) or "light",
            size=text(form, "size", 20) or "medium",
            text=text(form, "text", 100),
        )
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400, tab="buttons")
    return RedirectResponse(f"/developers/apps/{app_id}?done=button_saved#buttons", status_code=303)


async def delete_button(request: Request, user: User, _form: FormData, app_id: str) -> Response:
    await call(services(request).console.delete_button, app_id, request.path_params["btn_id"], user)
    return RedirectResponse(
        f"/developers/apps/{app_id}?done=button_deleted#buttons", status_code=303
    )


async def buttons_page(request: Request) -> Response:
    user = await require_user(request)
    owned = await call(services(request).console.buttons_for_owner, user)
    return console_page(
        request,
        "developer_buttons.html",
        user,
        "buttons",
        {
            "owned": owned,
            "markup": {b.id: button_markup(b) for _, buttons in owned for b in buttons},
            "title": N_("Buttons"),
        },
    )
