"""A per-process cache of access-token checks, in front of any :class:`Storage`.

Every LeadExec API call checks its access token; with this in front, a token checked in the
last ``token_cache_ms`` is answered from memory without touching the database (the
transaction opens its connection only when something is not cached). Only tokens that were
found are remembered: a token issued by another process a moment ago is never "unknown" here.

Staleness is bounded three ways:
- every entry expires ``ttl`` after the database read that produced it started (at most 1 s,
  the SPEC's bound), whatever happens to Redis;
- a commit in this process that revokes a grant, changes an application's status or makes any
  change this module does not know to be harmless clears the affected entries before the
  transaction returns, so this process never sees its own writes late;
- the same commit publishes an event (``events.py``) that clears them in every other process.
A database read that overlaps an invalidation is not cached (the generation check), so a read
that started before a revocation cannot put the revoked token back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from leadexec_signin.core.ports import Transaction
from leadexec_signin.core.tokens import AccessToken, TokenContext
from leadexec_signin.storage.events import FLUSH, app_event, grant_event

Found = tuple[AccessToken, TokenContext]

# Transaction methods known to leave every cached token check true: reads, and writes of new
# rows or of fields a token check does not use. Any other method (including ones added later)
# counts as a change that may matter and flushes the cache, so a new port is safe by default.
_HARMLESS = frozenset(
    {
        "user_by_id",
        "user_by_email",
        "app_by_id",
        "list_apps",
        "button_by_id",
        "active_grant",
        "grant_by_id",
        "grants_for_user",
        "refresh_token_context",
        "access_token_context",
        "session_by_hash",
        "add_user",
        "add_app",
        "add_button",
        "add_grant",
        "touch_grant",
        "add_refresh_token",
        "add_access_token",
        "add_code",
        "take_code",
        "delete_expired",
        "add_session",
        "touch_session",
        "delete_session",
        "record",
        "signing_keys",
        "add_signing_key",
        "add_notice",
        "due_notices",
        "lease_notice",
        "finish_notice",
        "notices_for_app",
        "apps_for_owner",
        "buttons_for_app",
    }
)


class Events(Protocol):
    def publish(self, event: str) -> bool: ...
    def subscribe(self, handler: Any) -> None: ...
    def close(self) -> None: ...


class Inner(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def ping(self) -> None: ...


@dataclass
class _Entry:
    found: Found
    expires: float


class TokenCache:
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 20000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self.max_entries = max_entries
        self.generation = 0
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._by_grant: dict[str, set[str]] = {}
        self._by_app: dict[str, set[str]] = {}

    def get(self, token_hash: str) -> Found | None:
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            if self.monotonic() >= entry.expires:
                self._drop(token_hash)
                return None
            return entry.found

    def put(self, token_hash: str, found: Found, generation: int, read_started: float) -> None:
        with self._lock:
            if generation != self.generation:
                return  # an invalidation overlapped the read: it may be stale already
            if len(self._entries) >= self.max_entries:
                self._prune()
            access, ctx = found
            self._entries[token_hash] = _Entry(found, read_started + self.ttl)
            self._by_grant.setdefault(access.grant_id, set()).add(token_hash)
            self._by_app.setdefault(ctx.app.id, set()).add(token_hash)

    def invalidate(self, event: str) -> None:
        kind, _, key = event.partition(":")
        with self._lock:
            self.generation += 1
            if kind == "grant":
                for token_hash in self._by_grant.get(key, set()).copy():
                    self._drop(token_hash)
            elif kind == "app":
                for token_hash in self._by_app.get(key, set()).copy():
                    self._drop(token_hash)
            else:
                self._entries.clear()
                self._by_grant.clear()
                self._by_app.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, token_hash: str) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is None:
            return
        access, ctx = entry.found
        for index, key in ((self._by_grant, access.grant_id), (self._by_app, ctx.app.id)):
            hashes = index.get(key)
            if hashes is not None:
                hashes.discard(token_hash)
                if not hashes:
                    del index[key]

    def _prune(self) -> None:
        now = self.monotonic()
        for token_hash in [h for h, e in self._entries.items() if now >= e.expires]:
            self._drop(token_hash)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
            self._by_grant.clear()
            self._by_app.clear()


class _CachingTransaction:
    """Opens the inner transaction on first need; records what it changed for after commit."""

    def __init__(self, storage: CachingStorage, stack: ExitStack) -> None:
        self._storage = storage
        self._stack = stack
        self._tx: Transaction | None = None
        self.events: list[str] = []

    def _real(self) -> Transaction:
        if self._tx is None:
            self._tx = self._stack.enter_context(self._storage.inner.transaction())
        return self._tx

    def access_token_context(self, token_hash: str) -> Found | None:
        cache = self._storage.cache
        if cache.ttl <= 0:
            return self._real().access_token_context(token_hash)
        self._storage.listen()
        hit = cache.get(token_hash)
        if hit is not None:
            return hit
        generation, started = cache.generation, cache.monotonic()
        found = self._real().access_token_context(token_hash)
        if found is not None:
            cache.put(token_hash, found, generation, started)
        return found

    def revoke_grant(self, grant_id: str, at: Any) -> bool:
        self.events.append(grant_event(grant_id))
        return self._real().revoke_grant(grant_id, at)

    def set_app_status(self, app_id: str, status: str) -> None:
        self.events.append(app_event(app_id))
        self._real().set_app_status(app_id, status)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real(), name)
        if name not in _HARMLESS and FLUSH not in self.events:
            self.events.append(FLUSH)
        return attr


class CachingStorage:
    def __init__(
        self,
        inner: Inner,
        ttl_seconds: float,
        events: Events | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.cache = TokenCache(ttl_seconds, monotonic=monotonic)
        self.events = events
        self._listening = events is None

    def listen(self) -> None:
        """Subscribe on first use of the cache: a command-line run only ever publishes."""
        if not self._listening:
            self._listening = True
            assert self.events is not None
            self.events.subscribe(self.cache.invalidate)

    @property
    def engine(self) -> Any:
        return self.inner.engine  # type: ignore[attr-defined]

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with ExitStack() as stack:
            tx = _CachingTransaction(self, stack)
            yield tx  # type: ignore[misc]
        # Committed (an exception would have left above): forget here, then tell the others.
        for event in tx.events:
            self.cache.invalidate(event)
        if self.events is not None:
            for event in tx.events:
                self.events.publish(event)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
