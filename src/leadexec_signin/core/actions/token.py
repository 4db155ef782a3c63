"""The token endpoint's use case: authenticate the application, then let the grant type named
by the request do its exchange (node-oidc-provider ``lib/actions/grants/``). Adding a grant
type adds a module to ``grant_types/`` and a line to ``GRANT_TYPES``, not a branch here."""

from __future__ import annotations

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.actions.grant_types import (
    Exchange,
    ExchangeTx,
    GrantType,
    Issued,
    Refused,
    code,
    refresh_token,
)
from leadexec_signin.core.apps import APPROVED, Application
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidClient, InvalidRequest, RateLimited
from leadexec_signin.core.ports import RateLimiter, Store
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.settings import Settings

GRANT_TYPES: dict[str, GrantType] = {
    "refresh_token": refresh_token.exchange,
    "code": code.exchange,
}


def check_secret(app: Application | None, app_secret: str | None) -> Application:
    if app is None:
        raise InvalidClient("Unknown application ID.")
    if app.secret_hash is not None:
        if not app_secret:
            raise InvalidClient("This application requires its appSecret.")
        if not credentials.same(credentials.token_hash(app_secret), app.secret_hash):
            raise InvalidClient("The application secret is not correct.")
    if app.status != APPROVED:
        raise InvalidClient(f"The application is {app.status}.")
    return app


class TokenExchange:
    def __init__(
        self, store: Store[ExchangeTx], limiter: RateLimiter, clock: Clock, settings: Settings
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings

    def _limit(self, limit: str, *key: str) -> None:
        wait = self.limiter.hit(limit, *key)
        if wait is not None:
            raise RateLimited(retry_after=wait)

    def exchange(
        self, grant_type: str, app_id: str, credential: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        handler = GRANT_TYPES.get(grant_type)
        if handler is None:
            raise InvalidRequest(f"Unsupported grant type {grant_type[:40]!r}.")
        if not APP_ID.fullmatch(app_id):
            raise InvalidClient("The appId is not a valid application ID.")
        self._limit(self.settings.token_limit_per_ip, "token-ip", ip)
        with self.store.transaction() as tx:

            def authenticate(joined: Application | None) -> Application:
                # ``joined`` is the application a token lookup already read (two queries fewer).
                app = joined if joined is not None and joined.id == app_id else None
                return check_secret(app or tx.app_by_id(app_id), app_secret)

            def count_for_app(app: Application) -> None:
                # Counted only once the credential is proven: the appId is public, and counting
                # failures would let anyone exhaust a partner's budget.
                self._limit(self.settings.token_limit_per_app, "token-app", app.id)

            step = Exchange(
                tx, app_id, credential, self.clock.now(), self.settings, authenticate, count_for_app
            )
            result = handler(step)
            if isinstance(result, Issued):
                audit.record(
                    tx, step.now, result.event, user_id=result.user_id, app_id=app_id, ip=ip
                )
        if isinstance(result, Refused):
            raise result.error
        return result.tokens

    def exchange_refresh_token(
        self, app_id: str, token: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        return self.exchange("refresh_token", app_id, token, app_secret, ip)

    def exchange_code(
        self, app_id: str, code_: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        return self.exchange("code", app_id, code_, app_secret, ip)
