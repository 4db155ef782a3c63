"""Token records as storage keeps them (hashes only) and what validating one yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import AppCredentials, Application
from leadexec_signin.core.grants import Grant


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    grant_id: str
    app_id: str
    created_at: datetime
    # None: every scope of the grant, now and after the grant widens (what tokens issued
    # before this field existed mean). A set narrows the token below its grant.
    scopes: frozenset[str] | None = None
    last_used_at: datetime | None = None
    # Rotation with reuse detection (RFC 9700 section 4.14.2): the token that replaced this
    # one and when; presenting a rotated token again betrays a copy and revokes the grant.
    replaced_by: str | None = None  # hash of the successor
    rotated_at: datetime | None = None
    # The surface that issued it: "seed" (/api/token) or "oauth" (/oauth2/token); each
    # accepts only its own, so rotation cannot be side-stepped through the other.
    kind: str = "seed"
    # OpenID Connect: the sign-in behind the token, repeated in ID tokens issued on refresh.
    auth_time: datetime | None = None
    sid: str = ""
    # RFC 9449 section 5: the DPoP key (RFC 7638 thumbprint) a public client's refresh token
    # is bound to; a refresh must prove that key. None: not bound.
    dpop_jkt: str | None = None
    # RFC 8707: the resource its access tokens are for; None: none named.
    resource: str | None = None


@dataclass(frozen=True)
class AccessToken:
    token_hash: str
    grant_id: str
    app_id: str
    scopes: frozenset[str]
    expires_at: datetime
    created_at: datetime
    # RFC 8176: how the user signed in, as the token carries it (None: not recorded, as for
    # the sign-in API's own tokens and tokens of the first format).
    amr: tuple[str, ...] | None = None
    # RFC 9449 section 6: the thumbprint of the DPoP key the token is bound to (cnf.jkt).
    jkt: str | None = None
    # RFC 8707: the resource it is for (``core/resources.py``); None: none named.
    aud: str | None = None


@dataclass(frozen=True)
class AuthorizationCode:
    """A single-use code that stands in for the tokens in the browser: hardened delivery's,
    and the authorization code grant's (RFC 6749 section 4.1), which binds it to what the
    authorization request said."""

    code_hash: str
    grant_id: str
    app_id: str
    expires_at: datetime
    # "" where the request had none (hardened delivery never has any of the four).
    redirect_uri: str = ""  # must be repeated at the token endpoint (RFC 6749 4.1.3)
    code_challenge: str = ""  # RFC 7636 section 4.3
    code_challenge_method: str = ""
    nonce: str = ""  # echoed in the ID token (OpenID Connect Core section 3.1.2.1)
    scopes: frozenset[str] | None = None  # None: the grant's scopes, as for RefreshToken
    created_at: datetime | None = None  # None only for codes issued before it was recorded
    # Set instead of deleting the code, so a second redemption is recognised as a replay
    # (RFC 6749 section 4.1.2) rather than as an unknown code.
    consumed_at: datetime | None = None
    # OpenID Connect: when the user signed in, and the browser session (public form).
    auth_time: datetime | None = None
    sid: str = ""
    # RFC 8707: the resource the request named (``core/resources.py``); None: none.
    resource: str | None = None
    # RFC 9449 section 10: the thumbprint of the DPoP key the request bound the code to; only
    # a token request with a proof of that key redeems it. None: not bound.
    dpop_jkt: str | None = None


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


@dataclass(frozen=True)
class GrantContext:
    """What an access-token check needs about the token's grant, read in one query."""

    grant: Grant
    app: AppCredentials
    user: User


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh exchange needs, read in one query: the token, its grant and the
    columns of its application that authenticate it (no origins, no user row). Both token
    endpoints read this one shape; each accepts only its own ``token.kind``."""

    token: RefreshToken
    grant: Grant
    app: AppCredentials

    @property
    def token_hash(self) -> str:
        return self.token.token_hash

    @property
    def app_id(self) -> str:
        """The application the token was issued to."""
        return self.token.app_id
