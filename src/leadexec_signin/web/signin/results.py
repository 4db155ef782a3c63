"""The result page of the popup and of the silent check, and the renderer that turns any
refusal under ``/signin`` into one.

Every outcome of a sign-in, a failure included, must reach the partner's callback: a plain
error page would leave the popup open and the partner would only ever hear ``popup_closed``.
Tokens leave only inside a result page that posts them with ``postMessage`` to the exact
registered origin that asked; error results carry no secret and go to the claimed origin.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.actions.signin import Authorization
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.scopes import ordered
from leadexec_signin.web.language import describe
from leadexec_signin.web.renderers import render_page
from leadexec_signin.web.security.headers import page_csp


@dataclass(frozen=True)
class Asked:
    """Recorded on the request as soon as it is read, for the renderer to answer it."""

    request: AuthorizeRequest
    mode: str  # "popup" or "iframe"


def remember(request: Request, req: AuthorizeRequest, mode: str) -> AuthorizeRequest:
    request.state.signin_asked = Asked(req, mode)
    return req


# A serialized origin as browsers write it: the only thing ever put into a CSP source list or
# a postMessage target, so no quoting, spaces or semicolons can reach either.
# A host name or IPv4 address, or the IPv6 loopback as browsers write it (development mode).
_ORIGIN = re.compile(r"^https?://(?:[a-z0-9.-]{1,253}|\[::1\])(?::[0-9]{1,5})?$")
MESSAGE_SOURCE = "leadexec-signin"
CALLBACK_ERRORS = frozenset(
    {
        "access_denied",
        "popup_closed",
        "popup_blocked",
        "invalid_button",
        "origin_not_allowed",
        "app_not_approved",
        "immediate_failed",
        "server_error",
    }
)


def claimed_origin(raw: str) -> str | None:
    return raw if _ORIGIN.fullmatch(raw) else None


def result_object(
    req: AuthorizeRequest,
    *,
    authorization: Authorization | None = None,
    error: SigninError | None = None,
) -> dict[str, object]:
    """The authorization object exactly as the partner's callback receives it (docs/sdk.md)."""
    if authorization is not None:
        tokens = authorization.tokens
        return {
            "valid": True,
            "error": None,
            "errorMessage": None,
            "immediate": req.immediate,
            "appId": authorization.app_id,
            "btnId": authorization.btn_id,
            "scopes": ordered(authorization.scopes),
            "refreshToken": tokens.refresh_token if tokens else None,
            "authToken": tokens.access_token if tokens else None,
            "expireDate": iso_z(tokens.expires_at) if tokens else None,
            "code": authorization.code,
            "user": authorization.user,
        }
    assert error is not None
    # The callback's error is always one of the documented codes; any other refusal (a malformed
    # parameter, the database away) is a server_error whose message names the real code.
    code = error.code if error.code in CALLBACK_ERRORS else "server_error"
    # In the popup's language, like the page the person saw; the code never changes.
    said = describe(error.description, error.code)
    message = said if code == error.code else f"{said} ({error.code})"
    return {
        "valid": False,
        "error": code,
        "errorMessage": message,
        "immediate": req.immediate,
        "appId": None,
        "btnId": req.btn_id[:80] or None,
        "scopes": [],
        "refreshToken": None,
        "authToken": None,
        "expireDate": None,
        "code": None,
        "user": None,
    }


def result_page(
    request: Request,
    req: AuthorizeRequest,
    *,
    mode: str,
    authorization: Authorization | None = None,
    error: SigninError | None = None,
) -> Response:
    target = claimed_origin(req.origin)
    result = result_object(req, authorization=authorization, error=error)
    templates = request.app.state.templates
    if error is not None:
        status = error.status
    else:
        status = 200
    if mode == "iframe" and error is not None and error.code == "immediate_failed":
        # "Not signed in here (yet)" is the silent check's everyday answer on every partner
        # page: as a 403, Chromium printed it as a red error in each partner's console. The
        # meaning travels in the posted result ({valid: false, error: "immediate_failed"});
        # the frame's status says only that the check answered. Real refusals keep theirs.
        status = 200
    if target is None and status < 500:
        # No origin we could safely post to: show the reason, deliver nothing.
        status = 400
    response = templates.TemplateResponse(
        request,
        "signin_result.html",
        {
            "message": {"source": MESSAGE_SOURCE, "state": req.state, "result": result},
            "target": target,
            "mode": mode,
            "result": result,
            "title": "Signed in" if result["valid"] else "Sign-in result",
        },
        status_code=status,
    )
    frame_ancestors = target if (mode == "iframe" and target) else "'none'"
    response.headers["Content-Security-Policy"] = page_csp(frame_ancestors)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def render_result(request: Request, exc: SigninError) -> Response:
    """The renderer of the ``/signin`` surface: a refusal of a sign-in request is a result
    page with the error's status; anything else there (an unknown address, the SDK files, a
    request naming no usable origin) is an ordinary page."""
    asked: Asked | None = getattr(request.state, "signin_asked", None)
    if asked is None:
        return render_page(request, exc)
    if claimed_origin(asked.request.origin) is None and exc.status < 500:
        # Nothing can be posted without an origin to post to: the request itself is what is
        # wrong (400), and the person gets the reason.
        malformed = copy.copy(exc)
        malformed.status = 400
        return render_page(request, malformed)
    return result_page(request, asked.request, mode=asked.mode, error=exc)
