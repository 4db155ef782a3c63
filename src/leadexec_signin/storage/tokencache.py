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

from leadexec_signin.core.ports import Found, Store, Tokens


class Events(Protocol):
    def publish(self, event: str) -> bool: ...
    def subscribe(self, handler: Any) -> None: ...
    def close(self) -> None: ...


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


class TokenChecks:
    """The LeadExec API's token lookup (``core.ports.AccessTokenLookup``) with the cache in
    front, and the other end of the storage's commit hook: what a commit changed is forgotten
    here, then published to the other processes."""

    def __init__(
        self,
        store: Store[Tokens],
        ttl_seconds: float,
        events: Events | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache = TokenCache(ttl_seconds, monotonic=monotonic)
        self.events = events
        self._listening = events is None

    def _read(self, token_hash: str) -> Found | None:
        with self.store.transaction() as tx:
            return tx.access_token_context(token_hash)

    def access_token_context(self, token_hash: str) -> Found | None:
        cache = self.cache
        if cache.ttl <= 0:
            return self._read(token_hash)
        self.listen()
        hit = cache.get(token_hash)
        if hit is not None:
            return hit
        generation, started = cache.generation, cache.monotonic()
        found = self._read(token_hash)
        if found is not None:
            cache.put(token_hash, found, generation, started)
        return found

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
