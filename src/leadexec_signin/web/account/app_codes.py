"""The authenticator app and recovery codes on the security page: set up (scan the QR code,
drawn on the server as SVG by segno, or copy the key; then confirm with a code), remove, and
make new recovery codes (shown once).

Setting up is a POST (``/app/new`` makes the pending secret, then shows it by redirect): the
GET page only shows the secret already made, so a prefetch, a crawler or a reload writes
nothing and never replaces a secret the user is scanning."""

from __future__ import annotations

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import SigninError
from leadexec_signin.web.account.passkeys import (
    SECURITY,
    form_of,
    require_fresh,
    security_page,
    signed_in,
)
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page


def qr_svg(uri: str) -> Markup:
    """Inline SVG (no script, no style attribute), so the page's CSP needs nothing more."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1))  # noqa: S704


async def setup_page(request: Request, error: SigninError | None = None) -> Response:
    session, user = await signed_in(request)
    try:
        require_fresh(session, request)
    except SigninError as exc:
        return await security_page(request, exc)
    codes = services(request).codes
    secret = await call(codes.app, user.id)
    if secret is not None and secret.confirmed_at is not None:
        return RedirectResponse(SECURITY, status_code=303)
    if secret is None:  # nothing made yet: the page offers to make it (a POST)
        return page(
            request,
            "app_setup.html",
            {"user": user, "title": "Set up an authenticator app", "start": True},
        )
    key = " ".join(secret.secret[i : i + 4] for i in range(0, len(secret.secret), 4))
    return page(
        request,
        "app_setup.html",
        {
            "user": user,
            "title": "Set up an authenticator app",
            "qr": qr_svg(codes.uri(user, secret)),
            "key": key,
            "error": error,
        },
        status=error.status if error else 200,
    )


async def setup_get(request: Request) -> Response:
    return await setup_page(request)


async def setup_new(request: Request) -> Response:
    """A new secret to scan (replacing one made before and never confirmed)."""
    await form_of(request)
    session, user = await signed_in(request)
    try:
        require_fresh(session, request)
    except SigninError as exc:
        return await security_page(request, exc)
    await call(services(request).codes.start, user)
    return RedirectResponse(SECURITY + "/app", status_code=303)


async def setup_post(request: Request) -> Response:
    form = await form_of(request)
    session, user = await signed_in(request)
    try:
        require_fresh(session, request)
        made = await call(services(request).codes.confirm, user, form.get("code"))
    except SigninError as exc:
        return await setup_page(request, exc)
    if made is None:
        return RedirectResponse(SECURITY + "?done=app", status_code=303)
    return codes_page(request, user, made)


def codes_page(request: Request, user: object, made: list[str]) -> Response:
    return page(
        request,
        "recovery_codes.html",
        {"user": user, "title": "Your recovery codes", "codes": made},
    )


async def remove(request: Request) -> Response:
    await form_of(request)
    session, user = await signed_in(request)
    svc = services(request)
    try:
        require_fresh(session, request)
        await call(svc.factors.can_remove_last, user)
    except SigninError as exc:
        return await security_page(request, exc)
    await call(svc.codes.remove, user)
    return RedirectResponse(SECURITY + "?done=app_removed", status_code=303)


async def new_codes(request: Request) -> Response:
    await form_of(request)
    session, user = await signed_in(request)
    try:
        require_fresh(session, request)
    except SigninError as exc:
        return await security_page(request, exc)
    made = await call(services(request).codes.new_recovery_codes, user)
    return codes_page(request, user, made)


routes = [
    Route(SECURITY + "/app", setup_get, methods=["GET"]),
    Route(SECURITY + "/app", setup_post, methods=["POST"]),
    Route(SECURITY + "/app/new", setup_new, methods=["POST"]),
    Route(SECURITY + "/app/remove", remove, methods=["POST"]),
    Route(SECURITY + "/recovery-codes", new_codes, methods=["POST"]),
]
