"""Real server processes (``leadexec-signin serve``) for the multi-process and fault tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from leadexec_signin.background import tls
from leadexec_signin.compose import Services, build
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clock import SystemClock
from leadexec_signin.settings import Settings
from support.world import allow

PARTNER = "http://127.0.0.1:9000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """One ``leadexec-signin serve`` process with its own port and log file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, workers: int = 1) -> None:
        self.name = name
        self.env = env
        self.workers = workers
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Node:
        for _attempt in range(3):  # a port picked free may be taken before uvicorn binds it
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "leadexec_signin.cli",
                        "serve",
                        "--port",
                        str(self.port),
                        "--workers",
                        str(self.workers),
                    ],
                    env={**self.env, "LEADEXEC_ISSUER": f"http://127.0.0.1:{self.port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_up(timeout):
                return self
            self.stop()
        raise AssertionError(f"{self.name} did not start:\n{self.log()}")

    def _wait_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, verify=tls()).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling a starting process, not a timed assertion
        return False

    def kill9(self) -> None:
        """SIGKILL the whole process group: the server and every worker, no cleanup."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill9()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20, verify=tls())


# What the ``start_node`` fixture hands a test: start(name, env, workers=1) -> Node.
NodeFactory = Callable[..., Node]


def node_env(
    database_url: str, data_dir: Path, redis_url: str = "", **extra: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEADEXEC_") or k.startswith("LEADEXEC_ARGON2")
    }
    env.update(
        {
            "LEADEXEC_DATABASE_URL": database_url,
            "LEADEXEC_DATA_DIR": str(data_dir),
            "LEADEXEC_NOTICE_INTERVAL": "0",
            "LEADEXEC_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["LEADEXEC_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def issue_tokens(services: Services, user_id: str, btn_id: str) -> tuple[str, str]:
    """A fresh grant's refresh and access token, issued as a completed sign-in would."""
    with services.storage.transaction() as tx:
        user = tx.user_by_id(user_id)
    assert user is not None
    auth = allow(
        services, AuthorizeRequest(btn_id, PARTNER, "st", immediate=False), user, "127.0.0.1"
    )
    assert auth is not None and auth.tokens is not None
    return auth.tokens.refresh_token, auth.tokens.access_token


@dataclass
class Seeded:
    """An approved application with a button, and a way to mint grants for fresh users."""

    services: Services
    app_id: str
    btn_id: str

    def another_app(self) -> Seeded:
        """The same database, a new approved application: its own rate-limit counters."""
        app, _ = self.services.registry.register(
            name="Node App", origins=[PARTNER], scopes="profile,email,account,settings"
        )
        self.services.operator.set_app_status(app.id, "approved")
        button = self.services.registry.create_button(app_id=app.id, scopes="profile,email")
        return Seeded(self.services, app.id, button.id)

    def grant(self) -> tuple[str, str]:
        user = self.services.accounts.create_user(
            email=f"u{secrets.token_hex(6)}@example.com", name="Node User", password="x" * 16
        )
        return issue_tokens(self.services, user.id, self.btn_id)


def seed(database_url: str, tmp: Path, redis_url: str = "", **changes: object) -> Seeded:
    settings = Settings.from_env(
        {k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")}
    ).with_changes(
        database_url=database_url,
        data_dir=tmp,
        redis_url=redis_url,
        notice_interval_seconds=0,
        **changes,
    )
    services = build(settings, SystemClock())
    app, _ = services.registry.register(
        name="Node App", origins=[PARTNER], scopes="profile,email,account,settings"
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    return Seeded(services, app.id, button.id)
