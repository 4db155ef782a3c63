"""SQL behind the partner console: an owner's applications, their buttons, secrets, origins
(mixed into ``SqlTransaction``)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.apps import Application, Button
from leadexec_signin.storage.sql import tables as t


class PartnerRepository:
    c: Connection

    # app_by_id and button_by_id come from SqlTransaction, which mixes this class in.

    def apps_for_owner(self, owner_id: str) -> list[Application]:
        ids = self.c.execute(
            select(t.applications.c.id)
            .where(t.applications.c.owner_id == owner_id)
            .order_by(t.applications.c.created_at)
        ).scalars()
        found = (self.app_by_id(i) for i in ids)  # type: ignore[attr-defined]
        return [app for app in found if app is not None]

    def buttons_for_app(self, app_id: str) -> list[Button]:
        ids = self.c.execute(
            select(t.buttons.c.id)
            .where(t.buttons.c.app_id == app_id)
            .order_by(t.buttons.c.created_at)
        ).scalars()
        found = (self.button_by_id(i) for i in ids)  # type: ignore[attr-defined]
        return [b for b in found if b is not None]

    def set_app_secret_hash(self, app_id: str, secret_hash: str | None) -> None:
        self.c.execute(
            update(t.applications)
            .where(t.applications.c.id == app_id)
            .values(secret_hash=secret_hash)
        )

    def set_app_origins(self, app_id: str, origins: tuple[str, ...]) -> None:
        self.c.execute(delete(t.app_origins).where(t.app_origins.c.app_id == app_id))
        if origins:
            self.c.execute(
                insert(t.app_origins),
                [{"app_id": app_id, "origin": o, "position": i} for i, o in enumerate(origins)],
            )
