"""RSA signing keys for the tests, from a pool: generating an RSA-2048 key costs 50-90 ms of
CPU, and every provider a test starts makes an RS256 signing key (``Services.prepare``), so
without a pool the suite spent about a minute of CPU on prime searches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import pytest

from leadexec_signin.core import keys

POOL_SIZE = 8


@contextmanager
def pooled_rsa_keys() -> Iterator[None]:
    """While open, ``core/keys.py`` draws its RSA keys from a pool of ``POOL_SIZE`` made on
    first use, in turn: keys made one after another (a rotation) still differ, and each is
    still stored, published and used by the code under test. Other algorithms are as fast
    to make as to copy and are made as usual."""
    made = keys._generate
    pool: list[keys.PrivateKey] = []
    turn = count()

    def generate(alg: str) -> keys.PrivateKey:
        if alg != keys.RS256:
            return made(alg)
        i = next(turn) % POOL_SIZE
        if i == len(pool):
            pool.append(made(alg))
        return pool[i]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "_generate", generate)
        yield
