"""Used DPoP proofs (``core/actions/dpop.py``'s ``ProofReplays``) in Redis, when configured:
``SET key 1 NX EXAT`` is one round trip and expires by itself. Every process sees every
other's proofs either way; Redis only takes the write off the database.

:class:`RedisReplays` is the synchronous client (the token endpoint's thread);
:class:`AsyncRedisReplays` sends the same command from the server's event loop (the LeadExec
API and userinfo), on connections of redis-py's asyncio ``Connection`` kept here, as the rate
limits' counts are (``storage/ratelimit.py``): no thread hand-over per request.

When Redis is unreachable the database's table answers instead (the same promise, slower),
and the failure is logged at most once a minute: refusing every DPoP request while Redis is
away would be worse than a write to the database.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from leadexec_signin.core.actions.dpop import ProofReplays
from leadexec_signin.storage.loop_redis import LoopConnections

log = logging.getLogger("leadexec_signin.replays")

PREFIX = "leadexec-signin:dpop:"
_SOCKET_TIMEOUT = 0.5
_PAUSE = 2.0  # after a failure, the database answers for this long without trying Redis
_WARN_EVERY = 60.0


class _Pause:
    """After a failure, Redis is left alone for a moment and the failure logged rarely."""

    def __init__(self) -> None:
        self.until = 0.0
        self.warned_at = float("-inf")

    def open(self) -> bool:
        return time.monotonic() >= self.until

    def failed(self, exc: Exception) -> None:
        self.until = time.monotonic() + _PAUSE
        if time.monotonic() - self.warned_at > _WARN_EVERY:
            self.warned_at = time.monotonic()
            log.warning("Redis unreachable for DPoP proofs, using the database: %s", exc)


class RedisReplays:
    def __init__(self, url: str, fallback: ProofReplays) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=_SOCKET_TIMEOUT, socket_connect_timeout=_SOCKET_TIMEOUT
        )
        self.fallback = fallback
        self.pause = _Pause()

    def first_use(self, key: str, expires_at: int) -> bool:
        if self.pause.open():
            try:
                return bool(self.client.set(PREFIX + key, b"1", nx=True, exat=expires_at + 1))
            except RedisError as exc:
                self.pause.failed(exc)
        return self.fallback.first_use(key, expires_at)

    def close(self) -> None:
        self.client.close()


class AsyncRedisReplays:
    """The same ``SET NX EXAT`` awaited on the server's event loop. Opened at the server's
    start on its loop (connections belong to one loop); :meth:`first_use` answers None when
    Redis failed, and the caller then asks :class:`RedisReplays` (its database fallback) from
    a thread."""

    def __init__(self, url: str, pause: _Pause) -> None:
        self.url = url
        self.pause = pause  # shared with the synchronous client: one view of Redis's health
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns = LoopConnections({})

    async def open(self) -> None:
        try:
            self._conns = LoopConnections(
                {
                    **parse_url(self.url),
                    "socket_timeout": _SOCKET_TIMEOUT,
                    "socket_connect_timeout": _SOCKET_TIMEOUT,
                }
            )
        except Exception as exc:  # an address this client cannot use: the thread's instead
            log.warning("DPoP proofs not written asynchronously: %s", type(exc).__name__)
            return
        self._loop = asyncio.get_running_loop()

    def ready(self) -> bool:
        """Whether a write can be awaited on the running loop, Redis not paused."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._loop is running and self.pause.open()

    async def first_use(self, key: str, expires_at: int) -> bool | None:
        try:
            done = await self._conns.command(
                "SET", PREFIX + key, b"1", "NX", "EXAT", expires_at + 1
            )
        except (RedisError, OSError) as exc:
            self.pause.failed(exc)
            return None
        return done is not None

    async def close(self) -> None:
        loop, self._loop = self._loop, None
        await self._conns.close(loop)
