"""What a person does with their own account: change the profile, download their data, and
delete the account.

Deleting asks for the password or a recent proof (the security page's re-authentication with
a passkey, or a sign-in, with its second factor if the account has one, within 5 minutes) and
the address typed again; then it is the operators' delete (``people.erase``): every grant ends with
``via: account_deleted``, sessions end, the row goes. The last operator cannot leave this way.
"""

from __future__ import annotations

from dataclasses import replace

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.people import PeopleTx, detail_of, erase, keep_an_operator
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidCredentials, InvalidRequest
from leadexec_signin.core.factors import is_fresh
from leadexec_signin.core.people import Profile, export_document
from leadexec_signin.core.ports import Store
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_

# Everything about the account goes in the export; a very old, very busy account is capped.
EXPORT_EVENTS = 10_000


class OwnAccount:
    def __init__(self, store: Store[PeopleTx], clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def update_profile(self, user: User, profile: Profile, *, actor: str | None = None) -> User:
        """``actor``: who changed it (the person themselves when None)."""
        clean = profile.checked()
        now = self.clock.now()
        changed = sorted(
            name
            for name, before, after in zip(
                ("name", "company", "timezone", "locale"),
                (user.name, user.company, user.timezone, user.locale),
                (clean.name, clean.company, clean.timezone, clean.locale),
                strict=True,
            )
            if before != after
        )
        with self.store.transaction() as tx:
            if changed:
                tx.set_user_profile(
                    user.id,
                    name=clean.name,
                    company=clean.company,
                    timezone=clean.timezone,
                    locale=clean.locale,
                )
                audit.record(tx, now, audit.USER_UPDATED, user_id=user.id,
                             actor=actor or user.id, detail={"changed": changed})  # fmt: skip
        return replace(
            user, name=clean.name, company=clean.company, timezone=clean.timezone,
            locale=clean.locale,
        )  # fmt: skip

    def export(self, user: User) -> dict[str, object]:
        now = self.clock.now()
        with self.store.transaction() as tx:
            audit.record(tx, now, audit.DATA_EXPORTED, user_id=user.id)
            detail = detail_of(tx, user, EXPORT_EVENTS)
        return export_document(detail, now)

    def delete(self, user: User, session: Session, *, password_ok: bool, typed_email: str) -> None:
        """``password_ok``: the caller checked the password again, under the sign-in limits
        (``Accounts.sign_in``); without it a recent proof of the session is needed."""
        if " ".join(typed_email.split()).lower() != user.email:
            raise InvalidRequest(N_("Type your email address exactly to confirm."))
        if not password_ok and not is_fresh(session.proven_at, self.clock.now()):
            raise InvalidCredentials(
                N_(
                    "Enter your password, or confirm it is you with a passkey on the Security "
                    "page first."
                ),
                status=403,
            )
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.user_by_id(user.id)
            if current is None:
                return
            keep_an_operator(tx, current, "", "delete")
            erase(tx, current, now, actor=user.id)
