"""The per-process access-token cache and the Redis events that clear it (``tokencache.py``,
``events.py``): a hit spares the database, and nothing it remembers outlives a revocation,
a suspension or any change it does not understand, in this process or, over Redis, in another.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import event, make_url, update

from leadexec_signin.compose import Services, build
from leadexec_signin.core import credentials
from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import InvalidClient, InvalidGrant, InvalidToken
from leadexec_signin.settings import Settings
from leadexec_signin.storage.events import FLUSH, RedisEvents
from leadexec_signin.storage.placement import Placement
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.tokencache import TokenChecks
from production.nodes import free_port
from production.tcpproxy import TcpProxy
from seed_token import exchange_refresh_token
from storage.test_sql_storage import signed_in_grant
from support.signin import PARTNER
from support.world import World, allow

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached_provider(
    settings: Settings, clock: FrozenClock, ticks: Ticks, events: RedisEvents | None = None
) -> Services:
    """The composed services with a cache whose clock the test moves."""
    p = build(settings.with_changes(token_cache_ms=0), clock)
    checks = TokenChecks(p.storage, p.storage.hot, ttl_seconds=0.5, events=events, monotonic=ticks)
    p.storage.after_commit = checks.after_commit
    p.token_checks = p.tokens.reads = checks
    p.api = ApiAccess(checks, p.access_tokens, clock, p.settings, p.keys)
    p.placement = Placement(
        p.tokens, p.api, checks, p.async_reads, p.async_limits, p.dpop,
        embedded=p.placement.embedded,
    )  # fmt: skip
    return p


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def cached(
    settings: Settings, clock: FrozenClock, ticks: Ticks, world: World
) -> Iterator[Services]:
    p = cached_provider(settings, clock, ticks)
    yield p
    p.close()


def checkouts(services: Services) -> list[int]:
    """A counter of trips to the database: connections taken from the pool, and the hot
    reads that go to the driver directly (a cache hit makes neither)."""
    seen = [0]
    hot = services.storage.hot
    inside_hot_read = [False]

    @event.listens_for(services.storage.engine, "checkout")  # type: ignore[attr-defined]
    def _count(*_args: object) -> None:
        if not inside_hot_read[0]:
            seen[0] += 1

    # Hot reads use a connection of their own per thread: each read is one trip.
    read = hot._one

    def counted(*args: object) -> object:
        seen[0] += 1
        inside_hot_read[0] = True  # its first use opens the connection: one trip
        try:
            return read(*args)  # type: ignore[arg-type]
        finally:
            inside_hot_read[0] = False

    hot._one = counted  # type: ignore[method-assign]
    return seen


def test_a_checked_token_is_answered_from_memory_until_its_lifetime_ends(
    cached: Services, world: World, ticks: Ticks
) -> None:
    _, _, auth = signed_in_grant(cached, world)
    token = auth.tokens.access_token  # type: ignore[union-attr]
    seen = checkouts(cached)
    cached.api.check_access_token(token)
    cached.api.check_access_token(token)
    assert seen == [1]
    ticks.now += 0.49
    cached.api.check_access_token(token)
    assert seen == [1]
    ticks.now += 0.02  # past 0.5 s after the read: asked again
    cached.api.check_access_token(token)
    assert seen == [2]


def test_an_unknown_token_is_never_remembered(cached: Services, world: World) -> None:
    seen = checkouts(cached)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            cached.api.check_access_token("lea_" + "x" * 43)
    assert seen == [2]


def test_a_revocation_in_this_process_is_seen_at_once(cached: Services, world: World) -> None:
    _, _, auth = signed_in_grant(cached, world)
    tokens = auth.tokens
    assert tokens is not None
    cached.api.check_access_token(tokens.access_token)
    cached.revocation.revoke_token(tokens.refresh_token, "10.0.0.1")
    with pytest.raises(InvalidToken):
        cached.api.check_access_token(tokens.access_token)


def test_a_suspension_in_this_process_is_seen_at_once(cached: Services, world: World) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    token = auth.tokens.access_token  # type: ignore[union-attr]
    cached.api.check_access_token(token)
    cached.operator.set_app_status(app_id, "suspended")
    with pytest.raises(InvalidToken):
        cached.api.check_access_token(token)


def test_a_write_that_changes_no_token_check_keeps_the_cache(
    cached: Services, world: World
) -> None:
    """A password rehash or wider scopes used to empty every process's cache; only the writes
    that change a token check's answer (revocation, status) clear it now."""
    _, _, auth = signed_in_grant(cached, world)
    token = auth.tokens.access_token  # type: ignore[union-attr]
    cached.api.check_access_token(token)
    seen = checkouts(cached)
    with cached.storage.transaction() as tx:
        tx.set_password_hash(world.user_id, "$argon2id$other")
        grant = tx.active_grant(world.user_id, auth.app_id)
        assert grant is not None
        tx.set_grant_scopes(grant.id, frozenset({"profile", "email", "account"}))
    cached.api.check_access_token(token)
    assert seen == [1]  # the write only: the check was answered from memory


