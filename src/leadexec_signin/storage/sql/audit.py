"""SQL for the audit trail (mixed into ``SqlTransaction``): one insert per event, and the
operators' search, newest first, paged by id (a keyset: page 1,000 costs what page 1 does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.audit import AuditEvent, AuditFilter
from leadexec_signin.storage.sql import tables as t


def _event(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        at=row.at,
        event=row.event,
        user_id=row.user_id,
        app_id=row.app_id,
        ip=row.ip,
        detail=dict(row.detail or {}),
        actor=row.actor,
        subject=row.subject,
        user_agent=row.user_agent,
        request_id=row.request_id,
        id=row.id,
    )


class AuditRepository:
    c: Connection

    def record(self, event: AuditEvent) -> None:
        self.c.execute(
            insert(t.audit_events).values(
                at=event.at,
                event=event.event,
                user_id=event.user_id,
                app_id=event.app_id,
                ip=event.ip,
                detail=event.detail,
                actor=event.actor,
                subject=event.subject,
                user_agent=event.user_agent,
                request_id=event.request_id,
            )
        )

    def audit_events(
        self, where: AuditFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[AuditEvent]:
        a = t.audit_events
        q = select(a).order_by(a.c.id.desc()).limit(limit)
        if where.user_id is not None:
            q = q.where(a.c.user_id == where.user_id)
        if where.app_id is not None:
            q = q.where(a.c.app_id == where.app_id)
        if where.kind is not None:
            q = q.where(a.c.event == where.kind)
        if where.since is not None:
            q = q.where(a.c.at >= where.since)
        if where.until is not None:
            q = q.where(a.c.at < where.until)
        if before_id is not None:
            q = q.where(a.c.id < before_id)
        return [_event(r) for r in self.c.execute(q)]

    def delete_audit_events(self, before: datetime) -> int:
        a = t.audit_events
        return self.c.execute(delete(a).where(a.c.at < before)).rowcount or 0
