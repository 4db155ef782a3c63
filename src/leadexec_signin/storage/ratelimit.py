"""Rate limits as sliding-window counters (O(1) per hit, unlike a moving window that keeps
every hit): shared in Redis through the ``limits`` library, or in this process's memory with
``MemoryWindows``, the same arithmetic without the library's layers, which cost the token
exchange (two hits each) about 11 us of its ~180 in process, against about 2 here.

When Redis is configured but unreachable, counting falls back to this process's memory and the
failure is logged once a minute: limits get looser across processes, the service keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.storage.redis.bridge import RedisBridge
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindow
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio.connection import parse_url
from redis.exceptions import NoScriptError

from leadexec_signin.metrics import count_rate_limited
from leadexec_signin.storage.loop_redis import LoopConnections
from leadexec_signin.storage.memory_windows import MemoryWindows

log = logging.getLogger("leadexec_signin.ratelimit")
# The library's own sliding-window script and key prefix: counted here from the event loop,
# by its synchronous client elsewhere, on the same keys.
ACQUIRE_SCRIPT: bytes = RedisBridge.SCRIPT_ACQUIRE_SLIDING_WINDOW
PREFIX: str = AsyncRedisStorage.PREFIX


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class LimitsRateLimiter:
    def __init__(self, uri: str = "memory://") -> None:
        self._memory: MemoryWindows | SlidingWindowCounterRateLimiter = MemoryWindows()
        # Short socket timeouts: a hung Redis must cost a request a fraction of a second,
        # not hang it (redis-py waits forever by default).
        # The Redis address, when the limits are shared there (AsyncLimits uses it too).
        self.redis_uri = uri if uri.startswith("redis") else None
        self._shared = (
            SlidingWindowCounterRateLimiter(
                storage_from_string(uri, socket_timeout=0.3, socket_connect_timeout=0.3)
            )
            if uri.startswith("redis")
            else None
        )
        self._last_warning = 0.0
        # After a failure Redis is left alone for a moment, so requests do not each pay the
        # timeout while it is down.
        self._paused_until = 0.0

    @property
    def shared(self) -> bool:
        """Counted in Redis (configured and, for now, reachable)."""
        return self._shared is not None and time.monotonic() >= self._paused_until

    def _strategy(self) -> MemoryWindows | SlidingWindowCounterRateLimiter:
        return self._shared if self._shared is not None and self.shared else self._memory

    def failed(self, exc: Exception) -> None:
        """Redis failed: leave it alone for a moment, so requests do not each pay the
        timeout while it is down, and say so once a minute."""
        now = time.monotonic()
        self._paused_until = now + 2.0
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning("rate-limit storage unreachable (%s); using memory", type(exc).__name__)

    def count_in_memory(self, limit: str, *key: str) -> int | None:
        """A hit counted in this process only (Redis away)."""
        item = _item(limit)
        if self._memory.hit(item, *key):
            return None
        count_rate_limited(key[0] if key else "-")
        reset_at, _remaining = self._memory.get_window_stats(item, *key)
        return max(1, math.ceil(reset_at - time.time()))

    def _run(self, op: str, limit: str, key: tuple[str, ...]) -> int | None:
        item = _item(limit)
        for strategy in (self._strategy(), self._memory):
            try:
                if op == "reset":
                    strategy.clear(item, *key)
                    return None
                ok = strategy.hit(item, *key) if op == "hit" else strategy.test(item, *key)
                if ok:
                    return None
                # Counted by limit name (the key's first part: "token-ip", "login"...), never
                # by the client's address or account.
                count_rate_limited(key[0] if key else "-")
                reset_at, _remaining = strategy.get_window_stats(item, *key)
                return max(1, math.ceil(reset_at - time.time()))
            except Exception as exc:  # redis down: fall back to memory, say so
                if strategy is self._memory:
                    raise
                self.failed(exc)
        return None

    def hit(self, limit: str, *key: str) -> int | None:
        return self._run("hit", limit, key)

    def exceeded(self, limit: str, *key: str) -> int | None:
        return self._run("test", limit, key)

    def reset(self, limit: str, *key: str) -> None:
        self._run("reset", limit, key)


class _Lease:
    """Hits of one key counted in Redis ahead and spent by this process's requests."""

    __slots__ = ("left", "pending", "size", "until")

    def __init__(self) -> None:
        self.left = 0  # hits counted in Redis, not spent yet
        self.size = 0  # hits taken in the last round trip
        self.until = 0.0  # monotonic time after which the rest is not spent
        self.pending: asyncio.Future[None] | None = None  # a round trip taking one


