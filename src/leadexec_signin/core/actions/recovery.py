"""Self-service accounts: sign-up with a verification link, "forgot password" with a reset link,
and a change of email confirmed from the new address.

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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.account_tokens import (
    EMAIL,
    RESET,
    VERIFY,
    AccountToken,
    check_usable,
    hash_of,
    new_link_token,
)
from leadexec_signin.core.accounts import (
    Passwords,
    User,
    check_password_strength,
    normalize_email,
)
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    Conflict,
    InvalidCredentials,
    InvalidLink,
    InvalidRequest,
    RateLimited,
)
from leadexec_signin.core.mail import Mailer, Message, compose
from leadexec_signin.core.ports import AccountTokens, Audit, RateLimiter, Sessions, Store, Users
from leadexec_signin.settings import Settings

MAX_NAME = 120


class RecoveryTx(Users, AccountTokens, Sessions, Audit, Protocol):
    pass


@dataclass(frozen=True)
class LinkView:
    """What a link's page shows before the click that spends it: whose account, and for an
    email change, the new address."""

    email: str
    new_email: str = ""


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidRequest(f"Enter your name (1 to {MAX_NAME} characters).")
    return name


def _wait_words(retry_after: int | None) -> str:
    minutes = max(1, round((retry_after or 60) / 60))
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


class AccountRecovery:
    def __init__(
        self,
        store: Store[RecoveryTx],
        limiter: RateLimiter,
        clock: Clock,
        passwords: Passwords,
        settings: Settings,
        mailer: Mailer,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.passwords = passwords
        self.settings = settings
        self.mailer = mailer

    # -- limits ---------------------------------------------------------------------------

    def _count_mail(self, email: str, ip: str) -> None:
        """Every request that may send a mail counts per client address and per recipient
        (so nobody can flood someone's inbox), whether or not the recipient has an account:
        a refusal is the same for both."""
        s = self.settings
        limits = ((s.mail_limit_per_ip, "mail-ip", ip), (s.mail_limit_per_address, "mail", email))
        for limit, kind, key in limits:
            wait = self.limiter.hit(limit, kind, key)
            if wait is not None:
                raise RateLimited(
                    f"Too many requests. Try again in {_wait_words(wait)}.", retry_after=wait
                )

    def _link(self, path: str, raw: str) -> str:
        return f"{self.settings.issuer}{path}?token={quote(raw)}"

    def _token(
        self, tx: RecoveryTx, user_id: str, purpose: str, ttl: int, data: dict[str, str]
    ) -> str:
        raw, token_hash = new_link_token()
        now = self.clock.now()
        expires = now + timedelta(seconds=ttl)
        tx.add_account_token(AccountToken(token_hash, user_id, purpose, now, expires, None, data))
        return raw

    def _verification(
        self, tx: RecoveryTx, user_id: str, email: str, name: str, password_hash: str
    ) -> Message:
        """The confirmation link (its token holds what the link confirms) and its mail, in
        the language of the request that asked (so with every mail below)."""
        ttl = self.settings.verify_link_ttl_seconds
        data = {"email": email, "name": name, "password_hash": password_hash}
        link = self._link("/account/verify", self._token(tx, user_id, VERIFY, ttl, data))
        return compose(email, "verify_email", name=name, link=link, hours=ttl // 3600)

    def _take(self, tx: RecoveryTx, raw: object, purpose: str, now: datetime) -> AccountToken:
        """The link's token, locked for this transaction, or InvalidLink."""
        token_hash = hash_of(raw)
        assert isinstance(raw, str)
        return check_usable(tx.account_token(token_hash), raw, purpose, now)

    def _refused(self, purpose: str, ip: str) -> None:
        with self.store.transaction() as tx:
            audit.record(
                tx, self.clock.now(), audit.LINK_REFUSED, ip=ip, detail={"purpose": purpose}
            )

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

    # -- change of email ------------------------------------------------------------------

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
                f"Too many wrong passwords. Try again in {_wait_words(wait)}.", retry_after=wait
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

    # -- the page before the click ---------------------------------------------------------

    def look_at(self, raw: object, purpose: str) -> LinkView:
        """Whether a link works, without spending it: the page then asks for the click (or the
        new password) that does. A GET never spends a link, since mail scanners open links."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            token = self._take(tx, raw, purpose, now)
            user = tx.user_by_id(token.user_id)
        if user is None:
            raise InvalidLink()
        new_email = token.data.get("email", "") if purpose == EMAIL else ""
        return LinkView(email=user.email, new_email=new_email)
