"""What every account link shares: the mail limits, the link itself (single-use, expiring,
stored as a hash), taking it in a transaction, auditing a refused one, and the page that shows
a link before the click that spends it. Sign-up, password reset (``recovery.py``) and a change
of email (``email_change.py``) are built on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from leadexec_signin.core import audit
from leadexec_signin.core.account_tokens import (
    EMAIL,
    AccountToken,
    check_usable,
    hash_of,
    new_link_token,
)
from leadexec_signin.core.accounts import Passwords
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidLink, InvalidRequest, RateLimited
from leadexec_signin.core.mail import Mailer
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


def wait_words(retry_after: int | None) -> str:
    minutes = max(1, round((retry_after or 60) / 60))
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


class AccountLinks:
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
                    f"Too many requests. Try again in {wait_words(wait)}.", retry_after=wait
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
