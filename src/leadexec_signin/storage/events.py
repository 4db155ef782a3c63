"""Invalidation events between server processes, over Redis pub/sub (optional).

What a process may remember about the database (the access-token cache of ``tokencache.py``)
is announced stale here after every commit that changes it: ``grant:<id>`` when a grant is
revoked, ``app:<id>`` when an application's status changes, ``flush`` for anything else. Each
process subscribes and forgets the matching entries within milliseconds.

Pub/sub delivers at most once: a message sent while a process is cut off from Redis is lost
for it. That is why the cache's lifetime alone already keeps the promised 1-second bound, and
why a subscriber forgets everything each time it (re)subscribes; Redis only makes the bound
milliseconds instead of the lifetime. When Redis is unreachable nothing waits on it: a
publish fails fast (short socket timeouts, then a pause before the next attempt), the failure
is logged at most once a minute, and the service goes on with the database alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from redis.exceptions import RedisError

log = logging.getLogger("leadexec_signin.events")

CHANNEL = "leadexec-signin:invalidate"
FLUSH = "flush"
# After a failed publish, skip Redis for this long: a revocation must not wait on a dead host.
_PUBLISH_PAUSE = 2.0
_SOCKET_TIMEOUT = 0.5
_WARN_EVERY = 60.0


def grant_event(grant_id: str) -> str:
    return f"grant:{grant_id}"


def app_event(app_id: str) -> str:
    return f"app:{app_id}"


def scopes_event(grant_id: str) -> str:
    """A grant's scopes changed: what its refresh tokens mint, not what a token checks (an
    access token carries its own scopes). A process that does not know the kind forgets all."""
    return f"scopes:{grant_id}"


class RedisEvents:
    """Publishes events and, once :meth:`subscribe` is called, delivers every event to a handler
    on a background thread that reconnects by itself."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._url = url
        self.channel = channel
        self._publisher = redis.Redis.from_url(
            url, socket_timeout=_SOCKET_TIMEOUT, socket_connect_timeout=_SOCKET_TIMEOUT
        )
        self._paused_until = 0.0
        self._warned_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Set while subscribed; tests and /readyz-style probes read it, nothing depends on it.
        self.subscribed = threading.Event()

    def publish(self, event: str) -> bool:
        if time.monotonic() < self._paused_until:
            return False
        try:
            self._publisher.publish(self.channel, event)
        except (RedisError, OSError) as exc:
            self._paused_until = time.monotonic() + _PUBLISH_PAUSE
            self._warn("publish", exc)
            return False
        return True

    def reachable(self) -> bool:
        """One PING, for the metrics' ``leadexec_redis_up``: can this process reach Redis now."""
        try:
            return bool(self._publisher.ping())
        except (RedisError, OSError):
            return False

    def subscribe(self, handler: Callable[[str], None]) -> None:
        """Start delivering events to ``handler`` (idempotent). ``handler(FLUSH)`` also comes
        on every (re)subscription, for the events missed while away."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._listen,
                args=(handler, self._stop),
                name="leadexec-events",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Stops listening and lets the connections go; using it again starts over (a test
        may serve the same services twice)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout=3)
        self._stop = threading.Event()
        self._publisher.close()

    def _listen(self, handler: Callable[[str], None], stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            client = redis.Redis.from_url(
                self._url,
                socket_timeout=5,
                socket_connect_timeout=1,
                # Pings an idle subscription so a silently dead connection is noticed.
                health_check_interval=2,
            )
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not stop.is_set():
                    message = pubsub.get_message(timeout=0.25)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.subscribed.set()
                        handler(FLUSH)
                        log.info("subscribed to invalidation events")
                        backoff = 0.2
                    elif message["type"] == "message":
                        data = message["data"]
                        handler(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError) as exc:
                if self.subscribed.is_set():
                    self.subscribed.clear()
                    handler(FLUSH)
                self._warn("subscribe", exc)
            finally:
                self.subscribed.clear()
                try:
                    pubsub.close()
                    client.close()
                except (RedisError, OSError):
                    pass
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _warn(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at.get(what, -_WARN_EVERY) >= _WARN_EVERY:
            self._warned_at[what] = now
            log.warning(
                "redis unreachable for invalidation events (%s: %s); working on the database "
                "alone, other processes see revocations within the token cache lifetime",
                what,
                type(exc).__name__,
            )
