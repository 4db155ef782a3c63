"""Sweeping what can never be used again, retiring refresh tokens nobody uses, deleting
self-registered clients nobody uses, and forgetting audit events past their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.actions.self_registration import SelfRegistration
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.ports import (
    Audit,
    AuditLog,
    DeviceCodes,
    Store,
    Tokens,
)
from leadexec_signin.core.pushed_requests import PushedRequests
from leadexec_signin.settings import Settings


class HousekeepingTx(Tokens, Audit, AuditLog, DeviceCodes, PushedRequests, Protocol):
    pass


class Housekeeping:
    def __init__(
        self,
        store: Store[HousekeepingTx],
        clock: Clock,
        settings: Settings,
        usage: UsageLog,
        self_registration: SelfRegistration | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.usage = usage
        self.self_registration = self_registration

    def delete_expired(self) -> int:
        """Expired access tokens, codes and sessions, refresh tokens unused for
        ``refresh_token_idle_days``, and audit events older than ``audit_retention_days``
        (the sweep itself is recorded, so a gap in the trail is explained), and
        self-registered clients unused for ``self_registered_idle_days``; returns how many
        rows went."""
        self.usage.flush()  # what this process saw used is not idle
        clients = self.self_registration.expire_idle() if self.self_registration else 0
        now = self.clock.now()
        idle = timedelta(days=self.settings.refresh_token_idle_days)
        with self.store.transaction() as tx:
            retired = tx.retire_refresh_tokens(now - idle)
            if retired:
                audit.record(tx, now, audit.REFRESH_RETIRED, detail={"count": retired})
            forgotten = 0
            if self.settings.audit_retention_days > 0:
                cutoff = now - timedelta(days=self.settings.audit_retention_days)
                forgotten = tx.delete_audit_events(cutoff)
                if forgotten:
                    audit.record(
                        tx,
                        now,
                        audit.AUDIT_SWEPT,
                        actor="retention",
                        detail={"count": forgotten, "before": cutoff.isoformat()},
                    )
            devices = tx.delete_expired_device_codes(now)
            pushed = tx.delete_expired_pushed_requests(now)
            return tx.delete_expired(now) + retired + forgotten + devices + pushed + clients
