"""The JWTs this provider signs (PyJWT over ``cryptography`` keys): ID tokens (OpenID Connect
Core section 2), RFC 9068 access tokens and Back-Channel Logout tokens, and reading our own
back (``id_token_hint``, JWT access tokens).

PyJWT rather than hand-written JWS: it is well kept, checks ``alg`` against the key type and
verifies ``exp``/``iat``/``aud`` the way the RFCs say, which is where hand-written code
usually goes wrong.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from leadexec_signin.core.keys import EDDSA, SigningKey

# RFC 9068 section 2.1: the media type of a JWT access token.
ACCESS_TOKEN_TYP = "at+jwt"
# OpenID Connect Back-Channel Logout 1.0 section 2.4.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TYP = "logout+jwt"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def sign(key: SigningKey, claims: Mapping[str, object], typ: str = "JWT") -> str:
    return jwt.encode(
        dict(claims), key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ}
    )


def half_hash(value: str, alg: str) -> str | None:
    """``at_hash`` (OpenID Connect Core section 3.1.3.6): the left half of the hash that
    ``alg`` uses. For EdDSA the specification names no hash, so the claim is left out (it is
    optional in the code flow) rather than guessed."""
    if alg == EDDSA:
        return None
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def read_own(
    token: str,
    keys: Iterable[SigningKey],
    *,
    audience: str | list[str] | None = None,
    issuer: str,
    verify_exp: bool = True,
    typ: str | None = None,
) -> dict[str, Any] | None:
    """The claims of a JWT this provider signed with one of ``keys``, or None for anything
    else (never says why: a hint or token that does not check out is simply not ours)."""
    if len(token) > 8192 or token.count(".") != 2:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    key = next((k for k in keys if k.kid == header.get("kid")), None)
    if key is None or header.get("alg") != key.alg:
        return None
    if typ is not None and str(header.get("typ", "")).lower() != typ:
        return None
    try:
        return jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=[key.alg],
            audience=audience,
            issuer=issuer,
            options={"verify_exp": verify_exp, "verify_aud": audience is not None},
            leeway=30,
        )
    except jwt.PyJWTError:
        return None
