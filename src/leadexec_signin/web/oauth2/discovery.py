"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) and the JWKS: exactly what this
provider supports, so a client library configures itself from one address."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.grant_handlers.device_code import GRANT_TYPE as DEVICE_CODE
from leadexec_signin.core.claims import CLAIM_SCOPES
from leadexec_signin.core.clients import AUTH_METHODS, ID_TOKEN_ALGS
from leadexec_signin.core.dpop import ALGS as DPOP_ALGS
from leadexec_signin.core.factors import ACR_VALUES
from leadexec_signin.core.jwts import ALGORITHMS
from leadexec_signin.core.scopes import PROTOCOL_SCOPES, SCOPES
from leadexec_signin.web.context import call, services

PUBLIC = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
# Exactly what ID tokens and UserInfo return (tests/web/test_oidc_claims.py holds it so):
# the ID token's own claims, how the user signed in, and what the scopes release.
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "sid", "at_hash",
          "amr", "acr", *CLAIM_SCOPES]  # fmt: skip


def metadata(issuer: str, *, registration: bool = False) -> dict[str, object]:
    """``registration``: RFC 7591 dynamic registration is open (RFC 8414 section 2 names
    ``registration_endpoint`` only then)."""
    endpoint = f"{issuer}/oauth2"
    found: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": f"{endpoint}/authorize",
        "token_endpoint": f"{endpoint}/token",
        "userinfo_endpoint": f"{endpoint}/userinfo",
        "jwks_uri": f"{endpoint}/jwks",
        "revocation_endpoint": f"{endpoint}/revoke",
        "introspection_endpoint": f"{endpoint}/introspect",
        "pushed_authorization_request_endpoint": f"{endpoint}/par",
        "end_session_endpoint": f"{endpoint}/logout",
        "scopes_supported": [*PROTOCOL_SCOPES, *SCOPES],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_CODE],
        "device_authorization_endpoint": f"{endpoint}/device_authorization",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "introspection_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        # RFC 9449 section 5.1: the algorithms of the DPoP proofs we verify.
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "claims_supported": CLAIMS,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        # OpenID Connect Core 5.5: the claims asked for are asked of the user through the
        # scopes that release them; an essential acr steps the sign-in up (core/claims.py).
        "claims_parameter_supported": True,
        "acr_values_supported": list(ACR_VALUES),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        # PAR is offered to every client and required of those registered so (per client:
        # require_pushed_authorization_requests), not of all.
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "service_documentation": f"{issuer}/developers",
    }
    if registration:
        found["registration_endpoint"] = f"{endpoint}/register"
    return found


async def openid_configuration(request: Request) -> Response:
    settings = services(request).settings
    found = metadata(settings.issuer, registration=settings.dynamic_registration)
    if settings.metadata_documents:
        # Client ID Metadata Documents: a client may name itself by its document's URL
        # (core/client_documents.py); an MCP client then skips registration.
        found["client_id_metadata_document_supported"] = True
    return JSONResponse(found, headers=PUBLIC)


async def jwks(request: Request) -> Response:
    """Every published key: the ones signing now, the next ones (published before they sign,
    so cached sets already hold them) and retired ones until what they signed has expired."""
    found = await call(services(request).keys.public_keys)
    return JSONResponse({"keys": found}, headers=PUBLIC)


well_known = [
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    # RFC 8414 section 3: the same document at the OAuth name.
    Route("/.well-known/oauth-authorization-server", openid_configuration, methods=["GET"]),
]
