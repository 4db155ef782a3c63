"""The four LeadExec scopes, their plain-words descriptions, and what each one releases."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from leadexec_signin.core.errors import InvalidRequest

if TYPE_CHECKING:
    from leadexec_signin.core.accounts import User

# Ordered as the consent dialog lists them. Words a person reads, not API names.
SCOPES: dict[str, str] = {
    "profile": "See your name and LeadExec user ID",
    "email": "See your email address",
    "account": "See your company name and LeadExec plan",
    "settings": "See your time zone, language and preferences",
}

# OpenID Connect's own scopes: they release no data by themselves, so they are not part of a
# grant; ``openid`` asks for an ID token, ``offline_access`` for a refresh token.
OPENID, OFFLINE_ACCESS = "openid", "offline_access"
PROTOCOL_SCOPES = (OPENID, OFFLINE_ACCESS)
# OpenID Connect Core section 5.4's standard scopes for data LeadExec does not hold (a postal
# address, a phone number). Section 3.1.2.1 says scopes not understood SHOULD be ignored, and
# certified providers (node-oidc-provider) drop them: a generic client that asks for them
# gets what we have, not an error. They are never granted, shown on consent, or named in a
# token's scope. Any other unknown scope stays invalid_scope: a typo in one of our own scopes
# ("emial") is better told at once than silently granted less.
IGNORED_SCOPES = frozenset({"address", "phone"})
# The consent dialog's line when an OpenID Connect client asks only who the user is.
OPENID_WORDS = "Know who you are on LeadExec (your user ID)"

_SPLIT = re.compile(r"[\s,]+")


def parse_scopes(raw: str | Iterable[str]) -> frozenset[str]:
    """Accept ``profile,email`` (seed CLI) or ``profile email`` (OAuth) and refuse unknowns."""
    items = _SPLIT.split(raw.strip()) if isinstance(raw, str) else list(raw)
    scopes = frozenset(s for s in items if s)
    unknown = scopes - SCOPES.keys()
    if unknown:
        raise InvalidRequest(f"Unknown scope: {', '.join(sorted(unknown))[:100]}.")
    if not scopes:
        raise InvalidRequest("At least one scope is required.")
    return scopes


def ordered(scopes: Iterable[str]) -> list[str]:
    wanted = set(scopes)
    return [s for s in SCOPES if s in wanted]


def user_claims(user: User, scopes: frozenset[str]) -> dict[str, object]:
    """The result's ``user`` object: only the fields the granted scopes release."""
    claims: dict[str, object] = {}
    if "profile" in scopes:
        claims["id"] = user.id
        claims["name"] = user.name
    if "email" in scopes:
        claims["email"] = user.email
    if "account" in scopes:
        claims["company"] = user.company
        claims["plan"] = user.plan
    return claims


def user_settings(user: User) -> dict[str, object]:
    return {"timezone": user.timezone, "locale": user.locale, **user.preferences}
