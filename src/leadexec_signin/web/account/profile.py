"""The person's own account: the profile (name, company, time zone, language), the download
of everything we keep about them, and deleting the account (over ``core/actions/own_account``).

Deleting asks for the password, or a recent proof (a passkey on the Security page, or a
sign-in: the same five-minute rule the security page uses), and the address typed.
"""

from __future__ import annotations

import json
from datetime import datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import Conflict, InvalidCredentials, InvalidRequest, RateLimited
from leadexec_signin.core.factors import is_fresh
from leadexec_signin.core.people import Profile, time_zones
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_
from leadexec_signin.web.account.passkeys import signed_in
from leadexec_signin.web.account.recovery import checked_form, refused
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import clear_session_cookie

PROFILE = "/account/profile"
DELETE = "/account/delete"
# Languages the pages speak, as LeadExec locales (another one kept is shown as it is).
LOCALES = (
    ("en-US", "English (US)"),
    ("en-GB", "English (UK)"),
    ("fr-FR", "Français"),
    ("de-DE", "Deutsch"),
    ("es-ES", "Español"),
)
LIMITS = {"name": 120, "company": 120, "timezone": 64, "locale": 35, "email": 320,
          "password": 1024}  # fmt: skip


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"The field {name} must be text.")
    if len(value) > LIMITS[name]:
        raise InvalidRequest(f"The field {name} is too long.")
    return value


def _profile_page(request: Request, user: User, **extra: object) -> dict[str, object]:
    return {
        "title": N_("Your profile"),
        "user": user,
        "zones": sorted(time_zones()),
        "locales": LOCALES,
        "form": None,
        **extra,
    }


async def profile_get(request: Request) -> Response:
    _session, user = await signed_in(request)
    saved = request.query_params.get("done") == "saved"
    return page(request, "profile.html", _profile_page(request, user, saved=saved))


async def profile_post(request: Request) -> Response:
    form = await checked_form(request)
    _session, user = await signed_in(request)
    try:
        wanted = Profile(
            _field(form, "name"),
            _field(form, "company"),
            _field(form, "timezone"),
            _field(form, "locale"),
        )
        await call(services(request).own_account.update_profile, user, wanted)
    except InvalidRequest as exc:
        context = _profile_page(request, user, form=dict(form))
        return refused(request, "profile.html", context, exc)
    return RedirectResponse(PROFILE + "?done=saved", status_code=303)


async def export_post(request: Request) -> Response:
    await checked_form(request)
    _session, user = await signed_in(request)
    document = await call(services(request).own_account.export, user)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="leadexec-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


def _delete_context(
    session: Session, user: User, now: datetime, **extra: object
) -> dict[str, object]:
    return {
        "title": N_("Delete your account"),
        "user": user,
        "fresh": is_fresh(session.proven_at, now),
        **extra,
    }


async def delete_get(request: Request) -> Response:
    session, user = await signed_in(request)
    apps = await call(services(request).accounts.connected_apps, user.id)
    now = services(request).clock.now()
    return page(request, "delete_account.html", _delete_context(session, user, now, apps=apps))


async def delete_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    session, user = await signed_in(request)
    apps = await call(svc.accounts.connected_apps, user.id)
    context = _delete_context(session, user, svc.clock.now(), apps=apps)
    try:
        password, typed = _field(form, "password"), _field(form, "email")
        password_ok = False
        if password:
            # Under the sign-in form's limits: this form is no way around them.
            again = await call(
                svc.accounts.sign_in, user.email, password, client_ip(request, svc.settings)
            )
            password_ok = again.id == user.id
        await call(
            svc.own_account.delete, user, session, password_ok=password_ok, typed_email=typed
        )
    except (InvalidRequest, InvalidCredentials, RateLimited, Conflict) as exc:
        return refused(request, "delete_account.html", context, exc)
    response = RedirectResponse("/account/login?done=deleted", status_code=303)
    clear_session_cookie(response, svc.settings)
    return response


routes = [
    Route(PROFILE, profile_get, methods=["GET"]),
    Route(PROFILE, profile_post, methods=["POST"]),
    Route("/account/data", export_post, methods=["POST"]),
    Route(DELETE, delete_get, methods=["GET"]),
    Route(DELETE, delete_post, methods=["POST"]),
]
