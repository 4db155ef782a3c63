"""How the FedCM surface answers a refusal: ``{"error": {"code"}}`` (FedCM section 6.5,
the identity assertion's error), never cached. A refusal carries CORS only for a page on an
origin registered for the application the browser named (``cors.py``): that page's browser
can then show the reason in its dialog and hand the code to the page; any other page learns
nothing more than that the dialog failed (the SDK then falls back to its iframe)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadexec_signin.core.errors import SigninError
from leadexec_signin.web.fedcm.cors import readable_by


def render_fedcm(request: Request, exc: SigninError) -> Response:
    return JSONResponse(
        {"error": {"code": exc.code, "description": exc.description}},
        status_code=exc.status,
        headers={"Cache-Control": "no-store", **readable_by(request)},
    )
