"""OAuth client rules: client types and authentication methods, redirect URIs and PKCE.

Pure functions over strings, shared by registration (the developer console) and the standard
OAuth 2.1 / OpenID Connect surface that will check requests against what was registered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

from leadexec_signin.core.errors import InvalidRequest

# RFC 6749 section 2.1: a confidential client can keep a credential, a public one cannot.
CONFIDENTIAL, PUBLIC = "confidential", "public"
CLIENT_TYPES = (CONFIDENTIAL, PUBLIC)

# OpenID Connect Core section 9 names (client_secret_jwt is left out: it needs the secret in a
# readable form, and we keep only its hash).
CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"
PRIVATE_KEY_JWT = "private_key_jwt"
NONE = "none"
AUTH_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, PRIVATE_KEY_JWT, NONE)


def check_client_auth(client_type: str, auth_method: str) -> None:
    """A public client authenticates with nothing, a confidential one always with something:
    any other pairing would either demand a secret that cannot be kept or let a confidential
    client skip proving who it is."""
    if client_type not in CLIENT_TYPES:
        raise InvalidRequest(f"The client type must be one of: {', '.join(CLIENT_TYPES)}.")
    if auth_method not in AUTH_METHODS:
        raise InvalidRequest(
            f"The authentication method must be one of: {', '.join(AUTH_METHODS)}."
        )
    if (client_type == PUBLIC) != (auth_method == NONE):
        raise InvalidRequest(
            "A public client uses the authentication method none; a confidential one must not."
        )


# -- redirect URIs --------------------------------------------------------------------------

# Hosts a native app listens on for its redirect (RFC 8252 section 7.3); only these may use
# plain http, since nothing leaves the device.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_REDIRECT_URI = 2048
# RFC 3986 section 3.1 scheme syntax.
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def check_redirect_uri(raw: str) -> str:
    """Registration-time check of one redirect URI; returns it as it must later be sent.

    RFC 6749 section 3.1.2 (absolute, no fragment); https, except http on loopback and private
    schemes in reverse-domain form for native apps (RFC 8252 sections 7.1 and 7.3)."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_REDIRECT_URI or not text.isascii() or not text.isprintable():
        raise InvalidRequest(
            f"A redirect URI is an absolute ASCII URI of at most {MAX_REDIRECT_URI} characters."
        )
    if " " in text or "#" in text:
        raise InvalidRequest("A redirect URI cannot contain spaces or a fragment (#).")
    if "*" in text:
        # Matching is exact (RFC 9700 section 4.1.3): a "*" would only ever match itself,
        # and a partner who writes one expects a pattern we will never apply.
        raise InvalidRequest("Redirect URIs are matched exactly: no wildcards (*).")
    scheme, sep, _ = text.partition(":")
    # Matching is exact, so the scheme is kept as written: require the canonical lowercase.
    if not sep or not _SCHEME.fullmatch(scheme):
        raise InvalidRequest("A redirect URI must be absolute: scheme:rest, scheme in lowercase.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise InvalidRequest(f"Not a valid redirect URI: {text[:80]!r}.") from None
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise InvalidRequest("An http(s) redirect URI must name a host.")
        # "https://good.example@evil.example" reads as good.example to a person.
        if parts.username is not None or parts.password is not None:
            raise InvalidRequest("A redirect URI cannot carry credentials.")
        if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            # The code travels in the query string: only loopback may see it unencrypted.
            raise InvalidRequest(
                "Redirect URIs must use https (http is allowed for 127.0.0.1, [::1] and "
                "localhost only)."
            )
        return text
    # A private scheme: reverse domain name so apps do not collide, and never javascript:,
    # data: or file:, which contain no dot.
    if "." not in scheme:
        raise InvalidRequest(
            "A native app's redirect scheme must be a reverse domain name, such as "
            "com.example.app:/callback."
        )
    return text


def _loopback_key(uri: str) -> tuple[str, str] | None:
    """``(host, everything after the authority)`` of an http loopback URI, or None: the port
    is left out so it can differ (RFC 8252 section 7.3)."""
    if not uri.startswith("http://"):
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return None
    if (
        parts.hostname not in LOOPBACK_HOSTS
        or parts.username is not None
        or parts.password is not None
        or "#" in uri
    ):
        return None
    rest = uri[len("http://") + len(parts.netloc) :]
    return parts.hostname, rest


def match_redirect_uri(registered: Iterable[str], requested: str) -> str | None:
    """The registered URI a request's ``redirect_uri`` designates, or None.

    Simple string comparison (RFC 6749 section 3.1.2.3, as OAuth 2.1 requires), except that
    a native app's http loopback URI matches with any port (RFC 8252 section 7.3), since the
    app gets whatever port the system gives it at run time."""
    registered = tuple(registered)
    if requested in registered:
        return requested
    wanted = _loopback_key(requested)
    if wanted is None:
        return None
    for uri in registered:
        if _loopback_key(uri) == wanted:
            return requested
    return None


# -- PKCE -----------------------------------------------------------------------------------

S256 = "S256"
# RFC 7636 section 4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is a SHA-256 digest in base64url without padding: always 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def check_code_challenge(challenge: str, method: str) -> None:
    """At the authorization request: only S256 is accepted, since ``plain`` sends the verifier
    itself through the browser and protects nothing if the request is seen (RFC 7636 section
    4.2; OAuth 2.1 lets a server refuse it)."""
    if method != S256:
        raise InvalidRequest("code_challenge_method must be S256.")
    if not _S256_CHALLENGE.fullmatch(challenge or ""):
        raise InvalidRequest("code_challenge must be 43 base64url characters (S256).")


def s256_challenge(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_code_verifier(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 section 4.6, at the token endpoint: does the verifier answer the challenge the
    code was issued with? A malformed verifier or a method other than S256 never does."""
    if method != S256 or not _VERIFIER.fullmatch(verifier or ""):
        return False
    # Constant time, so timing reveals nothing of how much of the challenge was right.
    return hmac.compare_digest(s256_challenge(verifier), challenge)


# -- registration of an OAuth client ----------------------------------------------------------

OPAQUE, JWT = "opaque", "jwt"
ACCESS_TOKEN_FORMATS = (OPAQUE, JWT)
ID_TOKEN_ALGS = ("RS256", "ES256", "EdDSA")  # RS256 first: OpenID Connect requires it
MAX_URIS = 20
MAX_JWKS = 16 * 1024


@dataclass(frozen=True)
class ClientRegistration:
    """What an application registers for the standard OAuth 2.1 / OpenID Connect surface,
    checked together, since the fields constrain each other."""

    redirect_uris: tuple[str, ...] = ()
    client_type: str = ""
    auth_method: str = ""
    jwks_uri: str = ""
    jwks: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str = ""
    access_token_format: str = OPAQUE
    rotate_refresh_tokens: bool = False
    id_token_alg: str = "RS256"
    # Its users sign in with a second factor (passkey, authenticator app): core/factors.py.
    require_mfa: bool = False
    # RFC 9449 section 5.2's client metadata: DPoP required at the token endpoint.
    dpop_bound_access_tokens: bool = False
    # The device authorization grant (RFC 8628), off unless the partner turns it on.
    device_grant: bool = False
    # PKCE may be left out (confidential clients only: RFC 9700 section 2.1.1 allows it
    # when the code is bound otherwise, by the nonce and client authentication).
    pkce_optional: bool = False
    # Every authorization request is pushed first (RFC 9126 section 5: the client metadata
    # require_pushed_authorization_requests).
    require_par: bool = False


def check_jwks(raw: str | None) -> str | None:
    """A registered JWKS (RFC 7517 section 5): JSON with at least one public signing key that
    PyJWT can use; private members are refused, since a client must never send us its key."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > MAX_JWKS:
        raise InvalidRequest(f"The JWKS is larger than {MAX_JWKS // 1024} KB.")
    try:
        data = json.loads(text)
        keys = data["keys"]
        assert isinstance(keys, list) and keys
        for key in keys:
            assert isinstance(key, dict)
            if {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys():
                raise InvalidRequest("The JWKS contains private key material: publish only "
                                     "the public keys.")  # fmt: skip
            jwt.PyJWK(key)
    except InvalidRequest:
        raise
    except Exception:
        raise InvalidRequest(
            'The JWKS must be JSON like {"keys": [...]} with RS256, ES256 or EdDSA public keys.'
        ) from None
    return json.dumps(data, separators=(",", ":"))


def check_logout_uri(raw: str, what: str) -> str:
    """A URI this server POSTs to (back-channel logout): https, or http on loopback."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise InvalidRequest(f"The {what} is not a valid URI.") from None
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or "#" in text
        or len(text) > MAX_REDIRECT_URI
        or not text.isascii()
        or not text.isprintable()
    ):
        raise InvalidRequest(f"The {what} must be an absolute https URI without a fragment.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidRequest(f"The {what} must use https (http only on 127.0.0.1 or localhost).")
    return text


def check_uris(uris: Iterable[str], what: str) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(check_redirect_uri(u) for u in uris if u.strip()))
    if len(checked) > MAX_URIS:
        raise InvalidRequest(f"At most {MAX_URIS} {what} per application.")
    return checked


def check_registration(reg: ClientRegistration, *, has_secret: bool) -> ClientRegistration:
    """The client type follows the credential unless stated: a secret makes a confidential
    client (client_secret_basic), keys make one with private_key_jwt, nothing a public one."""
    jwks = check_jwks(reg.jwks)
    jwks_uri = check_logout_uri(reg.jwks_uri, "JWKS URI")
    if jwks and jwks_uri:
        # OpenID Connect Dynamic Client Registration section 2: one or the other, never both.
        raise InvalidRequest("Register either a JWKS or a JWKS URI, not both.")
    has_keys = bool(jwks or jwks_uri)
    method = reg.auth_method or (
        CLIENT_SECRET_BASIC if has_secret else PRIVATE_KEY_JWT if has_keys else NONE
    )
    kind = reg.client_type or (PUBLIC if method == NONE else CONFIDENTIAL)
    check_client_auth(kind, method)
    if method in (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST) and not has_secret:
        raise InvalidRequest(f"{method} needs an application secret: create one first.")
    if method == PRIVATE_KEY_JWT and not has_keys:
        raise InvalidRequest("private_key_jwt needs the client's public keys: a JWKS or JWKS URI.")
    if reg.id_token_alg not in ID_TOKEN_ALGS:
        raise InvalidRequest(f"The ID token algorithm is one of: {', '.join(ID_TOKEN_ALGS)}.")
    if reg.access_token_format not in ACCESS_TOKEN_FORMATS:
        raise InvalidRequest("The access-token format is opaque or jwt.")
    if reg.pkce_optional and kind == PUBLIC:
        # OAuth 2.1 section 7.5.1: PKCE is all that binds a public client's code to it.
        raise InvalidRequest("A public client always uses PKCE: only a confidential client "
                             "may leave it out.")  # fmt: skip
    return ClientRegistration(
        redirect_uris=check_uris(reg.redirect_uris, "redirect URIs"),
        client_type=kind,
        auth_method=method,
        jwks_uri=jwks_uri,
        jwks=jwks,
        post_logout_redirect_uris=check_uris(
            reg.post_logout_redirect_uris, "post-logout redirect URIs"
        ),
        backchannel_logout_uri=check_logout_uri(
            reg.backchannel_logout_uri, "back-channel logout URI"
        ),
        access_token_format=reg.access_token_format,
        id_token_alg=reg.id_token_alg,
        # OAuth 2.1 section 4.3.1: a public client's refresh tokens are always rotated.
        rotate_refresh_tokens=reg.rotate_refresh_tokens or kind == PUBLIC,
        require_mfa=reg.require_mfa,
        dpop_bound_access_tokens=reg.dpop_bound_access_tokens,
        device_grant=reg.device_grant,
        pkce_optional=reg.pkce_optional,
        require_par=reg.require_par,
    )
