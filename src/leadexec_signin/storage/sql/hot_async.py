"""The refresh exchange's read and the token check's grant read on the event loop, for
PostgreSQL, through asyncpg.

With a network database a synchronous read needs a thread, and the hand-over cost about 550 us
of CPU per exchange against 150 us for the rest of it. Here the read waits on the socket
instead, and its result goes into the token cache, from which the exchange then runs in
place. Only a few statements go this way, compiled once: the exchange's and the token
check's reads (``checks.REFRESH_GRANT``, ``GRANT_CONTEXT``), and a rotation's read
(``ROTATION_READ``) and write (``ROTATE``, one conditional statement); everything else,
writes included, stays on SQLAlchemy and psycopg.

Why asyncpg and not psycopg's async driver for these two: each connection here prepares both
statements once and keeps them, and a read is then one ``Bind/Execute`` on an idle connection
taken from a plain list. Measured here with 16 reads in flight: 38 us of CPU a read against
106 us through ``psycopg_pool`` (71 us for psycopg's prepared statements without the pool's
bookkeeping, 71 us for asyncpg's own pool). A database that fails here is a 503, as in a
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped; used in this module only
from sqlalchemy import Engine

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import TemporarilyUnavailable
from leadexec_signin.core.tokens import GrantContext, RefreshGrant, RefreshToken
from leadexec_signin.storage.sql.hot import (
    Statement,
    grant_statement,
    refresh_statement,
    rotation_statement,
)
from leadexec_signin.storage.sql.records import (
    grant_context_from,
    refresh_grant_from,
    user_from,
)
from leadexec_signin.storage.sql.rows import joined_or_none

log = logging.getLogger("leadexec_signin.storage")

# What a read that fails for the database's sake raises: a 503, never a 500.
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


# A rotation's write, the old token retired and its successor inserted in one statement,
# only while the token is unrotated and its grant active: the grant row is share-locked as
# the thread's rotation locks it, so a revocation committing meanwhile is waited for and then
# seen (READ COMMITTED returns a locked row as it is after that commit). ``revoked_at`` is
# tested outside the locking scan: inside, PostgreSQL's generic plan scanned the partial
# index of active grants with ``id`` as a filter (about 250 us of its CPU a rotation, against
# 40 for the primary key). No row back: the caller runs the rotation
# again in a thread, where a reuse or a lost race gets its full handling.
ROTATE = """
WITH g AS (SELECT id, revoked_at FROM grants WHERE id = $2 FOR SHARE),
old AS (
    UPDATE refresh_tokens SET replaced_by = $3, rotated_at = $4, last_used_at = $4
    WHERE token_hash = $1 AND replaced_by IS NULL
        AND grant_id = (SELECT id FROM g WHERE revoked_at IS NULL)
    RETURNING 1
)
INSERT INTO refresh_tokens (token_hash, grant_id, app_id, created_at, scopes, last_used_at,
    replaced_by, rotated_at, kind, auth_time, sid, dpop_jkt, resource)
SELECT $3, $2, $5, $6, $7, $8, NULL, NULL, $9, $10, $11, $12, $13 FROM old
RETURNING 1
"""


@dataclass(frozen=True)
class RotationRead:
    """All a rotation reads (``checks.ROTATION_READ``): the token with its grant and
    application, the grant's user, and the sign-in's methods (None: no such sign-in)."""

    found: RefreshGrant
    user: User
    amr: tuple[str, ...] | None


def _naive(at: datetime | None) -> datetime | None:
    """A column's naive UTC (``tables.UTCDateTime``) for asyncpg, which has no type hook."""
    return None if at is None else at.astimezone(UTC).replace(tzinfo=None)


def numbered(statement: Statement) -> str:
    """psycopg's ``%(name)s`` placeholder as PostgreSQL's own ``$1`` (asyncpg's)."""
    return statement.sql.replace(f"%({statement.param})s", "$1").replace("%%", "%")


class _Connection:
    """One connection with every statement prepared on it, by name."""

    def __init__(self, conn: Any, prepared: dict[str, Any]) -> None:
        self.conn = conn
        self.prepared = prepared


