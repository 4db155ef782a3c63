"""What operators do to applications: approve, reject with a reason, suspend, reinstate, each
attributed to them and told to the owner by email; and the queue of applications waiting for
approval.

Rejecting is for an application waiting for approval: it stops (``suspended``, so even its
owner's development mode ends, and a change of name or origin cannot slip through), the
owner is mailed the operator's reason, and the audit trail keeps it. There is no separate
"rejected" status: everything that checks a status already treats a stopped application as
refused, and an operator who is satisfied later reinstates it (which approves it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from leadexec_signin import i18n
from leadexec_signin.core import audit
from leadexec_signin.core.actions.apps import APP_ID, TRY_IT_APP, AppsTx
from leadexec_signin.core.apps import APPROVED, PENDING, STATUSES, SUSPENDED, Application
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, InvalidRequest, NotFound
from leadexec_signin.core.mail import Mailer, Message, compose
from leadexec_signin.core.ports import Store, Users
from leadexec_signin.i18n import N_

# The one map from an operator's verb to the status it sets (admin page and command line).
ACTIONS = {"approve": APPROVED, "suspend": SUSPENDED, "reinstate": APPROVED}


MAX_SEARCH = 200
MAX_REASON = 1000


def check_reason(reason: object) -> str:
    """The reason the owner will read: 1 to 1000 characters of text (lines allowed)."""
    text = reason.strip().replace("\r\n", "\n") if isinstance(reason, str) else ""
    if not text:
        raise InvalidRequest(N_("Write the reason the owner will read."))
    if len(text) > MAX_REASON:
        raise InvalidRequest(N_("The reason is at most 1000 characters."))
    if any(not (c.isprintable() or c in "\n\t") for c in text):
        raise InvalidRequest(N_("The reason must be plain text."))
    return text


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
        """Every application a person registered (pending first, then by creation), with its owner's
        email; ``query`` matches a name, an application id or an owner's email, in part and
        in any case."""
        wanted = " ".join(query.split())[:MAX_SEARCH].casefold()
        with self.store.transaction() as tx:
            # Self-registered clients have their own page (/admin/agents): they are never
            # approved one by one, so they would only bury the queue.
            apps = [a for a in tx.list_apps() if a.id != TRY_IT_APP and a.reviewed]
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

    def reject(self, app_id: str, reason: object, *, actor: str) -> Application:
        """An application waiting for approval is refused, with a reason mailed to its owner."""
        text = check_reason(reason)
        with self.store.transaction() as tx:
            app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            if app.status != PENDING:
                raise Conflict(
                    N_(
                        "Only an application waiting for approval can be rejected: suspend "
                        "an approved one."
                    )
                )
            tx.set_app_status(app_id, SUSPENDED)
            audit.record(
                tx,
                self.clock.now(),
                audit.APP_STATUS,
                app_id=app_id,
                actor=actor,
                subject=app_id,
                detail={"status": SUSPENDED, "was": PENDING, "rejected": text},
            )
            owner = tx.user_by_id(app.owner_id) if app.owner_id else None
        if owner is not None and self.mailer is not None:
            console = f"{self.issuer}/developers/apps/{app.id}"
            with i18n.using(i18n.supported(owner.locale) or i18n.DEFAULT):
                message = compose(
                    owner.email, "app_rejected", app=app.name, id=app.id, console=console,
                    code="app_not_approved", reason=text,
                )  # fmt: skip
            self.mailer.send(message)
        return replace(app, status=SUSPENDED)

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
