"""The partner console (SPEC section 5): register applications, origins, buttons, secrets,
copy the snippet, and a "Try It" page.

Every partner sees only their own applications; an application registered here starts
``pending`` until an operator approves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import SIZES, THEMES
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.web.account.routes import page, require_user
from leadexec_signin.web.context import call, services
from leadexec_signin.web.security import check_csrf
from leadexec_signin.web.signin.snippet import snippet

MAX_ORIGIN_LINES = 20


def text(form: FormData, name: str, limit: int = 2048) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"The field {name} is too long or not text.")
    return value


def origin_lines(raw: str) -> list[str]:
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(lines) > MAX_ORIGIN_LINES:
        raise InvalidRequest(f"At most {MAX_ORIGIN_LINES} origins per application.")
    return lines


def provider_host(request: Request) -> str:
    return urlsplit(services(request).settings.issuer).netloc


async def checked_form(request: Request) -> tuple[User, FormData]:
    form = await request.form(max_files=0, max_fields=40)
    check_csrf(request, services(request).settings, form.get("csrf"))
    return await require_user(request), form


AppAction = Callable[[Request, User, FormData, str], Awaitable[Response]]


def app_action(handler: AppAction) -> Callable[[Request], Awaitable[Response]]:
    """A console form about one application: CSRF checked, signed in, the id from the path."""

    async def endpoint(request: Request) -> Response:
        user, form = await checked_form(request)
        return await handler(request, user, form, request.path_params["app_id"])

    return endpoint


async def console(request: Request) -> Response:
    user = await require_user(request)
    apps = await call(services(request).console.apps_for_owner, user)
    return page(
        request,
        "developers.html",
        {"user": user, "apps": apps, "scopes": SCOPES, "title": "Partner console", "form": {}},
    )


async def register(request: Request) -> Response:
    user, form = await checked_form(request)
    console = services(request).console
    fields = {
        "name": text(form, "name", 200),
        "origins": text(form, "origins", 6000),
        "logo": text(form, "logo"),
        "homepage": text(form, "homepage"),
        "privacy": text(form, "privacy"),
        "terms": text(form, "terms"),
        "notice": text(form, "notice"),
    }
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
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
        )
    except InvalidRequest as exc:
        apps = await call(console.apps_for_owner, user)
        return page(
            request,
            "developers.html",
            {"user": user, "apps": apps, "scopes": SCOPES, "title": "Partner console",
             "error": exc.description, "form": fields, "chosen": scopes},
            status=400,
        )  # fmt: skip
    return await app_page(request, app.id, user, secret=secret, notice="Application registered.")


async def app_page(
    request: Request,
    app_id: str,
    user: User,
    *,
    secret: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    app, buttons = await call(services(request).console.owned_app, app_id, user)
    return page(
        request,
        "developer_app.html",
        {
            "user": user,
            "app": app,
            "buttons": buttons,
            "secret": secret,
            "notice": notice,
            "error": error,
            "snippet": snippet(provider_host(request)),
            "scopes": SCOPES,
            "themes": THEMES,
            "sizes": SIZES,
            "title": app.name,
        },
        status=status,
    )


async def show_app(request: Request) -> Response:
    user = await require_user(request)
    notice = {"button": "Button created.", "origins": "Origins saved."}.get(
        request.query_params.get("done", "")
    )
    return await app_page(request, request.path_params["app_id"], user, notice=notice)


async def save_origins(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        lines = origin_lines(text(form, "origins", 6000))
        await call(services(request).console.set_origins, app_id, user, lines)
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc.description, status=400)
    return RedirectResponse(f"/developers/apps/{app_id}?done=origins", status_code=303)


async def add_button(request: Request, user: User, form: FormData, app_id: str) -> Response:
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        await call(
            services(request).console.create_button,
            app_id,
            user,
            scopes=scopes,
            theme=text(form, "theme", 20) or "light",
            size=text(form, "size", 20) or "medium",
            text=text(form, "text", 100) or "Sign in with LeadExec",
        )
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc.description, status=400)
    return RedirectResponse(f"/developers/apps/{app_id}?done=button", status_code=303)


async def rotate_secret(request: Request, user: User, _form: FormData, app_id: str) -> Response:
    secret = await call(services(request).console.rotate_secret, app_id, user)
    return await app_page(request, app_id, user, secret=secret, notice="New secret created.")


async def try_it(request: Request) -> Response:
    button = await call(services(request).console.try_it_button)
    response = page(request, "try_it.html", {"btn_id": button.id, "title": "Try It"})
    # The SDK on this page frames the silent check on this same origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "img-src 'self' https: data:; connect-src 'self'; frame-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response


routes = [
    Route("/developers", console, methods=["GET"]),
    Route("/developers/apps", register, methods=["POST"]),
    Route("/developers/apps/{app_id}", show_app, methods=["GET"]),
    Route("/developers/apps/{app_id}/origins", app_action(save_origins), methods=["POST"]),
    Route("/developers/apps/{app_id}/buttons", app_action(add_button), methods=["POST"]),
    Route("/developers/apps/{app_id}/secret", app_action(rotate_secret), methods=["POST"]),
    Route("/developers/try", try_it, methods=["GET"]),
]
