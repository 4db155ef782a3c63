"""SQL for users and their sessions (mixed into ``SqlTransaction``; the audit trail is in
``audit.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.accounts import User
from leadexec_signin.core.factors import parse_amr
from leadexec_signin.core.sessions import Session
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import (
    user_from_row,
)


class AccountRepository:
    c: Connection

    def add_user(self, user: User) -> None:
        self.c.execute(
            insert(t.users).values(
                id=user.id,
                email=user.email,
                name=user.name,
                password_hash=user.password_hash,
                company=user.company,
                plan=user.plan,
                timezone=user.timezone,
                locale=user.locale,
                preferences=user.preferences,
                is_operator=user.is_operator,
                created_at=user.created_at,
                email_verified_at=user.email_verified_at,
            )
        )

    def user_by_id(self, user_id: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return user_from_row(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        row = self.c.execute(select(t.users).where(t.users.c.email == email)).first()
        return user_from_row(row) if row else None

    def operators(self) -> list[User]:
        rows = self.c.execute(
            select(t.users)
            .where(t.users.c.is_operator.is_(True), t.users.c.disabled_at.is_(None))
            .order_by(t.users.c.created_at)
        ).all()
        return [user_from_row(row) for row in rows]

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.c.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    # -- sessions -------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        self.c.execute(
            insert(t.sessions).values(
                id_hash=session.id_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                amr=" ".join(session.amr),
                authenticated_at=session.authenticated_at,
                ip=session.ip[:64] or None,
                user_agent=session.user_agent[:256] or None,
            )
        )

    def session_by_hash(self, id_hash: str) -> Session | None:
        row = self.c.execute(select(t.sessions).where(t.sessions.c.id_hash == id_hash)).first()
        if row is None:
            return None
        return Session(
            id_hash=row.id_hash,
            user_id=row.user_id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            amr=parse_amr(row.amr),
            authenticated_at=row.authenticated_at,
            ip=row.ip or "",
            user_agent=row.user_agent or "",
        )

    def touch_session(self, id_hash: str, at: datetime, expires_at: datetime) -> None:
        self.c.execute(
            update(t.sessions)
            .where(t.sessions.c.id_hash == id_hash)
            .values(last_seen_at=at, expires_at=expires_at)
        )

    def delete_session(self, id_hash: str) -> None:
        self.c.execute(delete(t.sessions).where(t.sessions.c.id_hash == id_hash))
