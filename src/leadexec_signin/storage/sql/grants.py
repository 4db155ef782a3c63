"""SQL for grants: the one lock that keeps a grant and its tokens consistent (see ``store.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.grants import Grant, GrantListing
from leadexec_signin.storage.events import scopes_event
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import (
    grant_from_row,
    joined,
)


class GrantRepository:
    changes: list[str]  # SqlTransaction's: what a token check must hear of after commit
    c: Connection

    def active_grant(self, user_id: str, app_id: str) -> Grant | None:
        g = t.grants
        # FOR UPDATE (PostgreSQL; SQLite already serialises writers): the sign-in that goes
        # on to issue tokens under this grant waits for, then sees, a concurrent revocation.
        row = self.c.execute(
            select(g)
            .where(g.c.user_id == user_id, g.c.app_id == app_id, g.c.revoked_at.is_(None))
            .with_for_update()
        ).first()
        return grant_from_row(row) if row else None

    def grant_by_id(self, grant_id: str) -> Grant | None:
        row = self.c.execute(select(t.grants).where(t.grants.c.id == grant_id)).first()
        return grant_from_row(row) if row else None

    def add_grant(self, grant: Grant) -> None:
        self.c.execute(
            insert(t.grants).values(
                id=grant.id,
                user_id=grant.user_id,
                app_id=grant.app_id,
                scopes=joined(grant.scopes),
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
                revoked_at=None,
            )
        )

    def set_grant_scopes(self, grant_id: str, scopes: frozenset[str]) -> None:
        self.changes.append(scopes_event(grant_id))
        self.c.execute(
            update(t.grants).where(t.grants.c.id == grant_id).values(scopes=joined(scopes))
        )

    def touch_grant(self, grant_id: str, at: datetime) -> None:
        self.c.execute(update(t.grants).where(t.grants.c.id == grant_id).values(last_used_at=at))

    def grants_for_user(self, user_id: str) -> list[GrantListing]:
        g, a = t.grants, t.applications
        rows = self.c.execute(
            select(g, a.c.name.label("app_name"), a.c.logo_url, a.c.homepage_url)
            .join(a, a.c.id == g.c.app_id)
            .where(g.c.user_id == user_id, g.c.revoked_at.is_(None))
            .order_by(g.c.last_used_at.desc())
        ).all()
        return [
            GrantListing(
                grant=grant_from_row(r),
                app_name=r.app_name,
                app_logo_url=r.logo_url,
                app_homepage_url=r.homepage_url,
            )
            for r in rows
        ]

    def revoke_grant(self, grant_id: str, at: datetime) -> bool:
        g = t.grants
        changed = self.c.execute(
            update(g).where(g.c.id == grant_id, g.c.revoked_at.is_(None)).values(revoked_at=at)
        ).rowcount
        # Codes first: a code exchange holds its code row until it commits, so the later
        # deletes see the tokens it issued (see the module docstring).
        for table in (t.auth_codes, t.refresh_tokens, t.access_tokens):
            self.c.execute(delete(table).where(table.c.grant_id == grant_id))
        return bool(changed)
