"""A change of email: the signed-in user asks with their password, the change waits for the
link sent to the new address, and the old address is told once it is done. The new address's
owner is told instead when it already has an account, and the person asking sees the same
page either way."""

from __future__ import annotations

from leadexec_signin.core import audit
from leadexec_signin.core.account_tokens import EMAIL
from leadexec_signin.core.accounts import User, normalize_email
from leadexec_signin.core.actions.account_links import AccountLinks, wait_words
from leadexec_signin.core.errors import (
    Conflict,
    InvalidCredentials,
    InvalidLink,
    InvalidRequest,
    RateLimited,
)
from leadexec_signin.core.mail import compose


class EmailChange(AccountLinks):
    def request_email_change(self, user: User, *, new_email: str, password: str, ip: str) -> None:
        """The signed-in user asks; the change waits for the link sent to the new address."""
        new_email = normalize_email(new_email)
        if new_email == user.email:
            raise InvalidRequest("That is already your email address.")
        if len(password) > 1024:
            raise InvalidCredentials("The password is not correct.")
        s = self.settings
        wait = self.limiter.exceeded(s.login_limit_per_account, "reauth", user.id)
        if wait is not None:
            raise RateLimited(
                f"Too many wrong passwords. Try again in {wait_words(wait)}.", retry_after=wait
            )
        with self.store.transaction() as tx:
            current = tx.user_by_id(user.id)
        if current is None or not self.passwords.verify(current.password_hash, password):
            self.limiter.hit(s.login_limit_per_account, "reauth", user.id)
            raise InvalidCredentials("The password is not correct.")
        self._count_mail(new_email, ip)
        now = self.clock.now()
        with self.store.transaction() as tx:
            if tx.user_by_email(new_email) is None:
                raw = self._token(
                    tx, user.id, EMAIL, s.verify_link_ttl_seconds, {"email": new_email}
                )
                message = compose(
                    new_email,
                    "confirm_new_email",
                    name=current.name,
                    email=current.email,
                    link=self._link("/account/email/confirm", raw),
                    hours=s.verify_link_ttl_seconds // 3600,
                )
            else:
                # Said to the owner of the address, not to the person asking: they see the
                # same page whether or not the address is taken.
                message = compose(new_email, "email_taken")
            audit.record(tx, now, audit.EMAIL_CHANGE_REQUESTED, user_id=user.id, ip=ip)
        self.mailer.send(message)

    def confirm_email_change(self, raw: object, ip: str) -> str:
        """Move the account to the new address; tell the old one. Returns the new address."""
        try:
            return self._confirm_email_change(raw)
        except InvalidLink:
            self._refused(EMAIL, ip)
            raise

    def _confirm_email_change(self, raw: object) -> str:
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = self._take(tx, raw, EMAIL, now)
            user = tx.user_by_id(token.user_id)
            new_email = token.data.get("email", "")
            if user is None or not new_email:
                raise InvalidLink()
            if tx.user_by_email(new_email) is not None:
                raise Conflict("That address now belongs to another account; nothing changed.")
            tx.set_email(user.id, new_email, now)
            tx.spend_account_tokens(user.id, EMAIL, now)
            audit.record(tx, now, audit.EMAIL_CHANGED, user_id=user.id)
        self.limiter.reset(self.settings.login_limit_per_account, "login", user.email)
        self.mailer.send(compose(user.email, "email_changed", name=user.name, email=new_email))
        return new_email
