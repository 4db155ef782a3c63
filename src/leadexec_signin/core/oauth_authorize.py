"""The ordered checks of a standard authorization request (RFC 6749 section 4.1.1, RFC 7636,
OpenID Connect Core section 3.1.2), listed once, on one screen.

The first two (client, redirect URI) decide whether an error may be sent back to the client
at all: until the redirect URI is known to be registered, an error is shown to the user and
never redirected (RFC 6749 section 4.1.2.1), or the authorization endpoint would be an open
redirector. Every later check's error goes back to the redirect URI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import APPROVED, PENDING, Application, is_loopback_origin
from leadexec_signin.core.claims import ClaimsRequest, read_claims
from leadexec_signin.core.client_documents import lookup_client
from leadexec_signin.core.clients import check_code_challenge, match_redirect_uri
from leadexec_signin.core.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from leadexec_signin.core.factors import ACR_VALUES
from leadexec_signin.core.ports import Apps
from leadexec_signin.core.resources import check_resource
from leadexec_signin.core.scopes import IGNORED_SCOPES, OPENID, PROTOCOL_SCOPES, SCOPES

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
RESPONSE_MODES = ("query", "form_post")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_JKT = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_VALUE = 512
AUTH_AFTER = "le_auth_after"  # our own parameter: "signed in again after this time"


@dataclass(frozen=True)
class OAuthRequest:
    """The authorization request as sent (every value a string, "" when absent)."""

    client_id: str = ""
    redirect_uri: str = ""
    response_type: str = ""
    response_mode: str = ""
    scope: str = ""
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    prompt: str = ""
    max_age: str = ""
    login_hint: str = ""
    id_token_hint: str = ""
    ui_locales: str = ""
    request: str = ""
    request_uri: str = ""
    le_auth_after: str = ""
    # OpenID Connect Core 3.1.2.1 and 5.5: the assurance the client wants (core/factors.py).
    acr_values: str = ""
    claims: str = ""
    # RFC 8707: the resource the tokens are for (one; ``core/resources.py``).
    resource: str = ""
    # RFC 9449 section 10: the thumbprint of the DPoP key the code is bound to.
    dpop_jkt: str = ""
    # Parameters sent more than once (RFC 6749 section 3.1: an error).
    duplicates: tuple[str, ...] = field(default=())
    # Read from a pushed request (RFC 9126, ``actions/par.py``), not from the address.
    pushed: bool = False

    def as_params(self) -> dict[str, str]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in _NOT_SENT and getattr(self, f.name)
        }

    def continuation(self) -> dict[str, str]:
        """The parameters that carry this request on (to the sign-in form and back, in the
        consent dialog): a pushed request's stay on the server, behind its request_uri."""
        if not self.pushed:
            return self.as_params()
        sent = {"client_id": self.client_id, "request_uri": self.request_uri}
        return {**sent, AUTH_AFTER: self.le_auth_after} if self.le_auth_after else sent


_NOT_SENT = ("duplicates", "pushed")
PARAMETERS = tuple(f.name for f in fields(OAuthRequest) if f.name not in _NOT_SENT)


@dataclass(frozen=True)
class Target:
    """Where the answer goes, once the client and redirect URI are known to be right."""

    app: Application
    redirect_uri: str
    response_mode: str
    state: str


@dataclass(frozen=True)
class OAuthContext:
    request: OAuthRequest
    target: Target
    scopes: frozenset[str]  # LeadExec's data scopes asked for
    protocol: frozenset[str]  # openid, offline_access
    prompts: frozenset[str]
    max_age: int | None
    claims: ClaimsRequest = field(default_factory=ClaimsRequest)
    resource: str | None = None  # RFC 8707, its path (``core/resources.py``); None: none
    dpop_jkt: str | None = None  # RFC 9449 section 10: the key the code is bound to

    @property
    def app(self) -> Application:
        return self.target.app


# -- shown to the user, never redirected ------------------------------------------------------


def load_client(tx: Apps, req: OAuthRequest, *, documents: bool = False) -> Application:
    """``documents``: the operator accepts Client ID Metadata Documents, so a client may be
    named by its document's URL (its row made from the document before this transaction,
    ``actions/client_documents.py``)."""
    if "client_id" in req.duplicates:
        raise InvalidRequest("client_id was sent more than once.")
    app = lookup_client(tx, req.client_id, documents=documents)
    if app is None:
        raise InvalidRequest(
            "The application that sent you here is not registered with LeadExec "
            "(unknown client_id)."
        )
    return app


def check_redirect_uri(req: OAuthRequest, app: Application) -> str:
    # OpenID Connect requires redirect_uri on every request; OAuth 2.1 does too when a client
    # has several, and one rule is simpler to reason about.
    if "redirect_uri" in req.duplicates or not req.redirect_uri:
        raise InvalidRequest("The request has no redirect_uri, or more than one.")
    matched = match_redirect_uri(app.redirect_uris, req.redirect_uri)
    if matched is None:
        raise InvalidRequest(
            "This redirect_uri is not registered for the application, so LeadExec will not "
            "send you there."
        )
    return matched


def check_target(tx: Apps, req: OAuthRequest, *, documents: bool = False) -> Target:
    app = load_client(tx, req, documents=documents)
    redirect_uri = check_redirect_uri(req, app)
    mode = req.response_mode if req.response_mode in RESPONSE_MODES else "query"
    return Target(app, redirect_uri, mode, req.state[:MAX_VALUE])


# -- sent back to the redirect URI ------------------------------------------------------------


