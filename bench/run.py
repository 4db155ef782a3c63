"""Throughput of the hot endpoints, as ratios to a bare health check measured in the same run.

    .venv/bin/python bench/run.py [--database-url URL] [--seconds 8] [--connections 16]

With a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) the benchmark
creates a scratch database beside the one named, and drops it afterwards.

Starts ``leadexec-signin serve`` (one worker) on a seeded database, then drives each endpoint
with ``wrk`` (Debian package ``wrk``). These machines are noisy: compare ratios within one
run, not absolute numbers between runs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, make_url

os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")

from leadexec_signin.compose import build
from leadexec_signin.core.actions.signin import ConsentNeeded, Done, shown_scopes
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade

ORIGIN = "http://127.0.0.1:9000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_database(admin_url: str) -> tuple[str, str]:
    name = f"lx_bench_{os.getpid()}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def seed(settings: Settings) -> dict[str, str]:
    upgrade(settings.effective_database_url)
    p = build(settings)
    user = p.accounts.create_user(
        email="bench@example.com",
        name="Bench",
        password="bench-password",  # noqa: S106
    )
    app, _ = p.registry.register(name="Bench", origins=[ORIGIN], scopes="profile,email")
    p.operator.set_app_status(app.id, "approved")
    button = p.registry.create_button(app_id=app.id, scopes="profile,email")
    req = AuthorizeRequest(button.id, ORIGIN, "s", immediate=False)
    session = p.sessions.start(user)
    asked = p.signin.popup(req, session, "127.0.0.1")
    assert isinstance(asked, ConsentNeeded)
    done = p.signin.popup(
        req, session, "127.0.0.1", decision="allow", shown=shown_scopes(asked.ask)
    )
    assert isinstance(done, Done) and done.authorization.tokens is not None
    auth = done.authorization
    p.close()
    return {
        "app": app.id,
        "refresh": auth.tokens.refresh_token,
        "access": auth.tokens.access_token,
    }


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if header:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"    ({errors.group(1)} non-2xx answers)")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    data = Path(tempfile.mkdtemp(prefix="lx-bench-"))
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(data),
        "LEADEXEC_DATABASE_URL": args.database_url,
        "LEADEXEC_LOG_LEVEL": "WARNING",
        "LEADEXEC_NOTICE_INTERVAL": "0",
        # The benchmark is the only client: lift the per-IP and per-app limits.
        "LEADEXEC_TOKEN_LIMIT_PER_IP": "1000000/minute",
        "LEADEXEC_TOKEN_LIMIT_PER_APP": "1000000/minute",
    }
    scratch = None
    if args.database_url.startswith("postgresql"):
        # A database of its own, created here and dropped at the end: never a shared one.
        scratch, env["LEADEXEC_DATABASE_URL"] = scratch_database(args.database_url)
    settings = Settings.from_env(env)
    ids = seed(settings)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "leadexec_signin.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token_qs = urlencode({"appId": ids["app"], "refreshToken": ids["refresh"]})
        cases = [
            ("GET /healthz (baseline)", base + "/healthz", None),
            ("GET /signin/button.js", base + "/signin/button.js", None),
            ("GET /api/v1/me", base + "/api/v1/me", f"Authorization: Bearer {ids['access']}"),
            ("GET /api/token (exchange)", f"{base}/api/token?{token_qs}", None),
        ]
        backend = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
        print(f"backend {backend}, {args.connections} connections, {args.seconds}s each")
        baseline = 0.0
        for name, url, header in cases:
            rate = wrk(url, args.seconds, args.connections, header)
            baseline = baseline or rate
            print(f"  {name:<28} {rate:>9.0f} req/s   {rate / baseline:5.2f} x baseline")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(data, ignore_errors=True)
        if scratch:
            drop_database(args.database_url, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
