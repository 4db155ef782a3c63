"""SQL for applications, their origins and buttons (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.apps import Application, Button
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import (
    app_from_row,
    button_from_row,
    joined,
)


def origins_of(c: Connection, app_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each application's origins in registration order, for any number of apps in one query."""
    rows = c.execute(
        select(t.app_origins.c.app_id, t.app_origins.c.origin)
        .where(t.app_origins.c.app_id.in_(app_ids))
        .order_by(t.app_origins.c.app_id, t.app_origins.c.position)
    )
    found: dict[str, list[str]] = {}
    for app_id, origin in rows:
        found.setdefault(app_id, []).append(origin)
    return {k: tuple(v) for k, v in found.items()}


class AppRepository:
    c: Connection

    def add_app(self, app: Application) -> None:
        self.c.execute(
            insert(t.applications).values(
                id=app.id,
                name=app.name,
                owner_id=app.owner_id,
                status=app.status,
                scopes=joined(app.scopes),
                secret_hash=app.secret_hash,
                hardened=app.hardened,
                logo_url=app.logo_url,
                homepage_url=app.homepage_url,
                privacy_url=app.privacy_url,
                terms_url=app.terms_url,
                notice_url=app.notice_url,
                created_at=app.created_at,
            )
        )
        if app.origins:
            self.c.execute(
                insert(t.app_origins),
                [
                    {"app_id": app.id, "origin": origin, "position": i}
                    for i, origin in enumerate(app.origins)
                ],
            )

    def app_by_id(self, app_id: str) -> Application | None:
        row = self.c.execute(select(t.applications).where(t.applications.c.id == app_id)).first()
        if row is None:
            return None
        return app_from_row(row, origins_of(self.c, [app_id]).get(app_id, ()))

    def _apps(self, *where: Any) -> list[Application]:
        """Applications in creation order, with every origin fetched in one more query."""
        a = t.applications
        rows = self.c.execute(select(a).where(*where).order_by(a.c.created_at)).all()
        origins = origins_of(self.c, [r.id for r in rows])
        return [app_from_row(r, origins.get(r.id, ())) for r in rows]

    def list_apps(self) -> list[Application]:
        return self._apps()

    def apps_for_owner(self, owner_id: str) -> list[Application]:
        return self._apps(t.applications.c.owner_id == owner_id)

    def set_app_status(self, app_id: str, status: str) -> None:
        self.c.execute(
            update(t.applications).where(t.applications.c.id == app_id).values(status=status)
        )

    def add_button(self, button: Button) -> None:
        self.c.execute(
            insert(t.buttons).values(
                id=button.id,
                app_id=button.app_id,
                scopes=joined(button.scopes),
                theme=button.theme,
                size=button.size,
                text=button.text,
                created_at=button.created_at,
            )
        )

    def button_by_id(self, btn_id: str) -> Button | None:
        row = self.c.execute(select(t.buttons).where(t.buttons.c.id == btn_id)).first()
        return button_from_row(row) if row else None

    def buttons_for_app(self, app_id: str) -> list[Button]:
        b = t.buttons
        rows = self.c.execute(select(b).where(b.c.app_id == app_id).order_by(b.c.created_at))
        return [button_from_row(r) for r in rows]
