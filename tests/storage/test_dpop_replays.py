"""Used DPoP proofs across processes: in the database's table (every backend), or in Redis
when configured, with the database answering while Redis is unreachable."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from leadexec_signin.compose import build
from leadexec_signin.storage.replays import PREFIX, AsyncRedisReplays, RedisReplays

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_key_is_used_once_in_the_database_whichever_process_asks(settings, clock) -> None:
    one, two = build(settings, clock), build(settings, clock)
    try:
        key, expires = secrets.token_hex(32), int(clock.now().timestamp()) + 61
        assert one.storage.hot.first_use(key, expires) is True
        assert two.storage.hot.first_use(key, expires) is False
        assert one.storage.hot.first_use(key, expires) is False
        # The sweep forgets it once it expired (the proof is then refused as too old anyway).
        clock.advance(seconds=62)
        one.housekeeping.delete_expired()
        assert two.storage.hot.first_use(key, expires) is True
    finally:
        one.close()
        two.close()


@pytest.mark.cluster
def test_with_redis_a_key_is_used_once_across_processes(settings, clock) -> None:
    one = build(settings.with_changes(redis_url=REDIS_URL), clock)
    two = build(settings.with_changes(redis_url=REDIS_URL), clock)
    try:
        assert isinstance(one.dpop.replays, RedisReplays)
        key, expires = secrets.token_hex(32), int(clock.now().timestamp()) + 61
        assert one.dpop.replays.first_use(key, expires) is True
        assert two.dpop.replays.first_use(key, expires) is False
        assert one.dpop.replays.client.ttl(PREFIX + key) > 0  # expires by itself
    finally:
        one.close()
        two.close()


@pytest.mark.cluster
def test_an_unreachable_redis_falls_back_to_the_database(settings, clock) -> None:
    down = build(settings.with_changes(redis_url="redis://127.0.0.1:1/0"), clock)
    try:
        key, expires = secrets.token_hex(32), int(clock.now().timestamp()) + 61
        assert down.dpop.replays.first_use(key, expires) is True
        assert down.dpop.replays.first_use(key, expires) is False
        assert down.storage.hot.first_use(key, expires) is False  # it went to the database
    finally:
        down.close()


@pytest.mark.cluster
def test_the_event_loops_writes_and_the_threads_see_the_same_keys(settings, clock) -> None:
    """The resources write from the event loop (``AsyncRedisReplays``), the token endpoint
    from a thread (``RedisReplays``): a proof used at one is used at the other."""
    one = build(settings.with_changes(redis_url=REDIS_URL), clock)
    replays = one.async_replays
    assert isinstance(replays, AsyncRedisReplays)
    key, other = secrets.token_hex(32), secrets.token_hex(32)
    expires = int(clock.now().timestamp()) + 61

    async def run() -> None:
        assert not replays.ready()  # not opened on this loop yet
        await replays.open()
        assert replays.ready()
        assert await replays.first_use(key, expires) is True
        assert await replays.first_use(key, expires) is False
        assert one.dpop.replays.first_use(key, expires) is False
        assert one.dpop.replays.first_use(other, expires) is True
        assert await replays.first_use(other, expires) is False
        await replays.close()

    try:
        asyncio.run(run())
    finally:
        one.close()


@pytest.mark.cluster
def test_the_event_loops_write_answers_none_when_redis_is_away(settings, clock) -> None:
    """None sends the caller to the synchronous client, whose database fallback answers."""
    down = build(settings.with_changes(redis_url="redis://127.0.0.1:1/0"), clock)
    replays = down.async_replays
    assert replays is not None
    key, expires = secrets.token_hex(32), int(clock.now().timestamp()) + 61

    async def run() -> None:
        await replays.open()
        assert await replays.first_use(key, expires) is None
        assert not replays.ready()  # paused: the next requests go straight to the fallback
        assert down.dpop.replays.first_use(key, expires) is True
        await replays.close()

    try:
        asyncio.run(run())
    finally:
        down.close()
