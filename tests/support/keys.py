"""RSA signing keys for the tests, from a pool: generating an RSA-2048 key costs 50-90 ms of
CPU, and every provider a test starts makes an RS256 signing key (``Services.prepare``), so
without a pool the suite spent about a minute of CPU on prime searches. Loading one back from
its PEM costs a few milliseconds more (the key is verified), once per provider and key: the
pool's PEMs are parsed once per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import count

import pytest

from leadexec_signin.core import keys

POOL_SIZE = 8


@contextmanager
def pooled_rsa_keys() -> Iterator[None]:
    """While open, ``core/keys.py`` draws its RSA keys from a pool of ``POOL_SIZE`` made on
    first use, in turn: keys made one after another (a rotation) still differ, and each is
    still stored, published and used by the code under test. Other algorithms are as fast
    to make as to copy and are made as usual. A PEM already loaded in this process is not
    loaded again (the keys are immutable, so the instances can be shared)."""
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
        patch.setattr(keys, "_load", lru_cache(maxsize=256)(keys._load))
        yield
