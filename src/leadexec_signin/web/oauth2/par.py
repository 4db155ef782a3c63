"""``/oauth2/par`` (RFC 9126): a client pushes its authorization request and gets the
``request_uri`` its browser brings to ``/oauth2/authorize`` instead. A form in, JSON out,
never cached; refusals in the token endpoint's shape (the ``/oauth2`` surface's renderer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.client_auth import presented
from leadexec_signin.web.context import call, services
from leadexec_signin.web.oauth2.oauth_renderer import NO_STORE
from leadexec_signin.web.oauth2.params import basic_credentials, read_form
from leadexec_signin.web.security.client_ip import client_ip


async def par(request: Request) -> Response:
    svc = services(request)
    basic = basic_credentials(request)
    form = await read_form(request)
    pushed = await call(
        svc.par.push, presented(basic, form), form, client_ip(request, svc.settings)
    )
    return JSONResponse(
        {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in},
        status_code=201,
        headers=NO_STORE,
    )


routes = [Route("/par", par, methods=["POST"])]
