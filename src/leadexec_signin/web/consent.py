"""The consent dialog, one page for every surface that asks (the popup, FedCM's
continuation, ``/oauth2/authorize``): the scopes asked for and already granted, the form
that echoes what it showed, and its CSRF token. A surface says only where the form goes,
what it carries, and which headers the page needs (the standard surface widens
``form-action`` to the client's redirect URI)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core import resources
from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application
from leadexec_signin.core.scopes import OPENID, OPENID_WORDS, SCOPES, ordered
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import services
from leadexec_signin.web.security.csrf import attach_csrf_cookie, csrf_token

# RFC 8707: the resource an authorization request named, as the dialog names it.
RESOURCE_WORDS = {
    resources.API: N_("the LeadExec API"),
    resources.MCP: N_("LeadExec for AI assistants (MCP)"),
}


@dataclass(frozen=True)
class ScopeLine:
    name: str
    words: str


def consent_dialog(
    request: Request,
    *,
    app: Application,
    origin: str,
    user: User,
    ask: frozenset[str],
    had: frozenset[str],
    shown: str,
    form_action: str,
    hidden: Sequence[tuple[str, str]],
    switch_next: str,
    headers: Mapping[str, str],
    resource: str | None = None,
    redirect_host: str = "",
) -> Response:
    """``resource``: the resource the tokens will be for (RFC 8707), named in the dialog;
    ``redirect_host``: where an unreviewed client receives the answer, when that is not the
    domain it is shown as (a metadata document may list redirect URIs anywhere)."""
    settings = services(request).settings
    lines = [ScopeLine(s, SCOPES[s]) for s in ordered(ask)]
    if not lines and shown == OPENID:
        lines = [ScopeLine(OPENID, OPENID_WORDS)]  # a first visit that wants no data scope
    response = request.app.state.templates.TemplateResponse(
        request,
        "consent.html",
        {
            "app": app,
            "origin": origin,
            "user": user,
            "ask": lines,
            "had": [ScopeLine(s, SCOPES[s]) for s in ordered(had)],
            "form_action": form_action,
            "hidden": list(hidden),
            "scopes_field": shown,
            "csrf": csrf_token(request, settings),
            "switch_next": switch_next,
            "redirect_host": redirect_host,
            "resource": (
                (RESOURCE_WORDS[resource], resources.url(settings.issuer, resource))
                if resource is not None
                else None
            ),
            # A catalog sentence and its value: base.html translates it.
            "title": (N_("Allow %(app)s to access your account?"), {"app": app.name}),
        },
        headers=dict(headers),
    )
    attach_csrf_cookie(request, response, settings)
    return response
