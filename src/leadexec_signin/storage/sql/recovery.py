"""SQL for self-service accounts: confirming and changing an address, the one-time links of
the account pages, and ending a user's sessions after a reset (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.account_tokens import AccountToken
from leadexec_signin.storage.sql import tables as t


class RecoveryRepository:
    c: Connection

    def set_user_name(self, user_id: str, name: str) -> None:
        self.c.execute(update(t.users).where(t.users.c.id == user_id).values(name=name))

    def set_email_verified(self, user_id: str, at: datetime) -> None:
        self.c.execute(update(t.users).where(t.users.c.id == user_id).values(email_verified_at=at))

    def set_email(self, user_id: str, email: str, verified_at: datetime) -> None:
        self.c.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(email=email, email_verified_at=verified_at)
        )

    def delete_user_sessions(self, user_id: str) -> int:
        done = self.c.execute(delete(t.sessions).where(t.sessions.c.user_id == user_id))
        return max(done.rowcount, 0)

    def add_account_token(self, token: AccountToken) -> None:
        self.c.execute(
            insert(t.account_tokens).values(
                token_hash=token.token_hash,
                user_id=token.user_id,
                purpose=token.purpose,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
                data=token.data,
            )
        )

    def account_token(self, token_hash: str) -> AccountToken | None:
        a = t.account_tokens
        # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers.
        row = self.c.execute(
            select(a).where(a.c.token_hash == token_hash).with_for_update()
        ).first()
        if row is None:
            return None
        return AccountToken(
            token_hash=row.token_hash,
            user_id=row.user_id,
            purpose=row.purpose,
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
            data=dict(row.data or {}),
        )

    def spend_account_tokens(self, user_id: str, purpose: str, at: datetime) -> int:
        a = t.account_tokens
        done = self.c.execute(
            update(a)
            .where(a.c.user_id == user_id, a.c.purpose == purpose, a.c.used_at.is_(None))
            .values(used_at=at)
        )
        return max(done.rowcount, 0)
