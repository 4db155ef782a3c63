"""One storage suite, run on every backend (``database_url`` is SQLite and PostgreSQL), after
hydra's ``consent/test/manager_test_helpers.go``: the ports of ``core/ports.py`` keep their
promises, writes are all-or-nothing, races end consistent, and a database that fails yields
``temporarily_unavailable`` rather than a 500."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select

from leadexec_signin.compose import Services
from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.signin import Authorization
from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.errors import (
    Conflict,
    InvalidGrant,
    InvalidToken,
    SigninError,
    TemporarilyUnavailable,
)
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import AccessToken, AuthorizationCode, RefreshToken
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from leadexec_signin.storage.sql.tables import audit_events
from production.nodes import free_port
from production.tcpproxy import TcpProxy
from seed_token import exchange_code, exchange_refresh_token
from support.databases import PgDatabase
from support.signin import PARTNER
from support.world import World, allow

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = SqlStorage(make_engine(database_url))
    yield store
    store.engine.dispose()


def user(n: int = 1) -> User:
    return User(
        id=f"usr_{n:022d}",
        email=f"user{n}@example.com",
        name=f"User {n}",
        password_hash="$argon2id$x",
        company="Co",
        plan="Pro",
        preferences={"theme": "dark", "n": n},
        created_at=NOW,
    )


def app(n: int = 1, status: str = "approved") -> Application:
    return Application(
        id=f"app_{n:022d}",
        name=f"App {n}",
        owner_id=None,
        status=status,
        scopes=frozenset({"profile", "email"}),
        origins=("https://b.example", "https://a.example"),
        created_at=NOW,
    )


def grant(n: int = 1, user_n: int = 1, app_n: int = 1) -> Grant:
    return Grant(
        id=f"grt_{n:022d}",
        user_id=f"usr_{user_n:022d}",
        app_id=f"app_{app_n:022d}",
        scopes=frozenset({"profile"}),
        created_at=NOW,
        last_used_at=NOW,
    )


def seed_grant(storage: SqlStorage, n: int = 1) -> Grant:
    g = grant(n, user_n=n)
    with storage.transaction() as tx:
        tx.add_user(user(n))
        if tx.app_by_id(g.app_id) is None:
            tx.add_app(app())
        tx.add_grant(g)
    return g


def access(grant_id: str, tag: str, expires: datetime = NOW + timedelta(hours=1)) -> AccessToken:
    return AccessToken(
        token_hash=tag.ljust(64, "a"),
        grant_id=grant_id,
        app_id=f"app_{1:022d}",
        scopes=frozenset({"profile"}),
        expires_at=expires,
        created_at=NOW,
    )


def test_every_port_gives_back_what_it_stored(storage: SqlStorage) -> None:
    g = seed_grant(storage)
    with storage.transaction() as tx:
        tx.add_button(Button("btn_" + "b" * 20, g.app_id, frozenset({"email"}), created_at=NOW))
        tx.add_refresh_token(RefreshToken("r" * 64, g.id, g.app_id, NOW))
        tx.add_access_token(access(g.id, "x"))
        tx.add_code(AuthorizationCode("c" * 64, g.id, g.app_id, NOW + timedelta(seconds=60)))
        tx.add_session(Session("s" * 64, g.user_id, NOW, NOW, NOW + timedelta(days=1)))
        tx.record(AuditEvent(NOW, "test", g.user_id, g.app_id, "10.0.0.1", {"k": [1, 2]}))
    with storage.transaction() as tx:
        assert tx.user_by_email("user1@example.com") == user(1)
        assert tx.user_by_id(g.user_id) == user(1)
        stored = tx.app_by_id(g.app_id)
        assert stored == app()  # origins keep their registered order
        assert tx.list_apps() == [app()]
        assert tx.button_by_id("btn_" + "b" * 20).scopes == frozenset({"email"})  # type: ignore[union-attr]
        assert tx.active_grant(g.user_id, g.app_id) == g
        assert tx.grant_by_id(g.id) == g
        refresh, ctx = tx.refresh_token_context("r" * 64)  # type: ignore[misc]
        assert (refresh.grant_id, ctx.grant, ctx.app, ctx.user) == (g.id, g, app(), user(1))
        token, ctx = tx.access_token_context("x".ljust(64, "a"))  # type: ignore[misc]
        assert token == access(g.id, "x") and ctx.user == user(1)
        first, replayed = tx.consume_code("c" * 64, NOW), tx.consume_code("c" * 64, NOW)
        assert first is not None and first[1] is True
        assert replayed is not None and replayed[1] is False
        assert tx.consume_code("d" * 64, NOW) is None
        assert tx.session_by_hash("s" * 64).user_id == g.user_id  # type: ignore[union-attr]
        [listing] = tx.grants_for_user(g.user_id)
        assert (listing.grant, listing.app_name) == (g, "App 1")
    # Microseconds and the UTC zone survive the round trip on both backends.
    assert g.created_at == NOW


def test_a_batch_of_last_used_times_lands_on_its_rows_only(storage: SqlStorage) -> None:
    """The usage log's flush: one batch (one statement on PostgreSQL) writes each grant's and
    each refresh token's own time, microseconds and zone kept, and touches nothing else."""
    g1 = seed_grant(storage)
    with storage.transaction() as tx:
        tx.add_app(app(2))
        g2 = grant(2, app_n=2)
        tx.add_grant(g2)
        for h, gid, aid in (("a" * 64, g1.id, g1.app_id), ("b" * 64, g2.id, g2.app_id),
                            ("c" * 64, g2.id, g2.app_id)):  # fmt: skip
            tx.add_refresh_token(RefreshToken(h, gid, aid, NOW))
    later, latest = NOW + timedelta(minutes=5, microseconds=7), NOW + timedelta(hours=2)
    with storage.transaction() as tx:
        tx.touch_grants({g2.id: later, g1.id: latest})
        tx.touch_refresh_tokens({"c" * 64: later, "a" * 64: latest})
        tx.touch_grants({})
    with storage.transaction() as tx:
        assert tx.grant_by_id(g1.id).last_used_at == latest  # type: ignore[union-attr]
        assert tx.grant_by_id(g2.id).last_used_at == later  # type: ignore[union-attr]
        used = {
            h: tx.refresh_token_context(h)[0].last_used_at for h in ("a" * 64, "b" * 64, "c" * 64)
        }  # type: ignore[index]
    assert used == {"a" * 64: latest, "b" * 64: None, "c" * 64: later}


