"""DPoP at the token endpoint and the resources (RFC 9449): a proof checked (``core/dpop.py``),
its nonce where one is required, and its ``jti`` used once across every process.

The check is split in two so the caller decides where each half runs
(``storage/placement.py``): :meth:`Dpop.check` is arithmetic (a signature), :meth:`Dpop.use`
writes the jti (the database, or Redis when configured: ``storage/replays.py``); a caller that
writes it another way (awaited on the event loop) takes :meth:`Dpop.replay_key` and hands the
answer to :meth:`Dpop.settle`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Protocol

from leadexec_signin.core import dpop
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.dpop import Proof
from leadexec_signin.core.errors import InvalidDpopProof, UseDpopNonce
from leadexec_signin.core.ports import Store


class UsedJtis(Protocol):
    def use_assertion(self, jti_hash: str, expires_at: datetime) -> bool: ...


class ProofReplays(Protocol):
    """Where used proofs are remembered until they are too old to be accepted anyway
    (``expires_at``: seconds since the epoch). The server's are the database's
    ``dpop_proofs`` (``storage/sql/hot.py``) and Redis (``storage/replays.py``)."""

    def first_use(self, key: str, expires_at: int) -> bool: ...


class StoredReplays:
    """Used proofs in a unit of work's table of used JWT ids (the core tests' stores)."""

    def __init__(self, store: Store[UsedJtis]) -> None:
        self.store = store

    def first_use(self, key: str, expires_at: int) -> bool:
        with self.store.transaction() as tx:
            return tx.use_assertion(key, datetime.fromtimestamp(expires_at, UTC))


class Dpop:
    def __init__(self, replays: ProofReplays, minter: AccessTokens, clock: Clock) -> None:
        self.replays = replays
        self.minter = minter
        self.clock = clock

    def check(
        self,
        proof: str,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce_required: bool = False,
    ) -> Proof:
        """Everything but single use. A nonce is checked where required, and wherever one
        is sent (a stale one is answered with a fresh one)."""
        now = int(self.clock.now().timestamp())
        found, nonce = dpop.verify(proof, method, url, now, access_token=access_token)
        if nonce_required or nonce is not None:
            try:
                dpop.check_nonce(nonce, self.minter.secrets(), now)
            except UseDpopNonce as exc:
                exc.nonce = self.nonce()
                raise
        return found

    def use(self, proof: Proof) -> None:
        """The jti, once per key: a second presentation is a replay."""
        self.settle(self.replays.first_use(*self.replay_key(proof)))

    @staticmethod
    def replay_key(proof: Proof) -> tuple[str, int]:
        """What a proof is remembered by (its key's thumbprint and its jti, hashed: a jti is
        the client's to choose, up to 256 characters) and until when (seconds): until it is
        too old to pass :meth:`check` anyway."""
        key = hashlib.sha256(f"dpop\0{proof.jkt}\0{proof.jti}".encode()).hexdigest()
        return key, proof.iat + dpop.MAX_AGE + 1

    @staticmethod
    def settle(first_use: bool) -> None:
        if not first_use:
            raise InvalidDpopProof("This DPoP proof was already used: make a new one per request.")

    def verify(
        self,
        proof: str,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce_required: bool = False,
    ) -> Proof:
        """Both halves in the caller's thread."""
        found = self.check(
            proof, method, url, access_token=access_token, nonce_required=nonce_required
        )
        self.use(found)
        return found

    def nonce(self) -> str:
        """The current nonce, for the ``DPoP-Nonce`` header."""
        secrets = self.minter.secrets()
        return dpop.make_nonce(secrets[0], int(self.clock.now().timestamp()))
