"""The standard token endpoint's use case (RFC 6749 section 3.2; OpenID Connect Core section
3.1.3): authenticate the client, then let the grant type named by the request do its exchange.
Each grant type is a module of ``grant_types/``; adding one adds a line to ``GRANT_TYPES``.
"""

from __future__ import annotations

from collections.abc import Mapping

from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.audit_trail import record_refusal
from leadexec_signin.core.actions.client_auth import ClientAuthenticator, Presented
from leadexec_signin.core.actions.grant_types import authorization_code, oauth_refresh_token
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.oauth_minting import (
    GrantHandler,
    Minting,
    OAuthTokenTx,
    Refusal,
    TokenResponse,
    TokenStep,
)
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, SigninError, UnsupportedGrantType
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.ports import RateLimiter, Store
from leadexec_signin.settings import Settings

GRANT_TYPES: dict[str, GrantHandler] = {
    "authorization_code": authorization_code.exchange,
    "refresh_token": oauth_refresh_token.exchange,
}


class OAuthTokens:
    def __init__(
        self,
        store: Store[OAuthTokenTx],
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        minter: AccessTokens,
        keys: SigningKeys,
        usage: UsageLog,
        authenticator: ClientAuthenticator,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.minter = minter
        self.usage = usage
        self.authenticator = authenticator
        self.minting = Minting(settings, minter, keys, clock)

    def token(self, offered: Presented, form: Mapping[str, str], ip: str) -> TokenResponse:
        try:
            return self._token(offered, form, ip)
        except SigninError as exc:
            grant_type = form.get("grant_type", "")
            record_refusal(
                self.store, self.clock, exc, client_id=offered.client_id, grant_type=grant_type
            )
            raise

    def _token(self, offered: Presented, form: Mapping[str, str], ip: str) -> TokenResponse:
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise InvalidRequest("grant_type is missing.")
        handler = GRANT_TYPES.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(f"Unsupported grant_type {grant_type[:40]!r}.")
        count_or_refuse(self.limiter, self.settings.token_limit_per_ip, "token-ip", ip)
        self.minter.ready()
        if grant_type == "authorization_code":
            # The new refresh token is followed by the per-grant cap of never-used tokens:
            # tokens this process saw used must be marked so first.
            self.usage.flush()
        now = self.clock.now()
        with self.store.transaction() as tx:
            app = self.authenticator.authenticate(tx, offered, now)
            # Counted once the client is proven: client ids are public.
            count_or_refuse(self.limiter, self.settings.token_limit_per_app, "token-app", app.id)
            step = TokenStep(
                tx, app, form, now, ip, self.settings, self.minting, self.minter, self.usage
            )
            result = handler(step)
        if isinstance(result, Refusal):
            raise result.error
        self.usage.exchanged(app.id, now)  # the console's usage chart
        return result
