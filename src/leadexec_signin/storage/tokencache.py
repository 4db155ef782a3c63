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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from leadexec_signin.core.ports import Found, Grants, Reader, Tokens
from leadexec_signin.core.tokens import GrantContext
from leadexec_signin.metrics import CACHE_HIT, CACHE_MISS


class Checks(Grants, Tokens, Protocol):
    pass


class Events(Protocol):
    def publish(self, event: str) -> bool: ...
    def subscribe(self, handler: Any) -> None: ...
    def close(self) -> None: ...


@dataclass
class _Entry:
    ctx: GrantContext
    expires: float


class TokenCache:
    """Grant contexts by grant id (every access token of a grant shares one entry), indexed by
    application too, so a suspension forgets all of an application's grants at once."""

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
        self._by_app: dict[str, set[str]] = {}

    def get(self, grant_id: str) -> GrantContext | None:
        with self._lock:
            entry = self._entries.get(grant_id)
            if entry is None:
                return None
            if self.monotonic() >= entry.expires:
                self._drop(grant_id)
                return None
            return entry.ctx

    def put(self, ctx: GrantContext, generation: int, read_started: float) -> None:
        with self._lock:
            if generation != self.generation:
                return  # an invalidation overlapped the read: it may be stale already
            if len(self._entries) >= self.max_entries:
                self._prune()
            self._entries[ctx.grant.id] = _Entry(ctx, read_started + self.ttl)
            self._by_app.setdefault(ctx.app.id, set()).add(ctx.grant.id)

    def invalidate(self, event: str) -> None:
        kind, _, key = event.partition(":")
        with self._lock:
            self.generation += 1
            if kind == "grant":
                self._drop(key)
            elif kind == "app":
                for grant_id in self._by_app.get(key, set()).copy():
                    self._drop(grant_id)
            else:
                self._entries.clear()
                self._by_app.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, grant_id: str) -> None:
        entry = self._entries.pop(grant_id, None)
        if entry is None:
            return
        grants = self._by_app.get(entry.ctx.app.id)
        if grants is not None:
            grants.discard(grant_id)
            if not grants:
                del self._by_app[entry.ctx.app.id]

    def _prune(self) -> None:
        now = self.monotonic()
        for grant_id in [g for g, e in self._entries.items() if now >= e.expires]:
            self._drop(grant_id)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
            self._by_app.clear()


class TokenChecks:
    """The LeadExec API's grant lookup (``core.ports.GrantLookup``) with the cache in front,
    and the other end of the storage's commit hook: what a commit changed is forgotten here,
    then published to the other processes."""

    def __init__(
        self,
        store: Reader[Checks],
        ttl_seconds: float,
        events: Events | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache = TokenCache(ttl_seconds, monotonic=monotonic)
        self.events = events
        self._listening = events is None

    def _read(self, grant_id: str) -> GrantContext | None:
        with self.store.reading() as tx:
            return tx.grant_context(grant_id)

    def grant_context(self, grant_id: str) -> GrantContext | None:
        cache = self.cache
        if cache.ttl <= 0:
            return self._read(grant_id)
        self.listen()
        hit = cache.get(grant_id)
        if hit is not None:
            CACHE_HIT.inc()
            return hit
        CACHE_MISS.inc()
        generation, started = cache.generation, cache.monotonic()
        found = self._read(grant_id)
        if found is not None:
            cache.put(found, generation, started)
        return found

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
            self.events.subscribe(self.cache.invalidate)

    def after_commit(self, changes: list[str]) -> None:
        """Called by the storage once a transaction that changed a token check committed:
        forget here first (this process never sees its own writes late), then tell the others."""
        for change in changes:
            self.cache.invalidate(change)
        if self.events is not None:
            for change in changes:
                self.events.publish(change)

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
