"""People's pages: sign in, sign out, and the connected-applications list (the sign-up and
recovery pages are in ``recovery.py``)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import APPROVED
from leadexec_signin.core.authorize import is_btn_id
from leadexec_signin.core.errors import (
    AccountDisabled,
    EmailNotVerified,
    InvalidCredentials,
    NotFound,
    RateLimited,
)
from leadexec_signin.core.scopes import SCOPES, ordered
from leadexec_signin.i18n import N_
from leadexec_signin.web.account import second_step
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import (
    CONTINUE,
    after_form,
    current_user,
    page,
    require_user,
    safe_next,
)
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import (
    clear_session_cookie,
    session_cookie,
    set_session_cookie,
)
from leadexec_signin.web.security.csrf import check_csrf

_GRANT_ID = re.compile(r"grt_[A-Za-z0-9_-]{16,64}")


async def asking_app(request: Request, next_url: str) -> str | None:
    """The application a popup or standard sign-in continues to, so the form can name it."""
    parts = urlsplit(next_url)
    query = parse_qs(parts.query)
    if parts.path == "/oauth2/authorize":
        client_id = (query.get("client_id") or [""])[0]
        app = await call(services(request).registry.app, client_id)
        return app.name if app and app.status == APPROVED else None
    if parts.path != "/signin/authorize":
        return None
    btn_id = (query.get("btnId") or query.get("btnid") or [""])[0]
    if not is_btn_id(btn_id):
        return None
    found = await call(services(request).registry.button, btn_id)
    # Only an approved application is named: the popup refuses the others anyway.
    return found[1].name if found and found[1].status == APPROVED else None


# What the sign-in form says after a link of the account pages brought the person here; the
# query names one of these, never text of its own (no reflected message).
DONE = {
    "verified": N_("Your email address is confirmed. Sign in to continue."),
    "reset": N_(
        "Your password was changed and every device was signed out. Sign in with the new password."
    ),
    "email": N_("Your email address was changed. Sign in with the new address."),
    "deleted": N_("Your account was deleted. Every application you had allowed was told."),
}

# What the form says when a second factor is asked for (step-up: acr_values, an application
# or /admin that requires one), by what the signed-in account has: never "your passkey" to
# someone without one. Signed out, it names every way.
STEP_UP = {
    "passkey": N_("This needs a second factor: sign in with your passkey."),
    "passkey_app": N_(
        "This needs a second factor: sign in with your passkey, or with your password and then "
        "the code from your authenticator app."
    ),
    "app": N_(
        "This needs a second factor: sign in with your password, then enter the code from your "
        "authenticator app."
    ),
    "none": N_(
        "This asks for a second factor, and your account has none yet: sign in with your "
        "password. You can add a passkey or an authenticator app on your Security page."
    ),
    "signed_out": N_(
        "This needs a second factor: sign in with your passkey, or with your password and then "
        "your authenticator app or a recovery code."
    ),
}


async def step_up_words(request: Request, user: User | None) -> str | None:
    if request.query_params.get("step") != "mfa":
        return None
    if user is None:
        return STEP_UP["signed_out"]
    svc = services(request)
    passkeys = await call(svc.passkeys.list, user.id)
    app = await call(svc.codes.app, user.id)
    has_app = app is not None and app.confirmed_at is not None
    if passkeys:
        return STEP_UP["passkey_app" if has_app else "passkey"]
    return STEP_UP["app" if has_app else "none"]


async def login_get(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    user = await current_user(request)
    # A standard client's login_hint fills in the email (OpenID Connect Core 3.1.2.1).
    hint = request.query_params.get("login_hint", "")[:320]
    return page(
        request,
        "login.html",
        {
            "next": next_url,
            "email": hint if hint.isprintable() else "",
            "error": None,
            "user": user,
            "app_name": await asking_app(request, next_url),
            "title": "Sign in",
            "done": DONE.get(request.query_params.get("done", "")),
            # A page that needs a second factor sent the person here (step-up).
            "step_mfa": await step_up_words(request, user),
        },
    )


async def login_post(request: Request) -> Response:
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, svc.settings, form.get("csrf"))
    email = form.get("email")
    password = form.get("password")
    raw_next = form.get("next")
    next_url = safe_next(raw_next if isinstance(raw_next, str) else None)
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        return page(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email if isinstance(email, str) else "",
                "error": "Enter your email and password.",
                "app_name": await asking_app(request, next_url),
                "title": "Sign in",
            },
            status=400,
        )
    try:
        user = await call(
            svc.accounts.sign_in, email[:320], password, client_ip(request, svc.settings)
        )
    except (InvalidCredentials, EmailNotVerified, AccountDisabled, RateLimited) as exc:
        response = page(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email[:320],
                "error": exc.description,
                "app_name": await asking_app(request, next_url),
                "title": "Sign in",
                # Its confirmation link may never have arrived: offer a new one.
                "resend": isinstance(exc, EmailNotVerified),
            },
            status=exc.status,
        )
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if await call(svc.factors.count, user.id):
        return await second_step.begin(request, user, next_url)  # two-step sign-in
    # A fresh session id at every sign-in: a planted id is never promoted (session fixation).
    await call(svc.sessions.end, session_cookie(request, svc.settings), "")
    raw = await call(
        svc.sessions.start,
        user,
        ("pwd",),
        client_ip(request, svc.settings),
        request.headers.get("user-agent", "")[:256],
    )
    response = after_form(next_url)
    set_session_cookie(response, svc.settings, raw)
    return response


async def continue_get(request: Request) -> Response:
    """The end of a sign-in that continues to an application: a page of our own origin that
    navigates on (``pages.after_form``). Only a relative address of ours is followed."""
    next_url = safe_next(request.query_params.get("next"))
    return request.app.state.templates.TemplateResponse(
        request,
        "continue.html",
        {"next": next_url, "title": "Continue"},
        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
    )


async def logout_get(request: Request) -> Response:
    user = await current_user(request)
    next_url = safe_next(request.query_params.get("next") or "/account/login")
    return page(request, "logout.html", {"user": user, "next": next_url, "title": "Sign out"})


async def logout_post(request: Request) -> Response:
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, svc.settings, form.get("csrf"))
    raw_next = form.get("next")
    next_url = safe_next(raw_next if isinstance(raw_next, str) else "/account/login")
    await call(
        svc.sessions.end,
        session_cookie(request, svc.settings),
        client_ip(request, svc.settings),
    )
    response = RedirectResponse(next_url, status_code=303)
    clear_session_cookie(response, svc.settings)
    return response


async def apps_get(request: Request) -> Response:
    user = await require_user(request)
    listings = await call(services(request).accounts.connected_apps, user.id)
    rows = [
        {
            "grant_id": item.grant.id,
            "name": item.app_name,
            "logo_url": item.app_logo_url,
            "homepage_url": item.app_homepage_url,
            "scopes": [SCOPES[s] for s in ordered(item.grant.scopes)],
            "granted": item.grant.created_at,
            "last_used": item.grant.last_used_at,
        }
        for item in listings
    ]
    removed = request.query_params.get("removed") == "1"
    return page(
        request,
        "apps.html",
        {"user": user, "rows": rows, "removed": removed, "title": "Connected applications"},
    )


async def apps_remove(request: Request) -> Response:
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, svc.settings, form.get("csrf"))
    user = await require_user(request)
    grant_id = request.path_params["grant_id"]
    if not _GRANT_ID.fullmatch(grant_id):
        # Malformed ids never reach storage (a NUL byte would be a 500 on PostgreSQL) and are
        # answered like an unknown grant.
        raise NotFound("That application is not connected to your account.")
    await call(svc.revocation.remove_access, user, grant_id, client_ip(request, svc.settings))
    return RedirectResponse("/account/apps?removed=1", status_code=303)


async def account_home(request: Request) -> Response:
    return RedirectResponse("/account/apps", status_code=303)


routes = [
    Route("/", account_home, methods=["GET"]),
    Route("/account", account_home, methods=["GET"]),
    Route("/account/login", login_get, methods=["GET"]),
    Route("/account/login", login_post, methods=["POST"]),
    Route(CONTINUE, continue_get, methods=["GET"]),
    Route("/account/logout", logout_get, methods=["GET"]),
    Route("/account/logout", logout_post, methods=["POST"]),
    Route("/account/apps", apps_get, methods=["GET"]),
    Route("/account/apps/{grant_id}/remove", apps_remove, methods=["POST"]),
]
