"""SQL for the disconnect-notice outbox (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.notices import Notice
from leadexec_signin.storage.sql import tables as t


def _notice(row: Row[Any]) -> Notice:
    return Notice(
        id=row.id,
        app_id=row.app_id,
        url=row.url,
        body=row.body,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        kind=row.kind,
    )


class OutboxRepository:
    c: Connection

    def add_notice(self, notice: Notice, created_at: datetime) -> None:
        self.c.execute(
            insert(t.notices).values(
                id=notice.id,
                app_id=notice.app_id,
                url=notice.url,
                body=notice.body,
                attempts=notice.attempts,
                next_attempt_at=notice.next_attempt_at,
                created_at=created_at,
                kind=notice.kind,
            )
        )

    def due_notices(self, now: datetime, limit: int) -> list[Notice]:
        n = t.notices
        rows = self.c.execute(
            select(n)
            .where(n.c.delivered_at.is_(None), n.c.next_attempt_at <= now)
            .order_by(n.c.next_attempt_at)
            .limit(limit)
        )
        return [_notice(r) for r in rows]

    def lease_notice(self, notice: Notice, until: datetime) -> bool:
        """Compare-and-set on the due time: of two workers, only one wins the notice."""
        n = t.notices
        done = self.c.execute(
            update(n)
            .where(n.c.id == notice.id, n.c.next_attempt_at == notice.next_attempt_at)
            .values(next_attempt_at=until)
        )
        return done.rowcount == 1

    def finish_notice(
        self,
        notice_id: str,
        *,
        attempts: int,
        delivered_at: datetime | None,
        next_attempt_at: datetime | None,
        error: str,
    ) -> None:
        self.c.execute(
            update(t.notices)
            .where(t.notices.c.id == notice_id)
            .values(
                attempts=attempts,
                delivered_at=delivered_at,
                next_attempt_at=next_attempt_at,
                last_error=error[:200],
            )
        )

    def notice_backlog(self) -> tuple[int, int, datetime | None]:
        """Undelivered notices still to be tried, those given up, and when the oldest of the
        first kind was queued (read at scrape time, not on any request)."""
        n = t.notices
        waiting = n.c.delivered_at.is_(None)
        pending, oldest = self.c.execute(
            select(func.count(), func.min(n.c.created_at)).where(
                waiting, n.c.next_attempt_at.is_not(None)
            )
        ).one()
        abandoned = self.c.execute(
            select(func.count()).where(waiting, n.c.next_attempt_at.is_(None))
        ).scalar_one()
        return int(pending), int(abandoned), oldest
