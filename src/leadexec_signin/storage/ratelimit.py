"""Rate limits over the ``limits`` library: sliding-window counters (O(1) per hit, unlike a
moving window that keeps every hit), in memory or shared in Redis.

When Redis is configured but unreachable, counting falls back to this process's memory and the
failure is logged once a minute: limits get looser across processes, the service keeps serving.
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from leadexec_signin.metrics import count_rate_limited

log = logging.getLogger("leadexec_signin.ratelimit")


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class LimitsRateLimiter:
    def __init__(self, uri: str = "memory://") -> None:
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        # Short socket timeouts: a hung Redis must cost a request a fraction of a second,
        # not hang it (redis-py waits forever by default).
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

    def _strategy(self) -> SlidingWindowCounterRateLimiter:
        if self._shared is not None and time.monotonic() >= self._paused_until:
            return self._shared
        return self._memory

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
                now = time.monotonic()
                self._paused_until = now + 2.0
                if now - self._last_warning > 60:
                    self._last_warning = now
                    log.warning(
                        "rate-limit storage unreachable (%s); using memory", type(exc).__name__
                    )
        return None

    def hit(self, limit: str, *key: str) -> int | None:
        return self._run("hit", limit, key)

    def exceeded(self, limit: str, *key: str) -> int | None:
        return self._run("test", limit, key)

    def reset(self, limit: str, *key: str) -> None:
        self._run("reset", limit, key)
