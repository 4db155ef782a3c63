"""Shared fixtures: a migrated database per test, the app over HTTP, and a seeded world.

The database backend is chosen by the ``database_url`` fixture alone, so every test that uses
storage runs on each backend listed in ``BACKENDS`` without being copied.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# argon2 at its production cost (~180 ms) would make the suite crawl; the cost is a setting.
os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")
warnings.filterwarnings("ignore", message=".*httpx2.*")

from sqlalchemy import create_engine, make_url  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from leadexec_signin.compose import Services, build  # noqa: E402
from leadexec_signin.core.accounts import User  # noqa: E402
from leadexec_signin.core.actions.signin import (  # noqa: E402
    Authorization,
    ConsentNeeded,
    Done,
    shown_scopes,
)
from leadexec_signin.core.authorize import AuthorizeRequest  # noqa: E402
from leadexec_signin.core.clock import FrozenClock  # noqa: E402
from leadexec_signin.core.errors import ImmediateFailed  # noqa: E402
from leadexec_signin.settings import Settings  # noqa: E402
from leadexec_signin.storage.sql import tables  # noqa: E402
from leadexec_signin.storage.sql.migrate import upgrade  # noqa: E402
from leadexec_signin.web.app import create_app  # noqa: E402
from smtp_server import SmtpServer, running_smtp_server  # noqa: E402

ISSUER = "http://127.0.0.1:8000"
PARTNER = "http://127.0.0.1:9000"
OTHER_PARTNER = "http://127.0.0.1:9001"
PASSWORD = "correct horse battery"
# Every field of the authorization object a callback receives (docs/sdk.md).
RESULT_FIELDS = frozenset(
    {"valid", "error", "errorMessage", "immediate", "appId", "btnId", "scopes",
     "refreshToken", "authToken", "expireDate", "user"}
)  # fmt: skip


# Backends every storage-using test runs on; LEADEXEC_TEST_BACKENDS=sqlite narrows a local run.
BACKENDS = [
    b.strip()
    for b in os.environ.get("LEADEXEC_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
# The machine's PostgreSQL (trust auth); each run creates and drops its own database in it.
PG_ADMIN_URL = os.environ.get(
    "LEADEXEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (milliseconds instead of a migration)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@dataclass
class PgDatabase:
    """This run's own PostgreSQL database, migrated once; emptied (not re-migrated) per test."""

    url: str
    keeper: Connection
    emptying: str = ""

    def empty(self) -> None:
        # One round trip of DELETEs: on tables of a few rows DELETE beats TRUNCATE (~1 ms
        # against ~9 ms for all of them), and one batch beats a statement per table.
        if not self.emptying:
            sequences = self.keeper.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            ).scalars()
            self.emptying = "; ".join(
                [f'DELETE FROM "{t.name}"' for t in reversed(tables.metadata.sorted_tables)]
                + [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
            )
        self.keeper.exec_driver_sql(self.emptying)
        self.keeper.commit()


def _drop_stale_pg_databases(admin: Connection) -> None:
    """Databases of runs that died without cleaning up: named lx_<pid>_..., pid gone."""
    names = admin.exec_driver_sql(
        "SELECT datname FROM pg_database WHERE datname ~ '^lx_[0-9]+_[0-9a-f]+$'"
    ).scalars()
    for name in list(names):
        pid = int(name.split("_")[1])
        try:
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:  # no FORCE: a database someone is still connected to stays
            admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        except DBAPIError:
            continue


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    admin_engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lx_{os.getpid()}_{secrets.token_hex(4)}"
    with admin_engine.connect() as admin:
        _drop_stale_pg_databases(admin)
        admin.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, poolclass=NullPool)
    try:
        upgrade(url)
        with engine.connect() as keeper:
            # The keeper connection also keeps other runs' stale-database sweep off this one.
            keeper.exec_driver_sql("SET lock_timeout = '20s'")
            keeper.commit()
            yield PgDatabase(url, keeper)
    finally:
        engine.dispose()
        with admin_engine.connect() as admin:
            admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PgDatabase = request.getfixturevalue("pg_database")
        pg.empty()
        return pg.url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "db.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
            # Operators without a second factor: the operator pages' own tests; the second
            # factor they need by default is tested in tests/web/test_operator_mfa.py.
            "LEADEXEC_OPERATOR_MFA": "off",
            "LEADEXEC_DATA_DIR": str(tmp_path / "data"),
            "LEADEXEC_DATABASE_URL": database_url,
            "LEADEXEC_ISSUER": ISSUER,
            # Notices are sent by tests that want them (tests/web/test_notices.py).
            "LEADEXEC_NOTICE_INTERVAL": "0",
        }
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    p = build(settings, clock)
    yield p
    p.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    app = create_app(services)
    with TestClient(app, base_url=ISSUER, raise_server_exceptions=True) as c:
        yield c


