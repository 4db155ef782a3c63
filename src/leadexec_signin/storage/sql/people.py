"""SQL for the operators' side of the users and their API tokens (mixed into
``SqlTransaction``): the users list's search with keyset paging, disabling, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.accounts import User
from leadexec_signin.core.admin_tokens import AdminToken
from leadexec_signin.core.people import UserQuery
from leadexec_signin.storage.sql import factor_tables as f
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import user_from_row


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_factor() -> Any:
    u = t.users
    return or_(
        exists().where(f.passkeys.c.user_id == u.c.id),
        exists().where(
            f.totp_secrets.c.user_id == u.c.id, f.totp_secrets.c.confirmed_at.is_not(None)
        ),
    )


def _token(row: Row[Any]) -> AdminToken:
    return AdminToken(
        id=row.id,
        token_hash=row.token_hash,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class PeopleRepository:
    c: Connection

    def search_users(self, query: UserQuery) -> list[User]:
        u = t.users
        q = select(u).order_by(u.c.email).limit(query.limit + 1)
        if query.text:
            pattern = _like(query.text)
            q = q.where(
                or_(
                    func.lower(u.c.email).like(pattern, escape="\\"),
                    func.lower(u.c.name).like(pattern, escape="\\"),
                )
            )
        if query.after:
            q = q.where(u.c.email > query.after)
        if query.disabled:
            q = q.where(u.c.disabled_at.is_not(None))
        if query.operator:
            q = q.where(u.c.is_operator.is_(True))
        if query.unverified:
            q = q.where(u.c.email_verified_at.is_(None))
        if query.factor:
            q = q.where(_has_factor())
        return [user_from_row(r) for r in self.c.execute(q)]

    def count_users(self) -> int:
        return int(self.c.execute(select(func.count()).select_from(t.users)).scalar_one())

    def users_by_offset(self, offset: int, count: int) -> list[User]:
        u = t.users
        rows = self.c.execute(select(u).order_by(u.c.email).offset(offset).limit(count))
        return [user_from_row(r) for r in rows]

    def users_with_factors(self, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        u = t.users
        rows = self.c.execute(select(u.c.id).where(u.c.id.in_(user_ids), _has_factor()))
        return {r.id for r in rows}

    def operators_enabled(self) -> int:
        u = t.users
        q = select(func.count()).where(u.c.is_operator.is_(True), u.c.disabled_at.is_(None))
        return int(self.c.execute(q).scalar_one())

    def set_user_disabled(self, user_id: str, at: datetime | None) -> None:
        self.c.execute(update(t.users).where(t.users.c.id == user_id).values(disabled_at=at))

    def set_user_operator(self, user_id: str, operator: bool) -> None:
        self.c.execute(update(t.users).where(t.users.c.id == user_id).values(is_operator=operator))

    def set_user_profile(
        self, user_id: str, *, name: str, company: str, timezone: str, locale: str
    ) -> None:
        self.c.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(name=name, company=company, timezone=timezone, locale=locale)
        )

    def set_user_plan(self, user_id: str, plan: str) -> None:
        self.c.execute(update(t.users).where(t.users.c.id == user_id).values(plan=plan))

    def set_scim_identity(
        self, user_id: str, user_name: str | None, attributes: dict[str, object]
    ) -> None:
        self.c.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(scim_user_name=user_name, scim_attributes=attributes or None)
        )

    def user_by_scim_name(self, user_name: str) -> User | None:
        u = t.users
        row = self.c.execute(
            select(u).where(func.lower(u.c.scim_user_name) == user_name.lower())
        ).first()
        return user_from_row(row) if row else None

    def delete_user(self, user_id: str) -> None:
        # Spelled out rather than left to ON DELETE: SQLite enforces it only with the pragma.
        a = t.applications
        self.c.execute(update(a).where(a.c.owner_id == user_id).values(owner_id=None))
        self.c.execute(delete(t.users).where(t.users.c.id == user_id))

    def forget_audit_origins(self, user_id: str) -> int:
        e = t.audit_events
        return int(
            self.c.execute(
                update(e).where(e.c.user_id == user_id).values(ip=None, user_agent=None)
            ).rowcount
        )

    def delete_factors(self, user_id: str) -> int:
        passkeys = self.c.execute(delete(f.passkeys).where(f.passkeys.c.user_id == user_id))
        totp = self.c.execute(
            delete(f.totp_secrets).where(
                f.totp_secrets.c.user_id == user_id, f.totp_secrets.c.confirmed_at.is_not(None)
            )
        )
        self.c.execute(delete(f.totp_secrets).where(f.totp_secrets.c.user_id == user_id))
        self.c.execute(delete(f.recovery_codes).where(f.recovery_codes.c.user_id == user_id))
        return int(passkeys.rowcount) + int(totp.rowcount)

    # -- the operators' API tokens ----------------------------------------------------------

    def add_admin_token(self, token: AdminToken) -> None:
        self.c.execute(
            insert(t.admin_tokens).values(
                id=token.id,
                token_hash=token.token_hash,
                name=token.name,
                scopes=" ".join(sorted(token.scopes)),
                created_by=token.created_by,
                created_at=token.created_at,
                expires_at=token.expires_at,
            )
        )

    def admin_token_by_hash(self, token_hash: str) -> AdminToken | None:
        k = t.admin_tokens
        row = self.c.execute(select(k).where(k.c.token_hash == token_hash)).first()
        return _token(row) if row else None

    def admin_tokens(self) -> list[AdminToken]:
        k = t.admin_tokens
        return [_token(r) for r in self.c.execute(select(k).order_by(k.c.created_at.desc()))]

    def revoke_admin_token(self, token_id: str, at: datetime) -> bool:
        k = t.admin_tokens
        changed = self.c.execute(
            update(k).where(k.c.id == token_id, k.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return bool(changed.rowcount)

    def touch_admin_token(self, token_id: str, at: datetime) -> None:
        k = t.admin_tokens
        self.c.execute(update(k).where(k.c.id == token_id).values(last_used_at=at))
