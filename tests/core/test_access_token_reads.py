"""Reading access tokens with the keys in memory (``core/actions/access.py``): a token read
once is answered again without a second MAC, but only while the key that verified it is still
the one loaded."""

from __future__ import annotations

import secrets
from datetime import timedelta

from token_fakes import MemoryStore, MemoryTx

from leadexec_signin.core import access_tokens
from leadexec_signin.core.access_tokens import MacKey
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.clock import FrozenClock

GRANT = "grt_" + "G" * 22
SCOPES = frozenset({"profile", "email"})


def minted() -> tuple[AccessTokens, MemoryTx, str]:
    clock = FrozenClock()
    tx = MemoryTx()
    minter = AccessTokens(MemoryStore(tx), clock)
    minter.ensure_key()
    token = minter.mint(GRANT, SCOPES, clock.now() + timedelta(hours=1))
    return minter, tx, token


def test_a_token_read_twice_gives_the_same_claims() -> None:
    minter, _tx, token = minted()
    first = minter.read(token)
    assert first is not None and first.grant_id == GRANT and first.scopes == SCOPES
    assert minter.read(token) == first
    assert minter.grant_of(token) == GRANT


def test_a_token_read_before_its_key_was_replaced_is_refused_after() -> None:
    minter, tx, token = minted()
    assert minter.read(token) is not None
    # The same key id with another secret, loaded: what verified the token is gone.
    kid = tx.keys[0].kid
    tx.keys[:] = [MacKey(kid, secrets.token_bytes(32), tx.keys[0].created_at)]
    minter.ensure_key()  # reloads the keys
    assert minter.read(token) is None
    assert minter.grant_of(token) is None


def test_a_changed_character_is_refused_after_the_genuine_token_was_read() -> None:
    minter, _tx, token = minted()
    assert minter.read(token) is not None
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert minter.read(forged) is None
    assert access_tokens.kid_of(forged) is not None  # well-formed: refused by its MAC
