"""How the FedCM surface answers a refusal: ``{"error": {"code"}}`` (FedCM section 6.5,
the identity assertion's error), never cached and without CORS, so a page learns nothing
more than that the browser's dialog failed (the SDK then falls back to its iframe)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadexec_signin.core.errors import SigninError


def render_fedcm(request: Request, exc: SigninError) -> Response:
    return JSONResponse(
        {"error": {"code": exc.code, "description": exc.description}},
        status_code=exc.status,
        headers={"Cache-Control": "no-store"},
    )
