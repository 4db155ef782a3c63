"""What the command line says when it cannot start: one sentence naming the way out, a
non-zero exit, no traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from conftest import PG_ADMIN_URL
from production.nodes import free_port


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A real PostgreSQL database that nothing ever migrated, dropped afterwards (named as
    conftest's, so a run that dies leaves it to the next run's sweep)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lx_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def command(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(tmp_path),
        "LEADEXEC_DATABASE_URL": database_url,
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    env.pop("LEADEXEC_ISSUER", None)
    return subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


def test_serving_a_database_with_no_schema_says_to_migrate(
    tmp_path: Path, empty_pg_database: str
) -> None:
    done = command(tmp_path, empty_pg_database, "serve", "--port", str(free_port()))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # no banner for a server that does not start
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: The database at postgresql+psycopg://")
    assert "has no schema yet: run `leadexec-signin migrate` first" in line
    assert line.endswith("(schema_missing)")


def test_a_command_on_a_database_with_no_schema_says_the_same(
    tmp_path: Path, empty_pg_database: str
) -> None:
    done = command(tmp_path, empty_pg_database, "apps", "list", "--json")
    assert done.returncode == 2
    assert '"error": "schema_missing"' in done.stdout
    assert "run `leadexec-signin migrate`" in done.stdout
    # After migrate, the same command answers.
    assert command(tmp_path, empty_pg_database, "migrate", "--json").returncode == 0
    listed = command(tmp_path, empty_pg_database, "apps", "list", "--json")
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]")
