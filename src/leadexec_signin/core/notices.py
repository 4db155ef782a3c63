"""Disconnect notices (docs/api.md): a transactional outbox of signed, timestamped POSTs.

The notice is written in the same transaction as the revocation, so a revocation can never
happen without its notice being queued, whatever crashes afterwards. Delivery retries with
exponential backoff; the signature covers the timestamp and the exact body.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

EVENT_REVOKED = "grant.revoked"
# The two kinds of notice: the seed's signed JSON, and OpenID Connect Back-Channel Logout 1.0
# (a form field ``logout_token``, a JWT signed when each attempt is made, so a retry hours
# later still carries a fresh ``iat``/``exp``).
DISCONNECT, BACKCHANNEL_LOGOUT = "disconnect", "backchannel_logout"
# An audit event for the operators' own webhook (LEADEXEC_AUDIT_WEBHOOK_URL): the operator
# shares a secret with it, so it is signed with HMAC-SHA256 rather than the public keys.
AUDIT = "audit"
SIGNATURE_HEADER = "LeadExec-Signature"
AUDIT_SIGNATURE_HEADER = "LeadExec-Audit-Signature"
# 30 s, 1 min, 2 min ... capped at 1 hour; 12 attempts span about 8.5 hours.
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# How long one delivery attempt owns a notice before another worker may take it.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Notice:
    id: str
    app_id: str | None  # None for an audit notice, which belongs to no application
    url: str
    body: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str = ""
    kind: str = DISCONNECT


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (1 << max(0, attempts - 1)), LONGEST_RETRY)


def signature_header(kid: str, timestamp: int, signature: str) -> str:
    return f"t={timestamp},kid={kid},ed25519={signature}"


def signed_payload(timestamp: int, body: str) -> bytes:
    """What the signature covers: the timestamp, a dot, and the body exactly as sent."""
    return f"{timestamp}.{body}".encode()


def audit_signature_header(secret: str, timestamp: int, body: str) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of t.body>``: made at each attempt, so a retry
    hours later carries a fresh timestamp, and a receiver can refuse old replays."""
    mac = hmac.new(secret.encode(), signed_payload(timestamp, body), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
