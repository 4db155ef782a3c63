""" "Last used" of grants and refresh tokens, recorded in memory and written in batches.

An exchange would otherwise write a row each time, and on SQLite every write queues behind the
one write lock. The connected-applications page shows "last used" to the minute and refresh
tokens retire after months unused, so a batch every ``usage_flush_seconds`` loses nothing a
person or a rule would notice; a crash loses at most that much of it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core.clock import Clock
from leadexec_signin.core.ports import Store, Usage

# Times closer together than this are not worth a write.
GRANT_PRECISION = timedelta(minutes=1)
REFRESH_PRECISION = timedelta(days=1)


class UsageTx(Usage, Protocol):
    pass


class UsageLog:
    def __init__(self, store: Store[UsageTx], clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, datetime] = {}
        self._refresh: dict[str, datetime] = {}
        # Token exchanges per (application, UTC day), for the console's usage chart.
        self._exchanges: dict[tuple[str, str], int] = {}

    def used(
        self,
        grant_id: str,
        grant_last_used: datetime,
        token_hash: str,
        token_last_used: datetime | None,
        at: datetime,
    ) -> None:
        """Note one exchange; the stored times say whether it is worth writing. A token's
        first use is always written: it is what keeps the token out of the per-grant cap."""
        with self._lock:
            if at - grant_last_used >= GRANT_PRECISION:
                self._grants[grant_id] = at
            if token_last_used is None or at - token_last_used >= REFRESH_PRECISION:
                self._refresh[token_hash] = at

    def grant_used(self, grant_id: str, grant_last_used: datetime, at: datetime) -> None:
        """A rotation's exchange: the grant was used (its refresh token is new, and new
        tokens are not "used" yet). What expires idle self-registered clients reads."""
        with self._lock:
            if at - grant_last_used >= GRANT_PRECISION:
                self._grants[grant_id] = at

    def exchanged(self, app_id: str, at: datetime) -> None:
        """Count one successful token exchange: a dictionary increment, no write."""
        key = (app_id, at.date().isoformat())
        with self._lock:
            self._exchanges[key] = self._exchanges.get(key, 0) + 1

    def flush(self) -> int:
        with self._lock:
            grants, refresh, exchanges = self._grants, self._refresh, self._exchanges
            self._grants, self._refresh, self._exchanges = {}, {}, {}
        if not grants and not refresh and not exchanges:
            return 0
        try:
            with self.store.transaction() as tx:
                tx.touch_grants(grants)
                tx.touch_refresh_tokens(refresh)
                tx.add_exchanges(exchanges)
        except Exception:
            with self._lock:  # keep them for the next try; newer times win, counts add up
                self._grants = {**grants, **self._grants}
                self._refresh = {**refresh, **self._refresh}
                for key, n in exchanges.items():
                    self._exchanges[key] = self._exchanges.get(key, 0) + n
            raise
        return len(grants) + len(refresh) + len(exchanges)
