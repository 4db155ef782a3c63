"""What an account's second factors allow and need: re-authentication before they change, and
the policies that keep the last one (an operator's, with ``LEADEXEC_OPERATOR_MFA=required``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.account_tokens import AccountToken
from leadexec_signin.core.accounts import User
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, NotFound
from leadexec_signin.core.factors import passkey_words, tell
from leadexec_signin.core.mail import Mailer
from leadexec_signin.core.ports import AccountTokens, Apps, Audit, Factors, Grants, Store, Users
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_
from leadexec_signin.settings import Settings


class FactorsTx(Factors, Users, Audit, AccountTokens, Grants, Apps, Protocol):
    pass


# The password was right and a second step is asked: the browser holds this token (a cookie)
# for 5 minutes; storage keeps its hash among the account pages' one-time tokens.
SECOND_STEP = "mfa"
PENDING = "lep_"
SECOND_STEP_TTL = timedelta(minutes=5)


def _factors(tx: FactorsTx, user_id: str) -> int:
    totp = tx.totp_secret(user_id)
    return len(tx.passkeys_for_user(user_id)) + (1 if totp and totp.confirmed_at else 0)


class AccountFactors:
    def __init__(
        self,
        store: Store[FactorsTx],
        clock: Clock,
        settings: Settings,
        mailer: Mailer | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.mailer = mailer

    def needs_second_factor(self, user: User, tx: FactorsTx | None = None) -> str | None:
        """Why this account must keep a second factor, as a sentence; None when it need not:
        an operator (``LEADEXEC_OPERATOR_MFA=required``), or a user connected to an
        application that requires two-step sign-in (its sign-ins would be refused)."""
        if user.is_operator and self.settings.operator_mfa == "required":
            return N_(
                "Operators must keep a second factor to use the operators' pages. Add another "
                "passkey or an authenticator app first."
            )
        if tx is None:
            with self.store.transaction() as own:
                return self.needs_second_factor(user, own)
        for listing in tx.grants_for_user(user.id):
            app = tx.app_by_id(listing.grant.app_id)
            if app is not None and app.require_mfa and listing.grant.active:
                return N_(
                    "An application you use requires two-step sign-in. Add another passkey or "
                    "an authenticator app first, or remove its access on your connected "
                    "applications page."
                )
        return None

    def confirmed(self, session: Session, amr: tuple[str, ...]) -> None:
        """The user proved who they are again: changes to factors are open for 5 minutes."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.confirm_session(session.id_hash, now, amr)
            audit.record(tx, now, audit.REAUTHENTICATED, user_id=session.user_id)

    def count(self, user_id: str) -> int:
        """Second factors in use: passkeys and a confirmed authenticator app."""
        with self.store.transaction() as tx:
            return _factors(tx, user_id)

    def can_remove_last(self, user: User) -> None:
        """Refused, with the reason, when a policy needs the factor about to go."""
        with self.store.transaction() as tx:
            left = _factors(tx, user.id)
            why = self.needs_second_factor(user, tx) if left <= 1 else None
        if why:
            raise Conflict(why)

    # -- the second step after the password ----------------------------------------------

    def begin_second_step(self, user: User, next_url: str) -> str:
        raw = credentials.new_token(PENDING)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.add_account_token(
                AccountToken(
                    credentials.token_hash(raw),
                    user.id,
                    SECOND_STEP,
                    now,
                    now + SECOND_STEP_TTL,
                    data={"next": next_url},
                )
            )
        return raw

    def pending(self, raw: str | None) -> tuple[User, str] | None:
        """The user who gave the right password in this browser, and where they were going."""
        if not credentials.looks_like(raw, PENDING):
            return None
        assert raw is not None
        with self.store.transaction() as tx:
            found = tx.account_token(credentials.token_hash(raw))
            if (
                found is None
                or found.purpose != SECOND_STEP
                or found.used_at is not None
                or self.clock.now() >= found.expires_at
            ):
                return None
            user = tx.user_by_id(found.user_id)
        return (user, found.data.get("next", "")) if user else None

    def finish_second_step(self, raw: str) -> None:
        with self.store.transaction() as tx:
            found = tx.account_token(credentials.token_hash(raw))
            if found is not None:
                tx.spend_account_tokens(found.user_id, SECOND_STEP, self.clock.now())

    def remove_passkey(self, user: User, passkey_id: str) -> None:
        with self.store.transaction() as tx:
            owned = tx.passkeys_for_user(user.id)
            if passkey_id not in {p.id for p in owned}:
                raise NotFound(N_("That passkey is not on your account."))
            why = self.needs_second_factor(user, tx) if _factors(tx, user.id) <= 1 else None
            if why:
                raise Conflict(why)
            name = next(p.name for p in owned if p.id == passkey_id)
            tx.delete_passkey(user.id, passkey_id)
            audit.record(
                tx, self.clock.now(), audit.PASSKEY_REMOVED, user_id=user.id, subject=passkey_id
            )
        tell(self.mailer, user, "factor_removed", factor=passkey_words(name))
