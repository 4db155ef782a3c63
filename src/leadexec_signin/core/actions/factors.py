"""What an account's second factors allow and need: re-authentication before they change, and
the policies that keep the last one (an operator's, with ``LEADEXEC_OPERATOR_MFA=required``)."""

from __future__ import annotations

from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, NotFound
from leadexec_signin.core.ports import Audit, Factors, Store, Users
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_
from leadexec_signin.settings import Settings


class FactorsTx(Factors, Users, Audit, Protocol):
    pass


class AccountFactors:
    def __init__(self, store: Store[FactorsTx], clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    def needs_second_factor(self, user: User) -> str | None:
        """Why this account must keep a second factor, as a sentence; None when it need not."""
        if user.is_operator and self.settings.operator_mfa == "required":
            return N_(
                "Operators must keep a second factor to use the operators' pages. Add another "
                "passkey or an authenticator app first."
            )
        return None

    def confirmed(self, session: Session, amr: tuple[str, ...]) -> None:
        """The user proved who they are again: changes to factors are open for 5 minutes."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.confirm_session(session.id_hash, now, amr)
            audit.record(tx, now, audit.REAUTHENTICATED, user_id=session.user_id)

    def count(self, user_id: str) -> int:
        with self.store.transaction() as tx:
            return len(tx.passkeys_for_user(user_id))

    def remove_passkey(self, user: User, passkey_id: str) -> None:
        with self.store.transaction() as tx:
            owned = tx.passkeys_for_user(user.id)
            if passkey_id not in {p.id for p in owned}:
                raise NotFound(N_("That passkey is not on your account."))
            why = self.needs_second_factor(user)
            if why and len(owned) <= 1:
                raise Conflict(why)
            tx.delete_passkey(user.id, passkey_id)
            audit.record(
                tx, self.clock.now(), audit.PASSKEY_REMOVED, user_id=user.id, subject=passkey_id
            )
