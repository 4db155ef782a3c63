"""Used DPoP proofs across processes: in the database's table (every backend), or in Redis
when configured, with the database answering while Redis is unreachable."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import pytest

from leadexec_signin.compose import build
from leadexec_signin.storage.replays import PREFIX, RedisReplays

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_key_is_used_once_in_the_database_whichever_process_asks(settings, clock) -> None:
    one, two = build(settings, clock), build(settings, clock)
    try:
        key, expires = secrets.token_hex(32), clock.now() + timedelta(seconds=61)
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
        key, expires = secrets.token_hex(32), clock.now() + timedelta(seconds=61)
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
        key, expires = secrets.token_hex(32), clock.now() + timedelta(seconds=61)
        assert down.dpop.replays.first_use(key, expires) is True
        assert down.dpop.replays.first_use(key, expires) is False
        assert down.storage.hot.first_use(key, expires) is False  # it went to the database
    finally:
        down.close()
