"""Every refusal is rendered here, in the shape of the surface that was called.

- the seed's API (``/api/token``, ``/api/revoke``): ``{valid: false, errorMessage, error}``
- the LeadExec API (``/api/v1/*``): ``{error, error_description}`` plus ``WWW-Authenticate``
- pages: a readable HTML page

Anything unexpected becomes a generic ``server_error`` logged with the request id and never
shown (node-oidc-provider ``lib/helpers/err_out.js``).
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadexec_signin.core.errors import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    ServerError,
    SigninError,
    TemporarilyUnavailable,
)
from leadexec_signin.web.security import BodyTooLarge

log = logging.getLogger("leadexec_signin.web")


def seed_body(exc: SigninError, **extra: object) -> dict[str, object]:
    return {"valid": False, **extra, "errorMessage": exc.description, "error": exc.code}


def surface(path: str) -> str:
    if path.startswith("/api/v1/"):
        return "bearer"
    if path.startswith("/api/") or path == "/openapi.json":
        return "seed"
    if path.startswith("/signin/buttons/"):
        return "seed"
    return "page"


def render_error(request: Request, exc: SigninError) -> Response:
    if exc.status >= 500 and not isinstance(exc, TemporarilyUnavailable):
        log.error("server_error id=%s %s", _rid(request), exc.debug or exc.description)
    elif exc.debug:
        log.info("%s id=%s %s", exc.code, _rid(request), exc.debug)
    kind = surface(request.url.path)
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if kind == "bearer":
        if isinstance(exc, InvalidToken | InsufficientScope):
            value = f'Bearer realm="LeadExec", error="{exc.code}"'
            if isinstance(exc, InsufficientScope) and exc.debug:
                value += f', scope="{exc.debug}"'
            headers["WWW-Authenticate"] = value
        return JSONResponse(
            {"error": exc.code, "error_description": exc.description},
            status_code=exc.status,
            headers=headers,
        )
    if kind == "seed":
        extra: dict[str, object] = {}
        if request.url.path == "/api/token":
            extra = {"refreshToken": None, "authToken": None, "expireDate": None}
        return JSONResponse(seed_body(exc, **extra), status_code=exc.status, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"error": exc, "title": _page_title(exc.status)},
        status_code=exc.status,
        headers=headers,
    )


def _page_title(status: int) -> str:
    return {
        400: "Something is wrong with this request",
        403: "This request was refused",
        404: "Page not found",
        405: "Method not allowed",
        413: "Request too large",
        414: "Address too long",
        429: "Too many attempts",
        503: "LeadExec is temporarily unavailable",
    }.get(status, "Something went wrong")


def _rid(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


async def on_signin_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SigninError)
    return render_error(request, exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
    }
    err = InvalidRequest(
        messages.get(exc.status_code, "The request could not be understood."),
        status=exc.status_code,
    )
    if exc.status_code == 404:
        err.code = "not_found"
    elif exc.status_code == 405:
        err.code = "method_not_allowed"
    response = render_error(request, err)
    if exc.headers:
        for k, v in exc.headers.items():
            response.headers[k] = v
    return response


async def on_body_too_large(request: Request, exc: Exception) -> Response:
    return render_error(request, InvalidRequest("The request body is too large.", status=413))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BodyTooLarge):
        return await on_body_too_large(request, exc)
    log.exception("unexpected error id=%s", _rid(request))
    return render_error(request, ServerError())
