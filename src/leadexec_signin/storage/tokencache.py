"""A per-process cache of access-token checks, in front of the storage's token lookup.

Every LeadExec API call checks its access token; with this in front, a token checked in the
last ``token_cache_ms`` is answered from memory without touching the database. Only tokens
that were found are remembered: a token issued by another process a moment ago is never
"unknown" here.

Staleness is bounded three ways:
- every entry expires ``ttl`` after the database read that produced it started (at most 1 s),
  whatever happens to Redis;
- the storage announces, after commit, each change that alters what a token check answers
  (a grant revoked, an application's status changed: ``SqlTransaction.changes``); this
  process forgets the affected entries before the transaction returns, so it never sees its
  own writes late, and unrelated writes (a password rehash, wider scopes) keep the cache;
- the same announcement is published (``events.py``) and clears them in every other process.
A database read that overlaps an invalidation is not cached (the generation check), so a read
that started before a revocation cannot put the revoked token back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from leadexec_signin.core.apps import APPROVED, PENDING, Application
from leadexec_signin.core.client_documents import lookup_client
from leadexec_signin.core.ports import Apps, Found, Reader
from leadexec_signin.core.tokens import GrantContext, RefreshGrant
from leadexec_signin.metrics import CACHE_HIT, CACHE_MISS, REFRESH_HIT, REFRESH_MISS
from leadexec_signin.storage.events import grant_event

if TYPE_CHECKING:
    from leadexec_signin.metrics import Bound

V = TypeVar("V")


class Source(Protocol):
    """The uncached reads (``storage/sql/hot.py``): the driver, no transaction."""

    def refresh_grant(self, token_hash: str) -> RefreshGrant | None: ...
    def grant_context(self, grant_id: str) -> GrantContext | None: ...


class StoreReads(Apps, Protocol):
    def access_token_context(self, token_hash: str) -> Found | None: ...


class Events(Protocol):
    def publish(self, event: str) -> bool: ...
    def subscribe(self, handler: Any) -> None: ...
    def close(self) -> None: ...


@dataclass
class _Entry(Generic[V]):
    value: V
    grant_id: str
    app_id: str
    expires: float


class TokenCache(Generic[V]):
    """Values by key (a grant id for token checks, a refresh token's hash for exchanges),
    indexed by grant and by application, so a revocation forgets every entry of its grant and
    a suspension every entry of its application at once."""

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
        self._entries: dict[str, _Entry[V]] = {}
        self._by_grant: dict[str, set[str]] = {}
        self._by_app: dict[str, set[str]] = {}

    def get(self, key: str, margin: float = 0.0) -> V | None:
        """The value, if it is still fresh ``margin`` seconds from now."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self.monotonic() + margin >= entry.expires:
                if margin == 0.0:
                    self._drop(key)
                return None
            return entry.value

    def put(
        self, key: str, value: V, grant_id: str, app_id: str, generation: int, read_started: float
    ) -> None:
        with self._lock:
            if generation != self.generation:
                return  # an invalidation overlapped the read: it may be stale already
            if len(self._entries) >= self.max_entries:
                self._prune()
            self._drop(key)
            self._entries[key] = _Entry(value, grant_id, app_id, read_started + self.ttl)
            self._by_grant.setdefault(grant_id, set()).add(key)
            self._by_app.setdefault(app_id, set()).add(key)

    def invalidate(self, event: str) -> None:
        kind, _, key = event.partition(":")
        with self._lock:
            self.generation += 1
            if kind == "grant":
                for k in self._by_grant.get(key, set()).copy():
                    self._drop(k)
            elif kind == "app":
                for k in self._by_app.get(key, set()).copy():
                    self._drop(k)
            else:
                self._clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _clear(self) -> None:
        self._entries.clear()
        self._by_grant.clear()
        self._by_app.clear()

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for index, owner in ((self._by_grant, entry.grant_id), (self._by_app, entry.app_id)):
            keys = index.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[owner]

    def _prune(self) -> None:
        now = self.monotonic()
        for key in [k for k, e in self._entries.items() if now >= e.expires]:
            self._drop(key)
        if len(self._entries) >= self.max_entries:
            self._clear()


class TokenChecks:
    """The token reads (``core.ports.TokenReads``) with the cache in front: the one decorator
    over the refresh exchange's read and the API's grant read, and the other end of the
    storage's commit hook: what a commit changed is forgotten here, then published to the
    other processes. ``peek_*`` answer from memory only, for a caller deciding whether a
    request can run without waiting (``storage/placement.py``)."""

    def __init__(
        self,
        store: Reader[StoreReads],
        source: Source,
        ttl_seconds: float,
        events: Events | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.source = source
        self.cache: TokenCache[GrantContext] = TokenCache(ttl_seconds, monotonic=monotonic)
        # The seed's refresh exchange, by the refresh token's hash: a backend that trades the
        # same refresh token again and again (before every call, or many processes of one
        # backend) reads it once per ``ttl``. Cleared by the same announcements.
        # At most a few thousand live at once (one per token exchanged within ``ttl``), so a
        # backend trading many tokens at random costs a few megabytes, not the cache's worth.
        self.refresh: TokenCache[RefreshGrant] = TokenCache(
            ttl_seconds, max_entries=5000, monotonic=monotonic
        )
        # Clients by the id they authenticate with, for a rotation run on the event loop
        # (``storage/placement.py``); cleared by the application's announcements.
        self.clients: TokenCache[Application] = TokenCache(
            ttl_seconds, max_entries=1000, monotonic=monotonic
        )
        self.events = events
        self._listening = events is None

    def grant_context(self, grant_id: str) -> GrantContext | None:
        cache = self.cache
        if cache.ttl <= 0:
            return self.source.grant_context(grant_id)
        self.listen()
        hit = cache.get(grant_id)
        if hit is not None:
            CACHE_HIT.inc()
            return hit
        CACHE_MISS.inc()
        generation, started = cache.generation, cache.monotonic()
        found = self.source.grant_context(grant_id)
        if found is not None:
            cache.put(grant_id, found, grant_id, found.app.id, generation, started)
        return found

    def refresh_grant(self, token_hash: str) -> RefreshGrant | None:
        cache = self.refresh
        if cache.ttl <= 0:
            return self.source.refresh_grant(token_hash)
        self.listen()
        hit = cache.get(token_hash)
        if hit is not None:
            REFRESH_HIT.inc()
            return hit
        REFRESH_MISS.inc()
        generation, started = cache.generation, cache.monotonic()
        found = self.source.refresh_grant(token_hash)
        self._remember_refresh(token_hash, found, generation, started)
        return found

    async def read_refresh_ahead(
        self, token_hash: str, read: Callable[[str], Awaitable[RefreshGrant | None]]
    ) -> RefreshGrant | None:
        """``read`` awaits the database (no thread); what it finds is remembered as a
        cached read would be, and handed back for the exchange to run on."""
        cache = self.refresh
        if cache.ttl <= 0:
            return await read(token_hash)
        self.listen()
        REFRESH_MISS.inc()
        generation, started = cache.generation, cache.monotonic()
        found = await read(token_hash)
        self._remember_refresh(token_hash, found, generation, started)
        return found

    async def read_grant_ahead(
        self, grant_id: str, read: Callable[[str], Awaitable[GrantContext | None]]
    ) -> GrantContext | None:
        """The token check's grant read awaited on the event loop (no thread), remembered as
        a cached read would be, and handed back for the check to run on."""
        cache = self.cache
        if cache.ttl <= 0:
            return await read(grant_id)
        self.listen()
        CACHE_MISS.inc()
        generation, started = cache.generation, cache.monotonic()
        found = await read(grant_id)
        if found is not None:
            cache.put(grant_id, found, grant_id, found.app.id, generation, started)
        return found

    def _remember_refresh(
        self, token_hash: str, found: RefreshGrant | None, generation: int, started: float
    ) -> None:
        # Only what an exchange would accept: a refusal (a revoked grant, a suspended
        # application) is read again next time, so undoing it is seen at once everywhere.
        if found is not None and found.grant.active and found.app.status in (APPROVED, PENDING):
            self.refresh.put(token_hash, found, found.grant.id, found.app.id, generation, started)

    def client(self, client_id: str) -> Application | None:
        """A registered client by its id (``lookup_client``: never a metadata document's,
        whose use checks its document first), read in a unit of its own and remembered
        as the other reads are; an unusable one is read again next time."""
        cache = self.clients
        self.listen()
        generation, started = cache.generation, cache.monotonic()
        with self.store.reading() as tx:
            found = lookup_client(tx, client_id, documents=False)
        if found is not None and found.status in (APPROVED, PENDING) and cache.ttl > 0:
            cache.put(client_id, found, found.id, found.id, generation, started)
        return found

    def peek_client(self, client_id: str) -> Application | None:
        """The cached client, if it stays fresh 50 ms more; never reads."""
        return self._peek(self.clients, client_id)

    def peek_grant(self, grant_id: str) -> GrantContext | None:
        """The cached grant, if it stays fresh 50 ms more; never reads."""
        return self._peek(self.cache, grant_id, CACHE_HIT)

    def peek_refresh(self, token_hash: str) -> RefreshGrant | None:
        """The cached refresh read, if it stays fresh 50 ms more; never reads."""
        return self._peek(self.refresh, token_hash, REFRESH_HIT)

    def _peek(self, cache: TokenCache[V], key: str, hits: Bound | None = None) -> V | None:
        """``hits``: the counter a hit adds to (clients have none of their own)."""
        if cache.ttl <= 0:
            return None
        self.listen()
        hit = cache.get(key, margin=0.05)
        if hit is not None and hits is not None:
            hits.inc()
        return hit

    def invalidate(self, event: str) -> None:
        kind, _, key = event.partition(":")
        if kind == "scopes":  # only what an exchange mints changed
            self.refresh.invalidate(grant_event(key))
            return
        self.cache.invalidate(event)
        self.refresh.invalidate(event)
        self.clients.invalidate(event)

    def access_token_context(self, token_hash: str) -> Found | None:
        """Tokens from before self-proving ones: read every time (they are gone within the
        hour after an upgrade)."""
        with self.store.reading() as tx:
            return tx.access_token_context(token_hash)

    def listen(self) -> None:
        """Subscribe on first use of the cache: a command-line run only ever publishes."""
        if not self._listening:
            self._listening = True
            assert self.events is not None
            self.events.subscribe(self.invalidate)

    def after_commit(self, changes: list[str]) -> None:
        """Called by the storage once a transaction that changed a token check committed:
        forget here first (this process never sees its own writes late), then tell the others."""
        for change in changes:
            self.invalidate(change)
        if self.events is not None:
            for change in changes:
                self.events.publish(change)

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
            self._listening = False  # the next use of the cache subscribes again
