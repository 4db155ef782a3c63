"""One application's page: its status and IDs, the snippet and a complete page to copy, its
buttons, settings, OAuth registration, secret, usage and deletion. Drawn after a GET, and
again, with the refusal and the fields as posted, when a form on it is refused."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import SIZES, THEMES, Application
from leadexec_signin.core.clients import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    CLIENT_TYPES,
    ID_TOKEN_ALGS,
)
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import SCOPES
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.chart import panels
from leadexec_signin.web.developers.layout import console_page, mode_words, provider_host
from leadexec_signin.web.developers.oauth_form import OPTION_WORDS, client_fields
from leadexec_signin.web.developers.snippets import button_markup, complete_page
from leadexec_signin.web.pages import require_user
from leadexec_signin.web.signin.snippet import snippet

GRACE_CHOICES = [
    ("0", N_("Stop the old secret now (it leaked)")),
    ("1h", N_("Keep the old secret working for 1 hour")),
    ("24h", N_("Keep the old secret working for 24 hours")),
    ("7d", N_("Keep the old secret working for 7 days")),
]
# What the page says after a redirect from a form that succeeded (?done=...).
DONE_NOTICES = {
    "registered": N_("Application registered."),
    "button": N_("Button created."),
    "button_saved": N_("Button saved."),
    "button_deleted": N_("Button deleted. Pages still showing it get invalid_button."),
    "origins": N_("Origins saved."),
    "edited": N_("Application saved."),
    "client": N_("OAuth settings saved."),
}


def edit_fields(app: Application) -> dict[str, object]:
    return {
        "name": app.name,
        "logo": app.logo_url,
        "origins": "\n".join(app.origins),
        "notice": app.notice_url,
        "hardened": app.hardened,
    }


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
    tab: str = "overview",
) -> Response:
    """``tab`` is the section shown when the address names none: a refused form's own."""
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
            "tab": tab,
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
    notice = DONE_NOTICES.get(request.query_params.get("done", ""))
    return await app_page(request, request.path_params["app_id"], user, notice=notice)
