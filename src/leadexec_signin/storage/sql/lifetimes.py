"""SQL for how long tokens live: the cap of refresh tokens per grant, their idle retirement,
and single use of codes (mixed into ``SqlTransaction``; "last used" is written in batches by
``checks.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from leadexec_signin.core.tokens import AuthorizationCode, RefreshToken
from leadexec_signin.storage.events import grant_event
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import code_from_row, scopes_or_none


class LifetimeRepository:
    c: Connection
    changes: list[str]  # SqlTransaction's: what a token check must hear of after commit

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
        dropped = self.c.execute(
            delete(r).where(r.c.grant_id == grant_id, r.c.token_hash.in_(beyond))
        ).rowcount
        if dropped:  # an exchange remembered in memory must not outlive its token
            self.changes.append(grant_event(grant_id))
        return int(dropped)

    def retire_refresh_tokens(self, unused_since: datetime) -> int:
        r = t.refresh_tokens
        used = func.coalesce(r.c.last_used_at, r.c.created_at)
        return self.c.execute(delete(r).where(used < unused_since)).rowcount

    def rotate_refresh_token(self, token_hash: str, successor: RefreshToken, at: datetime) -> bool:
        r = t.refresh_tokens
        # Conditional: of two concurrent rotations of one token exactly one replaces it (the
        # other then finds it rotated, with the same derived successor).
        done = self.c.execute(
            update(r)
            .where(r.c.token_hash == token_hash, r.c.replaced_by.is_(None))
            .values(replaced_by=successor.token_hash, rotated_at=at, last_used_at=at)
        )
        if done.rowcount != 1:
            return False
        self.add_refresh_token(successor)  # type: ignore[attr-defined]
        return True

    def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        r = t.refresh_tokens
        row = self.c.execute(select(r).where(r.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return RefreshToken(
            token_hash=row.token_hash,
            grant_id=row.grant_id,
            app_id=row.app_id,
            created_at=row.created_at,
            scopes=scopes_or_none(row.scopes),
            last_used_at=row.last_used_at,
            replaced_by=row.replaced_by,
            rotated_at=row.rotated_at,
            kind=row.kind,
            auth_time=row.auth_time,
            sid=row.sid,
            dpop_jkt=row.dpop_jkt,
            resource=row.resource,
        )

    def use_assertion(self, jti_hash: str, expires_at: datetime) -> bool:
        a = t.client_assertions
        dialect_insert = pg_insert if self.c.dialect.name == "postgresql" else sqlite_insert
        # ON CONFLICT DO NOTHING: a replay is a row count of 0, not an error that would abort
        # the surrounding transaction on PostgreSQL.
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT SQLAlchemy compiled.
        done = self.c.execute(
            dialect_insert(a)
            .values(jti_hash=jti_hash, expires_at=expires_at)
            .on_conflict_do_nothing()
            .returning(a.c.jti_hash)
        )
        return done.first() is not None

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
