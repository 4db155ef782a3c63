"""SQL for how long tokens live: the cap of refresh tokens per grant, their idle retirement,
and single use of codes (mixed into ``SqlTransaction``; "last used" is written in batches by
``checks.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.tokens import AuthorizationCode
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import code_from_row


class LifetimeRepository:
    c: Connection

    def trim_refresh_tokens(self, grant_id: str, keep: int) -> int:
        r = t.refresh_tokens
        # Only tokens never exchanged: one a backend uses is never dropped here, however many
        # sign-ins follow (it retires only after the idle period).
        beyond = (
            select(r.c.token_hash)
            .where(r.c.grant_id == grant_id, r.c.last_used_at.is_(None))
            .order_by(r.c.created_at.desc(), r.c.token_hash)
            .offset(keep)
        )
        return self.c.execute(
            delete(r).where(r.c.grant_id == grant_id, r.c.token_hash.in_(beyond))
        ).rowcount

    def retire_refresh_tokens(self, unused_since: datetime) -> int:
        r = t.refresh_tokens
        used = func.coalesce(r.c.last_used_at, r.c.created_at)
        return self.c.execute(delete(r).where(used < unused_since)).rowcount

    def consume_code(self, code_hash: str, at: datetime) -> tuple[AuthorizationCode, bool] | None:
        c = t.auth_codes
        # UPDATE ... RETURNING: of two concurrent redemptions exactly one sees it unused.
        row = self.c.execute(
            update(c)
            .where(c.c.code_hash == code_hash, c.c.consumed_at.is_(None))
            .values(consumed_at=at)
            .returning(*c.c)
        ).first()
        first_use = row is not None
        if row is None:
            row = self.c.execute(select(c).where(c.c.code_hash == code_hash)).first()
        if row is None:
            return None
        return code_from_row(row), first_use
