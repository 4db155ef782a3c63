"""The partner console: register, edit and delete applications and buttons, rotate secrets,
copy a complete page, preview buttons, read usage, and try the buttons out.

Every partner sees only their own applications (another's is "not found"); an application
registered here starts pending, in development mode (it works for its owner on localhost)
until an operator approves it. Every page names this server's issuer in its snippets, so a
console reached under another host says so before a partner copies a wrong address.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.console import SECRET_GRACE
from leadexec_signin.core.apps import (
    APPROVED,
    DEFAULT_BUTTON_TEXT,
    LOOPBACK_HOSTS,
    PENDING,
    SIZES,
    SUSPENDED,
    THEMES,
    Application,
    Button,
)
from leadexec_signin.core.clients import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    CLIENT_TYPES,
    ID_TOKEN_ALGS,
    MAX_JWKS,
    ClientRegistration,
)
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.chart import panels
from leadexec_signin.web.developers.snippets import button_markup, complete_page
from leadexec_signin.web.pages import current_user, page, require_user
from leadexec_signin.web.security.csrf import check_csrf
from leadexec_signin.web.signin.snippet import snippet

MAX_ORIGIN_LINES = 20
# A textarea of URIs: room for the 20 the core allows at a realistic length, well inside the
# request body limit together with the JWKS.
MAX_URI_FIELD = 12_000

# Words the pages show for machine values: the values themselves (form fields, classes) stay.
# A sentence with a value is a (message, values) pair, translated when the page is drawn, in
# the page's language (which the signed-in user's locale may still change at that point).
Words = str | tuple[str, dict[str, object]]
STATUS_WORDS = {
    PENDING: N_("development mode"),
    APPROVED: N_("approved"),
    SUSPENDED: N_("suspended"),
}
THEME_WORDS = {"light": N_("light"), "dark": N_("dark")}
SIZE_WORDS = {"small": N_("small"), "medium": N_("medium"), "large": N_("large")}
# The OAuth choices that are English words (the client types, the "none" method, the opaque
# format); names such as client_secret_basic, jwt or EdDSA read the same in every language.
OPTION_WORDS = {
    "confidential": N_("confidential"),
    "public": N_("public"),
    "none": N_("none"),
    "opaque": N_("opaque"),
}


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


def uri_lines(raw: str) -> tuple[str, ...]:
    """The core counts and checks them, with words that name redirect URIs, not origins."""
    return tuple(line.strip() for line in raw.splitlines() if line.strip())


def provider_host(request: Request) -> str:
    return urlsplit(services(request).settings.issuer).netloc


def host_warning(request: Request) -> Words | None:
    """The snippets name the configured issuer; a console reached under another host (a
    proxy, a forgotten LEADEXEC_ISSUER) would hand out an address that does not answer."""
    issuer = services(request).settings.issuer
    if request.url.netloc == urlsplit(issuer).netloc:
        return None
    return (
        N_(
            "You opened the console at %(here)s, but this server's issuer (LEADEXEC_ISSUER) is "
            "%(issuer)s: the snippets below load the SDK from there. Open the console at that "
            "address, or set LEADEXEC_ISSUER to the address your pages reach."
        ),
        {"here": request.url.netloc, "issuer": issuer},
    )


def console_page(
    request: Request,
    template: str,
    user: User | None,
    nav: str,
    context: dict[str, object],
    status: int = 200,
) -> Response:
    """Every console page: the navigation, the signed-in partner, the issuer warning."""
    return page(
        request,
        template,
        {
            "user": user,
            "nav": nav,
            "host_warning": host_warning(request),
            "status_words": STATUS_WORDS,
            "theme_words": THEME_WORDS,
            "size_words": SIZE_WORDS,
            "default_text": DEFAULT_BUTTON_TEXT,
            **context,
        },
        status=status,
    )


def mode_words(app: Application) -> Words:
    """The approval state in words, as the application's page and list explain it."""
    if app.status == "approved":
        return N_(
            "Approved: the buttons sign in every LeadExec user, on each origin registered below."
        )
    if app.status == "suspended":
        return N_(
            "Suspended by a LeadExec operator: the buttons answer app_not_approved and every "
            "token stopped working. Write to LeadExec support to have it reinstated."
        )
    loopback = ", ".join(f"http://{h}:PORT" for h in LOOPBACK_HOSTS)
    return (
        N_(
            "Development mode, waiting for approval: the buttons work only for you (the owner) "
            "and only on %(loopback)s. Production origins and other users get app_not_approved "
            "until a LeadExec operator approves the application; you will get an email then."
        ),
        {"loopback": loopback},
    )


def client_fields(app: Application) -> dict[str, object]:
    """The OAuth form as the application is registered; the JWKS indented, to be read."""
    return {
        "redirect_uris": "\n".join(app.redirect_uris),
        "client_type": app.client_type,
        "auth_method": app.auth_method,
        "jwks_uri": app.jwks_uri,
        "jwks": json.dumps(json.loads(app.jwks), indent=2) if app.jwks else "",
        "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris),
        "backchannel_logout_uri": app.backchannel_logout_uri,
        "access_token_format": app.access_token_format,
        "id_token_alg": app.id_token_alg,
        "rotate_refresh_tokens": app.rotate_refresh_tokens,
    }


