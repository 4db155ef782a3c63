"""SQL of the partner console: an application's secret, origins, profile, buttons, deletion
and usage counts (mixed into ``SqlTransaction``, which also answers the console's reads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from leadexec_signin.core import audit
from leadexec_signin.core.apps import AppActivity, Application, Button
from leadexec_signin.storage.events import app_event
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import joined


class PartnerRepository:
    c: Connection
    changes: list[str]  # SqlTransaction's: what a token check must hear of after commit

    def set_app_secret_hash(self, app_id: str, secret_hash: str | None) -> None:
        self.changes.append(app_event(app_id))  # a cached exchange knows the old secret
        self.c.execute(
            update(t.applications)
            .where(t.applications.c.id == app_id)
            .values(secret_hash=secret_hash)
        )

    def set_app_origins(self, app_id: str, origins: tuple[str, ...]) -> None:
        self.changes.append(app_event(app_id))  # the token answer's CORS origins
        self.c.execute(delete(t.app_origins).where(t.app_origins.c.app_id == app_id))
        if origins:
            self.c.execute(
                insert(t.app_origins),
                [{"app_id": app_id, "origin": o, "position": i} for i, o in enumerate(origins)],
            )

    # -- the console's edits ---------------------------------------------------------------

    def set_app_profile(self, app: Application) -> None:
        self.changes.append(app_event(app.id))
        self.c.execute(
            update(t.applications)
            .where(t.applications.c.id == app.id)
            .values(
                name=app.name,
                logo_url=app.logo_url,
                notice_url=app.notice_url,
                hardened=app.hardened,
            )
        )

    def set_previous_secret(
        self, app_id: str, secret_hash: str | None, expires_at: datetime | None
    ) -> None:
        self.changes.append(app_event(app_id))
        self.c.execute(
            update(t.applications)
            .where(t.applications.c.id == app_id)
            .values(previous_secret_hash=secret_hash, previous_secret_expires_at=expires_at)
        )

    def delete_app(self, app_id: str) -> None:
        # Every table under an application references it ON DELETE CASCADE (buttons, grants,
        # tokens, codes, notices, usage). The token cache hears of it through ``changes``.
        self.changes.append(app_event(app_id))
        self.c.execute(delete(t.applications).where(t.applications.c.id == app_id))

    def set_button(self, button: Button) -> None:
        self.c.execute(
            update(t.buttons)
            .where(t.buttons.c.id == button.id)
            .values(
                scopes=joined(button.scopes),
                theme=button.theme,
                size=button.size,
                text=button.text,
            )
        )

    def delete_button(self, btn_id: str) -> None:
        self.c.execute(delete(t.buttons).where(t.buttons.c.id == btn_id))

    def add_exchanges(self, counts: dict[tuple[str, str], int]) -> None:
        """Add to the day's count, creating the row the first time: an upsert, so two
        processes flushing the same day at once both count (SQLite and PostgreSQL share the
        ``ON CONFLICT`` form). An application deleted meanwhile is skipped."""
        if not counts:
            return
        u = t.app_usage_days
        dialect = self.c.dialect.name
        insert_ = sqlite_insert if dialect == "sqlite" else pg_insert
        live = set(
            self.c.execute(
                select(t.applications.c.id).where(
                    t.applications.c.id.in_({app_id for app_id, _ in counts})
                )
            ).scalars()
        )
        rows = [
            {"app_id": app_id, "day": day, "exchanges": n}
            for (app_id, day), n in sorted(counts.items())
            if app_id in live
        ]
        if not rows:
            return
        statement = insert_(u)
        self.c.execute(
            statement.on_conflict_do_update(
                index_elements=[u.c.app_id, u.c.day],
                set_={"exchanges": u.c.exchanges + statement.excluded.exchanges},
            ),
            rows,
        )

    def app_activity(self, app_id: str, since: datetime) -> AppActivity:
        e, u, g = t.audit_events, t.app_usage_days, t.grants
        signins = self.c.execute(
            select(e.c.at)
            .where(e.c.app_id == app_id)
            .where(e.c.event.in_((audit.TOKEN_ISSUED, audit.CODE_EXCHANGED)))
            .where(e.c.at >= since)
        ).scalars()
        exchanges = self.c.execute(
            select(u.c.day, u.c.exchanges)
            .where(u.c.app_id == app_id)
            .where(u.c.day >= since.date().isoformat())
        ).all()
        grants = self.c.execute(
            select(g.c.created_at, g.c.revoked_at)
            .where(g.c.app_id == app_id)
            .where(or_(g.c.revoked_at.is_(None), g.c.revoked_at >= since))
        ).all()
        return AppActivity(
            signins=tuple(signins),
            exchanges={day: n for day, n in exchanges},
            grants=tuple((row.created_at, row.revoked_at) for row in grants),
        )
