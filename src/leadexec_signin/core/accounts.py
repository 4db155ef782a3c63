"""LeadExec accounts: creation, password sign-in with argon2id, brute-force limits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from leadexec_signin.core.errors import InvalidRequest, RateLimited

# No control characters: PostgreSQL text cannot hold NUL, and none belongs in an address.
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}\.[^@\s\x00-\x1f\x7f]{1,63}\Z"
)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    company: str = ""
    plan: str = ""
    timezone: str = "UTC"
    locale: str = "en-US"
    preferences: dict[str, object] = field(default_factory=dict)
    is_operator: bool = False
    created_at: datetime | None = None
    # When the address was confirmed (a link followed, or an operator's command line); None
    # for a self-service sign-up still waiting for its link, which cannot sign in yet.
    email_verified_at: datetime | None = None
    # When an operator disabled the account (None: enabled). A disabled account cannot sign in.
    disabled_at: datetime | None = None
    # Provisioned over SCIM: the directory's userName, and what else it sent to be returned.
    scim_user_name: str | None = None
    scim_attributes: dict[str, object] = field(default_factory=dict)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise InvalidRequest("Enter a valid email address.")
    return email


def check_password_strength(password: str) -> None:
    if len(password) < 8:
        raise InvalidRequest("The password must have at least 8 characters.")
    if len(password) > 1024:
        raise InvalidRequest("The password is too long (1024 characters at most).")


class Passwords:
    """argon2id with a configurable cost; unknown emails still pay one verification so the
    response time does not reveal whether an account exists."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._dummy = self._hasher.hash("not a real password, only spends time")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def refuse_if_limited(retry_after: int | None) -> None:
    if retry_after is not None:
        minutes = max(1, round(retry_after / 60))
        raise RateLimited(
            f"Too many failed sign-in attempts. Try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after=retry_after,
        )
