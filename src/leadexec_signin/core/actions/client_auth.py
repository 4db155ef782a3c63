"""Authenticating an OAuth client at the token, revocation and introspection endpoints
(RFC 6749 section 2.3; OpenID Connect Core section 9; RFC 7523 for private_key_jwt).

A client authenticates with exactly the method it registered: a confidential client that
registered client_secret_basic cannot fall back to sending nothing, and a public client has no
secret to send (RFC 9700 section 2.5 asks servers to hold clients to one method).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import jwt

from leadexec_signin.core.apps import APPROVED, PENDING, AppCredentials, Application
from leadexec_signin.core.client_documents import lookup_client
from leadexec_signin.core.clients import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    NONE,
    PRIVATE_KEY_JWT,
)
from leadexec_signin.core.errors import InvalidClient, InvalidRequest
from leadexec_signin.core.jwts import ALGORITHMS
from leadexec_signin.core.ports import Apps

# The sign-in API's ``appSecret``: its form of client_secret_post, where an application that
# registered no secret needs none (its refresh token, or its code, is the proof).
APP_SECRET = "app_secret"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# An assertion living longer than this is refused: its jti is kept until it expires, and a
# client has no reason to make one last longer than a request.
MAX_ASSERTION_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Presented:
    """What a request offered to prove which client it comes from."""

    client_id: str
    method: str
    secret: str = ""
    assertion: str = ""


def presented(basic: tuple[str, str] | None, form: Mapping[str, str]) -> Presented:
    """The one method a request used; more than one is refused (RFC 6749 section 2.3)."""
    used = [
        name
        for name, present in (
            (CLIENT_SECRET_BASIC, basic is not None),
            (CLIENT_SECRET_POST, bool(form.get("client_secret"))),
            (PRIVATE_KEY_JWT, bool(form.get("client_assertion"))),
        )
        if present
    ]
    if len(used) > 1:
        raise InvalidRequest("Use exactly one client authentication method.")
    form_id = form.get("client_id", "")
    if basic is not None:
        client_id, secret = basic
        if form_id and form_id != client_id:
            raise InvalidClient("client_id differs from the one in the Authorization header.")
        return Presented(client_id, CLIENT_SECRET_BASIC, secret=secret)
    if used == [CLIENT_SECRET_POST]:
        return Presented(form_id, CLIENT_SECRET_POST, secret=form["client_secret"])
    if used == [PRIVATE_KEY_JWT]:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidRequest(f"client_assertion_type must be {ASSERTION_TYPE}.")
        return Presented(form_id, PRIVATE_KEY_JWT, assertion=form["client_assertion"])
    return Presented(form_id, NONE)


@dataclass(frozen=True)
class Client:
    """An authenticated client: its credentials always; its whole registration when the
    method needed it (the standard surface mints by it). The sign-in API's refresh never
    reads it: its token read already joined the credentials."""

    credentials: AppCredentials
    registration: Application | None = None

    @property
    def id(self) -> str:
        return self.credentials.id

    def serves(self, user_id: str) -> bool:
        return self.credentials.serves(user_id)


def check_app_secret(
    app: AppCredentials | None, app_secret: str | None, now: datetime
) -> AppCredentials:
    """The secret, or during a rotation's grace period the one it replaced. A pending
    application passes (development mode): each grant type then accepts only its owner's
    grants (``AppCredentials.serves``)."""
    if app is None:
        raise InvalidClient("Unknown application ID.")
    if app.secret_hash is not None:
        if not app_secret:
            raise InvalidClient("This application requires its appSecret.")
        if not app.accepts_secret(app_secret, now):
            raise InvalidClient("The application secret is not correct.")
    if app.status not in (APPROVED, PENDING):
        raise InvalidClient(f"The application is {app.status}.")
    return app


class Assertions(Protocol):
    def use_assertion(self, jti_hash: str, expires_at: datetime) -> bool:
        """Record a client assertion's jti; False if it was already used."""
        ...


class ClientKeysFetcher(Protocol):
    def jwks(self, uri: str, *, refresh: bool = False) -> Mapping[str, Any] | None:
        """A client's published JWKS (cached); None if it cannot be fetched."""
        ...


class ClientAuthTx(Apps, Assertions, Protocol):
    pass


def _assertion_client_id(assertion: str) -> str:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidClient("The client assertion is not a valid JWT.") from None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else ""


