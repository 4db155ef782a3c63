"""Counting an event against a rate limit, and refusing it when the limit is reached: the one
step every endpoint with a limit takes (token exchanges, revocations, introspection)."""

from __future__ import annotations

from typing import Protocol

from leadexec_signin.core.errors import RateLimited


class Counter(Protocol):
    """What counting against a limit needs of a rate limiter: only ``hit``."""

    def hit(self, limit: str, *key: str) -> int | None: ...


def count_or_refuse(limiter: Counter, limit: str, *key: str) -> None:
    wait = limiter.hit(limit, *key)
    if wait is not None:
        raise RateLimited(retry_after=wait)
