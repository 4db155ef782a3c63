"""``/api/revoke``: the seed's disconnect, as JSON or JSONP (docs/api.md).

JSONP is the one GET that changes state; the refresh token in it is its own credential. The
callback name is restricted to a dotted identifier path so nothing but a function call can be
written into the script.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import InvalidRequest, SigninError
from leadexec_signin.web.context import call, services
from leadexec_signin.web.leadexec_api.params import read_params, required
from leadexec_signin.web.renderers import seed_body
from leadexec_signin.web.security.client_ip import client_ip

PARAMS = frozenset({"token", "callback"})
CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$")


def check_callback(name: str) -> str:
    if len(name) > 64 or not name.isascii() or not CALLBACK.fullmatch(name):
        raise InvalidRequest(
            "callback must be a JavaScript identifier path (letters, digits, _, $ and dots), "
            "at most 64 characters."
        )
    return name


def jsonp(callback: str, body: dict[str, object]) -> Response:
    # The leading comment defeats content-sniffing tricks that start a file with the name.
    payload = json.dumps(body).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Response(
        f"/**/ typeof {callback} === 'function' && {callback}({payload});",
        media_type="application/javascript",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


async def revoke_endpoint(request: Request) -> Response:
    svc = services(request)
    params = await read_params(request, PARAMS)
    callback = check_callback(params["callback"]) if "callback" in params else None
    try:
        token = required(params, "token")
        await call(svc.revocation.revoke_token, token, client_ip(request, svc.settings))
    except SigninError as exc:
        if callback is None:
            raise
        # A script cannot read a status code: JSONP always answers 200 with the seed body.
        return jsonp(callback, seed_body(exc))
    body: dict[str, object] = {"valid": True, "errorMessage": None, "error": None}
    return jsonp(callback, body) if callback else JSONResponse(body)


routes = [Route("/revoke", revoke_endpoint, methods=["GET", "POST"])]
