"""The OpenID Connect claims each scope releases, for ID tokens and UserInfo alike, and the
``claims`` request parameter (OpenID Connect Core section 5.5) read into the scopes that
release what it asks for."""

from __future__ import annotations

import json
from dataclasses import dataclass

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.factors import acr_of, in_order
from leadexec_signin.core.scopes import user_claims, user_settings

# Which scope releases each claim we return about the user (``sub`` always comes).
CLAIM_SCOPES = {
    "name": "profile",
    "email": "email",
    "email_verified": "email",
    "company": "account",
    "plan": "account",
    "zoneinfo": "settings",
    "locale": "settings",
    "preferences": "settings",
}
MAX_CLAIMS = 4096


def id_token_claims(user: User, scopes: frozenset[str]) -> dict[str, object]:
    """Claims released by each scope (OpenID Connect Core section 5.4 names where they
    exist: ``name``, ``email``, ``email_verified``, ``zoneinfo``, ``locale``; LeadExec's own
    keep their names). Every address that signs in was confirmed (by its link, or by an
    operator creating the account), so ``email_verified`` says whether that happened."""
    claims: dict[str, object] = {"sub": user.id}
    seed = user_claims(user, scopes)
    for name in ("name", "email", "company", "plan"):
        if name in seed:
            claims[name] = seed[name]
    if "email" in seed:
        claims["email_verified"] = user.email_verified_at is not None
    if "settings" in scopes:
        settings = user_settings(user)
        claims["zoneinfo"] = settings.pop("timezone")
        claims["locale"] = settings.pop("locale")
        claims["preferences"] = settings
    return claims


def auth_context(amr: tuple[str, ...] | None) -> dict[str, object]:
    """How the user signed in (OpenID Connect Core section 2): RFC 8176 ``amr`` and our
    ``acr``. Nothing for a sign-in recorded before the methods were (migration 0010)."""
    methods = in_order(amr or ())
    if not methods:
        return {}
    return {"amr": list(methods), "acr": acr_of(methods)}


@dataclass(frozen=True)
class ClaimsRequest:
    """What a ``claims`` parameter asks for, voluntary and essential alike: the claims are
    released by their scopes, which are asked for in the consent dialog like any other and
    then returned in the ID token and at UserInfo both, as every scope here is."""

    names: frozenset[str] = frozenset()
    acr_values: tuple[str, ...] = ()  # an essential acr's value or values
    sub: str = ""  # the ID token's sub, when the request names it (section 5.5.1)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(CLAIM_SCOPES[n] for n in self.names if n in CLAIM_SCOPES)


def read_claims(raw: str) -> ClaimsRequest:
    """The parameter is a JSON object whose ``userinfo`` and ``id_token`` members map claim
    names to null or to ``{essential, value, values}``; anything else is invalid_request.
    Claims we do not have are ignored, as the specification says."""
    if not raw:
        return ClaimsRequest()
    bad = InvalidRequest("claims must be a JSON object with userinfo and id_token members.")
    if len(raw) > MAX_CLAIMS:
        raise bad
    try:
        found = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(found, dict) or set(found) - {"userinfo", "id_token"}:
        raise bad
    names: set[str] = set()
    acr: tuple[str, ...] = ()
    sub = ""
    for where, members in found.items():
        if not isinstance(members, dict):
            raise bad
        for name, spec in members.items():
            if spec is not None and not isinstance(spec, dict):
                raise bad
            names.add(name)
            spec = spec or {}
            values = spec.get("values", [spec["value"]] if "value" in spec else [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise bad
            if name == "acr" and spec.get("essential") is True:
                acr = tuple(values)
            if name == "sub" and where == "id_token" and values:
                sub = values[0]
    return ClaimsRequest(frozenset(names), acr, sub)
