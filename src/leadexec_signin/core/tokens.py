"""Token records as storage keeps them (hashes only) and what validating one yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application
from leadexec_signin.core.grants import Grant


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    grant_id: str
    app_id: str
    created_at: datetime


@dataclass(frozen=True)
class AccessToken:
    token_hash: str
    grant_id: str
    app_id: str
    scopes: frozenset[str]
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class AuthorizationCode:
    """Hardened delivery's single-use code: stands in for the tokens in the browser."""

    code_hash: str
    grant_id: str
    app_id: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenContext:
    """Everything a token check needs, fetched in one query."""

    grant: Grant
    app: Application
    user: User


@dataclass(frozen=True)
class IssuedTokens:
    refresh_token: str
    access_token: str
    expires_at: datetime
    scopes: frozenset[str]
