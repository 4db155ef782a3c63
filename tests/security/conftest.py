"""Fixtures of the hostile suite: clients with lowered limits, a rate limiter that follows the
test clock, a granted world and a live server started the way operators start it (the exact
refusals of each surface are asserted with ``support.refusals``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import limits.storage.memory
import limits.strategies
import pytest
from starlette.testclient import TestClient

# The real-browser fixtures of the browser suite (live servers, one Chromium), reused as is.
from browser.conftest import browser, context, page, playwright, site  # noqa: F401
from leadexec_signin.compose import build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage import memory_windows, ratelimit
from leadexec_signin.storage.sql.migrate import upgrade
from support.live_idp import LiveIdp, free_port, tokens_over_http, wait_until_serving
from support.signin import PARTNER, PASSWORD, authorize, sign_in


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The hostile HTTP cases test the web layer's refusals, which no backend changes: they
    run on SQLite only. Modules whose cases do reach storage with hostile values or race it
    (``test_hostile_input``, ``test_token_attacks``) import the root fixture back, and so run
    on every backend."""
    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> FrozenClock:
    """The ``limits`` library reads ``time.time()``; point it at the test clock so a window can
    be shown to end without sleeping through it."""

    def now() -> float:
        return clock.now().timestamp()

    fake_time = SimpleNamespace(time=now, monotonic=now, sleep=lambda _s: None)
    for module in (limits.storage.memory, limits.strategies, ratelimit, memory_windows):
        monkeypatch.setattr(module, "time", fake_time)
    return clock


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


@pytest.fixture(scope="module")
def live_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIdp]:
    data = tmp_path_factory.mktemp("live-idp")
    database_url = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database_url)
    port = free_port()
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
        # Agents' self-registration open, so the fuzzer reaches RFC 7591/7592 behind the 404.
        "LEADEXEC_CLIENT_REGISTRATION": "open",
        "LEADEXEC_REGISTRATION_LIMIT_PER_IP": "100000/minute",
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
        wait_until_serving(url, process, log)
        first = tokens_over_http(url, button.id, PARTNER)
        with_settings = tokens_over_http(url, settings_button.id, PARTNER)
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
