"""Passkeys: add, list, rename and remove them on the account security page, sign in with one
and no password, and re-authenticate with one (WebAuthn Level 3; ``core/passkey_ceremonies``).

Every challenge is stored as its SHA-256 with the browser that asked (``binding``: the hash of
its session or pre-session cookie) and is deleted by the first answer, right or wrong, so an
assertion cannot be replayed nor answered from another browser.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core import passkey_ceremonies as ceremony
from leadexec_signin.core.accounts import User
from leadexec_signin.core.audit import (
    COUNTER_REGRESSED,
    PASSKEY_ADDED,
    PASSKEY_REFUSED,
    PASSKEY_SIGNIN,
)
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
)
from leadexec_signin.core.factors import (
    CHALLENGE_TTL,
    CONFIRM,
    REGISTER,
    SIGNIN,
    Challenge,
    Passkey,
    passkey_amr,
    passkey_words,
    tell,
)
from leadexec_signin.core.mail import Mailer
from leadexec_signin.core.ports import Audit, Factors, Store, Users
from leadexec_signin.i18n import N_

NAME_MAX = 64


class PasskeysTx(Factors, Users, Audit, Protocol):
    pass


def clean_name(raw: object) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not 1 <= len(name) <= NAME_MAX or not name.isprintable():
        raise InvalidRequest(N_("Name the passkey in 1 to 64 characters."))
    return name


class Passkeys:
    def __init__(
        self,
        store: Store[PasskeysTx],
        clock: Clock,
        rp: ceremony.RelyingParty,
        mailer: Mailer | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.rp = rp
        self.mailer = mailer

    # -- challenges ----------------------------------------------------------------------

    def _issue(self, tx: PasskeysTx, binding: str, purpose: str, user_id: str | None) -> bytes:
        challenge = ceremony.new_challenge()
        now = self.clock.now()
        tx.add_challenge(
            Challenge(
                ceremony.challenge_hash(challenge),
                binding,
                purpose,
                user_id,
                now + CHALLENGE_TTL,
            ),
            now,
        )
        return challenge

    def _take(
        self, tx: PasskeysTx, challenge: bytes, binding: str, purpose: str, user_id: str | None
    ) -> None:
        found = tx.take_challenge(ceremony.challenge_hash(challenge))
        if (
            found is None
            or not credentials.same(found.binding, binding)
            or found.purpose != purpose
            or found.user_id != user_id
            or self.clock.now() >= found.expires_at
        ):
            raise InvalidCredentials(
                N_("This passkey request has expired or belongs to another window. Try again.")
            )

    # -- the security page ---------------------------------------------------------------

    def registration_options(self, user: User, binding: str) -> str:
        with self.store.transaction() as tx:
            existing = tx.passkeys_for_user(user.id)
            challenge = self._issue(tx, binding, REGISTER, user.id)
        return self.rp.registration_options(challenge, user.id, user.email, user.name, existing)

    def register(self, user: User, binding: str, response: object, name: object) -> Passkey:
        name = clean_name(name)
        credential, challenge = ceremony.parse_registration(response)
        with self.store.transaction() as tx:
            self._take(tx, challenge, binding, REGISTER, user.id)
        new = ceremony.verify_new(self.rp, credential, challenge)
        now = self.clock.now()
        passkey = Passkey(
            id=credentials.new_id("pk_"),
            user_id=user.id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            name=name,
            sign_count=new.sign_count,
            backup_eligible=new.backup_eligible,
            backed_up=new.backed_up,
            created_at=now,
            transports=new.transports,
            aaguid=new.aaguid,
        )
        with self.store.transaction() as tx:
            if tx.passkey_by_credential(passkey.credential_id) is not None:
                raise InvalidRequest(N_("This passkey is already registered."), status=409)
            tx.add_passkey(passkey)
            audit.record(tx, now, PASSKEY_ADDED, user_id=user.id, subject=passkey.id)
        tell(self.mailer, user, "factor_added", factor=passkey_words(passkey.name))
        return passkey

    def list(self, user_id: str) -> list[Passkey]:
        with self.store.transaction() as tx:
            return tx.passkeys_for_user(user_id)

    def rename(self, user: User, passkey_id: str, name: object) -> None:
        name = clean_name(name)
        with self.store.transaction() as tx:
            if not tx.rename_passkey(user.id, passkey_id, name):
                raise NotFound(N_("That passkey is not on your account."))

    # -- signing in and re-authenticating ------------------------------------------------

    def signin_options(self, binding: str) -> str:
        """No allowed credentials: the browser offers the discoverable passkeys it holds."""
        with self.store.transaction() as tx:
            challenge = self._issue(tx, binding, SIGNIN, None)
        return self.rp.authentication_options(challenge, [])

    def confirm_options(self, user_id: str, binding: str) -> str:
        """For one account: re-authentication, or the second step after a password."""
        with self.store.transaction() as tx:
            allow = tx.passkeys_for_user(user_id)
            if not allow:
                raise NotFound(N_("There is no passkey on your account."))
            challenge = self._issue(tx, binding, CONFIRM, user_id)
        return self.rp.authentication_options(challenge, allow)

    def sign_in(self, binding: str, response: object, ip: str) -> tuple[User, tuple[str, ...]]:
        """Passwordless: user verification is required, since the passkey is the only proof."""
        return self._assert(binding, response, ip, SIGNIN, None)

    def confirm(self, user_id: str, binding: str, response: object) -> tuple[str, ...]:
        _user, amr = self._assert(binding, response, "", CONFIRM, user_id)
        return amr

    def _assert(
        self, binding: str, response: object, ip: str, purpose: str, user_id: str | None
    ) -> tuple[User, tuple[str, ...]]:
        credential, challenge = ceremony.parse_assertion(response)
        with self.store.transaction() as tx:
            self._take(tx, challenge, binding, purpose, user_id)
            passkey = tx.passkey_by_credential(credential.id[:1400])
        handle = credential.response.user_handle
        if (
            passkey is None
            or (user_id is not None and passkey.user_id != user_id)
            or (handle is not None and handle != passkey.user_id.encode())
        ):
            self._refused(None, ip, "unknown_credential")
            raise InvalidCredentials(N_("This passkey is not registered here."))
        try:
            found = ceremony.verify_assertion(
                self.rp, credential, challenge, passkey, require_uv=True
            )
        except InvalidCredentials as exc:
            self._refused(passkey.user_id, ip, (exc.debug or "")[:80])
            raise
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.passkey_by_credential(passkey.credential_id)
            user = tx.user_by_id(passkey.user_id)
            if current is None or user is None:
                raise InvalidCredentials(N_("This passkey is not registered here."))
            if user.disabled:
                raise AccountDisabled()
            if ceremony.counter_went_back(current.sign_count, found.sign_count):
                audit.record(
                    tx,
                    now,
                    COUNTER_REGRESSED,
                    user_id=user.id,
                    subject=current.id,
                    ip=ip or None,
                    detail={"stored": current.sign_count, "presented": found.sign_count},
                )
                refused = InvalidCredentials(
                    N_(
                        "This passkey's counter went backwards, which can mean a copied "
                        "authenticator. It was refused; use another way to sign in."
                    )
                )
            else:
                refused = None
                tx.use_passkey(current.id, found.sign_count, found.backed_up, now)
                if purpose == SIGNIN:
                    audit.record(tx, now, PASSKEY_SIGNIN, user_id=user.id, ip=ip or None)
        if refused is not None:
            raise refused
        amr = passkey_amr(replace(current, backed_up=found.backed_up), found.user_verified)
        return user, amr

    def _refused(self, user_id: str | None, ip: str, reason: str) -> None:
        with self.store.transaction() as tx:
            audit.record(
                tx,
                self.clock.now(),
                PASSKEY_REFUSED,
                user_id=user_id,
                ip=ip or None,
                detail={"reason": reason},
            )
