"""Security events worth keeping: who signed in, consented, got tokens, revoked, changed status.

Never a token, secret or password: only ids, an event name and a short reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

log = logging.getLogger("leadexec_signin.core")

SIGNIN_OK = "signin.ok"
SIGNIN_FAILED = "signin.failed"
SIGNIN_LIMITED = "signin.limited"
SIGNOUT = "signout"
CONSENT = "consent.granted"
CONSENT_DENIED = "consent.denied"
TOKEN_ISSUED = "token.issued"
CODE_EXCHANGED = "code.exchanged"
GRANT_REVOKED = "grant.revoked"
APP_CREATED = "app.created"
APP_STATUS = "app.status"
APP_SECRET_ROTATED = "app.secret_rotated"
CODE_REPLAYED = "code.replayed"
REFRESH_RETIRED = "token.refresh_retired"
USER_CREATED = "user.created"
APP_UPDATED = "app.updated"
REFRESH_REUSED = "token.refresh_reused"
CLIENT_AUTH_FAILED = "client.auth_failed"


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    event: str
    user_id: str | None = None
    app_id: str | None = None
    ip: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


class Recorder(Protocol):
    def record(self, event: AuditEvent) -> None: ...


def record(
    tx: Recorder,
    at: datetime,
    event: str,
    *,
    user_id: str | None = None,
    app_id: str | None = None,
    ip: str | None = None,
    actor: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Written in the caller's transaction: the event exists exactly when the change does.
    ``actor`` is who did it when that is not the user (an operator's id, or "cli")."""
    extra = dict(detail or {})
    if actor:
        extra["actor"] = actor
    tx.record(AuditEvent(at, event, user_id, app_id, ip, extra))
    log.info("audit %s user=%s app=%s", event, user_id, app_id)
