"""The renderers of refusals, one per kind of surface (``surfaces.py`` attaches them):

- the seed's API (``/api/token``, ``/api/revoke``, the button configuration):
  ``{valid: false, errorMessage, error}``, plus any null fields the endpoint declares
- the LeadExec API (``/api/v1/*``): ``{error, error_description}`` and ``WWW-Authenticate``
- pages: a readable HTML page; "sign-in required" is a redirect to the sign-in form
- the popup and silent check: a result page (``web/signin/results.py``)

Only ``description`` reaches a client; ``debug`` stays in the log (node-oidc-provider
``lib/helpers/err_out.js``).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from leadexec_signin.core.errors import (
    InsufficientScope,
    InvalidToken,
    LoginRequired,
    SigninError,
)
from leadexec_signin.core.resources import metadata_url
from leadexec_signin.i18n import N_
from leadexec_signin.web.dpop_http import challenge, uses_dpop
from leadexec_signin.web.surfaces import Renderer

# An endpoint may list fields its error body carries as null (``/api/token``'s tokens), so a
# partner's code reads the same keys whatever the outcome.
ERROR_FIELDS = "error_fields"
# Scope key: the refresh token ``/api/token`` was given, echoed by its refusals (the seed
# defines ``refreshToken`` as "the refresh token supplied during the call"; it is the
# caller's own value, so echoing it tells nothing new). None when none was supplied.
SUPPLIED_REFRESH_TOKEN = "leadexec.refresh_token"


def seed_body(exc: SigninError, **extra: object) -> dict[str, object]:
    return {"valid": False, **extra, "errorMessage": exc.description, "error": exc.code}


def seed_renderer(*, cors: bool = False) -> Renderer:
    """``cors``: for the public button configuration, which the SDK reads from any page."""

    def render(request: Request, exc: SigninError) -> Response:
        extra = getattr(request.scope.get("endpoint"), ERROR_FIELDS, {})
        supplied = request.scope.get(SUPPLIED_REFRESH_TOKEN)
        if supplied and "refreshToken" in extra:
            extra = {**extra, "refreshToken": supplied}
        # The public button configuration: readable from any page, and a refusal is as
        # cacheable as the answer (the same for everyone).
        headers = {}
        if cors:
            cache = "public, max-age=60" if exc.status < 500 else "no-store"
            headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": cache}
        return JSONResponse(seed_body(exc, **extra), status_code=exc.status, headers=headers)

    return render


def render_bearer(
    request: Request, exc: SigninError, resource_metadata: str = "", scope: str = ""
) -> Response:
    """RFC 6750 section 3: the challenge names the error, and the scope that was missing;
    a DPoP presentation's refusal is a DPoP challenge (RFC 9449 section 7.1). A resource with
    RFC 9728 metadata says where it is (``resource_renderer``)."""
    headers: dict[str, str] = {}
    status = exc.status
    if uses_dpop(request, exc):
        status, headers = challenge(exc, resource_metadata)
    elif isinstance(exc, InvalidToken | InsufficientScope):
        value = f'Bearer realm="LeadExec", error="{exc.code}"'
        if isinstance(exc, InsufficientScope):
            value += f', scope="{exc.scope}"'
        elif scope:
            value += f', scope="{scope}"'
        if resource_metadata:
            value += f', resource_metadata="{resource_metadata}"'
        headers["WWW-Authenticate"] = value
    return JSONResponse(
        {"error": exc.code, "error_description": exc.description},
        status_code=status,
        headers=headers,
    )


def resource_renderer(resource: str, scope: str = "") -> Renderer:
    """``render_bearer`` for one of the resources of ``core/resources.py``: its challenges
    carry ``resource_metadata`` (RFC 9728 section 5.1), so a client that meets a 401 finds
    the authorization server and the scopes from there. ``scope``: what a 401 says a token
    needs (RFC 6750 section 3), which an MCP client asks for rather than every scope the
    metadata lists."""

    def render(request: Request, exc: SigninError) -> Response:
        issuer = request.app.state.services.settings.issuer
        return render_bearer(request, exc, metadata_url(issuer, resource), scope)

    return render


# Marked for the catalogs; error.html shows them in the reader's language.
PAGE_TITLES = {
    400: N_("Something is wrong with this request"),
    403: N_("This request was refused"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    413: N_("Request too large"),
    414: N_("Address too long"),
    429: N_("Too many attempts"),
    503: N_("LeadExec is temporarily unavailable"),
}


def render_page(request: Request, exc: SigninError) -> Response:
    if isinstance(exc, LoginRequired):
        step = f"&step={exc.step}" if exc.step else ""
        return RedirectResponse(
            f"{exc.to}?next=" + quote(exc.next_url, safe="/") + step, status_code=303
        )
    return request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {"error": exc, "title": PAGE_TITLES.get(exc.status, N_("Something went wrong"))},
        status_code=exc.status,
    )
