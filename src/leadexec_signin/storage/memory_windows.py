"""Rate limits counted in one process's memory: the sliding-window counter of the ``limits``
library (``SlidingWindowCounterRateLimiter``) without the library's layers, which cost the
token exchange (two hits each) about 11 us of its ~180 in process, against about 2 here. A
property test (tests/storage/test_memory_windows.py) holds it to the library's decisions."""

from __future__ import annotations

import math
import threading
import time

from limits import RateLimitItem


class MemoryWindows:
    """The sliding-window counter of ``limits`` (``SlidingWindowCounterRateLimiter``) for one
    process: per key, the current fixed window's count and the previous one's, weighted by
    how much of the previous window still overlaps the last ``period`` seconds."""

    PURGE_EVERY = 10_000  # hits between sweeps of keys idle for two windows

    def __init__(self) -> None:
        # key -> [window start, previous window's count, this window's count, period]
        self._windows: dict[tuple[str, ...], list[float]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def _window(self, item: RateLimitItem, key: tuple[str, ...], now: float) -> list[float]:
        period = item.get_expiry()
        start = now - now % period
        found = self._windows.get(key)
        if found is None:
            found = self._windows[key] = [start, 0.0, 0.0, period]
        elif found[0] != start:
            # The window moved on: the count becomes the previous one if it was the window
            # just before, else both are forgotten.
            previous = found[2] if found[0] == start - period else 0.0
            found[:] = [start, previous, 0.0, period]
        return found

    @staticmethod
    def _weighted(window: list[float], period: float, now: float) -> float:
        return window[1] * (period - (now - window[0])) / period + window[2]

    def hit(self, item: RateLimitItem, *key: str) -> bool:
        now = time.time()
        with self._lock:
            window = self._window(item, (str(item), *key), now)
            # Whole hits only, as the library counts them (a hit passes at 2.9 of 3).
            if math.floor(self._weighted(window, item.get_expiry(), now)) + 1 > item.amount:
                return False
            window[2] += 1
            self._hits += 1
            if self._hits >= self.PURGE_EVERY:
                self._purge(now)
        return True

    def test(self, item: RateLimitItem, *key: str) -> bool:
        now = time.time()
        with self._lock:
            window = self._window(item, (str(item), *key), now)
            return self._weighted(window, item.get_expiry(), now) < item.amount

    def clear(self, item: RateLimitItem, *key: str) -> None:
        with self._lock:
            self._windows.pop((str(item), *key), None)

    def get_window_stats(self, item: RateLimitItem, *key: str) -> tuple[float, int]:
        """When the count next falls (the current window's end) and what is left."""
        now = time.time()
        with self._lock:
            window = self._window(item, (str(item), *key), now)
            used = self._weighted(window, item.get_expiry(), now)
            return window[0] + item.get_expiry(), max(0, int(item.amount - used))

    def _purge(self, now: float) -> None:
        self._hits = 0
        idle = [k for k, w in self._windows.items() if w[0] < now - 2 * w[3]]
        for k in idle:
            del self._windows[k]
