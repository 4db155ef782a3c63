"""Row <-> dataclass conversions shared by the SQL repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.tokens import AuthorizationCode


def scopes_of(raw: str) -> frozenset[str]:
    return frozenset(raw.split())


def joined(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))


def scopes_or_none(raw: str | None) -> frozenset[str] | None:
    """A nullable scope column: NULL stands for "all of the grant's scopes"."""
    return None if raw is None else scopes_of(raw)


def joined_or_none(scopes: frozenset[str] | None) -> str | None:
    return None if scopes is None else joined(scopes)


def user_from_row(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        company=row.company,
        plan=row.plan,
        timezone=row.timezone,
        locale=row.locale,
        preferences=dict(row.preferences or {}),
        is_operator=bool(row.is_operator),
        created_at=row.created_at,
        email_verified_at=row.email_verified_at,
        disabled_at=row.disabled_at,
        scim_user_name=row.scim_user_name,
        scim_attributes=dict(row.scim_attributes or {}),
    )


def button_from_row(row: Row[Any]) -> Button:
    return Button(
        id=row.id,
        app_id=row.app_id,
        scopes=scopes_of(row.scopes),
        theme=row.theme,
        size=row.size,
        text=row.text,
        created_at=row.created_at,
    )


def grant_from_row(row: Row[Any], prefix: str = "") -> Grant:
    m = row._mapping
    return Grant(
        id=m[prefix + "id"],
        user_id=m[prefix + "user_id"],
        app_id=m[prefix + "app_id"],
        scopes=scopes_of(m[prefix + "scopes"]),
        created_at=m[prefix + "created_at"],
        last_used_at=m[prefix + "last_used_at"],
        revoked_at=m[prefix + "revoked_at"],
    )


def app_from_row(
    row: Row[Any],
    origins: tuple[str, ...],
    prefix: str = "",
    redirect_uris: tuple[str, ...] = (),
) -> Application:
    m = row._mapping
    return Application(
        id=m[prefix + "id"],
        name=m[prefix + "name"],
        owner_id=m[prefix + "owner_id"],
        status=m[prefix + "status"],
        scopes=scopes_of(m[prefix + "scopes"]),
        origins=origins,
        secret_hash=m[prefix + "secret_hash"],
        hardened=bool(m[prefix + "hardened"]),
        logo_url=m[prefix + "logo_url"],
        homepage_url=m[prefix + "homepage_url"],
        privacy_url=m[prefix + "privacy_url"],
        terms_url=m[prefix + "terms_url"],
        notice_url=m[prefix + "notice_url"],
        created_at=m[prefix + "created_at"],
        redirect_uris=redirect_uris,
        client_type=m[prefix + "client_type"],
        auth_method=m[prefix + "token_endpoint_auth_method"],
        jwks_uri=m[prefix + "jwks_uri"],
        jwks=m[prefix + "jwks"],
        rotate_refresh_tokens=bool(m[prefix + "rotate_refresh_tokens"]),
        post_logout_redirect_uris=tuple(
            u for u in (m[prefix + "post_logout_redirect_uris"] or "").split("\n") if u
        ),
        backchannel_logout_uri=m[prefix + "backchannel_logout_uri"],
        id_token_alg=m[prefix + "id_token_alg"],
        access_token_format=m[prefix + "access_token_format"],
        previous_secret_hash=m.get(prefix + "previous_secret_hash"),
        previous_secret_expires_at=m.get(prefix + "previous_secret_expires_at"),
        require_mfa=bool(m.get(prefix + "require_mfa", False)),
        dpop_bound_access_tokens=bool(m.get(prefix + "dpop_bound_access_tokens", False)),
        device_grant=bool(m.get(prefix + "device_grant", False)),
        pkce_optional=bool(m.get(prefix + "pkce_optional", False)),
        require_par=bool(m.get(prefix + "require_par", False)),
        kind=m.get(prefix + "kind") or "operator",
        domain=m.get(prefix + "domain") or "",
        last_used_at=m.get(prefix + "last_used_at"),
        registration_token_hash=m.get(prefix + "registration_token_hash"),
        client_id_url=m.get(prefix + "client_id_url") or "",
    )


def code_from_row(row: Row[Any]) -> AuthorizationCode:
    """A whole ``auth_codes`` row (select or RETURNING every column)."""
    return AuthorizationCode(
        code_hash=row.code_hash,
        grant_id=row.grant_id,
        app_id=row.app_id,
        expires_at=row.expires_at,
        redirect_uri=row.redirect_uri,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        nonce=row.nonce,
        scopes=scopes_or_none(row.scopes),
        created_at=row.created_at,
        consumed_at=row.consumed_at,
        auth_time=row.auth_time,
        sid=row.sid,
        resource=row.resource,
        dpop_jkt=row.dpop_jkt,
    )
