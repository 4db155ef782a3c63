"""The LeadExec API's one check: is this access token live, and for whom (RFC 6750)."""

from __future__ import annotations

from leadexec_signin.core import credentials
from leadexec_signin.core.apps import APPROVED
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidToken
from leadexec_signin.core.ports import AccessTokenLookup, Found


class ApiAccess:
    def __init__(self, lookup: AccessTokenLookup, clock: Clock) -> None:
        self.lookup = lookup
        self.clock = clock

    def check_access_token(self, token: str | None) -> Found:
        if not token or not credentials.looks_like(token, credentials.ACCESS):
            raise InvalidToken()
        found = self.lookup.access_token_context(credentials.token_hash(token))
        if found is None:
            raise InvalidToken()
        access, ctx = found
        if (
            self.clock.now() >= access.expires_at
            or not ctx.grant.active
            or ctx.app.status != APPROVED
        ):
            raise InvalidToken()
        return found
