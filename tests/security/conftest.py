"""Helpers of the hostile suite: clients with lowered limits, a rate limiter that follows the
test clock, and assertions that name the exact refusal of each surface."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import limits.storage.memory
import limits.strategies
import pytest
from starlette.testclient import TestClient

# The real-browser fixtures of the browser suite (live servers, one Chromium), reused as is.
from browser.conftest import browser, context, page, playwright, site  # noqa: F401
from conftest import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, result_of, sign_in
from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage import ratelimit
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from seed_token import echoes_refresh_token


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The hostile HTTP cases test the web layer's refusals, which no backend changes: they
    run on SQLite only. Modules whose cases do reach storage with hostile values or race it
    (``test_hostile_input``, ``test_token_attacks``) import the root fixture back, and so run
    on every backend."""
    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


SEED_TOKEN_KEYS = {"valid", "refreshToken", "authToken", "expireDate", "errorMessage", "error"}
_CODE = re.compile(r"Error code: <code>([a-z_]+)</code>")


def page_code(html: str) -> str:
    """The machine code an HTML error page shows (templates/error.html)."""
    found = _CODE.search(html)
    assert found, "page shows no error code"
    return found.group(1)


def refused_page(r: object, status: int, code: str) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    assert page_code(r.text) == code  # type: ignore[attr-defined]


def refused_seed(r: object, status: int, code: str) -> None:
    """The seed's JSON refusal: ``{valid: false, errorMessage, error}`` and no token."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["valid"] is False and body["error"] == code and body["errorMessage"]
    assert body.get("authToken") is None and echoes_refresh_token(r), body


def refused_bearer(r: object, status: int, code: str) -> None:
    """RFC 6750 refusal of the LeadExec API: JSON body and ``WWW-Authenticate``."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.json()["error"] == code  # type: ignore[attr-defined]
    assert f'error="{code}"' in r.headers["www-authenticate"]  # type: ignore[attr-defined]


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> FrozenClock:
    """The ``limits`` library reads ``time.time()``; point it at the test clock so a window can
    be shown to end without sleeping through it."""

    def now() -> float:
        return clock.now().timestamp()

    fake_time = SimpleNamespace(time=now, monotonic=now, sleep=lambda _s: None)
    for module in (limits.storage.memory, limits.strategies, ratelimit):
        monkeypatch.setattr(module, "time", fake_time)
    return clock


@pytest.fixture
def make_client(
    settings: Settings, clock: FrozenClock
) -> Iterator[Callable[..., tuple[TestClient, Services]]]:
    """A client over its own provider built from changed settings (lowered limits, https)."""
    opened: list[tuple[TestClient, Services]] = []

    def make(*, base_url: str = ISSUER, **changes: object) -> tuple[TestClient, Services]:
        changed = settings.with_changes(**changes)
        services = build(changed, clock)
        client = TestClient(create_app(services), base_url=base_url)
        client.__enter__()
        opened.append((client, services))
        return client, services

    yield make
    for client, services in opened:
        client.__exit__(None, None, None)
        services.close()


@pytest.fixture
def granted(client: TestClient, world: object) -> dict[str, object]:
    """Ann is signed in and has already allowed the world's button from ``PARTNER``: the
    silent check and the popup would hand tokens to the registered origin at once, so any
    refusal seen after this is the check under test, not a missing grant."""
    sign_in(client)
    result = authorize(client, world.btn_id)  # type: ignore[attr-defined]
    assert result["valid"] is True and result["refreshToken"]
    return result


# -- a live server, started the way operators start it -----------------------------------


@dataclass
class LiveIdp:
    """``leadexec-signin serve`` in a subprocess on a free port, over a seeded SQLite file."""

    url: str
    log: Path
    database_url: str
    app_id: str
    btn_id: str
    app_secret: str
    secret_app_id: str
    refresh_token: str
    access_token: str
    settings_token: str


def _free_port() -> int:
    # The port is released just before the server binds it; a collision fails loudly at start.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server never answered:\n{log.read_text()[-3000:]}")


def _tokens_over_http(url: str, btn_id: str, origin: str) -> dict[str, object]:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=10) as c:
        page = c.get("/account/login")
        signed = c.post(
            "/account/login",
            data={"csrf": csrf_of(page.text), "email": "live@example.com", "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        r = c.get("/signin/authorize", params={"btnId": btn_id, "origin": origin, "state": "s"})
        if 'value="allow"' in r.text:
            scopes = re.search(r'name="scopes" value="([^"]*)"', r.text)
            assert scopes
            r = c.post(
                "/signin/authorize",
                data={
                    "csrf": csrf_of(r.text),
                    "btnId": btn_id,
                    "origin": origin,
                    "state": "s",
                    "scopes": scopes.group(1),
                    "decision": "allow",
                },
            )
        return result_of(r.text)["result"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def live_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIdp]:
    data = tmp_path_factory.mktemp("live-idp")
    database_url = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADEXEC_")},
        **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
        # Operators without a second factor: the operator pages' own tests; the second
        # factor they need by default is tested in tests/web/test_operator_mfa.py.
        "LEADEXEC_OPERATOR_MFA": "off",
        "LEADEXEC_DATA_DIR": str(data),
        "LEADEXEC_DATABASE_URL": database_url,
        "LEADEXEC_ISSUER": url,
        "LEADEXEC_LOG_LEVEL": "DEBUG",
        # The fuzzer sends thousands of requests from one address in a minute.
        "LEADEXEC_TOKEN_LIMIT_PER_IP": "100000/minute",
        "LEADEXEC_TOKEN_LIMIT_PER_APP": "100000/minute",
    }
    services = build(Settings.from_env(env))
    services.accounts.create_user(
        email="live@example.com", name="Live User", password=PASSWORD, company="Live Co"
    )
    app, _ = services.registry.register(
        name="Live CRM", origins=[PARTNER], scopes="profile,email,settings"
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    settings_button = services.registry.create_button(
        app_id=app.id, scopes="profile,email,settings"
    )
    secret_app, secret = services.registry.register(
        name="Secret CRM", origins=[PARTNER], scopes="profile", with_secret=True
    )
    services.operator.set_app_status(secret_app.id, "approved")
    services.close()
    assert secret is not None

    log = data / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "leadexec_signin.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(url, process, log)
        first = _tokens_over_http(url, button.id, PARTNER)
        with_settings = _tokens_over_http(url, settings_button.id, PARTNER)
        yield LiveIdp(
            url=url,
            log=log,
            database_url=database_url,
            app_id=app.id,
            btn_id=button.id,
            app_secret=secret,
            secret_app_id=secret_app.id,
            refresh_token=str(first["refreshToken"]),
            access_token=str(first["authToken"]),
            settings_token=str(with_settings["authToken"]),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