def allow(services: Services, req: AuthorizeRequest, user: User, ip: str) -> Authorization:
    """A signed-in user opens the popup and, if asked, clicks Allow (the sign-in use case
    through its real interface: a session, then the dialog's answer)."""
    session = services.sessions.start(user)
    outcome = services.signin.popup(req, session, ip)
    if isinstance(outcome, ConsentNeeded):
        outcome = services.signin.popup(
            req, session, ip, decision="allow", shown=shown_scopes(outcome.ask)
        )
    assert isinstance(outcome, Done), outcome
    return outcome.authorization


def silently(
    services: Services, req: AuthorizeRequest, user: User, ip: str
) -> Authorization | None:
    """The silent check for a signed-in user: the authorization, or None if a click is needed."""
    try:
        return services.signin.silent(req, services.sessions.start(user), ip)
    except ImmediateFailed:
        return None


@dataclass
class World:
    """A user, an approved application with a button, as most tests need them."""

    services: Services
    user_id: str
    email: str
    app_id: str
    btn_id: str
    app_secret: str | None = None

    def button(self, scopes: str, app_id: str | None = None) -> str:
        return self.services.registry.create_button(app_id=app_id or self.app_id, scopes=scopes).id

    def app(
        self,
        *,
        origins: tuple[str, ...] = (PARTNER,),
        scopes: str = "profile,email,account,settings",
        status: str = "approved",
        with_secret: bool = False,
        hardened: bool = False,
        name: str = "Second App",
        notice_url: str = "",
    ) -> tuple[str, str | None]:
        app, secret = self.services.registry.register(
            name=name,
            notice_url=notice_url,
            origins=list(origins),
            scopes=scopes,
            with_secret=with_secret,
            hardened=hardened,
        )
        if status != "pending":
            self.services.operator.set_app_status(app.id, status)
        return app.id, secret


@pytest.fixture
def world(services: Services) -> World:
    user = services.accounts.create_user(
        email="ann@example.com",
        name="Ann Example",
        password=PASSWORD,
        company="Example Leads",
        plan="Enterprise",
        timezone="Europe/Paris",
        locale="en-GB",
    )
    app, _ = services.registry.register(
        name="Acme CRM", origins=[PARTNER], scopes="profile,email,account,settings"
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    return World(services, user.id, user.email, app.id, button.id)


# -- driving the popup over HTTP ----------------------------------------------------------

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_RESULT = re.compile(r'<script id="le-result"[^>]*>(.*?)</script>', re.S)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def result_of(html: str) -> dict[str, object]:
    """The message the result page posts to its opener: {source, state, result}."""
    found = _RESULT.search(html)
    assert found, "page carries no result"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def sign_in(client: TestClient, email: str = "ann@example.com", password: str = PASSWORD) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def open_popup(
    client: TestClient, btn_id: str, origin: str = PARTNER, state: str = "st-1"
) -> object:
    return client.get(
        "/signin/authorize",
        params={"btnId": btn_id, "origin": origin, "state": state},
        follow_redirects=False,
    )


def decide(
    client: TestClient, consent_html: str, decision: str, btn_id: str, origin: str = PARTNER
) -> object:
    scopes = re.search(r'name="scopes" value="([^"]*)"', consent_html)
    state = re.search(r'name="state" value="([^"]*)"', consent_html)
    return client.post(
        "/signin/authorize",
        data={
            "csrf": csrf_of(consent_html),
            "btnId": btn_id,
            "origin": origin,
            "state": state.group(1) if state else "",
            "scopes": scopes.group(1) if scopes else "",
            "decision": decision,
        },
        follow_redirects=False,
    )


def authorize(client: TestClient, btn_id: str, origin: str = PARTNER) -> dict[str, object]:
    """Sign-in already done: open the popup, Allow if asked, return the authorization object."""
    r = open_popup(client, btn_id, origin)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    html = r.text  # type: ignore[attr-defined]
    if 'value="allow"' in html:
        html = decide(client, html, "allow", btn_id, origin).text  # type: ignore[attr-defined]
    return result_of(html)["result"]  # type: ignore[return-value]


# A real SMTP server (aiosmtpd) for the modules whose provider mails over SMTP: such a module
# also points its ``settings`` at ``smtp_server.url``.
@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The server, its inbox emptied for this test."""
    smtp_server.inbox.clear()
    return smtp_server
