"""The backends storage tests run on, and this run's own PostgreSQL database."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from leadexec_signin.storage.sql import tables

# Backends every storage-using test runs on; LEADEXEC_TEST_BACKENDS=sqlite narrows a local run.
BACKENDS = [
    b.strip()
    for b in os.environ.get("LEADEXEC_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
# The machine's PostgreSQL (trust auth); each run creates and drops its own database in it.
PG_ADMIN_URL = os.environ.get(
    "LEADEXEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class PgDatabase:
    """This run's own PostgreSQL database, migrated once; emptied (not re-migrated) per test."""

    url: str
    keeper: Connection
    emptying: str = ""

    def empty(self) -> None:
        # One round trip of DELETEs: on tables of a few rows DELETE beats TRUNCATE (~1 ms
        # against ~9 ms for all of them), and one batch beats a statement per table.
        if not self.emptying:
            sequences = self.keeper.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            ).scalars()
            self.emptying = "; ".join(
                [f'DELETE FROM "{t.name}"' for t in reversed(tables.metadata.sorted_tables)]
                + [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
            )
        self.keeper.exec_driver_sql(self.emptying)
        self.keeper.commit()


def drop_stale_pg_databases(admin: Connection) -> None:
    """Databases of runs that died without cleaning up: named lx_<pid>_..., pid gone."""
    names = admin.exec_driver_sql(
        "SELECT datname FROM pg_database WHERE datname ~ '^lx_[0-9]+_[0-9a-f]+$'"
    ).scalars()
    for name in list(names):
        pid = int(name.split("_")[1])
        try:
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:  # no FORCE: a database someone is still connected to stays
            admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        except DBAPIError:
            continue
