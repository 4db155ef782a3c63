"""RFC 8707 resource indicators: the resources LeadExec issues access tokens for, and which
of them a request may name.

A resource is named by its URL, but kept (in codes, refresh tokens and the access token's
audience byte) by its path under the issuer, so a change of public address keeps every
token meaning the same resource. A request names at most one: an access token has one
audience here, and a client wanting two asks twice (RFC 8707 section 2.2 lets the server
refuse what it will not issue with ``invalid_target``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from leadexec_signin.core.errors import InvalidTarget

API = "/api/v1"  # the LeadExec API
MCP = "/mcp"  # the LeadExec API as an MCP server (Streamable HTTP)
# The order is the wire format: a token's audience byte is the index + 1 (0: none named).
RESOURCES = (API, MCP)
NAMES = {API: "the LeadExec API", MCP: "LeadExec for AI assistants (MCP)"}
MAX_LENGTH = 512
# RFC 9728 section 3.1: a resource's metadata is at this name, followed by the resource's path.
WELL_KNOWN = "/.well-known/oauth-protected-resource"


def url(issuer: str, resource: str) -> str:
    return issuer + resource


def metadata_url(issuer: str, resource: str) -> str:
    """Where a resource's RFC 9728 metadata is ("" for the issuer itself)."""
    return issuer + WELL_KNOWN + resource


def check_resource(issuer: str, value: str) -> str | None:
    """The resource ``value`` names (its path), None when none was named. RFC 8707 section 2:
    an absolute URI without a fragment, and one of ours; anything else is ``invalid_target``."""
    if not value or value == issuer:
        # The issuer itself (RFC 9728's metadata at the bare well-known name describes it):
        # LeadExec as a whole, which is no resource in particular.
        return None
    if len(value) > MAX_LENGTH:
        raise InvalidTarget()
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc or "#" in value:
        raise InvalidTarget("resource must be an absolute URI without a fragment.")
    for resource in RESOURCES:
        if value == url(issuer, resource):
            return resource
    raise InvalidTarget()


def narrow(granted: str | None, asked: str | None) -> str | None:
    """The audience of a token issued at the token endpoint: what the authorization (code or
    refresh token) was for, which the token request may repeat but not change (RFC 8707
    section 2.2); an authorization that named none lets the token request name one."""
    if granted is None or asked is None:
        return granted or asked
    if asked != granted:
        raise InvalidTarget("The resource is not the one this authorization was granted for.")
    return granted


def accepts(served: str, audience: str | None) -> bool:
    """Whether a resource takes a token of ``audience``: its own, and a token for no resource
    in particular only at the LeadExec API (every token issued before resource indicators)."""
    return audience == served or (audience is None and served == API)


def audience_byte(resource: str | None) -> int:
    return 0 if resource is None else RESOURCES.index(resource) + 1


def from_byte(value: int) -> str | None:
    return RESOURCES[value - 1] if 0 < value <= len(RESOURCES) else None
