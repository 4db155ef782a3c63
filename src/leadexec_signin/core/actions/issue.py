"""Writing a grant and issuing tokens under it, shared by sign-in and the token endpoint.

Every sign-in adds a refresh token to its grant (only hashes are stored, so an old one cannot
be handed out again). To keep them from piling up, a grant keeps at most
``refresh_tokens_per_grant`` never-used refresh tokens, the oldest going first; a token that
was ever exchanged is never dropped by the cap (a partner's backend may hold just that one),
and ``Housekeeping`` retires any token unused for ``refresh_token_idle_days``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import credentials
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Grants, Tokens
from leadexec_signin.core.tokens import AuthorizationCode, IssuedTokens, RefreshToken
from leadexec_signin.settings import Settings


class IssueTx(Grants, Tokens, Protocol):
    pass


def widen_grant(
    tx: IssueTx,
    grant: Grant | None,
    user_id: str,
    app_id: str,
    scopes: frozenset[str],
    now: datetime,
) -> Grant:
    """Consent adds scopes to the one grant per user and application, or creates it."""
    if grant is None:
        grant = Grant(
            id=credentials.new_id("grt_"),
            user_id=user_id,
            app_id=app_id,
            scopes=scopes,
            created_at=now,
            last_used_at=now,
        )
        tx.add_grant(grant)
        return grant
    wider = grant.scopes | scopes
    if wider != grant.scopes:
        tx.set_grant_scopes(grant.id, wider)
    return replace(grant, scopes=wider)


def add_refresh_token(
    tx: IssueTx,
    grant: Grant,
    now: datetime,
    settings: Settings,
    *,
    scopes: frozenset[str] | None = None,
    kind: str = "seed",
    auth_time: datetime | None = None,
    sid: str = "",
    dpop_jkt: str | None = None,
    resource: str | None = None,
) -> str:
    """A new refresh token under ``grant`` (stored as a hash), then the per-grant cap."""
    token = credentials.new_token(credentials.REFRESH)
    tx.add_refresh_token(
        RefreshToken(
            token_hash=credentials.token_hash(token),
            grant_id=grant.id,
            app_id=grant.app_id,
            created_at=now,
            scopes=scopes,
            kind=kind,
            auth_time=auth_time,
            sid=sid,
            dpop_jkt=dpop_jkt,
            resource=resource,
        )
    )
    tx.trim_refresh_tokens(grant.id, settings.refresh_tokens_per_grant)
    return token


def issue_tokens(
    tx: IssueTx,
    grant: Grant,
    now: datetime,
    settings: Settings,
    minter: AccessTokens,
    *,
    refresh: bool,
) -> IssuedTokens:
    """A refresh token is stored (as a hash); the access token proves itself and is not."""
    refresh_token = add_refresh_token(tx, grant, now, settings) if refresh else ""
    expires = now + timedelta(seconds=settings.access_token_ttl_seconds)
    access_token = minter.mint(grant.id, grant.scopes, expires)
    return IssuedTokens(refresh_token, access_token, expires, grant.scopes)


def issue_code(tx: IssueTx, grant: Grant, now: datetime, settings: Settings) -> str:
    """Hardened delivery: a single-use code stands in for the tokens in the browser."""
    code = credentials.new_token(credentials.CODE)
    tx.add_code(
        AuthorizationCode(
            code_hash=credentials.token_hash(code),
            grant_id=grant.id,
            app_id=grant.app_id,
            expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
        )
    )
    return code