def posted_client_fields(form: FormData) -> dict[str, object]:
    """The OAuth form as posted, kept as typed so a refused form comes back as it was sent."""
    return {
        "redirect_uris": text(form, "redirect_uris", MAX_URI_FIELD),
        "client_type": text(form, "client_type", 40),
        "auth_method": text(form, "auth_method", 40),
        "jwks_uri": text(form, "jwks_uri"),
        # Twice the limit, so the core's own "larger than 16 KB" is what a partner reads.
        "jwks": text(form, "jwks", 2 * MAX_JWKS),
        "post_logout_redirect_uris": text(form, "post_logout_redirect_uris", MAX_URI_FIELD),
        "backchannel_logout_uri": text(form, "backchannel_logout_uri"),
        "access_token_format": text(form, "access_token_format", 40),
        "id_token_alg": text(form, "id_token_alg", 40),
        "rotate_refresh_tokens": form.get("rotate_refresh_tokens") == "on",
    }


def registration(fields: dict[str, object]) -> ClientRegistration:
    return ClientRegistration(
        redirect_uris=uri_lines(str(fields["redirect_uris"])),
        client_type=str(fields["client_type"]),
        auth_method=str(fields["auth_method"]),
        jwks_uri=str(fields["jwks_uri"]),
        jwks=str(fields["jwks"]) or None,
        post_logout_redirect_uris=uri_lines(str(fields["post_logout_redirect_uris"])),
        backchannel_logout_uri=str(fields["backchannel_logout_uri"]),
        # An empty select would otherwise be refused; absent means the default.
        access_token_format=str(fields["access_token_format"]) or "opaque",
        id_token_alg=str(fields["id_token_alg"]) or ID_TOKEN_ALGS[0],
        rotate_refresh_tokens=bool(fields["rotate_refresh_tokens"]),
    )


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
    return await app_page(
        request, app.id, user, secret=secret, notice=N_("Application registered.")
    )


async def app_page(
    request: Request,
    app_id: str,
    user: User,
    *,
    secret: str | None = None,
    notice: str | None = None,
    error: InvalidRequest | None = None,
    status: int = 200,
    oauth: dict[str, object] | None = None,
    edit: dict[str, object] | None = None,
) -> Response:
    svc = services(request)
    app, buttons = await call(svc.console.owned_app, app_id, user)
    usage = await call(svc.console.usage, app_id, user)
    issuer = svc.settings.issuer
    host = provider_host(request)
    return console_page(
        request,
        "developer_app.html",
        user,
        "apps",
        {
            "app": app,
            "buttons": buttons,
            "secret": secret,
            "notice": notice,
            # The refusal's own sentence and its code, so ``describe`` can word it in any language.
            "error": error.description if error else None,
            "error_code": error.code if error else None,
            "mode_words": mode_words(app),
            "snippet": snippet(host),
            "markup": {b.id: button_markup(b) for b in buttons},
            "complete": complete_page(host, app, buttons[0]) if buttons else None,
            "panels": panels(usage),
            "edit": edit or edit_fields(app),
            "graces": GRACE_CHOICES,
            "scopes": SCOPES,
            "themes": THEMES,
            "sizes": SIZES,
            "title": app.name,
            "oauth": oauth or client_fields(app),
            "discovery_url": f"{issuer}/.well-known/openid-configuration",
            "client_types": CLIENT_TYPES,
            "auth_methods": AUTH_METHODS,
            "access_token_formats": ACCESS_TOKEN_FORMATS,
            "id_token_algs": ID_TOKEN_ALGS,
            "option_words": OPTION_WORDS,
        },
        status=status,
    )


async def show_app(request: Request) -> Response:
    user = await require_user(request)
    notice = {
        "button": N_("Button created."),
        "button_saved": N_("Button saved."),
        "button_deleted": N_("Button deleted. Pages still showing it get invalid_button."),
        "origins": N_("Origins saved."),
        "edited": N_("Application saved."),
        "client": N_("OAuth settings saved."),
    }.get(request.query_params.get("done", ""))
    return await app_page(request, request.path_params["app_id"], user, notice=notice)


GRACE_CHOICES = [
    ("0", N_("Stop the old secret now (it leaked)")),
    ("1h", N_("Keep the old secret working for 1 hour")),
    ("24h", N_("Keep the old secret working for 24 hours")),
    ("7d", N_("Keep the old secret working for 7 days")),
]
# What the page says once the new secret is made: whole sentences, one per choice (a closed
# set), so each language words its own duration.
GRACE_NOTICES = {
    "0": N_("New secret created. The old secret stopped working."),
    "1h": N_("New secret created. The old secret keeps working for 1 hour."),
    "24h": N_("New secret created. The old secret keeps working for 24 hours."),
    "7d": N_("New secret created. The old secret keeps working for 7 days."),
}


