"""The operators' API tokens: made (shown once), listed, revoked, and checked on every call
of the admin REST API and SCIM, each call counted against the token's limit and audited with
the token as its actor."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.admin_tokens import (
    ID_PREFIX,
    PREFIX,
    AdminToken,
    allows,
    clean_name,
    parse_expiry,
    parse_scopes,
)
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InsufficientScope, InvalidToken, NotFound
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.ports import AdminTokens, Audit, RateLimiter, Store
from leadexec_signin.settings import Settings

# "Last used" is written at most this often per token: an API loop writes no row per call
# for it (the call's audit event says when, exactly).
TOUCH_EVERY = timedelta(minutes=1)
_TOKEN_ID = re.compile(ID_PREFIX + r"[A-Za-z0-9_-]{1,76}")


class AdminApiTx(AdminTokens, Audit, Protocol):
    pass


class AdminApi:
    def __init__(
        self, store: Store[AdminApiTx], limiter: RateLimiter, clock: Clock, settings: Settings
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings

    def create(
        self, *, name: object, scopes: object, expires: object, actor: str
    ) -> tuple[str, AdminToken]:
        """The raw token (to show once) and what is stored of it."""
        clean = clean_name(name)
        wanted = parse_scopes(scopes)
        lasts = parse_expiry(expires)
        raw = credentials.new_token(PREFIX)
        now = self.clock.now()
        token = AdminToken(
            id=credentials.new_id(ID_PREFIX),
            token_hash=credentials.token_hash(raw),
            name=clean,
            scopes=wanted,
            created_by=actor,
            created_at=now,
            expires_at=now + lasts if lasts else None,
        )
        with self.store.transaction() as tx:
            tx.add_admin_token(token)
            audit.record(tx, now, audit.ADMIN_TOKEN_CREATED, actor=actor, subject=token.id,
                         detail={"scopes": sorted(wanted), "name": clean})  # fmt: skip
        return raw, token

    def tokens(self) -> list[AdminToken]:
        with self.store.transaction() as tx:
            return tx.admin_tokens()

    def revoke(self, token_id: str, *, actor: str) -> None:
        now = self.clock.now()
        with self.store.transaction() as tx:
            well_formed = _TOKEN_ID.fullmatch(token_id) is not None
            if not well_formed or not tx.revoke_admin_token(token_id, now):
                raise NotFound("No such live token.")
            audit.record(tx, now, audit.ADMIN_TOKEN_REVOKED, actor=actor, subject=token_id)

    def authenticate(self, raw: str | None, scope: str) -> AdminToken:
        """The live token with ``scope``, counted against its limit; refused otherwise."""
        if not credentials.looks_like(raw, PREFIX):
            raise InvalidToken("A live operator API token is needed (Authorization: Bearer).")
        assert raw is not None
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = tx.admin_token_by_hash(credentials.token_hash(raw))
            if token is None or not credentials.same(token.token_hash, credentials.token_hash(raw)):
                raise InvalidToken("This token is unknown, revoked or expired.")
            if not token.live(now):
                raise InvalidToken("This token is unknown, revoked or expired.")
            if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
                tx.touch_admin_token(token.id, now)
        if not allows(token.scopes, scope):
            raise InsufficientScope(scope, f"This token lacks the {scope} scope.")
        count_or_refuse(self.limiter, self.settings.admin_api_limit_per_token, "admin", token.id)
        return token

    def called(self, token: AdminToken, method: str, path: str, status: int) -> None:
        """Every call, in the trail, with the token as its actor."""
        with self.store.transaction() as tx:
            detail = {"method": method[:10], "status": status}
            # What the caller typed, as text the database can hold (no NUL, no control).
            path = "".join(ch if ch.isprintable() else "?" for ch in path[:120])
            audit.record(
                tx, self.clock.now(), audit.API_CALL, actor=token.id, subject=path, detail=detail
            )
