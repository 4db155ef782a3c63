"""The disconnect-notice outbox: lease what is due, then record each delivery's outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadexec_signin.core import notices
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.ports import Notices, Reader, Store

log = logging.getLogger("leadexec_signin.core")


@dataclass(frozen=True)
class NoticeBacklog:
    """The outbox as an operator watches it: what waits, what was given up, how long the
    oldest has waited (a partner endpoint down for hours shows here first)."""

    pending: int
    abandoned: int
    oldest_age_seconds: float


class NoticesTx(Notices, Protocol):
    def notice_backlog(self) -> tuple[int, int, datetime | None]: ...


class NoticeStore(Store[NoticesTx], Reader[NoticesTx], Protocol):
    pass


class NoticeOutbox:
    def __init__(self, store: NoticeStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def take_due(self, limit: int = 20) -> list[Notice]:
        now = self.clock.now()
        with self.store.transaction() as tx:
            due = tx.due_notices(now, limit)
            return [n for n in due if tx.lease_notice(n, now + notices.LEASE)]

    def backlog(self) -> NoticeBacklog:
        # A read: on SQLite it takes no write lock, so a scrape never waits behind a writer.
        with self.store.reading() as tx:
            pending, abandoned, oldest = tx.notice_backlog()
        age = (self.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        return NoticeBacklog(pending, abandoned, max(0.0, age))

    def finish(self, notice: Notice, *, delivered: bool, error: str = "") -> None:
        now = self.clock.now()
        attempts = notice.attempts + 1
        if delivered:
            next_at, done_at = None, now
        elif attempts >= notices.MAX_ATTEMPTS:
            next_at, done_at = None, None  # given up; kept for the operator to see
            log.warning("notice %s to app %s abandoned: %s", notice.id, notice.app_id, error)
        else:
            next_at, done_at = now + notices.backoff(attempts), None
        with self.store.transaction() as tx:
            tx.finish_notice(
                notice.id,
                attempts=attempts,
                delivered_at=done_at,
                next_attempt_at=next_at,
                error=error,
            )
