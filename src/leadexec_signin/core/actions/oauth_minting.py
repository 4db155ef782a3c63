"""What the standard token endpoint's grant types share: the step they get, and the answer
they give, with its access token (opaque or RFC 9068), ID token and refresh token.

Tokens are the seed's: the same grant, the same self-proving access tokens (or RFC 9068 JWTs
when the application chose them), refresh tokens in the same table, so "Remove access" and
every revocation end both surfaces' tokens at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import jwts
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.client_auth import ClientAuthTx
from leadexec_signin.core.actions.issue import IssueTx
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.revocation import RevokeTx
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import Application
from leadexec_signin.core.claims import auth_context, id_token_claims
from leadexec_signin.core.clients import JWT
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    InvalidRequest,
    SigninError,
)
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Factors, Users
from leadexec_signin.core.scopes import OPENID, PROTOCOL_SCOPES, SCOPES, ordered
from leadexec_signin.settings import Settings


class OAuthTokenTx(ClientAuthTx, IssueTx, RevokeTx, Users, Factors, Protocol):
    pass


@dataclass(frozen=True)
class TokenResponse:
    """RFC 6749 section 5.1 (+ ``id_token``, OpenID Connect Core section 3.1.3.3)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None
    id_token: str | None
    app: Application

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True)
class Signin:
    """The sign-in behind a token: repeated in every ID token issued under it."""

    auth_time: datetime | None
    sid: str
    nonce: str = ""
    amr: tuple[str, ...] | None = None  # read by answer() from the session's sid


class Minting:
    """Everything a grant type needs to answer with tokens."""

    def __init__(
        self, settings: Settings, minter: AccessTokens, keys: SigningKeys, clock: Clock
    ) -> None:
        self.settings = settings
        self.minter = minter
        self.keys = keys
        self.clock = clock

    def answer(
        self,
        tx: OAuthTokenTx,
        app: Application,
        grant: Grant,
        scopes: frozenset[str],
        signin: Signin,
        refresh_token: str | None,
        now: datetime,
    ) -> TokenResponse:
        ttl = self.settings.access_token_ttl_seconds
        expires = now + timedelta(seconds=ttl)
        # The grant's data scopes that were asked for, and the protocol scopes asked for.
        data = (scopes & grant.scopes) | (scopes - SCOPES.keys())
        user = tx.user_by_id(grant.user_id)
        if user is None:
            raise InvalidRequest("The user of this grant no longer exists.")
        if app.access_token_format == JWT:
            access = self._jwt_access_token(app, grant, user, data, signin, now, expires)
        else:
            access = self.minter.mint(grant.id, data, expires)
        id_token = None
        if OPENID in scopes:
            signin = replace(signin, amr=tx.signin_methods(signin.sid) if signin.sid else None)
            id_token = self._id_token(app, user, data, signin, access, now)
        return TokenResponse(
            access, ttl, " ".join(_scope_order(data)), refresh_token, id_token, app
        )

    def _id_token(
        self,
        app: Application,
        user: User,
        scopes: frozenset[str],
        signin: Signin,
        access_token: str,
        now: datetime,
    ) -> str:
        key = self.keys.current(app.id_token_alg)
        iat = int(now.timestamp())
        claims: dict[str, object] = {
            "iss": self.settings.issuer,
            "aud": app.id,
            "azp": app.id,
            "iat": iat,
            "exp": iat + self.settings.access_token_ttl_seconds,
            **id_token_claims(user, scopes),
        }
        if signin.auth_time is not None:
            claims["auth_time"] = int(signin.auth_time.timestamp())
        if signin.nonce:
            claims["nonce"] = signin.nonce
        if signin.sid:
            claims["sid"] = signin.sid
        claims.update(auth_context(signin.amr))
        at_hash = jwts.half_hash(access_token, key.alg)
        if at_hash:
            claims["at_hash"] = at_hash
        return jwts.sign(key, claims)

    def _jwt_access_token(
        self,
        app: Application,
        grant: Grant,
        user: User,
        scopes: frozenset[str],
        signin: Signin,
        now: datetime,
        expires: datetime,
    ) -> str:
        """RFC 9068 section 2.2. The grant id rides along so the LeadExec API checks the
        grant on every call, as for opaque tokens: revocation still ends it at once."""
        key = self.keys.current("RS256")  # RFC 9068 section 2.1: RS256 is what all accept
        claims: dict[str, object] = {
            "iss": self.settings.issuer,
            "sub": user.id,
            "aud": self.settings.issuer + "/api/v1",
            "client_id": app.id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(_scope_order(scopes)),
            "grant_id": grant.id,
        }
        if signin.auth_time is not None:
            claims["auth_time"] = int(signin.auth_time.timestamp())
        return jwts.sign(key, claims, typ=jwts.ACCESS_TOKEN_TYP)


def _scope_order(scopes: frozenset[str]) -> list[str]:
    return [s for s in PROTOCOL_SCOPES if s in scopes] + ordered(scopes)


@dataclass(frozen=True)
class TokenStep:
    """What one grant type gets: the request, the authenticated client, the open
    transaction and the tools to answer."""

    tx: OAuthTokenTx
    app: Application
    form: Mapping[str, str]
    now: datetime
    ip: str
    settings: Settings
    minting: Minting
    minter: AccessTokens
    usage: UsageLog


@dataclass(frozen=True)
class Refusal:
    """A refusal whose own writes must stay (a replayed code or refresh token revokes the
    grant): raised after the commit."""

    error: SigninError


GrantHandler = Callable[[TokenStep], TokenResponse | Refusal]