def test_a_failed_transaction_clears_nothing_and_publishes_nothing(
    cached: Services, world: World
) -> None:
    _, _, auth = signed_in_grant(cached, world)
    token = auth.tokens.access_token  # type: ignore[union-attr]
    cached.api.check_access_token(token)
    generation = cached.token_checks.cache.generation
    with pytest.raises(RuntimeError), cached.storage.transaction() as tx:
        tx.set_app_status(auth.app_id, "suspended")
        raise RuntimeError("rolled back")
    assert cached.token_checks.cache.generation == generation
    cached.api.check_access_token(token)


def test_a_read_that_overlaps_an_invalidation_is_not_cached(cached: Services, world: World) -> None:
    _, _, auth = signed_in_grant(cached, world)
    token = auth.tokens.access_token  # type: ignore[union-attr]
    checks = cached.token_checks
    real = checks.source

    class EventMidRead:
        def grant_context(self, grant_id):  # type: ignore[no-untyped-def]
            checks.cache.invalidate(FLUSH)  # an event lands while the database answers
            return real.grant_context(grant_id)

    checks.source = EventMidRead()  # type: ignore[assignment]
    cached.api.check_access_token(token)
    checks.source = real
    assert len(checks.cache) == 0


# -- the refresh exchange ---------------------------------------------------------------------


def signed_in_with_secret(services: Services, world: World) -> tuple[str, str, str]:
    """A new application with a secret that the world's user has just signed in to: its id,
    its secret and the refresh token the sign-in delivered."""
    app_id, secret = world.app(with_secret=True)
    btn = world.button("profile,email", app_id=app_id)
    with services.storage.transaction() as tx:
        user = tx.user_by_id(world.user_id)
    assert user is not None and secret is not None
    auth = allow(services, AuthorizeRequest(btn, PARTNER, "st", immediate=False), user, "10.0.0.1")
    return app_id, secret, auth.tokens.refresh_token  # type: ignore[union-attr]


def exchange(services: Services, app_id: str, refresh: str, secret: str | None = None):  # type: ignore[no-untyped-def]
    return exchange_refresh_token(services, app_id, refresh, secret, "10.0.0.1")


def test_a_replayed_refresh_token_is_read_once_per_lifetime(
    cached: Services, world: World, ticks: Ticks
) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    seen = checkouts(cached)
    first, second = exchange(cached, app_id, refresh), exchange(cached, app_id, refresh)
    assert seen == [1]
    assert first.access_token != second.access_token  # each exchange still mints its own
    held = cached.token_checks.peek_refresh(credentials.token_hash(refresh))
    assert held is not None and held.app.id == app_id
    ticks.now += 0.51
    exchange(cached, app_id, refresh)
    assert seen == [2]
    # An unknown token is asked every time: nothing stands for "not found".
    for _ in range(2):
        with pytest.raises(InvalidGrant):
            exchange(cached, app_id, "ler_" + "x" * 43)
    assert seen[0] >= 4


def test_a_cached_refresh_token_is_refused_at_once_after_a_revocation(
    cached: Services, world: World
) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    exchange(cached, app_id, refresh)
    cached.revocation.revoke_token(refresh, "10.0.0.1")
    with pytest.raises(InvalidGrant):
        exchange(cached, app_id, refresh)


def test_a_cached_refresh_token_is_refused_at_once_after_a_suspension(
    cached: Services, world: World
) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    exchange(cached, app_id, refresh)
    cached.operator.set_app_status(app_id, "suspended")
    with pytest.raises(InvalidClient):
        exchange(cached, app_id, refresh)


def test_a_deleted_applications_cached_exchange_is_refused_at_once(
    cached: Services, world: World
) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    exchange(cached, app_id, refresh)
    with cached.storage.transaction() as tx:
        tx.delete_app(app_id)
    with pytest.raises(InvalidClient):
        exchange(cached, app_id, refresh)


def test_a_trimmed_refresh_token_is_refused_at_once_though_it_was_cached(
    cached: Services, world: World
) -> None:
    """A sign-in trims a grant's never-used tokens (its first use is written in the next
    batch): the cache hears of it and forgets them."""
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    exchange(cached, app_id, refresh)
    with cached.storage.transaction() as tx:
        grant = tx.active_grant(world.user_id, app_id)
        assert grant is not None
        assert tx.trim_refresh_tokens(grant.id, 0) >= 1
    with pytest.raises(InvalidGrant):
        exchange(cached, app_id, refresh)


def test_ending_a_rotation_grace_refuses_the_old_secret_at_once(
    cached: Services, world: World
) -> None:
    app_id, old_secret, refresh = signed_in_with_secret(cached, world)
    cached.console.rotate_secret(app_id, None, grace=timedelta(hours=1))
    exchange(cached, app_id, refresh, old_secret)  # still accepted, and now remembered
    with cached.storage.transaction() as tx:
        tx.set_previous_secret(app_id, None, None)  # the grace ended early
    with pytest.raises(InvalidClient):
        exchange(cached, app_id, refresh, old_secret)


