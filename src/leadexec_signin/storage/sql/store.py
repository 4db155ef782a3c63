"""SQL repositories implementing ``core/ports.py`` over SQLAlchemy Core, on SQLite or PostgreSQL.

One class for every port: each method is one or two statements, and the joined lookups that
sit on hot paths (token checks) are a single query.

Concurrency: SQLite serialises writers (``BEGIN IMMEDIATE``). PostgreSQL runs READ COMMITTED,
so the grant row is the lock that keeps tokens and their grant consistent: whatever is about to
issue under a grant reads it ``FOR UPDATE`` (``refresh_token_context``, ``active_grant``) or
holds the code row it marked used (``consume_code``), and ``revoke_grant`` marks the grant first and
then deletes codes, refresh tokens and access tokens in that order, each statement seeing what
a concurrent issuer committed meanwhile. Either the issuer wins and its tokens are deleted, or
the revocation wins and the issuer sees a revoked grant; never a live token under a revoked one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.errors import Conflict, InvalidRequest, TemporarilyUnavailable
from leadexec_signin.core.notices import Notice
from leadexec_signin.metrics import count_audit
from leadexec_signin.storage.events import app_event, grant_event
from leadexec_signin.storage.sql.accounts import AccountRepository
from leadexec_signin.storage.sql.apps import AppRepository
from leadexec_signin.storage.sql.audit import AuditRepository
from leadexec_signin.storage.sql.checks import CheckRepository
from leadexec_signin.storage.sql.devices import DeviceRepository
from leadexec_signin.storage.sql.factors import FactorRepository
from leadexec_signin.storage.sql.grants import GrantRepository
from leadexec_signin.storage.sql.hot import HotReads
from leadexec_signin.storage.sql.keys import KeyRepository
from leadexec_signin.storage.sql.lifetimes import LifetimeRepository
from leadexec_signin.storage.sql.outbox import OutboxRepository
from leadexec_signin.storage.sql.partner import PartnerRepository
from leadexec_signin.storage.sql.people import PeopleRepository
from leadexec_signin.storage.sql.pushed import PushedRepository
from leadexec_signin.storage.sql.recovery import RecoveryRepository
from leadexec_signin.storage.sql.self_registered import SelfRegisteredRepository
from leadexec_signin.storage.sql.tokens import TokenRepository

if TYPE_CHECKING:
    from leadexec_signin.core.ports import Storage


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5,
    connect_timeout: int = 5,
    statement_timeout_ms: int = 15000,
) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        # SQLite's only wait is for the write lock: it gets the same bound as a statement.
        busy_ms = statement_timeout_ms or 60000
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool}
            if memory
            else {
                "pool_size": pool_size,
                "max_overflow": max_overflow,
                "pool_timeout": pool_timeout,
            }
        )
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            **pooling,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, issue BEGIN (pysqlite's implicit transactions
            # would defeat BEGIN IMMEDIATE below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Take the write lock up front: a deferred transaction that later upgrades can
            # fail with SQLITE_BUSY at once instead of waiting on busy_timeout.
            # A read-only unit runs single statements in autocommit instead: each is atomic, no
            # lock is taken and nothing waits for a writer (WAL readers see the last commit).
            if not conn.get_execution_options().get("leadexec_read_only"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": connect_timeout,
            "application_name": "leadexec-signin",
            # A runaway statement or a lock held by a stuck session ends in a 503, not in a
            # request (and a pooled connection) hanging forever.
            # 0 turns the three off (migrations, which may rebuild big indexes).
            "options": f"-c statement_timeout={statement_timeout_ms}"
            f" -c lock_timeout={statement_timeout_ms}"
            f" -c idle_in_transaction_session_timeout={4 * statement_timeout_ms}",
            # A database host that vanishes without closing the socket (power cut, network
            # partition) is noticed within seconds instead of the kernel's two hours.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 20000,
        }
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection is tested before each checkout: after the database comes back, the
        # dead ones are replaced on first use, so recovery needs no restart.
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )


# What the operators' audit webhook makes of an event (core/actions/audit_trail.py), or None.
AuditForwarder = Callable[[AuditEvent], Notice | None]


class SqlTransaction(
    CheckRepository,
    AccountRepository,
    AuditRepository,
    AppRepository,
    GrantRepository,
    TokenRepository,
    LifetimeRepository,
    KeyRepository,
    OutboxRepository,
    PartnerRepository,
    RecoveryRepository,
    FactorRepository,
    DeviceRepository,
    PushedRepository,
    PeopleRepository,
    SelfRegisteredRepository,
):
    """Every repository over one connection: one instance is one database transaction.

    ``changes`` lists what this transaction did that alters the answer of a token check; the
    storage hands it to ``after_commit`` (the token cache, Redis) once the commit succeeded.
    A new write that changes a token check's answer must announce itself here.
    """

    def __init__(self, conn: Connection, forward: AuditForwarder | None = None) -> None:
        self.c = conn
        self.changes: list[str] = []
        self.forward = forward
        # Counted in the metrics once the commit succeeded (a rolled-back event never is).
        self.audited: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        super().record(event)
        self.audited.append(event)
        # Queued in the same transaction as the event (the outbox of disconnect notices), so
        # the webhook hears of exactly the events that happened, however the process ends.
        notice = self.forward(event) if self.forward is not None else None
        if notice is not None:
            self.add_notice(notice, event.at)

    def revoke_grant(self, grant_id: str, at: datetime) -> bool:
        self.changes.append(grant_event(grant_id))
        return super().revoke_grant(grant_id, at)

    def set_app_status(self, app_id: str, status: str) -> None:
        self.changes.append(app_event(app_id))
        super().set_app_status(app_id, status)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Database failures as the errors a client may see (never a 500 for the database's
    own weather)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict("That conflicts with a concurrent change; try again.") from exc
    except DataError as exc:
        # Input the database cannot hold (PostgreSQL text cannot contain NUL; a value too
        # long for its column) is the client's mistake: a 400, never a 500.
        raise InvalidRequest(
            "The request contains a value that cannot be stored.",
            debug=type(exc.orig).__name__,
        ) from exc
    except PoolTimeout as exc:
        # Every pooled connection busy for pool_timeout seconds: overloaded, retry later.
        raise TemporarilyUnavailable(debug="connection pool exhausted") from exc
    except DBAPIError as exc:
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            # The database went away, timed out or is locked out (OperationalError also
            # covers PostgreSQL's deadlock and serialization failures): a retryable 503,
            # never a 500. The pool's pre-ping replaces dead connections on next use.
            raise TemporarilyUnavailable(debug=f"{type(exc.orig).__name__}: {exc.orig}") from exc
        raise


class ReadTransaction(SqlTransaction):
    """What ``SqlStorage.reading`` yields: the same ports, on a connection opened only when
    something is asked."""

    def __init__(self, engine: Engine, stack: ExitStack) -> None:
        self._engine = engine
        self._stack = stack
        self._conn: Connection | None = None
        self.changes = []
        self.audited = []
        self.forward = None

    @property
    def c(self) -> Connection:
        if self._conn is None:
            conn = self._stack.enter_context(self._engine.connect())
            conn.execution_options(leadexec_read_only=True)
            self._stack.enter_context(conn.begin())
            self._conn = conn
        return self._conn

    @c.setter
    def c(self, conn: Connection) -> None:
        # Writable like the attribute it replaces (``SqlTransaction.c``).
        self._conn = conn


class SqlStorage:
    def __init__(
        self, engine: Engine, after_commit: Callable[[list[str]], None] | None = None
    ) -> None:
        self.engine = engine
        # The two reads on every partner call, through the driver directly; the token cache
        # (``storage/tokencache.py``) is the one decorator in front of them.
        self.hot = HotReads(engine)
        self.after_commit = after_commit
        self.forward_audit: AuditForwarder | None = None

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with translated_errors():
            with self.engine.begin() as conn:
                tx = SqlTransaction(conn, self.forward_audit)
                yield tx
        if tx.changes and self.after_commit is not None:
            self.after_commit(tx.changes)
        if tx.audited:
            count_audit(tx.audited)

    @contextmanager
    def reading(self) -> Iterator[SqlTransaction]:
        """A read-only unit of work: on SQLite its statements run in autocommit and take no
        lock, so readers never queue behind writers (WAL lets them read the last commit).
        Use it for single-statement reads, or reads that need no snapshot across statements.
        A connection is opened on first use: a unit that reads nothing costs nothing."""
        with translated_errors(), ExitStack() as stack:
            tx = ReadTransaction(self.engine, stack)
            yield tx
        if tx.audited:  # a refusal recorded from a read (each statement commits by itself)
            count_audit(tx.audited)

    def ping(self) -> None:
        with self.transaction() as tx:
            tx.c.exec_driver_sql("SELECT 1")


# What core/ports.py promises, held by the type checker (scripts/test runs mypy): this backend
# implements every port at once, and a use case, which takes a Store of its own transaction
# type, sees only the ports that type declares (tests/architecture/test_types.py).
IMPLEMENTS: type[Storage] = SqlStorage
