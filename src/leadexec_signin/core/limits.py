"""Counting an event against a rate limit, and refusing it when the limit is reached: the one
step every endpoint with a limit takes (token exchanges, revocations, introspection)."""

from __future__ import annotations

from leadexec_signin.core.errors import RateLimited
from leadexec_signin.core.ports import RateLimiter


def count_or_refuse(limiter: RateLimiter, limit: str, *key: str) -> None:
    wait = limiter.hit(limit, *key)
    if wait is not None:
        raise RateLimited(retry_after=wait)
