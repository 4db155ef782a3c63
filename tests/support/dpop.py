"""A DPoP client key that makes proofs (RFC 9449 section 4), as a partner's client would:
ES256 by default, the public key in the header, a fresh jti per proof."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DpopKey:
    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        if alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
        algorithm = jwt.algorithms.get_default_algorithms()[alg]
        self.private_jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private))
        self.jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))

    @property
    def jkt(self) -> str:
        members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[self.jwk["kty"]]
        canonical = json.dumps({m: self.jwk[m] for m in members}, separators=(",", ":"))
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
        jwk: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(iat if iat is not None else time.time()),
            **claims,
        }
        if access_token is not None:
            body["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        if nonce is not None:
            body["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "jwk": jwk or self.jwk}
        return jwt.encode(body, self.private, algorithm=self.alg, headers=headers)
