"""Self-service accounts: sign-up with a verification link and "forgot password" with a reset
link (a change of email, confirmed from the new address, is ``email_change.py``).

Three rules hold throughout:
- No answer says whether an address has an account. Sign-up always sends one mail (a link to
  a new address, a "you already have an account" note to a known one) and always pays one
  argon2 hash; "forgot password" answers the same whether or not a mail went out. The mailer
  only queues (``leadexec_signin/mailers.py``), so delivery time is no tell either.
- Mail goes out after the transaction commits: a slow mail server holds no database lock, and
  a failed delivery leaves nothing half-made. The person asks again (signing up again with an
  unconfirmed address sends a fresh link) and the new link works.
- A link is single-use, expires, and is stored only as a hash (``core/account_tokens.py``).
  Links of a sign-up carry the password chosen at that sign-up, so whoever can read the
  mailbox decides the password: someone who signs up first with another person's address
  gains nothing, since their password is replaced by the one of the link that is followed.
"""

from __future__ import annotations

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.account_tokens import RESET, VERIFY
from leadexec_signin.core.accounts import User, check_password_strength, normalize_email
from leadexec_signin.core.actions.account_links import AccountLinks, RecoveryTx, clean_name
from leadexec_signin.core.errors import InvalidLink
from leadexec_signin.core.mail import Message, compose


class AccountRecovery(AccountLinks):
    def _verification(
        self, tx: RecoveryTx, user_id: str, email: str, name: str, password_hash: str
    ) -> Message:
        """The confirmation link (its token holds what the link confirms) and its mail, in
        the language of the request that asked (so with every mail below)."""
        ttl = self.settings.verify_link_ttl_seconds
        data = {"email": email, "name": name, "password_hash": password_hash}
        link = self._link("/account/verify", self._token(tx, user_id, VERIFY, ttl, data))
        return compose(email, "verify_email", name=name, link=link, hours=ttl // 3600)

    # -- sign-up --------------------------------------------------------------------------

    def sign_up(self, *, email: str, name: str, password: str, ip: str) -> None:
        email = normalize_email(email)
        name = clean_name(name)
        check_password_strength(password)
        self._count_mail(email, ip)
        # Hashed whether or not the address is known: the answer takes as long either way.
        password_hash = self.passwords.hash(password)
        s = self.settings
        now = self.clock.now()
        with self.store.transaction() as tx:
            user = tx.user_by_email(email)
            if user is not None and user.email_verified_at is not None:
                audit.record(tx, now, audit.SIGNUP_REPEATED, user_id=user.id, ip=ip)
                message = compose(
                    email,
                    "already_registered",
                    login=f"{s.issuer}/account/login",
                    forgot=f"{s.issuer}/account/forgot",
                )
            else:
                if user is None:
                    user = User(
                        id=credentials.new_id("usr_"),
                        email=email,
                        name=name,
                        password_hash=password_hash,
                        created_at=now,
                    )
                    tx.add_user(user)
                    audit.record(tx, now, audit.SIGNUP, user_id=user.id, ip=ip)
                else:  # not confirmed yet: a new link (the last one may never have arrived)
                    audit.record(tx, now, audit.SIGNUP_REPEATED, user_id=user.id, ip=ip)
                message = self._verification(tx, user.id, email, name, password_hash)
        self.mailer.send(message)

    def resend_verification(self, *, email: str, ip: str) -> None:
        """A new confirmation link for an account that signed up and never confirmed, asked
        from the sign-in form; nothing for any other address, and the caller's answer is the
        same either way (as sign-up, which also sends one)."""
        email = normalize_email(email)
        self._count_mail(email, ip)
        now = self.clock.now()
        message = None
        with self.store.transaction() as tx:
            user = tx.user_by_email(email)
            if user is not None and user.email_verified_at is None:
                # The account's own password stays the one the link confirms.
                message = self._verification(tx, user.id, email, user.name, user.password_hash)
                audit.record(tx, now, audit.SIGNUP_REPEATED, user_id=user.id, ip=ip)
        if message is not None:
            self.mailer.send(message)

    def verify_email(self, raw: object, ip: str) -> str:
        """Confirm the address; the password of the sign-up that sent this link becomes the
        account's. Returns the address, to fill in the sign-in form."""
        try:
            return self._verify_email(raw)
        except InvalidLink:
            self._refused(VERIFY, ip)
            raise

    def _verify_email(self, raw: object) -> str:
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = self._take(tx, raw, VERIFY, now)
            user = tx.user_by_id(token.user_id)
            if user is None or user.email != token.data.get("email"):
                raise InvalidLink()
            tx.set_password_hash(user.id, token.data["password_hash"])
            tx.set_user_name(user.id, token.data.get("name") or user.name)
            if user.email_verified_at is None:
                tx.set_email_verified(user.id, now)
            tx.spend_account_tokens(user.id, VERIFY, now)
            audit.record(tx, now, audit.EMAIL_VERIFIED, user_id=user.id)
            return user.email

    # -- forgot password ------------------------------------------------------------------

    def request_reset(self, *, email: str, ip: str) -> None:
        """Sends a link only to a known address; the caller's answer is the same either way."""
        email = normalize_email(email)
        self._count_mail(email, ip)
        now = self.clock.now()
        message = None
        with self.store.transaction() as tx:
            user = tx.user_by_email(email)
            if user is not None:
                raw = self._token(tx, user.id, RESET, self.settings.reset_link_ttl_seconds, {})
                audit.record(tx, now, audit.RESET_REQUESTED, user_id=user.id, ip=ip)
                link = self._link("/account/reset", raw)
                minutes = self.settings.reset_link_ttl_seconds // 60
                message = compose(
                    user.email, "reset_password", name=user.name, link=link, minutes=minutes
                )
        if message is not None:
            self.mailer.send(message)

    def reset_password(self, raw: object, password: str, ip: str) -> str:
        """Set the new password, spend the link (and any other reset link), end every session
        of the account. Returns the address, to fill in the sign-in form."""
        check_password_strength(password)
        try:
            return self._reset_password(raw, password, ip)
        except InvalidLink:
            self._refused(RESET, ip)
            raise

    def _reset_password(self, raw: object, password: str, ip: str) -> str:
        with self.store.transaction() as tx:  # a bad link costs no argon2 run
            self._take(tx, raw, RESET, self.clock.now())
        password_hash = self.passwords.hash(password)  # outside any transaction: ~100 ms
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = self._take(tx, raw, RESET, now)  # again: two tabs, one wins
            user = tx.user_by_id(token.user_id)
            if user is None:
                raise InvalidLink()
            tx.set_password_hash(user.id, password_hash)
            if user.email_verified_at is None:  # the link proved the mailbox
                tx.set_email_verified(user.id, now)
            tx.spend_account_tokens(user.id, RESET, now)
            ended = tx.delete_user_sessions(user.id)
            detail = {"sessions_ended": ended}
            audit.record(tx, now, audit.PASSWORD_RESET, user_id=user.id, ip=ip, detail=detail)
        self.limiter.reset(self.settings.login_limit_per_account, "login", user.email)
        self.mailer.send(
            compose(
                user.email,
                "password_changed",
                name=user.name,
                link=f"{self.settings.issuer}/account/forgot",
            )
        )
        return user.email
