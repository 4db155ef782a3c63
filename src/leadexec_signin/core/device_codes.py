"""The device authorization grant's codes (RFC 8628 sections 3.2 and 6.1).

The user code is what a person reads off a TV and types on a phone: eight letters from an
alphabet of twenty consonants (no vowels, so no words; no 0/O or 1/I to confuse), shown as
``BCDF-GHJK``. Typing is forgiven: any case, spaces or dashes anywhere. 20^8 is about 2.6e10
codes, of which a handful are live at once, and guesses are throttled per person and per
address, so guessing one is hopeless within its 10 minutes. The device code is the usual 256
random bits. Both are stored as SHA-256 hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from leadexec_signin.core import credentials
from leadexec_signin.core.errors import SigninError

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
LENGTH = 8
LIFETIME_SECONDS = 600  # RFC 8628 section 3.2's expires_in: 10 minutes
INTERVAL_SECONDS = 5  # the polling interval; slow_down adds 5 each time
PENDING, APPROVED, DENIED, DONE = "pending", "approved", "denied", "done"


@dataclass(frozen=True)
class DeviceCode:
    device_code_hash: str
    user_code_hash: str
    app_id: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime
    interval: int
    polled_at: datetime | None = None
    status: str = PENDING
    user_id: str | None = None
    auth_time: datetime | None = None
    sid: str = ""
    resource: str | None = None  # RFC 8707: the resource's path (core/resources.py)


def new_user_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(user_code: str) -> str:
    """As people read it: two groups of four."""
    return f"{user_code[:4]}-{user_code[4:]}"


def normalize(typed: str) -> str | None:
    """What a person typed, as stored: upper case, separators dropped; None if it cannot be
    a code (another length, a letter outside the alphabet)."""
    text = "".join(ch for ch in (typed or "")[:64] if ch not in " -\t_.").upper()
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def user_code_hash(normalized: str) -> str:
    return credentials.token_hash("user_code:" + normalized)


# -- the device flow's refusals (RFC 8628 section 3.5, and the /device page's) --------------


class AuthorizationPending(SigninError):
    """RFC 8628 section 3.5: the person has not approved the device yet; poll again."""

    code = "authorization_pending"
    status = 400
    description = "The user has not yet approved this device."


class SlowDown(SigninError):
    """RFC 8628 section 3.5: polled faster than the interval; it grows by 5 seconds."""

    code = "slow_down"
    status = 400
    description = "Polling too fast: wait the interval, which is now 5 seconds longer."


class ExpiredToken(SigninError):
    """RFC 8628 section 3.5: the device code expired (or its tokens were already issued)."""

    code = "expired_token"
    status = 400
    description = "The device code has expired: start again."


class DeviceAccessDenied(SigninError):
    """RFC 8628 section 3.5's access_denied: a token endpoint answer, so 400."""

    code = "access_denied"
    status = 400
    description = "The user denied this device access to the account."


class InvalidUserCode(SigninError):
    """The code typed at /device is unknown, expired or already used: one answer for all,
    so trying codes tells nothing about which exist."""

    code = "invalid_user_code"
    status = 400
    description = "That code is not valid. Check the code on your device and try again."
