"""What the command line says when it cannot start: one sentence naming the way out, a
non-zero exit, no traceback."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from production.nodes import free_port
from support.command_line import run_in_process
from support.databases import PG_ADMIN_URL

# The command line and servers as real processes: out of the fast tier.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


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


def command(
    tmp_path: Path, database_url: str, *args: str, process: bool = True
) -> subprocess.CompletedProcess[str]:
    """The command as ``python -m leadexec_signin.cli``, or without ``process`` by ``main()``
    in this process (``support.command_line``), for the steps that only set the scene."""
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(tmp_path),
        "LEADEXEC_DATABASE_URL": database_url,
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    env.pop("LEADEXEC_ISSUER", None)
    if not process:
        return run_in_process(args, env)
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
    assert command(tmp_path, empty_pg_database, "migrate", "--json", process=False).returncode == 0
    listed = command(tmp_path, empty_pg_database, "apps", "list", "--json", process=False)
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]")


def test_serving_a_database_behind_or_ahead_of_this_version_says_what_to_do(
    tmp_path: Path, empty_pg_database: str
) -> None:
    """An upgrade whose migration was not run, and a rollback to an older version: one
    sentence each, before anything starts (not a traceback at the first missing column)."""
    from alembic import command as alembic

    from leadexec_signin.storage.sql.migrate import alembic_config, head_revision

    alembic.upgrade(alembic_config(empty_pg_database), "0010")
    done = command(tmp_path, empty_pg_database, "serve", "--port", str(free_port()))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"has an older schema (0010) than this version needs ({head_revision()})" in line
    assert "run `leadexec-signin migrate` first" in line and line.endswith("(schema_missing)")
    # migrate brings it up to date, and the same server then starts (its health answers).
    assert command(tmp_path, empty_pg_database, "migrate", "--json", process=False).returncode == 0
    listed = command(tmp_path, empty_pg_database, "apps", "list", "--json", process=False)
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]")
    # A schema from a newer version (rolled back code): named as such, nothing touched.
    engine = create_engine(empty_pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    done = command(tmp_path, empty_pg_database, "serve", "--port", str(free_port()))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "was migrated by a newer version of LeadExec Sign-In (schema 9999" in line


def test_the_demo_on_a_busy_port_names_the_flags_before_printing_anything(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port, partner_port = taken.getsockname()[1], free_port()
    env = {**os.environ, "LEADEXEC_DATA_DIR": str(tmp_path / "data")}
    env.pop("LEADEXEC_DATABASE_URL", None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "leadexec_signin.cli", "demo", "--port", str(port),
             "--partner-port", str(partner_port)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
    finally:
        taken.close()
    assert done.returncode == 2
    assert done.stdout == ""  # no banner, no appId of a demo that does not start
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: Port {port} on 127.0.0.1 is already in use")
    assert "--port and --partner-port" in line
    assert not (tmp_path / "data").exists()  # nothing seeded either


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python3 and pip: records the call, makes a .venv, installs nothing.
echo "$@" >> calls.txt
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
"""


def test_the_first_run_says_it_is_installing_and_later_runs_say_nothing(tmp_path: Path) -> None:
    """scripts/_env.sh (sourced by scripts/demo and scripts/test) as it stands, with a python
    that installs nothing: the line is printed exactly when the install runs."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "_env.sh", tmp_path / "scripts" / "_env.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)

    def source() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", "source scripts/_env.sh"], cwd=tmp_path, capture_output=True,
            text=True, env={**os.environ, "PYTHON": str(fake)}, timeout=60, check=False,
        )  # fmt: skip

    first = source()
    assert first.returncode == 0, first.stderr
    assert first.stderr == "Installing dependencies into .venv, about a minute...\n"
    assert "-m pip install" in (tmp_path / "calls.txt").read_text()
    again = source()
    assert (again.returncode, again.stderr) == (0, "")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")  # a changed project
    assert source().stderr == "Installing dependencies into .venv, about a minute...\n"


def test_serve_refuses_an_rp_id_that_is_not_the_issuers_domain(tmp_path: Path) -> None:
    """LEADEXEC_WEBAUTHN_RP_ID may name the issuer's host or a parent domain of it; anything
    else stops the server before it listens, in one sentence."""
    port = free_port()
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(tmp_path),
        "LEADEXEC_LOG_LEVEL": "WARNING",
        "LEADEXEC_ISSUER": "https://id.example.com",
        "LEADEXEC_WEBAUTHN_RP_ID": "evil.com",
    }
    env.pop("LEADEXEC_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", "serve", "--port", str(port)],
        capture_output=True, text=True, env=env, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert (
        "LEADEXEC_WEBAUTHN_RP_ID must be the issuer's host (id.example.com) or a parent domain "
        "of it, got 'evil.com'" in done.stderr
    )
    with socket.socket() as probe:  # it never listened
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_server_process_keeps_what_it_built_at_start_out_of_the_collectors_sight(
    tmp_path: Path,
) -> None:
    """``serve``'s app factory freezes the start-up heap (gc.freeze): a full collection then
    scans only what requests made, which is what kept the slowest requests slow."""
    script = (
        "import gc; from leadexec_signin.asgi import app_from_env; "
        "before = gc.get_freeze_count(); app_from_env(); print(before, gc.get_freeze_count())"
    )
    env = {**os.environ, "LEADEXEC_DATA_DIR": str(tmp_path), "LEADEXEC_LOG_LEVEL": "WARNING"}
    for name in ("LEADEXEC_DATABASE_URL", "LEADEXEC_REDIS_URL", "LEADEXEC_ISSUER"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=90
    )
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert before == 0 and after > 10_000  # the modules, tables, templates and services
