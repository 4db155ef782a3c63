"""The in-process rate-limit counter against the ``limits`` library's sliding-window counter
it replaces: for any sequence of hits, checks, resets and waits, both allow and refuse the
same requests."""

from __future__ import annotations

import asyncio
import os
import secrets
from types import SimpleNamespace

import limits.storage.memory
import limits.strategies
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from leadexec_signin.storage import memory_windows, ratelimit
from leadexec_signin.storage.ratelimit import AsyncLimits, LimitsRateLimiter, MemoryWindows

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["hit", "hit", "hit", "test", "clear"]),
        st.sampled_from(["a", "b"]),
        st.floats(min_value=0, max_value=25, allow_nan=False),  # seconds waited first
    ),
    max_size=120,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_700_000_000.0]
    fake = SimpleNamespace(time=lambda: now[0], monotonic=lambda: now[0], sleep=lambda _s: None)
    for module in (limits.storage.memory, limits.strategies, ratelimit, memory_windows):
        monkeypatch.setattr(module, "time", fake)
    return now


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, limit=st.sampled_from(["3/10 seconds", "5/minute", "1/second"]))
# The clock only moves forward across examples; each example makes fresh counters.
@pytest.mark.slow  # many Hypothesis examples
def test_it_decides_like_the_library(clock: list[float], steps, limit: str) -> None:
    item = parse(limit)
    ours, theirs = MemoryWindows(), SlidingWindowCounterRateLimiter(MemoryStorage())
    for op, key, wait in steps:
        clock[0] += round(wait, 3)
        if op == "clear":
            ours.clear(item, key)
            theirs.clear(item, key)
            continue
        decided = (getattr(ours, op)(item, key), getattr(theirs, op)(item, key))
        assert decided[0] == decided[1], (op, key, clock[0], decided)


def test_idle_keys_are_forgotten(clock: list[float]) -> None:
    item = parse("2/second")
    windows = MemoryWindows()
    windows.PURGE_EVERY = 3  # type: ignore[misc]
    assert windows.hit(item, "old")
    clock[0] += 10
    for _ in range(3):
        windows.hit(item, "new")
        clock[0] += 0.4
    assert all(key[1] != "old" for key in windows._windows)
    assert windows.hit(item, "old")  # and, forgotten, it starts from zero


# -- the event loop's counts share Redis's keys with the synchronous client ------------------

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.cluster  # shares the machine's Redis
def test_counts_awaited_on_the_loop_and_made_in_threads_add_up() -> None:
    """A server counts from its event loop (AsyncLimits), the command line and threads with
    the synchronous client: one limit, one count, whichever way each hit came."""
    limiter = LimitsRateLimiter(REDIS_URL)
    counted = AsyncLimits(REDIS_URL, limiter)
    key = ("shared-count", secrets.token_hex(8))

    async def run() -> list[int | None]:
        await counted.open()
        try:
            got = [await counted.hit("3/minute", *key), await counted.hit("3/minute", *key)]
            got.append(limiter.hit("3/minute", *key))
            got.append(await counted.hit("3/minute", *key))
            return got
        finally:
            await counted.close()

    got = asyncio.run(run())
    assert got[:3] == [None, None, None]
    assert got[3] is not None and 0 < got[3] <= 60


def test_an_unreachable_redis_falls_back_to_memory_on_the_loop() -> None:
    limiter = LimitsRateLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    counted = AsyncLimits("redis://127.0.0.1:1/0", limiter)

    async def run() -> list[int | None]:
        await counted.open()
        try:
            return [await counted.hit("2/minute", "fallback", "x") for _ in range(3)]
        finally:
            await counted.close()

    got = asyncio.run(run())
    assert got[:2] == [None, None] and got[2] is not None  # counted in memory meanwhile
