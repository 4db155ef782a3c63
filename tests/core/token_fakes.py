"""An in-memory fake of the token endpoint's ports (fosite tests its handlers against a
memory store the same way): the rules of ``core/actions/grant_handlers`` exercised without a
database, each write and unit of work visible to the test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from leadexec_signin.core.access_tokens import MacKey
from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application
from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.tokens import AuthorizationCode, RefreshGrant, RefreshToken


@dataclass
class MemoryTx:
    """Every port the token endpoint's steps use, over dictionaries."""

    apps: dict[str, Application] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    keys: list[MacKey] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    assertions: set[str] = field(default_factory=set)
    units: list[str] = field(default_factory=list)  # "write" or "read", in order

    # Apps, Users
    def app_by_id(self, app_id: str) -> Application | None:
        return self.apps.get(app_id)

    def user_by_id(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    # Grants
    def grant_by_id(self, grant_id: str) -> Grant | None:
        return self.grants.get(grant_id)

    def revoke_grant(self, grant_id: str, at: datetime) -> bool:
        grant = self.grants.get(grant_id)
        if grant is None or grant.revoked_at is not None:
            return False
        self.grants[grant_id] = replace(grant, revoked_at=at)
        for h in [h for h, t in self.refresh.items() if t.grant_id == grant_id]:
            del self.refresh[h]
        return True

    # Tokens
    def refresh_grant(self, token_hash: str, *, lock: bool = False) -> RefreshGrant | None:
        token = self.refresh.get(token_hash)
        if token is None:
            return None
        grant = self.grants[token.grant_id]
        return RefreshGrant(token, grant, self.apps[grant.app_id].credentials)

    def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        return self.refresh.get(token_hash)

    def add_refresh_token(self, token: RefreshToken) -> None:
        self.refresh[token.token_hash] = token

    def trim_refresh_tokens(self, grant_id: str, keep: int) -> int:
        return 0

    def rotate_refresh_token(self, token_hash: str, successor: RefreshToken, at: datetime) -> bool:
        old = self.refresh.get(token_hash)
        if old is None or old.replaced_by is not None:
            return False
        self.refresh[token_hash] = replace(old, replaced_by=successor.token_hash, rotated_at=at)
        self.refresh[successor.token_hash] = successor
        return True

    def consume_code(self, code_hash: str, at: datetime) -> tuple[AuthorizationCode, bool] | None:
        code = self.codes.get(code_hash)
        if code is None:
            return None
        first = code.consumed_at is None
        if first:
            self.codes[code_hash] = replace(code, consumed_at=at)
        return code, first

    def use_assertion(self, jti_hash: str, expires_at: datetime) -> bool:
        if jti_hash in self.assertions:
            return False
        self.assertions.add(jti_hash)
        return True

    # Keys (the access tokens' MAC keys)
    def token_keys(self) -> list[MacKey]:
        return list(self.keys)

    def add_token_key(self, key: MacKey) -> None:
        self.keys.append(key)

    # Audit, Notices, Usage
    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def add_notice(self, notice: Notice, created_at: datetime) -> None:
        self.notices.append(notice)

    def touch_grants(self, last_used: dict[str, datetime]) -> None:
        pass

    def touch_refresh_tokens(self, last_used: dict[str, datetime]) -> None:
        pass

    def add_exchanges(self, counts: dict[tuple[str, str], int]) -> None:
        pass

    def kinds(self) -> list[str]:
        return [e.event for e in self.events]


class MemoryStore:
    """``Store`` and ``Reader`` over one :class:`MemoryTx`, counting units of work."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    @contextmanager
    def transaction(self) -> Iterator[MemoryTx]:
        self.tx.units.append("write")
        yield self.tx

    @contextmanager
    def reading(self) -> Iterator[MemoryTx]:
        self.tx.units.append("read")
        yield self.tx


class MemoryReads:
    """The token reads outside a transaction (the token cache's place), counted."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx
        self.reads = 0

    def refresh_grant(self, token_hash: str) -> RefreshGrant | None:
        self.reads += 1
        return self.tx.refresh_grant(token_hash)

    def grant_context(self, grant_id: str) -> None:
        return None

    def access_token_context(self, token_hash: str) -> None:
        return None
