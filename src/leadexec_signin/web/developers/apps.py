"""The applications: the console's list, registering one, editing its settings and origins,
and deleting it."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.app_page import app_page
from leadexec_signin.web.developers.forms import (
    MAX_URI_FIELD,
    checked_form,
    chosen_scopes,
    origin_lines,
    text,
    uri_lines,
)
from leadexec_signin.web.developers.layout import console_page, mode_words
from leadexec_signin.web.pages import require_user


async def console(request: Request) -> Response:
    user = await require_user(request)
    apps = await call(services(request).console.apps_for_owner, user)
    deleted = request.query_params.get("done") == "deleted"
    return console_page(
        request,
        "developers.html",
        user,
        "apps",
        {"apps": apps, "scopes": SCOPES, "title": N_("Partner console"), "form": {},
         "mode_words": mode_words, "notice": N_("Application deleted.") if deleted else None},
    )  # fmt: skip


async def register(request: Request) -> Response:
    user, form = await checked_form(request)
    console = services(request).console
    fields = {
        "name": text(form, "name", 200),
        "origins": text(form, "origins", 6000),
        "redirect_uris": text(form, "redirect_uris", MAX_URI_FIELD),
        "logo": text(form, "logo"),
        "homepage": text(form, "homepage"),
        "privacy": text(form, "privacy"),
        "terms": text(form, "terms"),
        "notice": text(form, "notice"),
    }
    scopes = chosen_scopes(form)
    hardened = form.get("hardened") == "on"
    try:
        app, secret = await call(
            services(request).registry.register,
            name=fields["name"],
            origins=origin_lines(fields["origins"]),
            scopes=scopes,
            with_secret=form.get("with_secret") == "on" or hardened,
            hardened=hardened,
            owner_id=user.id,
            logo_url=fields["logo"],
            homepage_url=fields["homepage"],
            privacy_url=fields["privacy"],
            terms_url=fields["terms"],
            notice_url=fields["notice"],
            # The other OAuth fields are set on the application's page, once it exists.
            client=ClientRegistration(redirect_uris=uri_lines(fields["redirect_uris"])),
        )
    except InvalidRequest as exc:
        apps = await call(console.apps_for_owner, user)
        return console_page(
            request,
            "developers.html",
            user,
            "apps",
            {"apps": apps, "scopes": SCOPES, "title": N_("Partner console"),
             "mode_words": mode_words, "error": exc.description, "error_code": exc.code,
             "form": fields, "chosen": scopes},
            status=400,
        )  # fmt: skip
    if secret is None:
        # Post, then redirect: Back and reload never post the form again.
        return RedirectResponse(f"/developers/apps/{app.id}?done=registered", status_code=303)
    # A secret is shown once, on the answer to this post itself: never in an address, a
    # cookie or a later page (the page is not stored: Cache-Control no-store).
    return await app_page(
        request, app.id, user, secret=secret, notice=N_("Application registered.")
    )


async def apps_get(_request: Request) -> Response:
    """The registration form's own address, reached by Back or a reload: the list."""
    return RedirectResponse("/developers", status_code=303)


async def edit_app(request: Request, user: User, form: FormData, app_id: str) -> Response:
    fields: dict[str, object] | None = None
    try:
        fields = {
            "name": text(form, "name", 200),
            "logo": text(form, "logo"),
            "origins": text(form, "origins", 6000),
            "notice": text(form, "notice"),
            "hardened": form.get("hardened") == "on",
        }
        await call(
            services(request).console.edit_app,
            app_id,
            user,
            name=str(fields["name"]),
            logo_url=str(fields["logo"]),
            notice_url=str(fields["notice"]),
            hardened=bool(fields["hardened"]),
            origins=origin_lines(str(fields["origins"])),
        )
    except InvalidRequest as exc:
        return await app_page(
            request, app_id, user, error=exc, status=400, edit=fields, tab="settings"
        )
    return RedirectResponse(f"/developers/apps/{app_id}?done=edited#settings", status_code=303)


async def save_origins(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        lines = origin_lines(text(form, "origins", 6000))
        await call(services(request).console.set_origins, app_id, user, lines)
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400, tab="settings")
    return RedirectResponse(f"/developers/apps/{app_id}?done=origins#settings", status_code=303)


async def delete_app(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        await call(services(request).console.delete_app, app_id, user, text(form, "confirm", 200))
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400, tab="delete")
    return RedirectResponse("/developers?done=deleted", status_code=303)
