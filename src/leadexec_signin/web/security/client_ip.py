"""The client's address, for rate limits and the audit trail."""

from __future__ import annotations

from starlette.requests import Request

from leadexec_signin.settings import Settings


def client_ip(request: Request, settings: Settings) -> str:
    if settings.trust_proxy:
        # The rightmost entry is the one our own proxy appended; anything to its left was
        # written by the client and would let it pick a fresh address for every guess.
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64] or "unknown"
    return request.client.host if request.client else "unknown"
