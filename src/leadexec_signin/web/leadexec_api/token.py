"""``/api/token``: trade a refresh token (or hardened delivery's code) for a 1-hour authToken.

The answer always has the documented shape (docs/api.md) and is never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.token import GRANT_TYPES
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.scopes import ordered
from leadexec_signin.web.context import call, call_read, services
from leadexec_signin.web.leadexec_api.params import read_params, required
from leadexec_signin.web.metrics import Exchanges
from leadexec_signin.web.security import client_ip

PARAMS = frozenset({"appId", "refreshToken", "appSecret", "code"})
EXCHANGES = Exchanges("api", GRANT_TYPES)


async def token_endpoint(request: Request) -> Response:
    svc = services(request)
    grant_type = ""  # counted as "other" if the request is refused before naming one
    try:
        params = await read_params(request, PARAMS)
        app_id = required(params, "appId")
        secret = params.get("appSecret") or None
        ip = client_ip(request, svc.settings)
        if params.get("code") and params.get("refreshToken"):
            raise InvalidRequest("Send either refreshToken or code, not both.")
        if params.get("code"):
            grant_type, credential = "code", params["code"]
        else:
            grant_type, credential = "refresh_token", required(params, "refreshToken")
        args = (grant_type, app_id, credential, secret, ip)
        # The refresh exchange only reads; a code exchange writes and may wait for a lock.
        if grant_type == "refresh_token":
            issued = await call_read(request, svc.tokens.exchange, *args)
        else:
            issued = await call(svc.tokens.exchange, *args)
    except Exception as exc:
        EXCHANGES.refused(grant_type, exc)
        raise
    EXCHANGES.issued(grant_type)
    return JSONResponse(
        {
            "valid": True,
            "refreshToken": issued.refresh_token,
            "authToken": issued.access_token,
            "expireDate": iso_z(issued.expires_at),
            "scopes": ordered(issued.scopes),
            "errorMessage": None,
            "error": None,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# A refusal still carries the token fields, as null (see web/errors.py).
token_endpoint.error_fields = {  # type: ignore[attr-defined]
    "refreshToken": None,
    "authToken": None,
    "expireDate": None,
}

routes = [Route("/token", token_endpoint, methods=["GET", "POST"])]
