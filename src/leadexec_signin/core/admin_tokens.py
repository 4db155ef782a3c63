"""The operators' API tokens: bearer credentials of the admin REST API and SCIM.

A token is 256 random bits behind the prefix ``lxa_``, shown once and kept as its SHA-256
(as every bearer secret here, ``core/credentials.py``). Each carries scopes, an expiry and the
operator who made it; it can be revoked, and records when it was last used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadexec_signin.core.errors import InvalidRequest

PREFIX = "lxa_"
ID_PREFIX = "adt_"
USERS_READ = "users:read"
USERS_WRITE = "users:write"
APPS_READ = "apps:read"
APPS_WRITE = "apps:write"
AUDIT_READ = "audit:read"
SCIM = "scim"
SCOPES = (USERS_READ, USERS_WRITE, APPS_READ, APPS_WRITE, AUDIT_READ, SCIM)
MAX_NAME = 80
MAX_DAYS = 3650
_EXPIRES = re.compile(r"(\d{1,4})([dh])")


@dataclass(frozen=True)
class AdminToken:
    id: str
    token_hash: str
    name: str
    scopes: frozenset[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def allows(scopes: frozenset[str], scope: str) -> bool:
    """``users:write`` includes ``users:read`` (and so for apps): what may change may be read."""
    if scope in scopes:
        return True
    return scope.endswith(":read") and scope.removesuffix(":read") + ":write" in scopes


def parse_scopes(raw: object) -> frozenset[str]:
    """``users:read,users:write`` (commas or spaces); an unknown scope is refused by name."""
    if not isinstance(raw, str) or len(raw) > 200:
        raise InvalidRequest("Give the scopes as a comma-separated list.")
    found = frozenset(s for s in re.split(r"[,\s]+", raw.strip()) if s)
    unknown = sorted(found - set(SCOPES))
    if unknown:
        raise InvalidRequest(f"Unknown scope {unknown[0][:40]!r}: choose from {', '.join(SCOPES)}.")
    if not found:
        raise InvalidRequest(f"Give at least one scope: {', '.join(SCOPES)}.")
    return found


def parse_expiry(raw: object) -> timedelta | None:
    """``90d`` or ``12h``; ``never`` for a token without an end (the operator's choice)."""
    if raw in ("never", "0"):
        return None
    match = _EXPIRES.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise InvalidRequest("Give the expiry as days or hours: 90d, 12h (or never).")
    amount, unit = int(match[1]), match[2]
    delta = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    if amount < 1 or delta > timedelta(days=MAX_DAYS):
        raise InvalidRequest(f"The expiry is 1 hour to {MAX_DAYS} days.")
    return delta


def clean_name(raw: object) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidRequest(f"Name the token (1 to {MAX_NAME} characters).")
    return name
