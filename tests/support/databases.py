"""The backends storage tests run on, and this run's own PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import LRUCache

from leadexec_signin.storage.sql import store, tables

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


class SharedCompiledCache:
    """One cache of compiled SQL for every engine of a test process.

    SQLAlchemy compiles a statement once per engine and keeps it in that engine's cache, keyed
    by the statement's shape and the engine's dialect object. Each test builds a provider, so
    each test had a new engine and compiled every statement it ran again: a tenth of the fast
    tier's CPU. Here the key names the dialect by what its compilation depends on (its class,
    the server's version and the parameter style) instead of by the object, so one test's
    compiled statements serve the next; what a statement does is unchanged.
    """

    def __init__(self, size: int = 5000) -> None:
        self.entries: LRUCache[Any, Any] = LRUCache(size)

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        kind = (type(dialect), dialect.server_version_info, dialect.paramstyle)
        return (kind, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self.entries.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self.entries[self._key(key)] = value

    def __len__(self) -> int:
        return len(self.entries)


@contextmanager
def shared_compiled_sql() -> Iterator[None]:
    """While open, every engine ``storage/sql/store.py`` makes uses one ``SharedCompiledCache``."""
    made = store.create_engine
    cache = SharedCompiledCache()

    def create_engine(*args: Any, **kwargs: Any) -> Engine:
        engine = made(*args, **kwargs)
        if engine._compiled_cache is not None:
            engine._compiled_cache = cache  # type: ignore[assignment]
        return engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "create_engine", create_engine)
        yield
