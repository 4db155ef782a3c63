"""Security events worth keeping: who signed in, consented, got tokens, revoked, changed status.

Never a token, secret or password: only ids, an event name and a short reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SIGNIN_OK = "signin.ok"
SIGNIN_FAILED = "signin.failed"
SIGNIN_LIMITED = "signin.limited"
SIGNOUT = "signout"
CONSENT = "consent.granted"
CONSENT_DENIED = "consent.denied"
TOKEN_ISSUED = "token.issued"
TOKEN_REFRESHED = "token.refreshed"
CODE_EXCHANGED = "code.exchanged"
GRANT_REVOKED = "grant.revoked"
APP_CREATED = "app.created"
APP_STATUS = "app.status"
APP_SECRET_ROTATED = "app.secret_rotated"
USER_CREATED = "user.created"


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    event: str
    user_id: str | None = None
    app_id: str | None = None
    ip: str | None = None
    detail: dict[str, object] = field(default_factory=dict)