def _expire(waiter: asyncio.Future[_Connection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncHotReads:
    """Up to ``size`` connections on the server's event loop (each worker has its own),
    opened as reads need them after the start (``Services.astart``) and closed at shutdown.
    A read waits at most ``pool_timeout`` seconds for a free connection."""

    def __init__(
        self,
        engine: Engine,
        size: int,
        pool_timeout: float,
        connect_timeout: float,
        statement_timeout_ms: int,
    ) -> None:
        url = engine.url
        self._connect: dict[str, Any] = {
            "host": url.host or "localhost",
            "port": url.port or 5432,
            "user": url.username,
            "password": url.password,
            "database": url.database,
            "timeout": max(1.0, connect_timeout),
            "server_settings": {"statement_timeout": str(int(statement_timeout_ms))},
        }
        self._sql = {
            "refresh": numbered(refresh_statement(engine)),
            "grant": numbered(grant_statement(engine)),
            "rotation": numbered(rotation_statement(engine)),
            "rotate": ROTATE,
        }
        self._size = size
        self._timeout = pool_timeout
        self._idle: list[_Connection] = []
        self._opened = 0  # connections that exist or are being opened
        # Reads waiting for a connection, first come first served; None hands over the right
        # to open one in place of a connection that broke.
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """At the server's start, on its event loop: the only loop that reads this way. A
        loop that lives for one request (a test client outside its context) never opens
        connections, which would then have to be closed with that loop."""
        self._loop = asyncio.get_running_loop()
        try:  # one connection ready before the first request; a failure here is not fatal
            self._idle.append(await self._new())
        except _FAILURES as exc:
            log.warning("async reads: first connection failed: %s", type(exc).__name__)

    def ready(self) -> bool:
        """Whether a read can go this way from the running loop."""
        try:
            return self._loop is not None and self._loop is asyncio.get_running_loop()
        except RuntimeError:
            return False

    async def _new(self) -> _Connection:
        self._opened += 1
        try:
            conn = await asyncpg.connect(**self._connect)
            try:
                prepared = {name: await conn.prepare(sql) for name, sql in self._sql.items()}
            except BaseException:
                conn.terminate()
                raise
        except BaseException:
            self._opened -= 1
            raise
        return _Connection(conn, prepared)

    async def _take(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        if self._opened < self._size:
            return await self._new()
        assert self._loop is not None
        # One future and one timer: ``asyncio.wait_for(asyncio.shield(...))`` cost three
        # futures and three turns of the loop per hand-over, about 20 us of CPU a read with
        # 16 reads in flight on 4 connections.
        waiter: asyncio.Future[_Connection | None] = self._loop.create_future()
        self._waiters.append(waiter)
        timer = self._loop.call_later(self._timeout, _expire, waiter)
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(waiter.result())  # handed over as the read was cancelled
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        finally:
            timer.cancel()
        return handed if handed is not None else await self._new()

    def _give_back(self, conn: _Connection | None) -> None:
        """A connection back for the next read (None: it broke; a waiter may open one)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    async def _record(self, which: str, value: str) -> Any:
        """The statement's one row as asyncpg returns it (a ``Record``), or None."""
        return await self._run(which, "fetchrow", value)

    async def _run(self, which: str, how: str, *args: object) -> Any:
        """``how`` (``fetchrow``, ``fetchval``) of a prepared statement on a pooled
        connection; a failure for the database's sake is a 503."""
        if self._loop is None:
            raise TemporarilyUnavailable(debug="async reads not open")
        try:
            conn = await self._take()
        except _FAILURES as exc:
            raise TemporarilyUnavailable(debug=type(exc).__name__) from exc
        try:
            result = await getattr(conn.prepared[which], how)(*args)
        except _FAILURES as exc:
            self._opened -= 1
            conn.conn.terminate()
            self._give_back(None)
            raise TemporarilyUnavailable(debug=type(exc).__name__) from exc
        except BaseException:  # cancelled mid-read: the connection's state is unknown
            self._opened -= 1
            conn.conn.terminate()
            self._give_back(None)
            raise
        self._give_back(conn)
        return result

    async def refresh_grant(self, token_hash: str) -> RefreshGrant | None:
        record = await self._record("refresh", token_hash)
        return refresh_grant_from(record) if record is not None else None

    async def grant_context(self, grant_id: str) -> GrantContext | None:
        record = await self._record("grant", grant_id)
        return grant_context_from(record) if record is not None else None

    async def rotation(self, token_hash: str) -> RotationRead | None:
        record = await self._record("rotation", token_hash)
        if record is None:
            return None
        amr = record["s_amr"]
        return RotationRead(
            refresh_grant_from(record),
            user_from(record),
            tuple(amr.split()) if amr is not None else None,
        )

    async def rotate(self, token_hash: str, successor: RefreshToken, at: datetime) -> bool:
        """``ROTATE``: whether the token was retired and ``successor`` written, committed."""
        s = successor
        done = await self._run(
            "rotate", "fetchval",
            token_hash, s.grant_id, s.token_hash, _naive(at), s.app_id, _naive(s.created_at),
            joined_or_none(s.scopes), _naive(s.last_used_at), s.kind, _naive(s.auth_time),
            s.sid, s.dpop_jkt, s.resource,
        )  # fmt: skip
        return done is not None

    async def close(self) -> None:
        idle, loop = self._idle, self._loop
        self._idle, self._loop, self._opened = [], None, 0
        # Connections opened on another loop (a test client's, gone since) cannot be awaited
        # here; they went with that loop.
        for c in idle:
            if loop is asyncio.get_running_loop():
                with contextlib.suppress(Exception):
                    await c.conn.close(timeout=2)
            else:
                c.conn.terminate()