def edit_fields(app: Application) -> dict[str, object]:
    return {
        "name": app.name,
        "logo": app.logo_url,
        "origins": "\n".join(app.origins),
        "notice": app.notice_url,
        "hardened": app.hardened,
    }


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
        return await app_page(request, app_id, user, error=exc, status=400, edit=fields)
    return RedirectResponse(f"/developers/apps/{app_id}?done=edited", status_code=303)


async def delete_app(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        await call(services(request).console.delete_app, app_id, user, text(form, "confirm", 200))
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400)
    return RedirectResponse("/developers?done=deleted", status_code=303)


async def edit_button(request: Request, user: User, form: FormData, app_id: str) -> Response:
    btn_id = request.path_params["btn_id"]
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        await call(
            services(request).console.edit_button,
            app_id,
            btn_id,
            user,
            scopes=scopes,
            theme=text(form, "theme", 20) or "light",
            size=text(form, "size", 20) or "medium",
            text=text(form, "text", 100),
        )
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400)
    return RedirectResponse(f"/developers/apps/{app_id}?done=button_saved", status_code=303)


async def delete_button(request: Request, user: User, _form: FormData, app_id: str) -> Response:
    await call(services(request).console.delete_button, app_id, request.path_params["btn_id"], user)
    return RedirectResponse(f"/developers/apps/{app_id}?done=button_deleted", status_code=303)


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


async def docs_page(request: Request) -> Response:
    user = await require_user(request)
    host = provider_host(request)
    example_app = Application(
        id="APP_ID", name="Your application", owner_id=None, status="pending",
        scopes=frozenset(), origins=(),
    )  # fmt: skip
    example = complete_page(host, example_app, Button(id="BTN_ID", app_id="APP_ID",
                                                     scopes=frozenset()))  # fmt: skip
    return console_page(
        request,
        "developer_docs.html",
        user,
        "docs",
        {
            "title": N_("Documentation"),
            "issuer": services(request).settings.issuer,
            "complete": example,
            "loopback": [f"http://{h}:PORT" for h in LOOPBACK_HOSTS],
        },
    )


async def save_origins(request: Request, user: User, form: FormData, app_id: str) -> Response:
    try:
        lines = origin_lines(text(form, "origins", 6000))
        await call(services(request).console.set_origins, app_id, user, lines)
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400)
    return RedirectResponse(f"/developers/apps/{app_id}?done=origins", status_code=303)


async def save_client(request: Request, user: User, form: FormData, app_id: str) -> Response:
    fields: dict[str, object] | None = None
    try:
        fields = posted_client_fields(form)
        await call(services(request).console.set_client, app_id, user, registration(fields))
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400, oauth=fields)
    return RedirectResponse(f"/developers/apps/{app_id}?done=client#oauth", status_code=303)


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
            text=text(form, "text", 100) or DEFAULT_BUTTON_TEXT,
        )
    except InvalidRequest as exc:
        return await app_page(request, app_id, user, error=exc, status=400)
    return RedirectResponse(f"/developers/apps/{app_id}?done=button", status_code=303)


async def rotate_secret(request: Request, user: User, form: FormData, app_id: str) -> Response:
    choice = text(form, "grace", 8) or "0"
    grace = SECRET_GRACE.get(choice)
    if grace is None:
        return await app_page(
            request, app_id, user,
            error=InvalidRequest(N_("Choose how long the old secret keeps working.")), status=400,
        )  # fmt: skip
    secret = await call(services(request).console.rotate_secret, app_id, user, grace)
    notice = GRACE_NOTICES[choice]
    return await app_page(request, app_id, user, secret=secret, notice=notice)


async def try_it(request: Request) -> Response:
    svc = services(request)
    button = await call(svc.console.try_it_button)
    user = await current_user(request)
    owned = await call(svc.console.buttons_for_owner, user) if user else []
    here = f"{request.url.scheme}://{request.url.netloc}"
    response = console_page(
        request,
        "try_it.html",
        user,
        "try",
        {
            "btn_id": button.id,
            "title": N_("Try It"),
            "owned": owned,
            "here": here,
            "markup": {b.id: button_markup(b) for _, buttons in owned for b in buttons},
        },
    )
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
    Route("/developers/apps/{app_id}/client", app_action(save_client), methods=["POST"]),
    Route("/developers/apps/{app_id}/secret", app_action(rotate_secret), methods=["POST"]),
    Route("/developers/apps/{app_id}/edit", app_action(edit_app), methods=["POST"]),
    Route("/developers/apps/{app_id}/delete", app_action(delete_app), methods=["POST"]),
    Route("/developers/apps/{app_id}/buttons/{btn_id}", app_action(edit_button), methods=["POST"]),
    Route(
        "/developers/apps/{app_id}/buttons/{btn_id}/delete",
        app_action(delete_button),
        methods=["POST"],
    ),
    Route("/developers/buttons", buttons_page, methods=["GET"]),
    Route("/developers/docs", docs_page, methods=["GET"]),
    Route("/developers/try", try_it, methods=["GET"]),
]
