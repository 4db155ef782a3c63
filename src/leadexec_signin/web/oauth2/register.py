"""``/oauth2/register``: RFC 7591 dynamic client registration, and RFC 7592 management of the
registration at its ``registration_client_uri`` with the registration access token. JSON in,
JSON out, never cached; refusals in RFC 7591 section 3.2.2's shape (``{error,
error_description}``), and a Bearer challenge when the registration access token is refused
(RFC 7592 section 2, RFC 6750 section 3).

Only when ``LEADEXEC_CLIENT_REGISTRATION=open``; otherwise these addresses answer 404, as
node-oidc-provider does for a feature turned off (the endpoint does not exist, and discovery
does not name it). Browser-based clients may register: answers allow any origin, since the
registration access token is the only credential and it travels in a header.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.apps import Application
from leadexec_signin.core.errors import InvalidClientMetadata, InvalidToken, NotFound, SigninError
from leadexec_signin.core.scopes import OFFLINE_ACCESS, PROTOCOL_SCOPES, SCOPES
from leadexec_signin.web.context import call, services
from leadexec_signin.web.oauth2.oauth_renderer import NO_STORE, render_oauth
from leadexec_signin.web.security.client_ip import client_ip

# A registration is a few hundred bytes; 16 KiB leaves room for long URI lists and nothing
# more (the server's general limit is 64 KiB).
MAX_BODY = 16 * 1024
CORS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def render_registration(request: Request, exc: SigninError) -> Response:
    response = render_oauth(request, exc)
    if isinstance(exc, InvalidToken):
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="LeadExec", error="invalid_token", error_description="{exc.description}"'
        )
    return response


def check_enabled(request: Request) -> None:
    if not services(request).settings.dynamic_registration:
        raise NotFound("Dynamic client registration is not enabled on this server.")


async def metadata_body(request: Request) -> object:
    """The JSON the client sent (RFC 7591 section 3.1): application/json, at most 16 KiB."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise InvalidClientMetadata("Send the client metadata as application/json.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise InvalidClientMetadata("The client metadata is larger than 16 KiB.", status=413)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidClientMetadata("The client metadata is larger than 16 KiB.", status=413)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidClientMetadata("The client metadata is not valid JSON.") from None


def bearer(request: Request) -> str:
    """The registration access token (RFC 6750 section 2.1); "" when there is none, refused
    by the use case like a wrong one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def answer(request: Request, app: Application, token: str | None = None) -> dict[str, object]:
    """RFC 7591 section 3.2.1 (and RFC 7592 section 3): everything registered, including what
    the server chose; the protocol scopes (openid, offline_access) are the operator's for
    every such client, and a refresh token comes with offline_access."""
    issuer = services(request).settings.issuer
    allowed = services(request).settings.self_registered_scopes
    protocol = [s for s in PROTOCOL_SCOPES if s in allowed]
    body: dict[str, object] = {
        "client_id": app.id,
        "client_id_issued_at": int(app.created_at.timestamp()) if app.created_at else 0,
        "client_name": app.name,
        "redirect_uris": list(app.redirect_uris),
        "grant_types": ["authorization_code"]
        + (["refresh_token"] if OFFLINE_ACCESS in allowed else []),
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": " ".join([*protocol, *(s for s in SCOPES if s in app.scopes)]),
        "registration_client_uri": f"{issuer}/oauth2/register/{app.id}",
    }
    for name, value in (
        ("logo_uri", app.logo_url),
        ("client_uri", app.homepage_url),
        ("policy_uri", app.privacy_url),
        ("tos_uri", app.terms_url),
    ):
        if value:
            body[name] = value
    if token is not None:
        body["registration_access_token"] = token
    return body


async def register(request: Request) -> Response:
    """RFC 7591 section 3.1: 201 with the client's id and registration access token."""
    check_enabled(request)
    svc = services(request)
    raw = await metadata_body(request)
    app, token = await call(svc.self_registration.register, raw, client_ip(request, svc.settings))
    return JSONResponse(answer(request, app, token), 201, headers={**NO_STORE, **CORS})


async def manage(request: Request) -> Response:
    """RFC 7592 sections 2.1 (GET: read), 2.2 (PUT: replace) and 2.3 (DELETE: 204)."""
    check_enabled(request)
    registration = services(request).self_registration
    client_id = request.path_params["client_id"]
    token = bearer(request)
    if request.method == "GET":
        app = await call(registration.read, client_id, token)
    elif request.method == "PUT":
        raw = await metadata_body(request)
        app = await call(registration.update, client_id, token, raw)
    else:
        await call(registration.delete, client_id, token)
        return Response(status_code=204, headers={**NO_STORE, **CORS})
    # RFC 7592 section 3: the response carries registration_access_token; only its hash is
    # kept, so it is the one the client just proved it holds (never a new one).
    return JSONResponse(answer(request, app, token), headers={**NO_STORE, **CORS})


async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


routes = [
    Route("/register", register, methods=["POST"]),
    Route("/register", preflight, methods=["OPTIONS"]),
    Route("/register/{client_id}", manage, methods=["GET", "PUT", "DELETE"]),
    Route("/register/{client_id}", preflight, methods=["OPTIONS"]),
]