class AsyncLimits:
    """The shared limits of :class:`LimitsRateLimiter`, counted from the event loop: the
    library's own sliding-window script (the same keys and arithmetic as the synchronous
    client, so both count together), sent with ``EVALSHA`` on connections of redis-py's
    asyncio ``Connection`` class kept here, one per request in flight. Measured here: 83 us
    of CPU a count this way, against 152 through ``limits.aio`` and redis-py's pooled client
    (its pool and command layers), and 50 for the synchronous client plus a thread hand-over
    of several hundred. A refusal's wait is read through ``limits.aio`` (rare). Opened at the
    server's start on its own event loop (connections belong to one loop); a failure falls
    back to this process's memory exactly as the synchronous client does
    (``LimitsRateLimiter.failed``).

    Two counts an exchange at 83 us each were still most of a token exchange's CPU, so a
    busy key is leased (:meth:`_lease`): the script takes several hits at once, all or
    none, and the next requests spend them here (:meth:`spend`) without a round trip."""

    LEASE_S = 1.0  # how long a lease's hits may be spent
    MAX_LEASE = 64  # hits taken in one round trip, at most
    MAX_KEYS = 10_000  # leases kept before the spent ones are swept

    def __init__(self, uri: str, limiter: LimitsRateLimiter) -> None:
        self.uri = uri
        self.limiter = limiter
        self._strategy: AsyncSlidingWindow | None = None
        self._storage: AsyncRedisStorage | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns = LoopConnections({})
        self._sha = hashlib.sha1(ACQUIRE_SCRIPT).hexdigest()  # noqa: S324 (Redis's name)
        self._leases: dict[tuple[str, tuple[str, ...]], _Lease] = {}
        self._swept_at = 0.0

    async def open(self) -> None:
        try:
            self._conns = LoopConnections(
                {**parse_url(self.uri), "socket_timeout": 0.3, "socket_connect_timeout": 0.3}
            )
            self._storage = AsyncRedisStorage(
                "async+" + self.uri,
                implementation="redispy",
                socket_timeout=0.3,
                socket_connect_timeout=0.3,
            )
        except Exception as exc:  # an address the client cannot use: threads count instead
            log.warning("rate limits not counted asynchronously: %s", type(exc).__name__)
            return
        self._strategy = AsyncSlidingWindow(self._storage)
        self._loop = asyncio.get_running_loop()

    def ready(self) -> bool:
        """Whether a count can be awaited on the running loop."""
        try:
            return self._strategy is not None and self._loop is asyncio.get_running_loop()
        except RuntimeError:
            return False

    def spend(self, limit: str, *key: str) -> bool:
        """A hit taken from this process's lease on ``key`` (no round trip), if it holds one
        that is still good; False when the count has to go to Redis."""
        lease = self._leases.get((limit, key))
        if lease is None or lease.left <= 0 or time.monotonic() >= lease.until:
            return False
        lease.left -= 1
        return True

    async def hit(self, limit: str, *key: str) -> int | None:
        strategy = self._strategy
        if strategy is None or not self.limiter.shared:
            return self.limiter.count_in_memory(limit, *key)
        if self.spend(limit, *key):
            return None
        item = _item(limit)
        try:
            if await self._lease(limit, item, key):
                return None
            count_rate_limited(key[0] if key else "-")
            stats = await strategy.get_window_stats(item, *key)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception as exc:
            self.limiter.failed(exc)
            return self.limiter.count_in_memory(limit, *key)

    async def _lease(self, limit: str, item: RateLimitItem, key: tuple[str, ...]) -> bool:
        """This hit, and when the key is busy the next few with it, counted in Redis in one
        round trip. A lease is counted in Redis whole when it is taken, so the shared count
        is never below the hits admitted (a lease not spent is counted anyway: the error is
        on the strict side); it grows while each one is spent within its second, and is at
        most a twentieth of the limit, so near the limit every hit is counted on its own
        (a lease that does not fit any more is retried as one hit). Requests that find the
        key's lease being taken wait for it instead of each taking their own."""
        slot = (limit, key)
        lease = self._leases.get(slot)
        while lease is not None and lease.pending is not None:
            await asyncio.shield(lease.pending)
            if self.spend(limit, *key):
                return True
            lease = self._leases.get(slot)
        now = time.monotonic()
        size = 1  # a lease left partly unspent starts again from one hit
        if lease is not None and lease.left <= 0 and lease.size > 0:
            # Spent within its second: twice as many; spent, but only just: as many.
            size = lease.size * 2 if now < lease.until else lease.size
            size = max(1, min(size, self.MAX_LEASE, item.amount // 20))
        if lease is None:
            if len(self._leases) >= self.MAX_KEYS:
                self._make_room(now)
            lease = self._leases[slot] = _Lease()
        assert self._loop is not None
        lease.pending = self._loop.create_future()
        try:
            acquired = await self._acquire(item, key, size)
            if not acquired and size > 1:
                size = 1
                acquired = await self._acquire(item, key, 1)
        except BaseException:
            lease.left = 0
            raise
        finally:
            pending, lease.pending = lease.pending, None
            pending.set_result(None)
        if not acquired:
            lease.left = lease.size = 0
            return False
        # This hit is the lease's first; the rest are spent by the next requests.
        lease.size, lease.left = size, size - 1
        lease.until = time.monotonic() + self.LEASE_S
        return True

    def _make_room(self, now: float) -> None:
        """Keeps the table at ``MAX_KEYS``: the spent and expired leases are swept at most
        once a second (a sweep reads them all), and past that the oldest go first (their
        unspent hits stay counted in Redis: the strict side)."""
        if now - self._swept_at >= 1.0:
            self._swept_at = now
            for slot in [s for s, lease in self._leases.items() if lease.pending is None
                         and now >= lease.until + self.LEASE_S]:  # fmt: skip
                del self._leases[slot]
        over = max(0, len(self._leases) - self.MAX_KEYS + 1)
        for slot in list(itertools.islice(self._leases, over)):
            if self._leases[slot].pending is None:
                del self._leases[slot]

    async def _acquire(self, item: RateLimitItem, key: tuple[str, ...], amount: int) -> bool:
        """``amount`` hits in one round trip, all or none: the library's script, on its keys."""
        name = item.key_for(*key)
        keys = (f"{PREFIX}:{{{name}}}/-1", f"{PREFIX}:{{{name}}}")
        args = (item.amount, item.get_expiry(), amount)
        try:
            acquired = await self._conns.command("EVALSHA", self._sha, 2, *keys, *args)
        except NoScriptError:  # a Redis that never saw the script (or was flushed)
            acquired = await self._conns.command("EVAL", ACQUIRE_SCRIPT, 2, *keys, *args)
        return bool(acquired)

    async def close(self) -> None:
        storage, loop = self._storage, self._loop
        self._strategy = self._storage = self._loop = None
        self._leases = {}
        await self._conns.close(loop)
        if loop is asyncio.get_running_loop():
            # Opened with implementation="redispy": the bridge holds a redis-py client.
            bridge = storage.bridge if storage is not None else None
            with contextlib.suppress(Exception):  # it goes with the process anyway
                if isinstance(bridge, RedispyBridge):
                    await bridge.storage.aclose()
