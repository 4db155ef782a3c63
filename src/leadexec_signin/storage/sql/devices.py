"""SQL for the device authorization grant (RFC 8628): a device code's row, found by the
device's polling or by the person's user code, and its conditional state changes (mixed
into ``SqlTransaction``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.device_codes import APPROVED, DONE, PENDING, DeviceCode
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import joined, scopes_of

# An expired code is kept this long, so a device still polling hears expired_token.
KEEP_EXPIRED = timedelta(hours=1)


def _device_code(row: Any) -> DeviceCode:
    return DeviceCode(
        device_code_hash=row.device_code_hash,
        user_code_hash=row.user_code_hash,
        app_id=row.app_id,
        scopes=scopes_of(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        interval=row.interval,
        polled_at=row.polled_at,
        status=row.status,
        user_id=row.user_id,
        auth_time=row.auth_time,
        sid=row.sid,
        resource=row.resource,
    )


class DeviceRepository:
    c: Connection

    def add_device_code(self, code: DeviceCode) -> None:
        self.c.execute(
            insert(t.device_codes).values(
                device_code_hash=code.device_code_hash,
                user_code_hash=code.user_code_hash,
                app_id=code.app_id,
                scopes=joined(code.scopes),
                created_at=code.created_at,
                expires_at=code.expires_at,
                interval=code.interval,
                status=code.status,
                resource=code.resource,
            )
        )

    def device_code(self, device_code_hash: str) -> DeviceCode | None:
        d = t.device_codes
        # Locked: two polls at once must not both take the tokens or both skip slow_down.
        row = self.c.execute(
            select(d).where(d.c.device_code_hash == device_code_hash).with_for_update()
        ).first()
        return _device_code(row) if row is not None else None

    def device_code_by_user_code(self, user_code_hash: str) -> DeviceCode | None:
        d = t.device_codes
        row = self.c.execute(select(d).where(d.c.user_code_hash == user_code_hash)).first()
        return _device_code(row) if row is not None else None

    def poll_device_code(self, device_code_hash: str, at: datetime, interval: int) -> None:
        d = t.device_codes
        self.c.execute(
            update(d)
            .where(d.c.device_code_hash == device_code_hash)
            .values(polled_at=at, interval=interval)
        )

    def decide_device_code(
        self,
        user_code_hash: str,
        status: str,
        now: datetime,
        *,
        user_id: str,
        auth_time: datetime | None,
        sid: str,
    ) -> bool:
        """Pending and unexpired to ``status``, once: of two people entering the same code,
        one decides."""
        d = t.device_codes
        done = self.c.execute(
            update(d)
            .where(
                d.c.user_code_hash == user_code_hash,
                d.c.status == PENDING,
                d.c.expires_at > now,
            )
            .values(status=status, user_id=user_id, auth_time=auth_time, sid=sid)
            .returning(d.c.device_code_hash)
        )
        return done.first() is not None

    def finish_device_code(self, device_code_hash: str) -> bool:
        """Approved to done, once: the tokens of a device code are issued a single time."""
        d = t.device_codes
        done = self.c.execute(
            update(d)
            .where(d.c.device_code_hash == device_code_hash, d.c.status == APPROVED)
            .values(status=DONE)
            .returning(d.c.device_code_hash)
        )
        return done.first() is not None

    def delete_expired_device_codes(self, now: datetime) -> int:
        d = t.device_codes
        return self.c.execute(delete(d).where(d.c.expires_at <= now - KEEP_EXPIRED)).rowcount
