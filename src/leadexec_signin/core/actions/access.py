"""Minting and reading self-proving access tokens (``core/access_tokens.py``) with the MAC
keys held in memory: loaded once, reloaded when a token names a key this process has not seen
(another process made it), at most once a second so made-up kids cannot hammer storage."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from leadexec_signin.core import access_tokens, credentials
from leadexec_signin.core.access_tokens import Claims, MacKey
from leadexec_signin.core.actions.keys import KeysStore
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import ServerError

RELOAD_EVERY = 1.0
# Tokens whose MAC was checked, with the key object that checked it: the LeadExec API's
# check reads its token twice (for the grant to fetch, then in the check itself), and a
# second MAC and decode cost about 9 us of a 180 us call. Dropped whole when full.
VERIFIED_MAX = 4096


class AccessTokens:
    def __init__(self, store: KeysStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._keys: dict[str, MacKey] = {}
        self._newest: MacKey | None = None
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[MacKey, Claims]] = {}

    def ensure_key(self) -> None:
        """The first key, if there is none: at start-up (``Services.prepare``), and before
        the transaction of anything that mints (``ready``) when a process did not start up
        as a server (a script, a test)."""
        with self.store.transaction() as tx:
            if not tx.token_keys():
                tx.add_token_key(access_tokens.new_mac_key(self.clock.now()))
        self._load(force=True)

    def ready(self) -> None:
        """Called before opening the transaction that will mint: minting itself never writes."""
        if self._newest is None:
            self.ensure_key()

    def _load(self, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._loaded_at < RELOAD_EVERY:
                return
            self._loaded_at = time.monotonic()
            # A read transaction: minting happens inside the caller's writing transaction,
            # and on SQLite a second writer in the same thread would wait for itself.
            with self.store.reading() as tx:
                keys = tx.token_keys()
            self._keys = {k.kid: k for k in keys}
            self._newest = keys[-1] if keys else None

    def mint(
        self,
        grant_id: str,
        scopes: frozenset[str],
        expires_at: datetime,
        amr: tuple[str, ...] | None = None,
        jkt: str | None = None,
        aud: str | None = None,
    ) -> str:
        """``amr``: how the user signed in, carried by the token (None: not recorded).
        ``jkt``: the DPoP key the token is bound to (RFC 9449 section 6.1). ``aud``: the
        resource it is for (RFC 8707; None: none named)."""
        if self._newest is None:
            self._load(force=True)
        if self._newest is None:
            raise ServerError(debug="no access-token key: the server did not start up")
        return access_tokens.mint(self._newest, grant_id, scopes, expires_at, amr, jkt, aud)

    def secrets(self) -> list[bytes]:
        """Every key's secret, the newest first: what DPoP nonces are made and checked
        under (``core/dpop.py``), so every process accepts every other's."""
        if self._newest is None:
            self._load(force=True)
        ordered = sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)
        return [k.secret for k in ordered]

    def successors(self, refresh_token: str) -> list[str]:
        """The refresh token that replaces ``refresh_token`` when it is rotated, under each
        key, the newest first. Derived, not random: a retry of the same refresh (a response
        lost on the way, two tabs) is answered with the very same successor without storing
        it readably, and an attacker without the key cannot compute it."""
        if self._newest is None:
            self._load(force=True)
        ordered = sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)
        return [access_tokens.derive(k, b"rotate", refresh_token) for k in ordered]

    def grant_of(self, token: str) -> str | None:
        """The grant of a valid token under a key already loaded (never a read): None for
        anything else, including a token under a key this process has not seen yet."""
        if not credentials.looks_like(token, credentials.ACCESS):
            return None
        claims = self.read(token, load=False)
        return claims.grant_id if claims is not None else None

    def read(self, token: str, *, load: bool = True) -> Claims | None:
        """The claims of a well-formed token with a valid MAC, expired or not; an unknown key
        is looked for in the database (at most once a minute) unless ``load`` is false."""
        seen = self._verified.get(token)
        # Only under the very key object that verified it: a reload makes new objects, so a
        # key that was withdrawn since verifies nothing from here.
        if seen is not None and self._keys.get(seen[1].kid) is seen[0]:
            return seen[1]
        kid = access_tokens.kid_of(token)
        if kid is None:
            return None
        key = self._keys.get(kid)
        if key is None and load:
            self._load()
            key = self._keys.get(kid)
        claims = access_tokens.verify(token, key) if key is not None else None
        if claims is not None and key is not None:
            if len(self._verified) >= VERIFIED_MAX:
                self._verified = {}
            self._verified[token] = (key, claims)
        return claims
