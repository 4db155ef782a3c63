"""What every page for people needs, whichever part of the site serves it (account, console,
operator): the signed-in user, a page rendered with its form's CSRF token, and the one safe
place to go back to after a form.

A missing sign-in is raised as ``LoginRequired``; the pages' renderer (``web/renderers.py``)
turns it into a redirect to the sign-in form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import LoginRequired
from leadexec_signin.web.context import call, services
from leadexec_signin.web.security.cookies import session_cookie
from leadexec_signin.web.security.csrf import attach_csrf_cookie, csrf_token

DEFAULT_NEXT = "/account/apps"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(raw: str | None) -> str:
    """Only same-site relative paths: ``//evil``, ``/\\evil``, schemes and control characters
    would turn the redirect after sign-in into an open redirect."""
    # Long enough for a standard authorization request with an id_token_hint.
    if not raw or len(raw) > 8192 or not raw.startswith("/") or raw.startswith("//"):
        return DEFAULT_NEXT
    if _CONTROL.search(raw):
        return DEFAULT_NEXT
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return raw


# Where a navigation may be answered with a redirect to another site (a client's redirect
# URI). Browsers hold every redirect that follows a form post to the posting page's
# form-action ('self' on ours), so a form leading there finishes through a page of our own.
LEAVES_SITE = ("/oauth2/authorize",)
CONTINUE = "/account/continue"


def after_form(next_url: str) -> RedirectResponse:
    """The redirect that ends a form of ours (sign-in, its second step): straight to
    ``next_url``, or, where the next answer may leave for another site, to the continue page
    that navigates on by itself (``/account/continue``)."""
    next_url = safe_next(next_url)
    if urlsplit(next_url).path in LEAVES_SITE:
        return RedirectResponse(CONTINUE + "?" + urlencode({"next": next_url}), status_code=303)
    return RedirectResponse(next_url, status_code=303)


async def current_user(request: Request) -> User | None:
    svc = services(request)
    raw = session_cookie(request, svc.settings)
    return await call(svc.sessions.user, raw) if raw else None


async def require_user(request: Request) -> User:
    """The signed-in user; otherwise the page's renderer sends them to sign in first."""
    user = await current_user(request)
    if user is None:
        raise LoginRequired(request.url.path)
    return user


def page(
    request: Request, template: str, context: Mapping[str, object], status: int = 200
) -> Response:
    svc = services(request)
    context = {"csrf": csrf_token(request, svc.settings), **context}
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        context,
        status_code=status,
        # Forms post to their own origin; "no-referrer" would make Chromium send Origin: null.
        headers={"Referrer-Policy": "same-origin"},
    )
    attach_csrf_cookie(request, response, svc.settings)
    return response