def check_parameters(req: OAuthRequest) -> None:
    if "resource" in req.duplicates:
        # RFC 8707 allows several; a token here has one audience (``core/resources.py``).
        raise InvalidTarget("Name one resource per request; ask again for another.")
    if req.duplicates:
        raise InvalidRequest(f"{req.duplicates[0]} was sent more than once.")
    if req.response_mode and req.response_mode not in RESPONSE_MODES:
        raise InvalidRequest("response_mode must be query or form_post.")
    if req.request:
        raise RequestNotSupported()
    if req.request_uri and not req.pushed:
        raise RequestUriNotSupported()
    if req.response_type != "code":
        raise UnsupportedResponseType()
    for name in ("state", "nonce", "login_hint", "ui_locales"):
        value = getattr(req, name)
        if len(value) > MAX_VALUE or not _PRINTABLE.fullmatch(value):
            raise InvalidRequest(f"{name} must be at most {MAX_VALUE} printable characters.")


def check_app_status(target: Target) -> None:
    """Approved, or pending with a loopback redirect URI (development mode, the popup's
    rule): then only its owner may sign in, which :func:`check_user` decides after login."""
    app = target.app
    if app.status == APPROVED:
        return
    parts = urlsplit(target.redirect_uri)
    loopback = parts.scheme == "http" and is_loopback_origin(f"http://{parts.netloc}")
    if app.status != PENDING or not app.owner_id or not loopback:
        raise UnauthorizedClient(f"The application is {app.status}.")


def check_user(ctx: OAuthContext, user: User) -> None:
    if not ctx.app.serves(user.id):
        raise UnauthorizedClient(
            "The application is pending: until it is approved only its owner can sign in."
        )


def check_scope(req: OAuthRequest, app: Application) -> tuple[frozenset[str], frozenset[str]]:
    return split_scopes(frozenset(req.scope.split()), app)


def split_scopes(asked: frozenset[str], app: Application) -> tuple[frozenset[str], frozenset[str]]:
    """Scopes a client asked for, as (data scopes, protocol scopes such as openid), refused
    when one is unknown, is not the application's, or when neither kind was asked; the
    standard scopes of data we do not hold are left out (``IGNORED_SCOPES``); the
    authorization request and the device flow ask the same way."""
    asked = asked - IGNORED_SCOPES
    unknown = asked - SCOPES.keys() - set(PROTOCOL_SCOPES)
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(sorted(unknown))[:100]}.")
    data = asked & SCOPES.keys()
    if data - app.scopes:
        raise InvalidScope(
            f"The application may not ask for: {' '.join(sorted(data - app.scopes))}."
        )
    if not data and OPENID not in asked:
        raise InvalidScope("Ask for openid or at least one of: " + ", ".join(SCOPES) + ".")
    return data, asked - data


def check_pkce(req: OAuthRequest, app: Application) -> None:
    # OAuth 2.1 section 4.1.1: every client, confidential ones too, since PKCE is what stops
    # an injected code (RFC 9700 section 4.5). A confidential client registered with PKCE
    # optional may leave it out (its code is then bound by client authentication and the
    # nonce); one that sends it is held to it (the token endpoint refuses a downgrade).
    if not req.code_challenge:
        if app.pkce_optional and not req.code_challenge_method:
            return
        raise InvalidRequest("PKCE is required: send code_challenge with method S256.")
    check_code_challenge(req.code_challenge, req.code_challenge_method or "plain")


def check_prompt(req: OAuthRequest) -> frozenset[str]:
    prompts = frozenset(req.prompt.split())
    if prompts - PROMPTS:
        raise InvalidRequest("prompt may be none, login, consent or select_account.")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")
    return prompts


def check_max_age(req: OAuthRequest) -> int | None:
    if not req.max_age:
        return None
    if not req.max_age.isdigit() or len(req.max_age) > 10:
        raise InvalidRequest("max_age must be a number of seconds.")
    return int(req.max_age)


def check_dpop_jkt(req: OAuthRequest) -> str | None:
    """RFC 9449 section 10: a JWK thumbprint (RFC 7638, SHA-256: 43 base64url characters)."""
    if not req.dpop_jkt:
        return None
    if not _JKT.fullmatch(req.dpop_jkt):
        raise InvalidRequest("dpop_jkt must be the base64url SHA-256 thumbprint of a key.")
    return req.dpop_jkt


def check_pushed(req: OAuthRequest, app: Application) -> None:
    if app.require_par and not req.pushed:
        raise InvalidRequest(
            "This client pushes its authorization requests to /oauth2/par first "
            "(require_pushed_authorization_requests)."
        )


def check_claims(req: OAuthRequest, app: Application) -> ClaimsRequest:
    """OpenID Connect Core section 5.5: the claims asked for are asked of the user through
    the scopes that release them (those the application may ask for; the rest are ignored);
    an essential ``acr`` none of whose values we can ever meet fails now (section 5.5.1.1)."""
    claims = read_claims(req.claims)
    if claims.acr_values and not set(claims.acr_values) & set(ACR_VALUES):
        raise AccessDenied("None of the essential acr values asked for is one LeadExec offers.")
    return claims


def check_request(req: OAuthRequest, target: Target, issuer: str) -> OAuthContext:
    """The checks after the target is known, in order; their errors are redirected."""
    check_parameters(req)
    resource = check_resource(issuer, req.resource)
    dpop_jkt = check_dpop_jkt(req)
    check_pushed(req, target.app)
    check_app_status(target)
    data, protocol = check_scope(req, target.app)
    check_pkce(req, target.app)
    prompts = check_prompt(req)
    max_age = check_max_age(req)
    claims = check_claims(req, target.app)
    data |= claims.scopes & target.app.scopes
    return OAuthContext(req, target, data, protocol, prompts, max_age, claims, resource, dpop_jkt)
