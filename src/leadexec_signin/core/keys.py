"""The provider's signing keys (Ed25519, from ``cryptography``).

Used to sign disconnect notices so a partner can verify them with the public key published at
``/signin/keys`` (a JWKS), without any shared secret that the provider would have to keep in a
readable form. The private key is stored as PKCS#8 PEM in the database, as Keycloak does: an
attacker who can read the database already holds every grant.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    created_at: datetime

    def sign(self, data: bytes) -> str:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return b64url(key.sign(data))

    def public_jwk(self) -> dict[str, str]:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": self.kid,
                "alg": "EdDSA", "use": "sig"}  # fmt: skip


def new_signing_key(kid: str, now: datetime) -> SigningKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid=kid, private_pem=pem.decode("ascii"), created_at=now)
