"""Security events worth keeping: who signed in, consented, got tokens, revoked, changed status.

Never a token, secret or password: only ids, an event name and a short reason.

Each event says who did it (``actor``: a user id, an application id, an operator's id or
"cli"), what it was done to (``subject``: a grant, a key, an application), and where it came
from (IP, user agent, request id). The last three belong to the HTTP request, which the core
does not know: the web layer binds them for the duration of a request with
:func:`bind_request`, and :func:`record` reads them from there. Threading them through every
use case's signature would add three parameters to thirty functions for no rule of the core.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
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
TOKEN_REFUSED = "token.refused"
GRANT_REVOKED = "grant.revoked"
APP_CREATED = "app.created"
APP_STATUS = "app.status"
APP_SECRET_CREATED = "app.secret_created"
APP_SECRET_ROTATED = "app.secret_rotated"
CODE_REPLAYED = "code.replayed"
REFRESH_RETIRED = "token.refresh_retired"
USER_CREATED = "user.created"
APP_UPDATED = "app.updated"
REFRESH_REUSED = "token.refresh_reused"
CLIENT_AUTH_FAILED = "client.auth_failed"
# Self-service accounts (core/actions/recovery.py): sign-up and its link, password reset,
# change of email. Never the address or the link in the event, only the user's id.
SIGNUP = "account.signup"
SIGNUP_REPEATED = "account.signup_repeated"
EMAIL_VERIFIED = "account.email_verified"
RESET_REQUESTED = "account.reset_requested"
PASSWORD_RESET = "account.password_reset"
EMAIL_CHANGE_REQUESTED = "account.email_change_requested"
EMAIL_CHANGED = "account.email_changed"
LINK_REFUSED = "account.link_refused"
KEY_ROTATED = "key.rotated"
KEY_RETIRED = "key.retired"
AUDIT_SWEPT = "audit.swept"
# Second factors (core/factors.py): never a key, a code or a secret, only ids.
PASSKEY_SIGNIN = "signin.passkey"
PASSKEY_REFUSED = "signin.passkey_refused"
PASSKEY_ADDED = "factor.passkey_added"
PASSKEY_REMOVED = "factor.passkey_removed"
COUNTER_REGRESSED = "factor.counter_regressed"
REAUTHENTICATED = "account.reauthenticated"
PASSWORD_CHANGED = "account.password_changed"
TOTP_ADDED = "factor.totp_added"
TOTP_REMOVED = "factor.totp_removed"
CODE_REFUSED = "factor.code_refused"
CODE_THROTTLED = "factor.code_throttled"
RECOVERY_CODES_MADE = "factor.recovery_codes_made"
RECOVERY_CODE_USED = "factor.recovery_code_used"
# People management (core/actions/people.py): an operator's act on an account, the person's
# own profile, export and deletion, and the operators' API tokens and calls.
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"
USER_DELETED = "user.deleted"
USER_UPDATED = "user.updated"
USER_OPERATOR = "user.operator"
USER_SIGNED_OUT = "user.signed_out"
FACTORS_RESET = "user.factors_reset"
DATA_EXPORTED = "account.exported"
ADMIN_TOKEN_CREATED = "admin_token.created"
ADMIN_TOKEN_REVOKED = "admin_token.revoked"
API_CALL = "admin_api.call"
# Self-registered clients (core/actions/self_registration.py): a domain blocked or unblocked
# by an operator, clients unused for 30 days deleted by the sweep.
DOMAIN_BLOCKED = "domain.blocked"
DOMAIN_UNBLOCKED = "domain.unblocked"
CLIENTS_EXPIRED = "client.expired"

# Every kind, in the order the admin page offers them (its filter accepts nothing else).
EVENTS = (
    SIGNIN_OK, SIGNIN_FAILED, SIGNIN_LIMITED, SIGNOUT, USER_CREATED,
    CONSENT, CONSENT_DENIED, TOKEN_ISSUED, CODE_EXCHANGED, TOKEN_REFUSED,
    CLIENT_AUTH_FAILED, CODE_REPLAYED, REFRESH_REUSED, REFRESH_RETIRED, GRANT_REVOKED,
    APP_CREATED, APP_UPDATED, APP_STATUS, APP_SECRET_CREATED, APP_SECRET_ROTATED,
    KEY_ROTATED, KEY_RETIRED, AUDIT_SWEPT,
    SIGNUP, SIGNUP_REPEATED, EMAIL_VERIFIED, RESET_REQUESTED, PASSWORD_RESET,
    EMAIL_CHANGE_REQUESTED, EMAIL_CHANGED, LINK_REFUSED,
    PASSKEY_SIGNIN, PASSKEY_REFUSED, PASSKEY_ADDED, PASSKEY_REMOVED, COUNTER_REGRESSED,
    REAUTHENTICATED, TOTP_ADDED, TOTP_REMOVED, CODE_REFUSED, CODE_THROTTLED,
    RECOVERY_CODES_MADE, RECOVERY_CODE_USED, PASSWORD_CHANGED,
    USER_DISABLED, USER_ENABLED, USER_DELETED, USER_UPDATED, USER_OPERATOR, USER_SIGNED_OUT,
    FACTORS_RESET, DATA_EXPORTED, ADMIN_TOKEN_CREATED, ADMIN_TOKEN_REVOKED, API_CALL,
    DOMAIN_BLOCKED, DOMAIN_UNBLOCKED, CLIENTS_EXPIRED,
)  # fmt: skip

# Events of a proof that failed: the user they name did not prove anything, so is not the actor.
UNPROVEN = frozenset(
    {SIGNIN_FAILED, SIGNIN_LIMITED, TOKEN_REFUSED, CLIENT_AUTH_FAILED, PASSKEY_REFUSED}
    | {COUNTER_REGRESSED, CODE_REFUSED, CODE_THROTTLED}
)

# Column widths (storage/sql/tables.py): what a request supplies is cut to fit, never refused.
USER_AGENT_MAX = 256
REQUEST_ID_MAX = 40
SUBJECT_MAX = 120
ACTOR_MAX = 80


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    event: str
    user_id: str | None = None
    app_id: str | None = None
    ip: str | None = None
    detail: dict[str, object] = field(default_factory=dict)
    actor: str | None = None
    subject: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    id: int | None = None  # given by storage; events page by it


@dataclass(frozen=True)
class RequestContext:
    """Where the current request came from, as the web layer saw it."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