def test_a_refused_exchange_is_not_remembered(cached: Services, world: World) -> None:
    """Undoing a suspension in another process, without Redis to say so, works at once here:
    only exchanges that would succeed are remembered."""
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    cached.operator.set_app_status(app_id, "suspended")
    with pytest.raises(InvalidClient):
        exchange(cached, app_id, refresh)
    apps = tables.applications
    with cached.storage.engine.begin() as conn:  # another process's write: no announcement
        conn.execute(update(apps).where(apps.c.id == app_id).values(status="approved"))
    assert exchange(cached, app_id, refresh).access_token


def test_a_replaced_secret_is_refused_at_once_by_a_cached_exchange(
    cached: Services, world: World
) -> None:
    app_id, secret, refresh = signed_in_with_secret(cached, world)
    exchange(cached, app_id, refresh, secret)
    new_secret = cached.console.rotate_secret(app_id, None)  # no grace: the old one ends now
    with pytest.raises(InvalidClient):
        exchange(cached, app_id, refresh, secret)
    assert exchange(cached, app_id, refresh, new_secret).access_token


def test_wider_scopes_reach_the_next_cached_exchange_at_once(
    cached: Services, world: World
) -> None:
    app_id, _, auth = signed_in_grant(cached, world)
    refresh = auth.tokens.refresh_token  # type: ignore[union-attr]
    assert exchange(cached, app_id, refresh).scopes == {"profile", "email"}
    token_checks = cached.token_checks
    generation = token_checks.cache.generation
    with cached.storage.transaction() as tx:
        grant = tx.active_grant(world.user_id, app_id)
        assert grant is not None
        tx.set_grant_scopes(grant.id, frozenset({"profile", "email", "account"}))
    assert exchange(cached, app_id, refresh).scopes == {"profile", "email", "account"}
    assert token_checks.cache.generation == generation  # token checks kept theirs


def test_the_setting_cannot_exceed_the_one_second_bound() -> None:
    with pytest.raises(SystemExit):
        Settings.from_env({"LEADEXEC_TOKEN_CACHE_MS": "1001"})
    assert Settings.from_env({"LEADEXEC_TOKEN_CACHE_MS": "0"}).token_cache_ms == 0


# -- between processes, over Redis -----------------------------------------------------------


@pytest.fixture
def channel() -> str:
    return f"leadexec-test:{secrets.token_hex(6)}"  # runs sharing this Redis stay apart


def test_a_revocation_in_one_process_clears_the_cache_of_another(
    settings: Settings, clock: FrozenClock, world: World, ticks: Ticks, channel: str
) -> None:
    a_events, b_events = RedisEvents(REDIS_URL, channel), RedisEvents(REDIS_URL, channel)
    a = cached_provider(settings, clock, ticks, a_events)
    b = cached_provider(settings, clock, ticks, b_events)
    b_cache = b.token_checks.cache
    heard = threading.Event()
    invalidate = b_cache.invalidate

    def noticing(event_: str) -> None:
        invalidate(event_)
        if event_.startswith("grant:"):
            heard.set()

    b_cache.invalidate = noticing
    try:
        _, _, auth = signed_in_grant(a, world)
        tokens = auth.tokens
        assert tokens is not None
        b.api.check_access_token(tokens.access_token)  # B remembers it (and starts listening)
        assert b_events.subscribed.wait(10), "B never subscribed"
        b.api.check_access_token(tokens.access_token)
        assert len(b_cache) == 1
        a.revocation.revoke_token(tokens.refresh_token, "10.0.0.1")
        assert heard.wait(10), "B never heard of the revocation"
        assert len(b_cache) == 0
        with pytest.raises(InvalidToken):
            b.api.check_access_token(tokens.access_token)
    finally:
        for p in (a, b):
            p.close()


def test_without_redis_a_publish_fails_fast_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = RedisEvents(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="leadexec_signin.events"):
        assert events.publish("grant:grt_x") is False
        assert events.publish("grant:grt_y") is False  # paused: not even tried
    warnings = [r for r in caplog.records if "redis unreachable" in r.getMessage()]
    assert len(warnings) == 1
    events.close()


def test_a_subscriber_forgets_everything_when_it_comes_back(channel: str) -> None:
    real = make_url(REDIS_URL)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 6379)
    events = RedisEvents(f"redis://127.0.0.1:{proxy.port}/{real.database or 0}", channel)
    heard: list[str] = []
    flushed = threading.Semaphore(0)
    app_event = threading.Event()

    def handler(event_: str) -> None:
        heard.append(event_)
        if event_ == FLUSH:
            flushed.release()
        elif event_ == "app:app_x":
            app_event.set()

    try:
        events.subscribe(handler)
        assert flushed.acquire(timeout=10)  # first subscription
        proxy.cut()
        assert flushed.acquire(timeout=10)  # the line dropped: events may be missed
        proxy.restore()
        assert flushed.acquire(timeout=15)  # back: whatever was missed is forgotten
        publisher = redis.Redis.from_url(REDIS_URL)
        publisher.publish(channel, "app:app_x")
        publisher.close()
        assert app_event.wait(10), heard
    finally:
        events.close()
        proxy.close()