def test_a_failed_transaction_leaves_nothing_behind(storage: SqlStorage) -> None:
    with pytest.raises(InvalidGrant), storage.transaction() as tx:
        tx.add_user(user(1))
        tx.add_app(app())
        raise InvalidGrant()
    with storage.transaction() as tx:
        assert tx.user_by_id(user(1).id) is None
        assert tx.app_by_id(app().id) is None


def test_a_second_live_grant_for_one_user_and_app_is_a_conflict(storage: SqlStorage) -> None:
    seed_grant(storage)
    with pytest.raises(Conflict), storage.transaction() as tx:
        tx.add_grant(grant(2, user_n=1))
    with storage.transaction() as tx:
        assert tx.revoke_grant(grant(1).id, NOW) is True
        tx.add_grant(grant(2, user_n=1))  # allowed once the first is revoked


def test_revoking_a_grant_deletes_its_tokens_and_no_one_elses(storage: SqlStorage) -> None:
    mine, other = seed_grant(storage, 1), seed_grant(storage, 2)
    with storage.transaction() as tx:
        for g in (mine, other):
            tx.add_refresh_token(RefreshToken(g.id[-8:].ljust(64, "r"), g.id, g.app_id, NOW))
            tx.add_access_token(access(g.id, g.id[-8:]))
    with storage.transaction() as tx:
        assert tx.revoke_grant(mine.id, NOW) is True
        assert tx.revoke_grant(mine.id, NOW) is False  # already revoked: no second event
    with storage.transaction() as tx:
        assert tx.access_token_context(mine.id[-8:].ljust(64, "a")) is None
        assert tx.refresh_token_context(mine.id[-8:].ljust(64, "r")) is None
        assert tx.access_token_context(other.id[-8:].ljust(64, "a")) is not None
        assert tx.active_grant(mine.user_id, mine.app_id) is None
        assert tx.grant_by_id(mine.id).revoked_at == NOW  # type: ignore[union-attr]


