"""SQL for the provider's signing keys (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.keys import SigningKey
from leadexec_signin.storage.sql import tables as t


def _key(row: Row[Any]) -> SigningKey:
    return SigningKey(
        kid=row.kid,
        private_pem=row.private_pem,
        created_at=row.created_at,
        alg=row.alg,
        activates_at=row.activates_at,
        retired_at=row.retired_at,
        expires_at=row.expires_at,
    )


class KeyRepository:
    c: Connection

    def signing_keys(self) -> list[SigningKey]:
        """Every stored key, oldest first; ``core/keys.py`` decides which sign and which are
        published."""
        k = t.signing_keys
        rows = self.c.execute(select(k).order_by(k.c.created_at, k.c.kid))
        return [_key(r) for r in rows]

    def add_signing_key(self, key: SigningKey) -> None:
        self.c.execute(
            insert(t.signing_keys).values(
                kid=key.kid,
                private_pem=key.private_pem,
                created_at=key.created_at,
                alg=key.alg,
                activates_at=key.activates_at,
                retired_at=key.retired_at,
                expires_at=key.expires_at,
            )
        )

    def retire_signing_key(self, kid: str, at: datetime, expires_at: datetime | None) -> bool:
        """Stop the key signing from ``at`` and unpublish it from ``expires_at``; False if no
        such key. An earlier retirement stands: retiring twice never extends a key's use."""
        k = t.signing_keys
        done = self.c.execute(
            update(k)
            .where(k.c.kid == kid, k.c.retired_at.is_(None))
            .values(retired_at=at, expires_at=expires_at)
        )
        return done.rowcount == 1

    def set_signing_key_end(self, kid: str, retired_at: datetime, expires_at: datetime) -> bool:
        k = t.signing_keys
        done = self.c.execute(
            update(k).where(k.c.kid == kid).values(retired_at=retired_at, expires_at=expires_at)
        )
        return done.rowcount == 1
