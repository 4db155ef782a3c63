"""LeadExec accounts: creation, password sign-in, and the list of a user's connected apps."""

from __future__ import annotations

from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import (
    Passwords,
    User,
    check_password_strength,
    normalize_email,
    refuse_if_limited,
)
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    AccountDisabled,
    Conflict,
    EmailNotVerified,
    InvalidCredentials,
    InvalidRequest,
    RateLimited,
)
from leadexec_signin.core.grants import GrantListing
from leadexec_signin.core.ports import Audit, Grants, RateLimiter, Store, Users
from leadexec_signin.settings import Settings


class AccountsTx(Users, Grants, Audit, Protocol):
    pass


class Accounts:
    def __init__(
        self,
        store: Store[AccountsTx],
        limiter: RateLimiter,
        clock: Clock,
        passwords: Passwords,
        settings: Settings,
        usage: UsageLog,
    ) -> None:
        self.usage = usage
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.passwords = passwords
        self.settings = settings

    def create_user(
        self,
        *,
        email: str,
        name: str,
        password: str,
        company: str = "",
        plan: str = "",
        timezone: str = "UTC",
        locale: str = "en-US",
        operator: bool = False,
        actor: str | None = None,
    ) -> User:
        """``actor``: who made the account (an API token, an operator); the person if None."""
        email = normalize_email(email)
        name = " ".join((name or "").split())
        if not 1 <= len(name) <= 120:
            raise InvalidRequest("The name must have 1 to 120 characters.")
        check_password_strength(password)
        now = self.clock.now()
        user = User(
            id=credentials.new_id("usr_"),
            email=email,
            name=name,
            password_hash=self.passwords.hash(password),
            company=company[:120],
            plan=plan[:60],
            timezone=timezone[:64] or "UTC",
            locale=locale[:35] or "en-US",
            is_operator=operator,
            created_at=now,
            # Made by an operator (command line, demo): the address needs no link.
            email_verified_at=now,
        )
        with self.store.transaction() as tx:
            if tx.user_by_email(email) is not None:
                raise Conflict("A user with this email already exists.")
            tx.add_user(user)
            audit.record(tx, now, audit.USER_CREATED, user_id=user.id, actor=actor)
        return user

    def sign_in(self, email: str, password: str, ip: str) -> User:
        s = self.settings
        try:
            email = normalize_email(email)
        except InvalidRequest:
            raise InvalidCredentials() from None
        if len(password) > 1024:
            raise InvalidCredentials()
        refuse_if_limited(self.limiter.exceeded(s.login_limit_per_ip, "login-ip", ip))
        try:
            # Counted before the argon2 run, in one atomic hit: parallel guesses cannot all
            # pass a check before any of them is counted. A success clears the counter.
            refuse_if_limited(self.limiter.hit(s.login_limit_per_account, "login", email))
        except RateLimited:
            with self.store.transaction() as tx:
                audit.record(tx, self.clock.now(), audit.SIGNIN_LIMITED, ip=ip)
            raise
        with self.store.transaction() as tx:
            user = tx.user_by_email(email)
        # Verified outside any transaction: argon2 takes ~100 ms and must hold no lock.
        if not self.passwords.verify(user.password_hash if user else None, password):
            self.limiter.hit(s.login_limit_per_ip, "login-ip", ip)
            with self.store.transaction() as tx:
                audit.record(
                    tx,
                    self.clock.now(),
                    audit.SIGNIN_FAILED,
                    user_id=user.id if user else None,
                    ip=ip,
                )
            raise InvalidCredentials()
        assert user is not None
        self.limiter.reset(s.login_limit_per_account, "login", email)
        if user.email_verified_at is None:
            # Only someone who knows the password learns that the address is unconfirmed.
            with self.store.transaction() as tx:
                audit.record(
                    tx,
                    self.clock.now(),
                    audit.SIGNIN_FAILED,
                    user_id=user.id,
                    ip=ip,
                    detail={"reason": "email_not_verified"},
                )
            raise EmailNotVerified()
        if user.disabled:
            # Said only to someone who knows the password, in the words of the page's language.
            with self.store.transaction() as tx:
                audit.record(tx, self.clock.now(), audit.SIGNIN_FAILED, user_id=user.id, ip=ip,
                             detail={"reason": "account_disabled"})  # fmt: skip
            raise AccountDisabled()
        with self.store.transaction() as tx:
            if self.passwords.needs_rehash(user.password_hash):
                tx.set_password_hash(user.id, self.passwords.hash(password))
            audit.record(tx, self.clock.now(), audit.SIGNIN_OK, user_id=user.id, ip=ip)
        return user

    def connected_apps(self, user_id: str) -> list[GrantListing]:
        self.usage.flush()  # "last used" as fresh as this process knows it
        with self.store.transaction() as tx:
            return tx.grants_for_user(user_id)