# The context itself, or a function that makes it: most requests record no event, so the web
# layer binds a function and the headers are read only when an event needs them.
Bound = RequestContext | Callable[[], RequestContext]
_request: ContextVar[Bound | None] = ContextVar("leadexec_audit_request", default=None)


@contextmanager
def bind_request(ctx: Bound) -> Iterator[None]:
    """For one request: every event recorded meanwhile carries its IP, user agent and id.
    Threads started by ``run_in_threadpool`` copy the context, so use cases see it."""
    token = bind(ctx)
    try:
        yield
    finally:
        unbind(token)


def bind(ctx: Bound) -> Token[Bound | None]:
    """:func:`bind_request` without the context manager (a middleware's every request)."""
    return _request.set(ctx)


def unbind(token: Token[Bound | None]) -> None:
    _request.reset(token)


def current_request() -> RequestContext | None:
    found = _request.get()
    return found() if callable(found) else found


class Recorder(Protocol):
    def record(self, event: AuditEvent) -> None: ...


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def record(
    tx: Recorder,
    at: datetime,
    event: str,
    *,
    user_id: str | None = None,
    app_id: str | None = None,
    ip: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Written in the caller's transaction: the event exists exactly when the change does.
    ``actor`` is who did it; left out, it is the user (most events are a person's own act),
    unless the event is of a proof that failed."""
    ctx = current_request() or RequestContext()
    if actor is None and event not in UNPROVEN:
        actor = user_id
    tx.record(
        AuditEvent(
            at,
            event,
            user_id,
            app_id,
            ip or ctx.ip,
            dict(detail or {}),
            actor=_cut(actor, ACTOR_MAX),
            subject=_cut(subject, SUBJECT_MAX),
            user_agent=_cut(ctx.user_agent, USER_AGENT_MAX),
            request_id=_cut(ctx.request_id, REQUEST_ID_MAX),
        )
    )
    log.info("audit %s user=%s app=%s", event, user_id, app_id)


@dataclass(frozen=True)
class AuditFilter:
    """What an operator searches the trail by; None matches everything. ``until`` is
    exclusive, so consecutive ranges never count an event twice."""

    user_id: str | None = None
    app_id: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
