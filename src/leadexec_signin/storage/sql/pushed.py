"""SQL for pushed authorization requests (RFC 9126): a row per ``request_uri``, found by its
hash, opened once and answered once by conditional updates (mixed into ``SqlTransaction``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.pushed_requests import PushedRequest
from leadexec_signin.storage.sql import tables as t


class PushedRepository:
    c: Connection

    def add_pushed_request(self, pushed: PushedRequest) -> None:
        self.c.execute(
            insert(t.pushed_requests).values(
                request_uri_hash=pushed.request_uri_hash,
                app_id=pushed.app_id,
                params=json.dumps(pushed.params, separators=(",", ":"), sort_keys=True),
                created_at=pushed.created_at,
                expires_at=pushed.expires_at,
            )
        )

    def pushed_request(self, request_uri_hash: str) -> PushedRequest | None:
        p = t.pushed_requests
        row = self.c.execute(select(p).where(p.c.request_uri_hash == request_uri_hash)).first()
        if row is None:
            return None
        return PushedRequest(
            request_uri_hash=row.request_uri_hash,
            app_id=row.app_id,
            params=json.loads(row.params),
            created_at=row.created_at,
            expires_at=row.expires_at,
            opened_at=row.opened_at,
            used_at=row.used_at,
        )

    def open_pushed_request(self, request_uri_hash: str, at: datetime, until: datetime) -> None:
        p = t.pushed_requests
        self.c.execute(
            update(p)
            .where(p.c.request_uri_hash == request_uri_hash, p.c.opened_at.is_(None))
            .values(opened_at=at, expires_at=until)
        )

    def use_pushed_request(self, request_uri_hash: str, at: datetime) -> bool:
        p = t.pushed_requests
        # RETURNING, not rowcount (psycopg reports -1 for an UPDATE SQLAlchemy compiled).
        done = self.c.execute(
            update(p)
            .where(p.c.request_uri_hash == request_uri_hash, p.c.used_at.is_(None))
            .values(used_at=at)
            .returning(p.c.request_uri_hash)
        )
        return done.first() is not None

    def delete_expired_pushed_requests(self, now: datetime) -> int:
        p = t.pushed_requests
        return self.c.execute(delete(p).where(p.c.expires_at <= now)).rowcount
