"""The LeadExec API's one check: is this access token live, and for whom (RFC 6750).

A self-proving token is checked by its MAC and expiry, then against its grant (one read,
cached per grant for at most ``token_cache_ms``): a revoked grant or a suspended application
ends every token at once. Tokens of the first format are still looked up by hash.
"""

from __future__ import annotations

from datetime import timedelta

from leadexec_signin.core import credentials
from leadexec_signin.core.access_tokens import LEGACY_LENGTH
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.apps import APPROVED
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidToken
from leadexec_signin.core.ports import GrantLookup
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.settings import Settings


class ApiAccess:
    def __init__(
        self, lookup: GrantLookup, minter: AccessTokens, clock: Clock, settings: Settings
    ) -> None:
        self.lookup = lookup
        self.minter = minter
        self.clock = clock
        self.ttl = timedelta(seconds=settings.access_token_ttl_seconds)

    def check_access_token(self, token: str | None) -> tuple[AccessToken, GrantContext]:
        if not token or not credentials.looks_like(token, credentials.ACCESS):
            raise InvalidToken()
        found = self._legacy(token) if len(token) == LEGACY_LENGTH else self._proven(token)
        if found is None:
            raise InvalidToken()
        access, ctx = found
        if (
            self.clock.now() >= access.expires_at
            or not ctx.grant.active
            or ctx.app.status != APPROVED
            or ctx.grant.id != access.grant_id
        ):
            raise InvalidToken()
        return found

    def _proven(self, token: str) -> tuple[AccessToken, GrantContext] | None:
        claims = self.minter.read(token)
        if claims is None or self.clock.now() >= claims.expires_at:
            return None  # expired tokens cost no read
        ctx = self.lookup.grant_context(claims.grant_id)
        if ctx is None:
            return None
        access = AccessToken(
            token_hash=credentials.token_hash(token),
            grant_id=claims.grant_id,
            app_id=ctx.grant.app_id,
            scopes=claims.scopes,
            expires_at=claims.expires_at,
            created_at=claims.expires_at - self.ttl,
        )
        return access, ctx

    def _legacy(self, token: str) -> tuple[AccessToken, GrantContext] | None:
        found = self.lookup.access_token_context(credentials.token_hash(token))
        if found is None:
            return None
        access, ctx = found
        return access, GrantContext(ctx.grant, ctx.app.credentials, ctx.user)