class ClientAuthenticator:
    def __init__(self, fetcher: ClientKeysFetcher, issuer: str, *, documents: bool = False) -> None:
        self.fetcher = fetcher
        self.issuer = issuer
        # Clients may be named by their metadata document's URL (the operator's setting);
        # the document was checked before the transaction (``actions/client_documents.py``).
        self.documents = documents
        # RFC 7523 section 3: the token endpoint, or the issuer (RFC 7523bis); the other
        # endpoints a client authenticates at are accepted the same way.
        self.audiences = [issuer] + [
            f"{issuer}/oauth2/{name}" for name in ("token", "revoke", "introspect")
        ]

    def client(
        self,
        tx: ClientAuthTx,
        offered: Presented,
        now: datetime,
        joined: AppCredentials | None = None,
    ) -> Client:
        """The token endpoint's authentication, either surface's form. ``joined`` is the
        application a token read already joined (a query fewer when it is the one named)."""
        if offered.method == APP_SECRET:
            if joined is None or joined.id != offered.client_id:
                app = tx.app_by_id(offered.client_id)
                joined = app.credentials if app is not None else None
            return Client(check_app_secret(joined, offered.secret or None, now))
        app = self.authenticate(tx, offered, now)
        return Client(app.credentials, app)

    def authenticate(
        self, tx: ClientAuthTx, offered: Presented, now: datetime, *, public_ok: bool = True
    ) -> Application:
        client_id = offered.client_id
        if not client_id and offered.method == PRIVATE_KEY_JWT:
            client_id = _assertion_client_id(offered.assertion)
        if not client_id:
            raise InvalidClient("The request does not say which client it comes from.")
        app = lookup_client(tx, client_id, documents=self.documents)
        if app is None:
            raise InvalidClient("Unknown client.")
        if offered.method != app.auth_method:
            raise InvalidClient(
                f"This client authenticates with {app.auth_method}, not {offered.method}."
            )
        if offered.method in (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST):
            if app.secret_hash is None or not app.accepts_secret(offered.secret, now):
                raise InvalidClient("The client secret is not correct.")
        elif offered.method == PRIVATE_KEY_JWT:
            self._check_assertion(tx, app, offered.assertion, now)
        elif not public_ok:
            raise InvalidClient("This endpoint is for confidential clients.")
        # A pending application is in development mode: the grant types then accept only its
        # owner's grants (``Application.serves``); a suspended one is refused here.
        if app.status not in (APPROVED, PENDING):
            raise InvalidClient(f"The application is {app.status}.")
        return app

    def _keys(self, app: Application, refresh: bool) -> list[jwt.PyJWK]:
        if app.jwks:
            data: Mapping[str, Any] | None = json.loads(app.jwks)
        elif app.jwks_uri:
            data = self.fetcher.jwks(app.jwks_uri, refresh=refresh)
        else:
            data = None
        if not data:
            return []
        found = []
        for raw in data.get("keys", []):
            try:
                found.append(jwt.PyJWK(raw))
            except jwt.PyJWTError:
                continue  # a key we cannot use (an encryption key, an odd curve)
        return found

    def _check_assertion(
        self, tx: ClientAuthTx, app: Application, assertion: str, now: datetime
    ) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise InvalidClient("The client assertion is not a valid JWT.") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidClient("The client assertion must be signed with RS256, ES256 or EdDSA.")
        kid = header.get("kid")
        claims = None
        for refresh in (False, True):  # a key the cached set lacks: fetch the set once more
            keys = [
                k
                for k in self._keys(app, refresh)
                if (kid is None or k.key_id == kid) and k.algorithm_name in (alg, None)
            ]
            for key in keys:
                try:
                    claims = jwt.decode(
                        assertion,
                        key,
                        algorithms=[alg],
                        audience=self.audiences,
                        issuer=app.id,
                        options={"require": ["exp", "jti", "sub", "iss", "aud"]},
                        leeway=30,
                    )
                    break
                except jwt.InvalidSignatureError:
                    continue
                except jwt.PyJWTError as exc:
                    raise InvalidClient(f"The client assertion is not valid: {exc}.") from None
            if claims is not None or app.jwks:
                break
        if claims is None:
            raise InvalidClient("No registered key of this client verifies the assertion.")
        if claims["sub"] != app.id:
            raise InvalidClient("The client assertion's sub must be the client_id.")
        expires = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
        if expires - now > MAX_ASSERTION_LIFETIME:
            raise InvalidClient("The client assertion must expire within 10 minutes.")
        jti = str(claims["jti"])
        digest = hashlib.sha256(f"{app.id}\n{jti}".encode()).hexdigest()
        if not tx.use_assertion(digest, expires):
            raise InvalidClient("This client assertion was already used.")
