"""``/oauth2/device_authorization`` (RFC 8628 section 3.1): a device (a TV, a command-line
tool) asks for a device code and a user code; the person enters the user code at ``/device``
(``web/account/device.py``) and the device polls ``/oauth2/token``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.client_auth import presented
from leadexec_signin.web.context import call, services
from leadexec_signin.web.oauth2.oauth_renderer import NO_STORE
from leadexec_signin.web.oauth2.params import basic_credentials, read_form
from leadexec_signin.web.security.client_ip import client_ip


async def device_authorization(request: Request) -> Response:
    svc = services(request)
    basic = basic_credentials(request)
    form = await read_form(request)
    started = await call(
        svc.device.start,
        presented(basic, form),
        form.get("scope", ""),
        client_ip(request, svc.settings),
        form.get("resource", ""),
    )
    return JSONResponse(
        {
            "device_code": started.device_code,
            "user_code": started.user_code,
            "verification_uri": started.verification_uri,
            "verification_uri_complete": started.verification_uri_complete,
            "expires_in": started.expires_in,
            "interval": started.interval,
        },
        headers=NO_STORE,
    )


routes = [Route("/device_authorization", device_authorization, methods=["POST"])]
