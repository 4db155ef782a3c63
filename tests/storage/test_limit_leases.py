"""Counts leased from Redis: a busy key's hits are counted in Redis a few at a time and spent
from this process's memory, and the shared count stays exact where it matters: never below
the hits admitted, and one hit at a time near the limit, across processes."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest
import redis

from leadexec_signin.storage.ratelimit import PREFIX, AsyncLimits, LimitsRateLimiter, _item

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.cluster  # shares the machine's Redis


def counted_in_redis(limit: str, key: tuple[str, ...]) -> int:
    """The current window's count, read as the library's script keeps it."""
    name = _item(limit).key_for(*key)
    value = redis.Redis.from_url(REDIS_URL).get(f"{PREFIX}:{{{name}}}")
    return int(value or 0)


async def hits(limits: AsyncLimits, limit: str, key: tuple[str, ...], n: int) -> list[int | None]:
    return list(await asyncio.gather(*(limits.hit(limit, *key) for _ in range(n))))


def test_a_busy_key_is_counted_a_lease_at_a_time_and_never_below_what_was_admitted() -> None:
    key = ("lease-busy", secrets.token_hex(8))
    limit = "100000/minute"
    limits = AsyncLimits(REDIS_URL, LimitsRateLimiter(REDIS_URL))
    trips: list[int] = []

    async def run() -> list[int | None]:
        await limits.open()
        acquire = limits._acquire

        async def counting(*args: object) -> bool:
            trips.append(1)
            return await acquire(*args)  # type: ignore[arg-type]

        limits._acquire = counting  # type: ignore[method-assign]
        try:
            got: list[int | None] = []
            for _ in range(50):  # 50 waves of 20 requests in flight
                got += await hits(limits, limit, key, 20)
            return got
        finally:
            await limits.close()

    got = asyncio.run(run())
    assert got == [None] * 1000
    assert len(trips) < 100  # one round trip a hit would be 1,000
    in_redis = counted_in_redis(limit, key)
    assert 1000 <= in_redis <= 1000 + AsyncLimits.MAX_LEASE


def test_near_the_limit_every_hit_counts_and_two_processes_never_admit_more() -> None:
    """Two servers (two counters, their own leases) share a limit of 200 a minute: between
    them 500 requests get exactly 200 through, however the leases were cut."""
    key = ("lease-exact", secrets.token_hex(8))
    limit = "200/minute"
    one = AsyncLimits(REDIS_URL, LimitsRateLimiter(REDIS_URL))
    two = AsyncLimits(REDIS_URL, LimitsRateLimiter(REDIS_URL))

    async def run() -> list[int | None]:
        await one.open()
        await two.open()
        try:
            got: list[int | None] = []
            for _ in range(25):
                waves = await asyncio.gather(hits(one, limit, key, 10), hits(two, limit, key, 10))
                got += waves[0] + waves[1]
            return got
        finally:
            await one.close()
            await two.close()

    got = asyncio.run(run())
    admitted = [g for g in got if g is None]
    refused = [g for g in got if g is not None]
    # Leases are counted whole: a lease cut short by the limit leaves hits unspent, so the
    # two may admit a little fewer than 200, never more.
    assert 200 - 2 * (200 // 20) <= len(admitted) <= 200
    assert refused and all(0 < wait <= 60 for wait in refused)
    assert counted_in_redis(limit, key) == 200


def test_a_small_limit_is_counted_one_hit_at_a_time() -> None:
    key = ("lease-small", secrets.token_hex(8))
    limits = AsyncLimits(REDIS_URL, LimitsRateLimiter(REDIS_URL))

    async def run() -> list[int | None]:
        await limits.open()
        try:
            return [await limits.hit("5/minute", *key) for _ in range(7)]
        finally:
            await limits.close()

    got = asyncio.run(run())
    assert got[:5] == [None] * 5 and all(g is not None for g in got[5:])
    assert counted_in_redis("5/minute", key) == 5


def test_the_lease_table_stays_bounded_under_many_distinct_keys() -> None:
    """An address rotating through new keys (IPv6) leaves at most MAX_KEYS leases behind, and
    each new key costs no sweep of the whole table (a sweep at most once a second)."""
    limits = AsyncLimits(REDIS_URL, LimitsRateLimiter(REDIS_URL))
    limits.MAX_KEYS = 50  # type: ignore[misc]
    tag = secrets.token_hex(6)

    async def run() -> list[int | None]:
        await limits.open()
        try:
            return [await limits.hit("100/minute", "lease-many", f"{tag}-{i}") for i in range(300)]
        finally:
            assert len(limits._leases) <= 50
            await limits.close()

    assert asyncio.run(run()) == [None] * 300
