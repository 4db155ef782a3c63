"""What operators do to applications: approve, suspend, reinstate, each attributed to them and
told to the owner by email; and the queue of applications waiting for approval."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from leadexec_signin import i18n
from leadexec_signin.core import audit
from leadexec_signin.core.actions.apps import APP_ID, TRY_IT_APP, AppsTx
from leadexec_signin.core.apps import APPROVED, PENDING, STATUSES, SUSPENDED, Application
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.mail import Mailer, Message, compose
from leadexec_signin.core.ports import Store, Users

# The one map from an operator's verb to the status it sets (admin page and command line).
ACTIONS = {"approve": APPROVED, "suspend": SUSPENDED, "reinstate": APPROVED}


MAX_SEARCH = 200


class OperatorTx(AppsTx, Users, Protocol):
    pass


@dataclass(frozen=True)
class Listed:
    """An application as the operators' page lists it: with its owner's address."""

    app: Application
    owner_email: str


def status_mail(app: Application, status: str, was: str, to: str, console: str) -> Message | None:
    """What the owner is told when an operator changes the application's status, in the
    current language (the caller picks the owner's, with ``i18n.using``)."""
    values = {"app": app.name, "id": app.id, "console": console}
    if status == APPROVED and was == PENDING:
        return compose(to, "app_approved", **values)
    if status == SUSPENDED:
        return compose(to, "app_suspended", code="app_not_approved", **values)
    if status == APPROVED and was == SUSPENDED:
        return compose(to, "app_reinstated", **values)
    return None


class Operator:
    def __init__(
        self,
        store: Store[OperatorTx],
        clock: Clock,
        mailer: Mailer | None = None,
        issuer: str = "",
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.issuer = issuer

    def listing(self, query: str = "", *, pending_only: bool = False) -> list[Listed]:
        """Every partner application (pending first, then by creation), with its owner's
        email; ``query`` matches a name, an application id or an owner's email, in part and
        in any case."""
        wanted = " ".join(query.split())[:MAX_SEARCH].casefold()
        with self.store.transaction() as tx:
            apps = [a for a in tx.list_apps() if a.id != TRY_IT_APP]
            owners = {i: tx.user_by_id(i) for i in {a.owner_id for a in apps if a.owner_id}}
        found = []
        for app in apps:
            owner = owners.get(app.owner_id) if app.owner_id else None
            email = owner.email if owner else ""
            if pending_only and app.status != PENDING:
                continue
            if wanted and not any(wanted in text.casefold() for text in (app.name, app.id, email)):
                continue
            found.append(Listed(app, email))
        found.sort(key=lambda item: item.app.status != PENDING)  # stable: creation order kept
        return found

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
            owner = tx.user_by_id(app.owner_id) if app.owner_id else None
        # After the commit: a slow mail server never holds the transaction open.
        if owner is not None and self.mailer is not None:
            console = f"{self.issuer}/developers/apps/{app.id}"
            # In the owner's language (their LeadExec locale), not the operator's.
            with i18n.using(i18n.supported(owner.locale) or i18n.DEFAULT):
                message = status_mail(app, status, app.status, owner.email, console)
            if message is not None:
                self.mailer.send(message)
        return replace(app, status=status)
