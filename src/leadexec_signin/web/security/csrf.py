"""CSRF: a double-submit cookie plus an ``Origin`` check (OWASP CSRF cheat sheet), for every
form that changes state."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.credentials import same
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.settings import Settings
from leadexec_signin.web.security.cookies import cookie_name

CSRF = "le_csrf"


def csrf_token(request: Request, settings: Settings) -> str:
    """The token to put in forms; remembered on the request so the response can set it."""
    existing = request.cookies.get(cookie_name(settings, CSRF), "")
    if 20 <= len(existing) <= 100 and existing.isascii():
        return existing
    token = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def attach_csrf_cookie(request: Request, response: Response, settings: Settings) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            cookie_name(settings, CSRF),
            token,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            path="/",
        )


def check_csrf(request: Request, settings: Settings, submitted: object) -> None:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin not in (own, settings.issuer_origin):
        raise InvalidRequest("This form was sent from another site.", status=403)
    cookie = request.cookies.get(cookie_name(settings, CSRF), "")
    if (
        not isinstance(submitted, str)
        or not cookie
        or len(submitted) > 100
        or not same(submitted, cookie)
    ):
        raise InvalidRequest(
            "This form has expired or was not sent from this site. Reload the page and try again.",
            status=403,
        )
