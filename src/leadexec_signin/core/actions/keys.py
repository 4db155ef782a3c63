"""The provider's signing keys: made at start-up (never on a GET), published as a JWKS."""

from __future__ import annotations

from typing import Protocol

from leadexec_signin.core import credentials
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import ServerError
from leadexec_signin.core.keys import SigningKey, new_signing_key
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
        with self.store.transaction() as tx:
            keys = tx.signing_keys()
        if not keys:
            raise ServerError(debug="no signing key: the server did not start through compose")
        return keys[-1]

    def public_keys(self) -> list[dict[str, str]]:
        with self.store.transaction() as tx:
            return [k.public_jwk() for k in tx.signing_keys()]
