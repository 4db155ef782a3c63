"""An application's appSecret: a new one, with the old one kept for a grace period or refused
at once. The new secret is shown once, on the page the post answers."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.console import SECRET_GRACE
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.app_page import app_page
from leadexec_signin.web.developers.forms import text

FIRST_SECRET = N_(
    "Secret created. From now on /api/token requires it with every exchange, and the OAuth "
    "client is confidential (client_secret_basic)."
)
# What the page says once the new secret is made: whole sentences, one per choice (a closed
# set), so each language words its own duration.
GRACE_NOTICES = {
    "0": N_("New secret created. The old secret stopped working."),
    "1h": N_("New secret created. The old secret keeps working for 1 hour."),
    "24h": N_("New secret created. The old secret keeps working for 24 hours."),
    "7d": N_("New secret created. The old secret keeps working for 7 days."),
}


async def rotate_secret(request: Request, user: User, form: FormData, app_id: str) -> Response:
    choice = text(form, "grace", 8) or "0"
    grace = SECRET_GRACE.get(choice)
    if grace is None:
        return await app_page(
            request, app_id, user,
            error=InvalidRequest(N_("Choose how long the old secret keeps working.")), status=400,
            tab="secret",
        )  # fmt: skip
    console = services(request).console
    app, _ = await call(console.owned_app, app_id, user)
    secret = await call(console.rotate_secret, app_id, user, grace)
    # A first secret replaces nothing: say what it changed instead.
    notice = GRACE_NOTICES[choice] if app.requires_secret else FIRST_SECRET
    return await app_page(request, app_id, user, secret=secret, notice=notice, tab="secret")
