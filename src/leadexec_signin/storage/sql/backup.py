"""Online backup and checked restore of the embedded SQLite database (``leadexec-signin backup``
and ``restore``).

The copy is SQLite's online backup API in one step: one read transaction over the whole file,
so it is a consistent snapshot of the last commit while servers keep writing (in WAL mode
readers never block writers, nor the reverse). It is written next to its destination and
renamed into place, so a half-written backup never carries the final name.

A restore checks the file first (an SQLite database, ``PRAGMA integrity_check``, the schema at
this release's Alembic revision), refuses while any process has the database open, keeps the
database it replaces, and installs the new one with an atomic rename. PostgreSQL has its own
tools (``pg_dump``/``pg_restore``, see docs/operations.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from leadexec_signin.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    TemporarilyUnavailable,
)
from leadexec_signin.storage.sql.migrate import alembic_config

SQLITE_HEADER = b"SQLite format 3\x00"
# The unix VFS keeps a read lock on this byte of the ``-shm`` file for as long as a connection
# has the database open in WAL mode (its "dead man switch"), whichever process it is in.
SHM_DMS_BYTE = 128
BUSY_TIMEOUT = 15.0
POSTGRES_ADVICE = (
    "backup and restore copy the embedded SQLite database; for PostgreSQL use pg_dump and "
    "pg_restore (docs/operations.md, Backups)"
)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    revision: str
    users: int
    applications: int
    live_grants: int
    seconds: float
    replaced: Path | None = None  # restore: where the database it replaced was kept

    def json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "revision": self.revision,
            "users": self.users,
            "applications": self.applications,
            "liveGrants": self.live_grants,
            "seconds": round(self.seconds, 3),
            "replaced": str(self.replaced) if self.replaced else None,
        }


def sqlite_file(database_url: str) -> Path:
    """The file behind an SQLite URL; anything else is told to use its own tools."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise InvalidRequest(POSTGRES_ADVICE + ".")
    if not url.database or url.database == ":memory:":
        raise InvalidRequest("An in-memory database has nothing to back up.")
    return Path(url.database).resolve()


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    target = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    try:
        conn = sqlite3.connect(target, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    except sqlite3.Error as exc:
        raise TemporarilyUnavailable(f"Cannot open {path}: {exc}.") from None
    return conn


def _describe(conn: sqlite3.Connection, path: Path) -> tuple[str, int, int, int]:
    """The revision and a few counts, read from a copy; refuses what is not ours."""
    try:
        found = conn.execute("PRAGMA integrity_check").fetchall()
        if found != [("ok",)]:
            detail = "; ".join(str(r[0]) for r in found[:3])
            raise InvalidRequest(f"{path} fails SQLite's integrity check: {detail[:300]}.")
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        counts = [
            conn.execute(sql).fetchone()[0]
            for sql in (
                "SELECT count(*) FROM users",
                "SELECT count(*) FROM applications",
                "SELECT count(*) FROM grants WHERE revoked_at IS NULL",
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise InvalidRequest(f"{path} is not a LeadExec Sign-In database ({exc}).") from None
    if len(rows) != 1:
        raise InvalidRequest(f"{path} records no schema revision.")
    return str(rows[0][0]), int(counts[0]), int(counts[1]), int(counts[2])


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """The online backup into ``target`` (a new file), as one self-contained file: the copy
    leaves WAL mode, so it needs no ``-wal`` beside it."""
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dest)  # pages=-1: every page in one step, one consistent snapshot
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    _fsync(target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.partial")


def backup(database: Path, dest: Path, *, overwrite: bool = False) -> BackupReport:
    started = time.monotonic()
    if not database.exists():
        raise NotFound(f"No database at {database}; nothing to back up.")
    dest = dest.resolve()
    if dest == database:
        raise InvalidRequest("The backup must go to another file than the database itself.")
    if not dest.parent.is_dir():
        raise InvalidRequest(f"No folder {dest.parent} to write the backup in.")
    if dest.exists() and not overwrite:
        raise Conflict(f"{dest} already exists; choose another path, or --force to replace it.")
    tmp = _partial(dest)
    tmp.unlink(missing_ok=True)
    source = _connect(database)
    try:
        _copy(source, tmp)
        check = _connect(tmp, read_only=True)
        try:
            revision, users, apps, grants = _describe(check, tmp)
        finally:
            check.close()
        os.replace(tmp, dest)
        _fsync(dest.parent)
    except sqlite3.Error as exc:
        raise TemporarilyUnavailable(f"The backup of {database} failed: {exc}.") from None
    except OSError as exc:
        raise InvalidRequest(f"Cannot write {dest}: {exc.strerror}.") from None
    finally:
        source.close()
        tmp.unlink(missing_ok=True)
    size = dest.stat().st_size
    return BackupReport(dest, size, revision, users, apps, grants, time.monotonic() - started)


def in_use(database: Path) -> bool:
    """Whether any process has the database open (a server, a command): the lock SQLite
    keeps on its shared-memory file while a connection lives. Our own process must not have
    it open, since POSIX locks do not conflict within one process."""
    shm = database.with_name(database.name + "-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE, os.SEEK_SET)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock
    return False


def restore(backup_file: Path, database: Path) -> BackupReport:
    started = time.monotonic()
    backup_file = backup_file.resolve()
    try:
        with backup_file.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise InvalidRequest(f"Cannot read {backup_file}: {exc.strerror}.") from None
    if header != SQLITE_HEADER:
        raise InvalidRequest(f"{backup_file} is not an SQLite database.")
    if backup_file == database:
        raise InvalidRequest("That file is the database itself.")
    source = _connect(backup_file, read_only=True)
    try:
        revision, users, apps, grants = _describe(source, backup_file)
        expected = head_revision()
        if revision != expected:
            raise InvalidRequest(
                f"{backup_file} is at schema revision {revision}; this release expects "
                f"{expected}. Restore it with the release that made it, then upgrade."
            )
        database.parent.mkdir(parents=True, exist_ok=True)
        if in_use(database):
            raise Conflict(
                f"{database} is open in a running process (a server?); stop every server "
                "using it, then restore."
            )
        tmp = _partial(database)
        tmp.unlink(missing_ok=True)
        replaced = None
        try:
            _copy(source, tmp)
            if database.exists():
                # The database being replaced is kept, consistent (its WAL included).
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                replaced = database.with_name(f"{database.name}.before-restore-{stamp}")
                old = _connect(database)
                try:
                    _copy(old, replaced)
                finally:
                    old.close()
            # A -wal left beside the old file would be replayed into the new one: gone first.
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    database.with_name(database.name + suffix).unlink()
            os.replace(tmp, database)
            _fsync(database.parent)
        finally:
            tmp.unlink(missing_ok=True)
    except sqlite3.Error as exc:
        raise TemporarilyUnavailable(f"The restore into {database} failed: {exc}.") from None
    except OSError as exc:
        raise InvalidRequest(f"Cannot write {database}: {exc.strerror}.") from None
    finally:
        source.close()
    return BackupReport(
        database,
        database.stat().st_size,
        revision,
        users,
        apps,
        grants,
        time.monotonic() - started,
        replaced,
    )
