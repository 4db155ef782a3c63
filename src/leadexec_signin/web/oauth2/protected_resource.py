"""RFC 9728 Protected Resource Metadata: what a client that meets one of LeadExec's resources
(the LeadExec API, the MCP endpoint) learns about it from one address, starting from the
``resource_metadata`` of a 401's challenge: which authorization server issues its tokens,
with which scopes, and how they are presented.

``/.well-known/oauth-protected-resource`` describes the issuer itself (section 3.1: the path
after the well-known name is the resource's): naming it as ``resource`` is the same as naming
no resource in particular (``core/resources.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core import resources
from leadexec_signin.core.dpop import ALGS as DPOP_ALGS
from leadexec_signin.core.scopes import OFFLINE_ACCESS, SCOPES
from leadexec_signin.web.context import services
from leadexec_signin.web.oauth2.discovery import PUBLIC

NAMES = {
    "": "LeadExec",
    resources.API: "LeadExec API",
    resources.MCP: "LeadExec for AI assistants (MCP)",
}


def metadata(issuer: str, resource: str) -> dict[str, object]:
    """Section 2; ``resource`` is the path ("" for the issuer itself)."""
    return {
        "resource": issuer + resource,
        "authorization_servers": [issuer],
        # Those a client asks for to use the resource; offline_access for a refresh token.
        "scopes_supported": [*SCOPES, OFFLINE_ACCESS],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "dpop_bound_access_tokens_required": False,
        "resource_name": NAMES[resource],
        "resource_documentation": f"{issuer}/developers",
    }


def document(resource: str) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        return JSONResponse(metadata(services(request).settings.issuer, resource), headers=PUBLIC)

    return answer


well_known = [
    Route(resources.WELL_KNOWN + resource, document(resource), methods=["GET"])
    for resource in NAMES
]
