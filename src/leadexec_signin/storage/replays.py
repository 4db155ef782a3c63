"""Used DPoP proofs (``core/actions/dpop.py``'s ``ProofReplays``) in Redis, when configured:
``SET key 1 NX EXAT`` is one round trip and expires by itself. Every process sees every
other's proofs either way; Redis only takes the write off the database.

When Redis is unreachable the database's table answers instead (the same promise, slower),
and the failure is logged at most once a minute: refusing every DPoP request while Redis is
away would be worse than a write to the database.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import redis
from redis.exceptions import RedisError

from leadexec_signin.core.actions.dpop import ProofReplays

log = logging.getLogger("leadexec_signin.replays")

PREFIX = "leadexec-signin:dpop:"
_SOCKET_TIMEOUT = 0.5
_PAUSE = 2.0  # after a failure, the database answers for this long without trying Redis
_WARN_EVERY = 60.0


class RedisReplays:
    def __init__(self, url: str, fallback: ProofReplays) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=_SOCKET_TIMEOUT, socket_connect_timeout=_SOCKET_TIMEOUT
        )
        self.fallback = fallback
        self._paused_until = 0.0
        self._warned_at = float("-inf")

    def first_use(self, key: str, expires_at: datetime) -> bool:
        if time.monotonic() >= self._paused_until:
            try:
                done = self.client.set(
                    PREFIX + key, b"1", nx=True, exat=int(expires_at.timestamp()) + 1
                )
                return bool(done)
            except RedisError as exc:
                self._paused_until = time.monotonic() + _PAUSE
                if time.monotonic() - self._warned_at > _WARN_EVERY:
                    self._warned_at = time.monotonic()
                    log.warning("Redis unreachable for DPoP proofs, using the database: %s", exc)
        return self.fallback.first_use(key, expires_at)

    def close(self) -> None:
        self.client.close()
