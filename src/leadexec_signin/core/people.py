"""People as operators see them: the search of the users list, a user's page, the profile's
rules, and the "download my data" document.

What a person may change about themselves (name, company, time zone, language) is checked
here once, for the account page, the admin API and SCIM alike.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from leadexec_signin.core.accounts import User
from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.factors import Passkey
from leadexec_signin.core.grants import GrantListing
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_

MAX_NAME = 120
MAX_COMPANY = 120
MAX_PLAN = 60
MAX_SEARCH = 200
PAGE = 50
MAX_PAGE = 200
# BCP 47 as people write it: "fr", "fr-FR", "es-419", "zh-Hant-TW".
_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
# The users list's filters, by the word the address and the API use.
FILTERS = ("disabled", "operator", "factor", "unverified")


@dataclass(frozen=True)
class UserQuery:
    """``text`` matches part of an email or a name, in any case; each flag narrows to the
    users it names. Paged by email (a keyset: the next page starts after ``after``)."""

    text: str = ""
    disabled: bool = False
    operator: bool = False
    factor: bool = False
    unverified: bool = False
    after: str = ""
    limit: int = PAGE


@dataclass(frozen=True)
class UserList:
    users: list[User]
    factors: set[str]  # ids of the listed users who have a second factor
    next_after: str  # empty on the last page


@dataclass(frozen=True)
class UserDetail:
    """A user's page: who they are, where they are signed in, what they allowed."""

    user: User
    grants: list[GrantListing]
    sessions: list[Session]
    passkeys: list[Passkey]
    totp_since: datetime | None
    recovery_codes_left: int
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def factor_count(self) -> int:
        return len(self.passkeys) + (1 if self.totp_since else 0)


def query_of(
    text: object = "",
    *,
    flags: object = (),
    after: object = "",
    limit: object = PAGE,
) -> UserQuery:
    """A search from what a surface received, refused in a sentence when malformed."""
    if not isinstance(text, str) or len(text) > MAX_SEARCH or not text.isprintable():
        raise InvalidRequest(N_("The search is too long or has characters it cannot have."))
    if not isinstance(after, str) or len(after) > 320 or not after.isprintable():
        raise InvalidRequest(N_("That page marker is not valid."))
    if isinstance(limit, str):
        limit = int(limit) if limit.isdigit() and len(limit) < 5 else -1
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit is a number from 1 to {MAX_PAGE}.")
    wanted = set(flags) if isinstance(flags, list | tuple | set | frozenset) else set()
    unknown = {str(f) for f in wanted} - set(FILTERS)
    if unknown:
        raise InvalidRequest(f"Unknown filter: {sorted(unknown)[0][:40]}.")
    return UserQuery(
        " ".join(text.split()).casefold(),
        disabled="disabled" in wanted,
        operator="operator" in wanted,
        factor="factor" in wanted,
        unverified="unverified" in wanted,
        after=after,
        limit=limit,
    )


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _text(raw: object, label: str, most: int, *, empty: bool) -> str:
    if not isinstance(raw, str):
        raise InvalidRequest(f"{label} must be text.")
    value = " ".join(raw.split())
    if len(value) > most or not value.isprintable() or (not value and not empty):
        raise InvalidRequest(f"{label}: {1 if not empty else 0} to {most} characters.")
    return value


@dataclass(frozen=True)
class Profile:
    """What a person may change about themselves (the email has its own confirmed change)."""

    name: str
    company: str
    timezone: str
    locale: str

    @classmethod
    def of(cls, user: User) -> Profile:
        return cls(user.name, user.company, user.timezone, user.locale)

    def checked(self) -> Profile:
        timezone = self.timezone if isinstance(self.timezone, str) else ""
        if timezone not in time_zones():
            raise InvalidRequest(N_("Choose a time zone from the list."))
        locale = self.locale if isinstance(self.locale, str) else ""
        if len(locale) > 35 or not _LOCALE.fullmatch(locale):
            raise InvalidRequest(N_("Choose a language from the list."))
        return Profile(
            _text(self.name, "Name", MAX_NAME, empty=False),
            _text(self.company, "Company", MAX_COMPANY, empty=True),
            timezone,
            locale,
        )


def _when(at: datetime | None) -> str | None:
    return iso_z(at) if at else None


def export_document(detail: UserDetail, now: datetime) -> dict[str, object]:
    """Everything LeadExec keeps about the person, in one JSON document (GDPR article 20):
    never a password hash, a secret, a token or a key."""
    user = detail.user
    return {
        "exportedAt": iso_z(now),
        "profile": {
            "id": user.id,
            "email": user.email,
            "emailVerifiedAt": _when(user.email_verified_at),
            "name": user.name,
            "company": user.company,
            "plan": user.plan,
            "timezone": user.timezone,
            "locale": user.locale,
            "preferences": user.preferences,
            "operator": user.is_operator,
            "createdAt": _when(user.created_at),
        },
        "applications": [
            {
                "appId": item.grant.app_id,
                "name": item.app_name,
                "scopes": sorted(item.grant.scopes),
                "grantedAt": _when(item.grant.created_at),
                "lastUsedAt": _when(item.grant.last_used_at),
            }
            for item in detail.grants
        ],
        "browsers": [
            {
                "userAgent": s.user_agent,
                "ip": s.ip,
                "signedInAt": _when(s.created_at),
                "lastSeenAt": _when(s.last_seen_at),
            }
            for s in detail.sessions
        ],
        "secondFactors": [
            *(
                {
                    "kind": "passkey",
                    "name": p.name,
                    "addedAt": _when(p.created_at),
                    "lastUsedAt": _when(p.last_used_at),
                }
                for p in detail.passkeys
            ),
            *(
                [{"kind": "authenticator_app", "addedAt": _when(detail.totp_since)}]
                if detail.totp_since
                else []
            ),
        ],
        "recoveryCodesLeft": detail.recovery_codes_left,
        "auditEvents": [
            {
                "at": iso_z(e.at),
                "event": e.event,
                "appId": e.app_id,
                "ip": e.ip,
                "userAgent": e.user_agent,
                "detail": e.detail,
            }
            for e in detail.events
        ],
    }


def user_record(user: User, *, has_factor: bool | None = None) -> dict[str, object]:
    """A user as the command line's ``--json`` and the admin API show one."""
    record: dict[str, object] = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "company": user.company,
        "plan": user.plan,
        "timezone": user.timezone,
        "locale": user.locale,
        "operator": user.is_operator,
        "disabled": user.disabled,
        "emailVerified": user.email_verified_at is not None,
        "createdAt": _when(user.created_at),
        "disabledAt": _when(user.disabled_at),
    }
    if has_factor is not None:
        record["secondFactor"] = has_factor
    return record


@dataclass(frozen=True)
class Change:
    """What an update changes; None leaves it as it is."""

    profile: Profile | None = None
    plan: str | None = None
    operator: bool | None = None
    disabled: bool | None = None
    email: str | None = None  # a directory's change of address: confirmed by the directory
    scim: ScimIdentity | None = None


@dataclass(frozen=True)
class ScimIdentity:
    """What a SCIM directory calls the user, and the attributes it sent to be returned."""

    user_name: str
    attributes: dict[str, object]
