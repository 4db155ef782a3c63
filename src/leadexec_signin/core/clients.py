"""OAuth client rules: client types and authentication methods, redirect URIs and PKCE.

Pure functions over strings, shared by registration (the developer console) and the standard
OAuth 2.1 / OpenID Connect surface that will check requests against what was registered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

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
