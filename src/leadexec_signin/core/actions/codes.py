"""The authenticator app (TOTP, RFC 6238, over pyotp) and recovery codes: enrol, check, and
the throttle on guessing.

A code is accepted one 30-second step either side of now, and only for a step later than the
last one accepted (so each code works once). Wrong codes are counted per account: after 5 the
account waits (the limiter's window) and that is audited. Recovery codes are ten random
50-bit codes shown once, stored as SHA-256 (bound to the account), each spent by its use.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Protocol

import pyotp

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidCredentials, InvalidRequest, RateLimited
from leadexec_signin.core.factors import OTP, TotpSecret, app_words, tell
from leadexec_signin.core.mail import Mailer
from leadexec_signin.core.ports import Audit, Factors, RateLimiter, Store, Users
from leadexec_signin.i18n import N_

# Wrong codes per account before it waits (the issue: after 5, longer between tries).
CODE_LIMIT = "5/15 minutes"
STEP = 30
RECOVERY_CODES = 10


class CodesTx(Factors, Audit, Users, Protocol):
    pass


def recovery_hash(user_id: str, code: str) -> str:
    normal = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(f"{user_id}:{normal}".encode()).hexdigest()


def new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()[:10]  # 50 bits
    return f"{raw[:5]}-{raw[5:]}"


def clean_code(raw: object) -> str:
    code = "".join(raw.split()) if isinstance(raw, str) else ""
    if not code.isdigit() or len(code) != 6:
        raise InvalidCredentials(N_("Enter the 6-digit code from your authenticator app."))
    return code


class OneTimeCodes:
    def __init__(
        self,
        store: Store[CodesTx],
        limiter: RateLimiter,
        clock: Clock,
        issuer_name: str,
        mailer: Mailer | None = None,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.issuer_name = issuer_name
        self.mailer = mailer

    # -- enrolment -----------------------------------------------------------------------

    def app(self, user_id: str) -> TotpSecret | None:
        with self.store.transaction() as tx:
            return tx.totp_secret(user_id)

    def start(self, user: User) -> TotpSecret:
        """A new secret to scan, not yet in use (a confirmed one is left alone)."""
        with self.store.transaction() as tx:
            found = tx.totp_secret(user.id)
            if found is not None and found.confirmed_at is not None:
                return found
            secret = TotpSecret(user.id, pyotp.random_base32(), self.clock.now())
            tx.put_totp_secret(secret)
            return secret

    def uri(self, user: User, secret: TotpSecret) -> str:
        return pyotp.TOTP(secret.secret).provisioning_uri(name=user.email, issuer_name="LeadExec")

    def confirm(self, user: User, code: object) -> list[str] | None:
        """The first code proves the app holds the secret; recovery codes come with the
        first factor of this kind (None when the account already has some)."""
        self.check(user.id, code, purpose="enrol")
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.confirm_totp(user.id, now)
            audit.record(tx, now, audit.TOTP_ADDED, user_id=user.id)
            has_codes = tx.recovery_codes_left(user.id) > 0
        tell(self.mailer, user, "factor_added", factor=app_words())
        return None if has_codes else self.new_recovery_codes(user)

    def remove(self, user: User) -> None:
        with self.store.transaction() as tx:
            removed = tx.delete_totp(user.id)
            if removed:
                audit.record(tx, self.clock.now(), audit.TOTP_REMOVED, user_id=user.id)
        if removed:
            tell(self.mailer, user, "factor_removed", factor=app_words())

    # -- checking ------------------------------------------------------------------------

    def check(self, user_id: str, code: object, *, purpose: str = "signin") -> tuple[str, ...]:
        """RFC 6238 with one step either side, each step once; wrong codes throttled."""
        self._refuse_if_throttled(user_id)
        digits = clean_code(code)
        now = self.clock.now()
        step_now = int(now.timestamp()) // STEP
        with self.store.transaction() as tx:
            secret = tx.totp_secret(user_id)
            if secret is not None and (purpose == "enrol" or secret.confirmed_at is not None):
                totp = pyotp.TOTP(secret.secret)
                for step in (step_now - 1, step_now, step_now + 1):
                    if step > secret.last_step and secrets.compare_digest(
                        totp.at(step * STEP), digits
                    ):
                        if tx.advance_totp(user_id, step):
                            return (OTP,)
        self._wrong(user_id)
        raise InvalidCredentials(N_("That code is not right, or was already used."))

    def _refuse_if_throttled(self, user_id: str) -> None:
        wait = self.limiter.exceeded(CODE_LIMIT, "code", user_id)
        if wait is not None:
            with self.store.transaction() as tx:
                audit.record(tx, self.clock.now(), audit.CODE_THROTTLED, user_id=user_id)
            raise RateLimited(
                N_("Too many wrong codes. Wait a few minutes, then try again."), retry_after=wait
            )

    def _wrong(self, user_id: str) -> None:
        over = self.limiter.hit(CODE_LIMIT, "code", user_id)
        with self.store.transaction() as tx:
            audit.record(
                tx,
                self.clock.now(),
                audit.CODE_THROTTLED if over is not None else audit.CODE_REFUSED,
                user_id=user_id,
            )

    # -- recovery codes ------------------------------------------------------------------

    def new_recovery_codes(self, user: User) -> list[str]:
        """Ten new codes, shown once; the old ones end."""
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.replace_recovery_codes(user.id, [recovery_hash(user.id, c) for c in codes], now)
            audit.record(tx, now, audit.RECOVERY_CODES_MADE, user_id=user.id)
        tell(self.mailer, user, "recovery_codes_made")
        return codes

    def codes_left(self, user_id: str) -> int:
        with self.store.transaction() as tx:
            return tx.recovery_codes_left(user_id)

    def use_recovery_code(self, user_id: str, code: object) -> tuple[str, ...]:
        self._refuse_if_throttled(user_id)
        if not isinstance(code, str) or not 8 <= len(code) <= 20:
            raise InvalidRequest(N_("Enter one of your recovery codes."))
        now = self.clock.now()
        left = 0
        user = None
        with self.store.transaction() as tx:
            if tx.use_recovery_code(user_id, recovery_hash(user_id, code), now):
                audit.record(tx, now, audit.RECOVERY_CODE_USED, user_id=user_id)
                left = tx.recovery_codes_left(user_id)
                user = tx.user_by_id(user_id)
                used = True
            else:
                used = False
        if used:
            tell(self.mailer, user, "recovery_code_used", left=left)
            return (OTP,)
        self._wrong(user_id)
        raise InvalidCredentials(N_("That recovery code is not right, or was already used."))
