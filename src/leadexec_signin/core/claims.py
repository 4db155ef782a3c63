"""The OpenID Connect claims each scope releases, for ID tokens and UserInfo alike."""

from __future__ import annotations

from leadexec_signin.core.accounts import User
from leadexec_signin.core.factors import acr_of, in_order
from leadexec_signin.core.scopes import user_claims, user_settings


def id_token_claims(user: User, scopes: frozenset[str]) -> dict[str, object]:
    """Claims released by each scope (OpenID Connect Core section 5.4 names where they
    exist: ``name``, ``email``, ``zoneinfo``, ``locale``; LeadExec's own keep their names)."""
    claims: dict[str, object] = {"sub": user.id}
    seed = user_claims(user, scopes)
    for name in ("name", "email", "company", "plan"):
        if name in seed:
            claims[name] = seed[name]
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
