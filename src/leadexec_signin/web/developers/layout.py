"""What every console page shares: the navigation, the signed-in partner, the words for
machine values, and the warning shown when the console is reached under another host than
this server's issuer (the snippets name the issuer)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import (
    APPROVED,
    DEFAULT_BUTTON_TEXT,
    LOOPBACK_HOSTS,
    PENDING,
    SUSPENDED,
    Application,
)
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import services
from leadexec_signin.web.pages import page

# Words the pages show for machine values: the values themselves (form fields, classes) stay.
# A sentence with a value is a (message, values) pair, translated when the page is drawn, in
# the page's language (which the signed-in user's locale may still change at that point).
Words = str | tuple[str, Mapping[str, object]]
STATUS_WORDS = {
    PENDING: N_("development mode"),
    APPROVED: N_("approved"),
    SUSPENDED: N_("suspended"),
}
THEME_WORDS = {"light": N_("light"), "dark": N_("dark")}
SIZE_WORDS = {"small": N_("small"), "medium": N_("medium"), "large": N_("large")}


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
            "Approved: the buttons sign in every LeadExec user, on each origin registered in "
            "Settings."
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
