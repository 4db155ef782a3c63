"""Random tokens and their at-rest hashes.

Every bearer secret (refresh token, access token, code, session id, app secret) carries at least
256 bits from the OS CSPRNG, so a plain SHA-256 is a safe at-rest form: there is nothing to
brute-force, and lookups by hash cost microseconds instead of an argon2 run. A distinct prefix
per kind means a refresh token can never be mistaken for an access token, even by a typo.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

REFRESH = "ler_"
ACCESS = "lea_"
CODE = "lec_"
SESSION = "les_"
APP_SECRET = "lesk_"
DEVICE = "led_"  # a device code (RFC 8628)
REGISTRATION = "lerat_"  # an RFC 7592 registration access token

# Longest token any endpoint will even hash; longer input is refused as malformed.
MAX_TOKEN_LENGTH = 256


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    # 22 url-safe characters = 132 bits: public ids need uniqueness, not secrecy.
    return prefix + secrets.token_urlsafe(16)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def looks_like(raw: str | None, prefix: str) -> bool:
    """Cheap shape check before touching storage: right prefix, sane length, ASCII."""
    return (
        isinstance(raw, str)
        and raw.startswith(prefix)
        and 16 < len(raw) <= MAX_TOKEN_LENGTH
        and raw.isascii()
    )


def secret_matches(
    raw: str,
    current_hash: str | None,
    previous_hash: str | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> bool:
    """An application secret against its current hash and, until the grace period a rotation
    chose runs out, the hash it replaced. Both comparisons always run, in constant time, so
    the answer's timing says nothing about which secret matched or whether one is in grace."""
    offered = token_hash(raw)
    current = same(offered, current_hash or "")
    previous = same(offered, previous_hash or "")
    if current_hash and current:
        return True
    return previous and previous_expires_at is not None and now < previous_expires_at
