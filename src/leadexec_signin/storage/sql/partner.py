"""SQL writes of the partner console: an application's secret and origins (mixed into
``SqlTransaction``, which also answers the console's reads)."""

from __future__ import annotations

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Connection

from leadexec_signin.storage.sql import tables as t


class PartnerRepository:
    c: Connection

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
