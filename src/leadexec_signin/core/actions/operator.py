"""What operators do to applications: approve, suspend, reinstate; each attributed to them."""

from __future__ import annotations

from dataclasses import replace

from leadexec_signin.core import audit
from leadexec_signin.core.actions.apps import APP_ID, AppsTx
from leadexec_signin.core.apps import APPROVED, STATUSES, SUSPENDED, Application
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.ports import Store

# The one map from an operator's verb to the status it sets (admin page and command line).
ACTIONS = {"approve": APPROVED, "suspend": SUSPENDED, "reinstate": APPROVED}


class Operator:
    def __init__(self, store: Store[AppsTx], clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def act(self, app_id: str, action: str, *, actor: str) -> Application:
        if action not in ACTIONS:
            raise InvalidRequest("Choose approve, suspend or reinstate.")
        return self.set_app_status(app_id, ACTIONS[action], actor=actor)

    def set_app_status(self, app_id: str, status: str, *, actor: str = "cli") -> Application:
        """``actor`` is the operator's user id, or "cli" for the command line."""
        if status not in STATUSES:
            raise InvalidRequest(f"Status must be one of {', '.join(STATUSES)}.")
        with self.store.transaction() as tx:
            app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            tx.set_app_status(app_id, status)
            audit.record(
                tx,
                self.clock.now(),
                audit.APP_STATUS,
                app_id=app_id,
                actor=actor,
                subject=app_id,
                detail={"status": status, "was": app.status},
            )
        return replace(app, status=status)
