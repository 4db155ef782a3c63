"""How each surface answers with tokens (``Policy.answer``).

The sign-in API answers with a self-proving access token for all of the grant's scopes. The
standard surface answers with an opaque or RFC 9068 access token for the scopes asked, and an
ID token when ``openid`` was. Tokens are shared: the same grant, the same self-proving access
tokens, refresh tokens in the same table, so "Remove access" and every revocation end both
surfaces' tokens at once.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from leadexec_signin.core import jwts, resources
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.client_auth import Client
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.token_step import Issued, Signin, Step
from leadexec_signin.core.apps import Application
from leadexec_signin.core.claims import auth_context, id_token_claims
from leadexec_signin.core.clients import JWT
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.scopes import OPENID, PROTOCOL_SCOPES, SCOPES, ordered
from leadexec_signin.settings import Settings


class Answers:
    """The two surfaces' answers, over the same minter and signing keys."""

    def __init__(
        self, settings: Settings, minter: AccessTokens, keys: SigningKeys, clock: Clock
    ) -> None:
        self.settings = settings
        self.minter = minter
        self.keys = keys
        self.clock = clock

    def seed(
        self,
        step: Step,
        client: Client,
        grant: Grant,
        scopes: frozenset[str],
        signin: Signin,
        refresh_token: str | None,
        resource: str | None = None,
    ) -> Issued:
        """The sign-in API's answer: tokens carry all the scopes of the grant."""
        ttl = self.settings.access_token_ttl_seconds
        expires = step.now + timedelta(seconds=ttl)
        access = self.minter.mint(grant.id, grant.scopes, expires)
        return Issued(access, expires, ttl, grant.scopes, refresh_token)

    def oauth(
        self,
        step: Step,
        client: Client,
        grant: Grant,
        scopes: frozenset[str],
        signin: Signin,
        refresh_token: str | None,
        resource: str | None = None,
    ) -> Issued:
        """RFC 6749 section 5.1 (+ ``id_token``, OpenID Connect Core section 3.1.3.3); the
        access token is for ``resource`` (RFC 8707), when one was named."""
        app, now = client.registration, step.now
        assert app is not None  # the standard surface authenticates by the registration
        ttl = self.settings.access_token_ttl_seconds
        expires = now + timedelta(seconds=ttl)
        # The grant's data scopes that were asked for, and the protocol scopes asked for.
        data = (scopes & grant.scopes) | (scopes - SCOPES.keys())
        user = step.tx.user_by_id(grant.user_id)
        if user is None:
            raise InvalidRequest("The user of this grant no longer exists.")
        # How the user signed in, for the ID token and carried by the access token itself
        # (userinfo and introspection tell it without a read).
        signin = replace(signin, amr=step.tx.signin_methods(signin.sid) if signin.sid else None)
        jkt = step.proof.jkt if step.proof is not None else None
        if app.access_token_format == JWT:
            access = self._jwt_access_token(
                app, grant, user, data, signin, now, expires, jkt, resource
            )
        else:
            access = self.minter.mint(grant.id, data, expires, signin.amr, jkt, resource)
        id_token = None
        if OPENID in scopes:
            id_token = self._id_token(app, user, data, signin, access, now)
        token_type = "DPoP" if jkt is not None else "Bearer"
        return Issued(access, expires, ttl, data, refresh_token, id_token, app.origins, token_type)

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
            # What the client calls itself (a metadata document's URL, not the id its row is
            # kept under): OpenID Connect Core section 3.1.3.7 has it compare aud with that.
            "aud": app.client_id,
            "azp": app.client_id,
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
        jkt: str | None,
        resource: str | None,
    ) -> str:
        """RFC 9068 section 2.2 (+ ``cnf.jkt`` for a DPoP-bound token, RFC 9449 section 6.1).
        The grant id rides along so the LeadExec API checks the grant on every call, as for
        opaque tokens: revocation still ends it at once."""
        key = self.keys.current("RS256")  # RFC 9068 section 2.1: RS256 is what all accept
        claims: dict[str, object] = {
            "iss": self.settings.issuer,
            "sub": user.id,
            # The resource named (RFC 8707), else the LeadExec API, as before.
            "aud": resources.url(self.settings.issuer, resource or resources.API),
            "client_id": app.client_id,  # RFC 9068 section 2.2: as the client names itself
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(scope_order(scopes)),
            "grant_id": grant.id,
        }
        if signin.auth_time is not None:
            claims["auth_time"] = int(signin.auth_time.timestamp())
        claims.update(auth_context(signin.amr))  # RFC 9068 section 2.2.1
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        return jwts.sign(key, claims, typ=jwts.ACCESS_TOKEN_TYP)


def scope_order(scopes: frozenset[str]) -> list[str]:
    """Protocol scopes first, then the data scopes in their documented order."""
    return [s for s in PROTOCOL_SCOPES if s in scopes] + ordered(scopes)
