"""The two reads every partner call makes (the refresh exchange's token, the API's grant),
through the database driver directly.

SQLAlchemy's execution path (a Connection, events, a Result) costs about 100 us around a
query SQLite answers in 10: measured, it was most of an exchange. These statements are the
ones in ``checks.py``, compiled once for the engine's dialect; a pooled driver connection is
borrowed for one ``execute`` + ``fetchone`` and given back (the pool ends the read
transaction, on PostgreSQL). Rows are converted here as SQLAlchemy's column types would
(UTC times, JSON preferences).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from leadexec_signin.core.errors import TemporarilyUnavailable
from leadexec_signin.core.tokens import GrantContext, RefreshGrant
from leadexec_signin.storage.sql.checks import (
    GRANT_CONTEXT,
    REFRESH_GRANT,
    ROTATION_READ,
    credentials_of,
    refresh_grant_of,
)
from leadexec_signin.storage.sql.rows import grant_from_row, user_from_row
from leadexec_signin.storage.sql.tables import UTCDateTime, dpop_proofs

# Pages a hot-read connection keeps (KiB), allocated only as pages are read.
SQLITE_HOT_CACHE_KIB = 16384


class Row:
    """A driver row read by name, as ``rows.py``'s converters read SQLAlchemy rows."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps ISO text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def _compiled(statement: Select[Any], dialect: Dialect) -> str:
    """A statement's SQL for a dialect, compiled once per process: every ``build`` (and the
    test suite builds hundreds) would otherwise compile the same few statements again."""
    key = (id(statement), dialect.name, dialect.paramstyle)
    sql = _COMPILED.get(key)
    if sql is None:
        sql = _COMPILED[key] = str(statement.compile(dialect=dialect))
    return sql


_COMPILED: dict[tuple[int, str, str], str] = {}


class Statement:
    def __init__(self, engine: Engine, statement: Select[Any], param: str) -> None:
        dialect = engine.dialect
        self.sql = _compiled(statement, dialect)
        self.names = [str(c.key) for c in statement.selected_columns]
        self.param = param
        self.named = dialect.paramstyle in ("named", "pyformat")
        self.times = {
            str(c.key) for c in statement.selected_columns if isinstance(c.type, UTCDateTime)
        }

    def args(self, value: str) -> Any:
        return {self.param: value} if self.named else (value,)

    def convert(self, row: tuple[Any, ...]) -> Row:
        mapping = dict(zip(self.names, row, strict=True))
        for key in self.times:
            mapping[key] = _utc(mapping[key])
        return Row(mapping)


def refresh_statement(engine: Engine) -> Statement:
    return Statement(engine, REFRESH_GRANT, "token_hash")


def rotation_statement(engine: Engine) -> Statement:
    return Statement(engine, ROTATION_READ, "token_hash")


def grant_statement(engine: Engine) -> Statement:
    return Statement(engine, GRANT_CONTEXT, "grant_id")


def use_jti_statement(engine: Engine) -> str:
    """INSERT ... ON CONFLICT DO NOTHING of a used DPoP proof, in the engine's dialect."""
    dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(dpop_proofs)
        .values(proof_key=bindparam("proof_key"), expires_at=bindparam("expires_at"))
        .on_conflict_do_nothing()
    )
    return str(statement.compile(dialect=engine.dialect))


def grant_context_of(row: Row) -> GrantContext:
    m = row._mapping
    for name in ("preferences", "scim_attributes"):
        if isinstance(m[name], str | bytes):  # SQLite keeps JSON text
            m[name] = json.loads(m[name])
    return GrantContext(
        grant_from_row(row, "g_"),  # type: ignore[arg-type]
        credentials_of(m),
        user_from_row(row),  # type: ignore[arg-type]
    )


@contextmanager
def _closing_cursor(connection: Any) -> Iterator[Any]:
    cursor = connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


class HotReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dbapi_error = engine.dialect.loaded_dbapi.Error
        # Each thread keeps one connection of its own in autocommit. A network database: a
        # read is one round trip, not three (the pool's liveness ping, the query, the rollback
        # when it is given back). SQLite: no pool checkout and check-in around each read
        # (about 10 us of a 130 us exchange); each statement still reads the latest commit.
        self._sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()
        self._refresh = refresh_statement(engine)
        self._grant = grant_statement(engine)
        self._use_jti = use_jti_statement(engine)
        self._named = engine.dialect.paramstyle in ("named", "pyformat")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        connection = getattr(self._local, "connection", None)
        try:
            if connection is None:
                # The engine's connect arguments, timeouts and error wrapping.
                pooled = self.engine.raw_connection()
                connection = pooled.driver_connection
                assert connection is not None  # a DBAPI connection, just made
                pooled.detach()  # ours from now on, outside the pool's count
                self._local.pooled = pooled  # held: letting it go would close the connection
                connection.rollback()
                if self._sqlite:
                    connection.isolation_level = None  # Python 3.11's sqlite3 autocommit
                    # SQLite's default page cache is 2 MB per connection: exchanges at random
                    # over 10,000 grants (a 21 MB file) then reread most pages (7% slower).
                    # Only these connections (one per thread that reads hot) get more.
                    connection.execute(f"PRAGMA cache_size=-{SQLITE_HOT_CACHE_KIB}")
                else:
                    connection.autocommit = True
                self._local.connection = connection
            with _closing_cursor(connection) as cursor:
                yield cursor
        except self._dbapi_error as exc:
            # A connection that failed is dropped; the next read opens a new one, so the
            # database coming back needs no restart.
            self._local.connection = self._local.pooled = None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            raise TemporarilyUnavailable(debug=type(exc).__name__) from exc

    def _one(self, statement: Statement, value: str) -> Row | None:
        with self._cursor() as cursor:
            cursor.execute(statement.sql, statement.args(value))
            row = cursor.fetchone()
        return statement.convert(row) if row is not None else None

    def first_use(self, key: str, expires_at: int) -> bool:
        """A used DPoP proof (``core/actions/dpop.py``'s ``ProofReplays``): one autocommit
        INSERT into ``dpop_proofs`` (SQLAlchemy's transaction around it cost three times the
        statement, on every DPoP call). False when the key was there already."""
        args = {"proof_key": key, "expires_at": expires_at} if self._named else (key, expires_at)
        with self._cursor() as cursor:
            cursor.execute(self._use_jti, args)
            return bool(cursor.rowcount == 1)

    def refresh_grant(self, token_hash: str) -> RefreshGrant | None:
        row = self._one(self._refresh, token_hash)
        return refresh_grant_of(row) if row is not None else None

    def grant_context(self, grant_id: str) -> GrantContext | None:
        row = self._one(self._grant, grant_id)
        return grant_context_of(row) if row is not None else None
