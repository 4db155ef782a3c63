"""SQL for self-registered clients and blocked domains (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.apps import Application
from leadexec_signin.core.self_registered import OPERATOR, BlockedDomain
from leadexec_signin.storage.events import app_event
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.apps import app_with_uris, uris_of
from leadexec_signin.storage.sql.rows import joined


class SelfRegisteredRepository:
    c: Connection
    changes: list[str]  # SqlTransaction's: what the caches must hear of after commit

    def set_self_registered(self, app: Application) -> None:
        self.changes.append(app_event(app.id))  # a rotation authenticates from the cache
        a = t.applications
        self.c.execute(
            update(a)
            .where(a.c.id == app.id)
            .values(
                name=app.name,
                scopes=joined(app.scopes),
                logo_url=app.logo_url,
                homepage_url=app.homepage_url,
                privacy_url=app.privacy_url,
                terms_url=app.terms_url,
                domain=app.domain,
                last_used_at=app.last_used_at,
                registration_token_hash=app.registration_token_hash,
            )
        )
        r = t.app_redirect_uris
        self.c.execute(delete(r).where(r.c.app_id == app.id))
        rows = [
            {"app_id": app.id, "uri": u, "position": i} for i, u in enumerate(app.redirect_uris)
        ]
        if rows:
            self.c.execute(insert(r), rows)

    def self_registered_apps(self) -> list[Application]:
        a = t.applications
        used = func.coalesce(a.c.last_used_at, a.c.created_at)
        rows = self.c.execute(
            select(a).where(a.c.kind != OPERATOR).order_by(used.desc(), a.c.id)
        ).all()
        uris = uris_of(self.c, [r.id for r in rows])
        return [app_with_uris(r, uris) for r in rows]

    def touch_app(self, app_id: str, at: datetime) -> None:
        a = t.applications
        self.c.execute(update(a).where(a.c.id == app_id).values(last_used_at=at))

    def idle_self_registered(self, unused_since: datetime) -> list[str]:
        a, g = t.applications, t.grants
        recent_grant = exists().where(g.c.app_id == a.c.id, g.c.last_used_at >= unused_since)
        query = select(a.c.id).where(
            a.c.kind != OPERATOR,
            func.coalesce(a.c.last_used_at, a.c.created_at) < unused_since,
            ~recent_grant,
        )
        return list(self.c.execute(query).scalars())

    def blocked_domains(self) -> list[BlockedDomain]:
        b = t.blocked_domains
        rows = self.c.execute(select(b).order_by(b.c.domain))
        return [BlockedDomain(r.domain, r.blocked_at, r.actor) for r in rows]

    def add_blocked_domain(self, blocked: BlockedDomain) -> bool:
        b = t.blocked_domains
        if self.c.execute(select(b.c.domain).where(b.c.domain == blocked.domain)).first():
            return False
        self.c.execute(
            insert(b).values(
                domain=blocked.domain, blocked_at=blocked.blocked_at, actor=blocked.actor
            )
        )
        return True

    def remove_blocked_domain(self, domain: str) -> bool:
        b = t.blocked_domains
        return self.c.execute(delete(b).where(b.c.domain == domain)).rowcount > 0
