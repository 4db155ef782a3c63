"""The provider's signing keys: made at start-up (never on a GET), published as a JWKS."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from leadexec_signin.core import credentials
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import ServerError
from leadexec_signin.core.keys import (
    ALGORITHMS,
    EDDSA,
    SigningKey,
    current_signing_key,
    new_signing_key,
    published_keys,
)
from leadexec_signin.core.ports import Keys, Reader, Store


class KeysTx(Keys, Protocol):
    pass


# Keys are read again at most this often (seconds): an RSA key costs a millisecond to parse,
# and a rotation is published ahead of its activation, so a minute late is harmless.
RELOAD_EVERY = 60.0


class KeysStore(Store[KeysTx], Reader[KeysTx], Protocol):
    pass


class SigningKeys:
    def __init__(self, store: KeysStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """At start-up: a first key of each algorithm if there is none (EdDSA signs notices;
        RS256, which OpenID Connect requires, ES256 and EdDSA sign ID tokens as each client
        chose). Two processes racing make two valid keys, both published."""
        with self.store.transaction() as tx:
            have = {k.alg for k in tx.signing_keys()}
            for alg in ALGORITHMS:
                if alg not in have:
                    key = new_signing_key(credentials.new_id("key_"), self.clock.now(), alg)
                    tx.add_signing_key(key)
        self._loaded_at = float("-inf")

    def _all(self) -> list[SigningKey]:
        with self._lock:
            if time.monotonic() - self._loaded_at >= RELOAD_EVERY:
                # A read transaction: tokens are signed inside the caller's writing one, and
                # on SQLite a second writer in the same thread would wait for itself.
                with self.store.reading() as tx:
                    found = tx.signing_keys()
                # Keep the parsed instances of keys already known (their cached private key).
                known = {k.kid: k for k in self._keys}
                self._keys = [known[k.kid] if known.get(k.kid) == k else k for k in found]
                self._loaded_at = time.monotonic()
            return self._keys

    def loaded(self) -> bool:
        """Whether a signature now reads nothing (the keys were read within the minute, with
        a second to spare): a caller that must not wait on the database checks it first."""
        return time.monotonic() - self._loaded_at < RELOAD_EVERY - 1.0

    def load(self) -> None:
        """Read the keys now if they are due, for a caller about to sign without waiting."""
        self._all()

    def reload(self) -> None:
        """Read the keys again at the next use (after a rotation in this process)."""
        self._loaded_at = float("-inf")

    def current(self, alg: str = EDDSA) -> SigningKey:
        """The key that signs with ``alg`` now: activated, not retired (EdDSA: notices)."""
        key = current_signing_key(self._all(), alg, self.clock.now())
        if key is None:
            self._loaded_at = float("-inf")  # a key made since: look once more
            key = current_signing_key(self._all(), alg, self.clock.now())
        if key is None:
            raise ServerError(debug=f"no active {alg} signing key")
        return key

    def published(self) -> list[SigningKey]:
        """The keys a signature of ours may be checked with (``id_token_hint``, JWT access
        tokens): the same set the JWKS lists."""
        return published_keys(self._all(), self.clock.now())

    def public_keys(self) -> list[dict[str, str]]:
        """Every key still published: the active ones, the next one (so partners cache it
        before it signs) and retired ones until their tokens and notices have expired."""
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
        return [k.public_jwk() for k in published_keys(keys, self.clock.now())]
