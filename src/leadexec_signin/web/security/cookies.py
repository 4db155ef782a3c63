"""The browser session's cookies, and the Login Status API's ``Set-Login`` that goes with them."""

from __future__ import annotations

import re
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.settings import Settings


def cookie_name(settings: Settings, base: str) -> str:
    # __Host- pins the cookie to this exact host over HTTPS: a sibling subdomain cannot
    # plant a session or CSRF cookie (login CSRF by cookie tossing).
    return f"__Host-{base}" if settings.secure_cookies else base


SESSION = "le_session"
# Sent in third-party frames and to the browser's FedCM requests (SameSite=None) and read only
# by the silent check and web/fedcm, which answer only a frame or the browser itself
# (Sec-Fetch-Dest) and only registered origins. Forms never read it: they keep the Lax cookie
# and the double-submit token (docs/security.md). Needs Secure: over HTTPS, or on a loopback
# issuer, where browsers treat plain http as secure.
SESSION_X = "le_session_x"
_LOOPBACK = re.compile(
    r"^http://(?:localhost|127\.0\.0\.1|\[::1\]|[a-z0-9.-]+\.localhost)(?::\d+)?$"
)


def cross_site_cookie(settings: Settings) -> bool:
    return settings.secure_cookies or _LOOPBACK.fullmatch(settings.issuer_origin) is not None


def _session_cookies(settings: Settings) -> list[tuple[str, bool, Literal["lax", "none"]]]:
    """(name, Secure, SameSite) of each session cookie: the Lax one always, the cross-site one
    where browsers accept it."""
    cookies: list[tuple[str, bool, Literal["lax", "none"]]] = [
        (cookie_name(settings, SESSION), settings.secure_cookies, "lax")
    ]
    if cross_site_cookie(settings):
        cookies.append((cookie_name(settings, SESSION_X), True, "none"))
    return cookies


def set_session_cookie(response: Response, settings: Settings, raw: str) -> None:
    """Also tells the browser that the user is signed in here (the Login Status API's
    ``Set-Login``), so its FedCM dialog asks the accounts endpoint at all."""
    response.headers["Set-Login"] = "logged-in"
    for name, secure, samesite in _session_cookies(settings):
        response.set_cookie(
            name,
            raw,
            max_age=settings.session_absolute_seconds,
            httponly=True,
            secure=secure,
            samesite=samesite,
            path="/",
        )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Every sign-out: the browser then refuses a passive FedCM call without a request."""
    response.headers["Set-Login"] = "logged-out"
    for name, secure, samesite in _session_cookies(settings):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite=samesite)


def session_cookie(
    request: Request, settings: Settings, *, third_party: bool = False
) -> str | None:
    raw = request.cookies.get(cookie_name(settings, SESSION))
    if raw is None and third_party and cross_site_cookie(settings):
        raw = request.cookies.get(cookie_name(settings, SESSION_X))
    return raw
