"""Shared fixtures: a migrated database per test, the app over HTTP, and a seeded world.

The database backend is chosen by the ``database_url`` fixture alone, so every test that uses
storage runs on each backend listed in ``support.databases.BACKENDS`` without being copied.
Fixtures only: what a test module imports by name lives in ``tests/support/``.
"""

from __future__ import annotations

import gc
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# argon2 at its production cost (~180 ms) would make the suite crawl; the cost is a setting.
os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")
warnings.filterwarnings("ignore", message=".*httpx2.*")

from sqlalchemy import create_engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from leadexec_signin.compose import Services, build  # noqa: E402
from leadexec_signin.core.clock import FrozenClock  # noqa: E402
from leadexec_signin.settings import Settings  # noqa: E402
from leadexec_signin.storage.sql.migrate import upgrade  # noqa: E402
from leadexec_signin.web.app import create_app  # noqa: E402
from smtp_server import SmtpServer, running_smtp_server  # noqa: E402
from support.databases import (  # noqa: E402
    BACKENDS,
    PG_ADMIN_URL,
    PgDatabase,
    drop_stale_pg_databases,
    shared_compiled_sql,
)
from support.keys import pooled_rsa_keys  # noqa: E402
from support.signin import ISSUER, PARTNER, PASSWORD  # noqa: E402
from support.world import World  # noqa: E402

# The tiers (markers, ``--fast``): tests/support/tiers.py.
pytest_plugins = ["support.tiers"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is alive once the tests are collected (the modules, the collected items) lives
    until the end: moved out of the collector's reach, a full collection no longer walks it
    (its CPU fell by a third, a few percent of an HTTP test's). Then the cyclic collector
    runs after 50,000 allocations instead of 700: every test builds a provider and drops it,
    and collecting that many times cost about 5% of an HTTP test file's CPU (26.3 -> 24.9 s
    for four files, twice each); memory is not short here. The servers the tests start as
    processes keep Python's defaults."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)


@pytest.fixture(autouse=True, scope="session")
def rsa_keys_from_a_pool() -> Iterator[None]:
    """Every provider a test starts makes an RS256 key: from a pool (``support.keys``)."""
    with pooled_rsa_keys():
        yield


@pytest.fixture(autouse=True, scope="session")
def one_sql_compilation_cache() -> Iterator[None]:
    """Every provider a test starts has its own engine: they share compiled SQL
    (``support.databases``)."""
    with shared_compiled_sql():
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (milliseconds instead of a migration)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    admin_engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lx_{os.getpid()}_{secrets.token_hex(4)}"
    with admin_engine.connect() as admin:
        drop_stale_pg_databases(admin)
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


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The JavaScript libraries of ``tests/oauth_clients/js`` (OAuth clients, axe-core)."""
    from support.node import install_node_modules

    return install_node_modules()
