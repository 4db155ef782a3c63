"""One-time links of the account pages: email verification, password reset, email change.

The link carries 256 random bits; storage keeps only their SHA-256, so a copy of the database
(or a backup) holds no usable link. Each is bound to one purpose, expires, and is spent by its
first use (``used_at``); spending one also spends the user's other links of that purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leadexec_signin.core import credentials
from leadexec_signin.core.errors import InvalidLink

PREFIX = "leo_"
VERIFY = "verify"  # data: the email it confirms, the name and password hash of that sign-up
RESET = "reset"
EMAIL = "email"  # data: the new address
PURPOSES = frozenset({VERIFY, RESET, EMAIL})


@dataclass(frozen=True)
class AccountToken:
    token_hash: str
    user_id: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    data: dict[str, str] = field(default_factory=dict)


def new_link_token() -> tuple[str, str]:
    """The raw token (for the link) and its hash (for storage)."""
    raw = credentials.new_token(PREFIX)
    return raw, credentials.token_hash(raw)


def hash_of(raw: object) -> str:
    """The stored form of a link's token; anything not shaped like one never reaches storage
    (a NUL byte or 10 kB of text is refused here, as a link that does not work)."""
    if not isinstance(raw, str) or not credentials.looks_like(raw, PREFIX):
        raise InvalidLink()
    return credentials.token_hash(raw)


def check_usable(found: AccountToken | None, raw: str, purpose: str, now: datetime) -> AccountToken:
    """The link works: it names a stored token of this purpose, unused and unexpired.

    The lookup was by hash; the hashes are compared again in constant time so that no answer
    depends on how much of a guessed hash matched, whatever the index did."""
    if found is None or not credentials.same(found.token_hash, credentials.token_hash(raw)):
        raise InvalidLink()
    if found.purpose != purpose or found.used_at is not None or now >= found.expires_at:
        raise InvalidLink()
    return found
