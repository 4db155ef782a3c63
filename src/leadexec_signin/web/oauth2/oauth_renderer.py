"""How the OAuth surface answers a refusal: ``{error, error_description}`` (RFC 6749
section 5.2), never cached, with a Basic challenge when the client tried Basic (RFC 6749
section 5.2: 401 and ``WWW-Authenticate``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadexec_signin.core.errors import InvalidClient, SigninError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def render_oauth(request: Request, exc: SigninError) -> Response:
    headers = {**NO_STORE, "Access-Control-Allow-Origin": "*"}
    status = exc.status
    if isinstance(exc, InvalidClient):
        status = 401
        if request.headers.get("authorization", "").lower().startswith("basic"):
            headers["WWW-Authenticate"] = 'Basic realm="LeadExec"'
    nonce = getattr(exc, "nonce", "")
    if nonce:  # RFC 9449 section 8: the nonce the proof must carry
        headers["DPoP-Nonce"] = nonce
    return JSONResponse(
        {"error": exc.code, "error_description": exc.description},
        status_code=status,
        headers=headers,
    )
