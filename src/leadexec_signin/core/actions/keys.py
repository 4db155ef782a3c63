"""The provider's signing keys: made at start-up (never on a GET), published as a JWKS."""

from __future__ import annotations

from typing import Protocol

from leadexec_signin.core import credentials
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import ServerError
from leadexec_signin.core.keys import (
    EDDSA,
    SigningKey,
    current_signing_key,
    new_signing_key,
    published_keys,
)
from leadexec_signin.core.ports import Keys, Store


class KeysTx(Keys, Protocol):
    pass


class SigningKeys:
    def __init__(self, store: Store[KeysTx], clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def ensure(self) -> None:
        """At start-up: a first key if there is none (two processes racing make two valid
        keys, both published)."""
        with self.store.transaction() as tx:
            if not tx.signing_keys():
                tx.add_signing_key(new_signing_key(credentials.new_id("key_"), self.clock.now()))

    def current(self) -> SigningKey:
        """The key that signs disconnect notices now: EdDSA, activated, not retired."""
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
        key = current_signing_key(keys, EDDSA, self.clock.now())
        if key is None:
            raise ServerError(debug="no active EdDSA signing key")
        return key

    def public_keys(self) -> list[dict[str, str]]:
        """Every key still published: the active ones, the next one (so partners cache it
        before it signs) and retired ones until their tokens and notices have expired."""
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
        return [k.public_jwk() for k in published_keys(keys, self.clock.now())]
