"""Disconnect notices (SPEC section 3): a transactional outbox of signed, timestamped POSTs.

The notice is written in the same transaction as the revocation, so a revocation can never
happen without its notice being queued, whatever crashes afterwards. Delivery retries with
exponential backoff; the signature covers the timestamp and the exact body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

EVENT_REVOKED = "grant.revoked"
# The two kinds of notice: the seed's signed JSON, and OpenID Connect Back-Channel Logout 1.0
# (a form field ``logout_token``, a JWT signed when each attempt is made, so a retry hours
# later still carries a fresh ``iat``/``exp``).
DISCONNECT, BACKCHANNEL_LOGOUT = "disconnect", "backchannel_logout"
SIGNATURE_HEADER = "LeadExec-Signature"
# 30 s, 1 min, 2 min ... capped at 1 hour; 12 attempts span about 8.5 hours.
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# How long one delivery attempt owns a notice before another worker may take it.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Notice:
    id: str
    app_id: str
    url: str
    body: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str = ""
    kind: str = DISCONNECT


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_RETRY)


def signature_header(kid: str, timestamp: int, signature: str) -> str:
    return f"t={timestamp},kid={kid},ed25519={signature}"


def signed_payload(timestamp: int, body: str) -> bytes:
    """What the signature covers: the timestamp, a dot, and the body exactly as sent."""
    return f"{timestamp}.{body}".encode()