def test_expired_rows_are_swept(storage: SqlStorage) -> None:
    g = seed_grant(storage)
    with storage.transaction() as tx:
        tx.add_access_token(access(g.id, "old", expires=NOW))
        tx.add_access_token(access(g.id, "new", expires=NOW + timedelta(seconds=1)))
    with storage.transaction() as tx:
        assert tx.delete_expired(NOW) == 1
        assert tx.access_token_context("new".ljust(64, "a")) is not None


def race(*fns: Callable[[], object]) -> list[object]:
    """Runs the functions at the same moment; returns each result or the error it raised."""
    barrier = threading.Barrier(len(fns))
    results: list[object] = [None] * len(fns)

    def run(i: int, fn: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except SigninError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_a_code_is_taken_once_however_many_race_for_it(storage: SqlStorage) -> None:
    g = seed_grant(storage)
    with storage.transaction() as tx:
        tx.add_code(AuthorizationCode("c" * 64, g.id, g.app_id, NOW + timedelta(seconds=60)))

    def take() -> object:
        with storage.transaction() as tx:
            return tx.consume_code("c" * 64, NOW)

    results = race(*[take] * 6)
    # Exactly one redemption is the first; every other one sees a replay.
    assert sum(isinstance(r, tuple) and r[1] is True for r in results) == 1, results
    assert sum(isinstance(r, tuple) and r[1] is False for r in results) == 5, results


def signed_in_grant(
    services: Services, world: World, hardened: bool = False
) -> tuple[str, str | None, Authorization]:
    """A new application the world's user has just signed in to: its id, secret, and what
    the sign-in delivered (tokens, or a code when hardened)."""
    app_id, secret = world.app(with_secret=hardened, hardened=hardened)
    btn = world.button("profile,email", app_id=app_id)
    with services.storage.transaction() as tx:
        u = tx.user_by_id(world.user_id)
    assert u is not None
    auth = allow(services, AuthorizeRequest(btn, PARTNER, "st", immediate=False), u, "10.0.0.1")
    assert auth is not None
    return app_id, secret, auth


def assert_nothing_lives_under_revoked_grants(services: Services) -> None:
    with services.storage.transaction() as tx:
        for table in ("refresh_tokens", "access_tokens", "auth_codes"):
            orphans = tx.c.exec_driver_sql(  # type: ignore[attr-defined]
                f"SELECT count(*) FROM {table} x JOIN grants g ON g.id = x.grant_id "
                "WHERE g.revoked_at IS NOT NULL"
            ).scalar_one()
            assert orphans == 0, table


@pytest.mark.parametrize("round_", range(5))
def test_two_revocations_and_two_exchanges_of_one_grant_end_consistent(
    services: Services, world: World, round_: int
) -> None:
    app_id, _, auth = signed_in_grant(services, world)
    assert auth.tokens is not None
    refresh = auth.tokens.refresh_token

    def exchange() -> object:
        return exchange_refresh_token(services, app_id, refresh, None, "10.0.0.2")

    def revoke() -> object:
        return services.revocation.revoke_token(refresh, "10.0.0.3")

    results = race(exchange, revoke, exchange, revoke)
    revocations = [r for r in results[1::2] if not isinstance(r, SigninError)]
    assert len(revocations) == 1, results  # exactly one of the two revocations did it
    assert all(isinstance(r, InvalidGrant) for r in results[1::2] if r not in revocations)
    for r in results[0::2]:
        if isinstance(r, SigninError):
            assert isinstance(r, InvalidGrant | TemporarilyUnavailable), r
            continue
        # An exchange that won the race issued a token; the revocation then killed it.
        with pytest.raises(InvalidToken):
            services.api.check_access_token(r.access_token)  # type: ignore[attr-defined]
    with pytest.raises(InvalidToken):
        services.api.check_access_token(auth.tokens.access_token)
    with pytest.raises(InvalidGrant):
        exchange()
    assert_nothing_lives_under_revoked_grants(services)
    with services.storage.transaction() as tx:
        revoked = tx.c.execute(  # type: ignore[attr-defined]
            select(func.count()).where(audit_events.c.event == audit.GRANT_REVOKED)
        ).scalar_one()
    assert revoked == 1


@pytest.mark.parametrize("round_", range(5))
def test_a_code_exchange_racing_a_removal_of_access_ends_consistent(
    services: Services, world: World, round_: int
) -> None:
    app_id, secret, auth = signed_in_grant(services, world, hardened=True)
    with services.storage.transaction() as tx:
        u = tx.user_by_id(world.user_id)
        g = tx.active_grant(world.user_id, app_id)
    assert u is not None and g is not None
    issued, removed = race(
        lambda: exchange_code(services, app_id, auth.code, secret, "10.0.0.2"),
        lambda: services.revocation.remove_access(u, g.id, "10.0.0.3"),
    )
    assert removed is None, removed
    if isinstance(issued, SigninError):
        assert isinstance(issued, InvalidGrant), issued
    else:
        with pytest.raises(InvalidToken):
            services.api.check_access_token(issued.access_token)  # type: ignore[attr-defined]
    assert_nothing_lives_under_revoked_grants(services)


def test_an_unreachable_database_is_temporarily_unavailable(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"
    else:  # a port nothing listens on
        url = make_url(database_url).set(port=free_port()).render_as_string(False)
    store = SqlStorage(make_engine(url, connect_timeout=2))
    with pytest.raises(TemporarilyUnavailable), store.transaction() as tx:
        tx.user_by_id("usr_x")
    with pytest.raises(TemporarilyUnavailable):
        store.ping()
    store.engine.dispose()


def test_an_exhausted_pool_is_temporarily_unavailable(database_url: str) -> None:
    store = SqlStorage(make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2))
    with store.transaction():
        # The only connection is busy: the next request waits pool_timeout, then gets a 503.
        found = race(lambda: store.ping())
    assert isinstance(found[0], TemporarilyUnavailable), found
    store.ping()  # and it is fine again once the connection is back
    store.engine.dispose()


def test_a_write_lock_held_past_the_statement_timeout_is_temporarily_unavailable(
    database_url: str,
) -> None:
    store = SqlStorage(make_engine(database_url, statement_timeout_ms=200))
    seed_grant(store, 7)
    with store.transaction() as tx:
        tx.set_app_status(app().id, "suspended")  # holds the lock (row, or SQLite's one)

        def also_write() -> object:
            with store.transaction() as other:
                other.set_app_status(app().id, "approved")
            return None

        [result] = race(also_write)
    assert isinstance(result, TemporarilyUnavailable), result
    with store.transaction() as tx:
        assert tx.app_by_id(app().id).status == "suspended"  # type: ignore[union-attr]
    store.engine.dispose()


def test_a_database_cut_and_restored_recovers_without_a_new_engine(
    pg_database: PgDatabase,
) -> None:
    url = make_url(pg_database.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    store = SqlStorage(make_engine(url.set(port=proxy.port).render_as_string(False)))
    try:
        store.ping()
        proxy.cut()
        with pytest.raises(TemporarilyUnavailable):
            store.ping()
        with pytest.raises(TemporarilyUnavailable), store.transaction() as tx:
            tx.user_by_id("usr_x")
        proxy.restore()
        store.ping()  # pool_pre_ping replaced the dead connections
        with store.transaction() as tx:
            assert tx.user_by_id("usr_x") is None
    finally:
        proxy.close()
        store.engine.dispose()
