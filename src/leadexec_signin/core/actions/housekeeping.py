"""Sweeping what can never be used again, and retiring refresh tokens nobody uses."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.ports import Audit, Store, Tokens
from leadexec_signin.settings import Settings


class HousekeepingTx(Tokens, Audit, Protocol):
    pass


class Housekeeping:
    def __init__(
        self, store: Store[HousekeepingTx], clock: Clock, settings: Settings, usage: UsageLog
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.usage = usage

    def delete_expired(self) -> int:
        """Expired access tokens, codes and sessions, and refresh tokens unused for
        ``refresh_token_idle_days``; returns how many rows went."""
        self.usage.flush()  # what this process saw used is not idle
        now = self.clock.now()
        idle = timedelta(days=self.settings.refresh_token_idle_days)
        with self.store.transaction() as tx:
            retired = tx.retire_refresh_tokens(now - idle)
            if retired:
                audit.record(tx, now, audit.REFRESH_RETIRED, detail={"count": retired})
            return tx.delete_expired(now) + retired
