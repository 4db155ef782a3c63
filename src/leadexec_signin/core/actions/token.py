"""The token endpoint's use case: authenticate the application, then let the grant type named
by the request do its exchange (node-oidc-provider ``lib/actions/grants/``). Adding a grant
type adds a module to ``grant_types/`` and a line to ``GRANT_TYPES``, not a branch here."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.actions.audit_trail import record_refusal
from leadexec_signin.core.actions.grant_types import (
    Exchange,
    ExchangeTx,
    Handler,
    Issued,
    Refused,
    code,
    refresh_token,
)
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import APPROVED, PENDING, AppCredentials
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidClient, InvalidRequest, SigninError
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.ports import RateLimiter, Reader, Store
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.settings import Settings


@dataclass(frozen=True)
class GrantType:
    exchange: Handler
    # An exchange that only reads runs in a read transaction: no write lock on SQLite.
    read_only: bool


GRANT_TYPES: dict[str, GrantType] = {
    "refresh_token": GrantType(refresh_token.exchange, read_only=True),
    "code": GrantType(code.exchange, read_only=False),
}


class ExchangeStore(Store[ExchangeTx], Reader[ExchangeTx], Protocol):
    pass


def check_secret(
    app: AppCredentials | None, app_secret: str | None, now: datetime
) -> AppCredentials:
    """The secret, or during a rotation's grace period the one it replaced. A pending
    application passes (development mode): each grant type then accepts only its owner's
    grants (``AppCredentials.serves``)."""
    if app is None:
        raise InvalidClient("Unknown application ID.")
    if app.secret_hash is not None:
        if not app_secret:
            raise InvalidClient("This application requires its appSecret.")
        if not app.accepts_secret(app_secret, now):
            raise InvalidClient("The application secret is not correct.")
    if app.status not in (APPROVED, PENDING):
        raise InvalidClient(f"The application is {app.status}.")
    return app


class TokenExchange:
    def __init__(
        self,
        store: ExchangeStore,
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        minter: AccessTokens,
        usage: UsageLog,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.minter = minter
        self.usage = usage

    def exchange(
        self,
        grant_type: str,
        app_id: str,
        credential: str,
        app_secret: str | None,
        ip: str,
        admitted: bool = False,
    ) -> IssuedTokens:
        try:
            return self._exchange(grant_type, app_id, credential, app_secret, ip, admitted)
        except SigninError as exc:
            self.record_refused(exc, app_id, grant_type)
            raise

    def admit(self, app_id: str, ip: str) -> None:
        """The checks before any read: a well-formed appId, and the caller's address under its
        limit (counted once). An exchange then called with ``admitted=True`` skips them, so a
        caller may try it more than one way without counting the address twice."""
        if not APP_ID.fullmatch(app_id):
            raise InvalidClient("The appId is not a valid application ID.")
        count_or_refuse(self.limiter, self.settings.token_limit_per_ip, "token-ip", ip)

    def refresh_unrecorded(
        self, app_id: str, token: str, app_secret: str | None, ip: str, admitted: bool = False
    ) -> IssuedTokens:
        """The refresh exchange without the write a refusal makes: for a caller that runs it
        where it must not wait on the database (its read answered from memory), and records
        a refusal itself elsewhere with :meth:`record_refused`."""
        return self._exchange("refresh_token", app_id, token, app_secret, ip, admitted)

    def record_refused(self, exc: SigninError, app_id: str, grant_type: str) -> None:
        record_refusal(self.store, self.clock, exc, client_id=app_id, grant_type=grant_type)

    def _exchange(
        self,
        grant_type: str,
        app_id: str,
        credential: str,
        app_secret: str | None,
        ip: str,
        admitted: bool = False,
    ) -> IssuedTokens:
        kind = GRANT_TYPES.get(grant_type)
        if kind is None:
            raise InvalidRequest(f"Unsupported grant type {grant_type[:40]!r}.")
        if not admitted:
            self.admit(app_id, ip)
        self.minter.ready()
        opened: AbstractContextManager[ExchangeTx] = (
            self.store.reading() if kind.read_only else self.store.transaction()
        )
        with opened as tx:

            def authenticate(joined: AppCredentials | None) -> AppCredentials:
                # ``joined`` is the application a token lookup already read (a query fewer).
                if joined is not None and joined.id == app_id:
                    return check_secret(joined, app_secret, self.clock.now())
                app = tx.app_by_id(app_id)
                return check_secret(app.credentials if app else None, app_secret, self.clock.now())

            def count_for_app(app: AppCredentials) -> None:
                # Counted only once the credential is proven: the appId is public, and counting
                # failures would let anyone exhaust a partner's budget.
                count_or_refuse(
                    self.limiter, self.settings.token_limit_per_app, "token-app", app.id
                )

            step = Exchange(
                tx,
                app_id,
                credential,
                self.clock.now(),
                self.settings,
                self.minter,
                self.usage,
                authenticate,
                count_for_app,
            )
            result = kind.exchange(step)
            if isinstance(result, Issued) and result.event:
                audit.record(
                    tx, step.now, result.event, user_id=result.user_id, app_id=app_id, ip=ip
                )
        if isinstance(result, Refused):
            raise result.error
        self.usage.exchanged(app_id, step.now)  # the console's usage chart
        return result.tokens

    def exchange_refresh_token(
        self, app_id: str, token: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        return self.exchange("refresh_token", app_id, token, app_secret, ip)

    def exchange_code(
        self, app_id: str, code_: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        return self.exchange("code", app_id, code_, app_secret, ip)
