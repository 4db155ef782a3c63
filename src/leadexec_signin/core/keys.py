"""The provider's signing keys (``cryptography``): EdDSA, ES256 and RS256, with rotation.

Used to sign disconnect notices (EdDSA) and, later, ID tokens (RS256 is the one algorithm
OpenID Connect Core section 15.1 requires every provider to support), each verifiable with the
public key published at ``/signin/keys`` (a JWKS) and no shared secret that the provider would
have to keep readable. The private key is stored as PKCS#8 PEM in the database, as Keycloak
does: an attacker who can read the database already holds every grant.

Rotation: a key is made ahead of use and published at once, signs from ``activates_at`` (so
relying parties that cache the JWKS already have it), stops signing at ``retired_at`` but stays
published until ``expires_at``, so signatures made just before retirement still verify.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

EDDSA, ES256, RS256 = "EdDSA", "ES256", "RS256"
ALGORITHMS = (EDDSA, ES256, RS256)
RSA_BITS = 2048  # RFC 7518 section 3.3: at least 2048
P256_BYTES = 32

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(n: int, length: int | None = None) -> str:
    """RFC 7518 section 2 "Base64urlUInt": big-endian, minimal unless a length is fixed."""
    size = length if length is not None else max(1, (n.bit_length() + 7) // 8)
    return b64url(n.to_bytes(size, "big"))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    created_at: datetime
    alg: str = EDDSA
    # None means "from created_at" and is filled in below, so every key has a start.
    activates_at: datetime | None = None
    retired_at: datetime | None = None
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.alg not in ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {self.alg!r}")
        if self.activates_at is None:
            object.__setattr__(self, "activates_at", self.created_at)

    @cached_property
    def _private(self) -> PrivateKey:
        # Parsed once per instance: an RSA key takes a millisecond or more to load.
        key = _load(self.private_pem)
        expected: type = {
            EDDSA: Ed25519PrivateKey,
            ES256: ec.EllipticCurvePrivateKey,
            RS256: rsa.RSAPrivateKey,
        }[self.alg]
        if not isinstance(key, expected) or (
            isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name != "secp256r1"
        ):
            raise ValueError(f"key {self.kid} is not an {self.alg} key")
        return key  # type: ignore[return-value]

    @property
    def private_key(self) -> PrivateKey:
        """For PyJWT, which signs ID tokens, logout tokens and JWT access tokens with it."""
        return self._private

    def sign(self, data: bytes) -> str:
        """The JWS signature of ``data`` (RFC 7515 section 5.1), base64url without padding."""
        key = self._private
        if isinstance(key, Ed25519PrivateKey):  # RFC 8037 section 3.1
            return b64url(key.sign(data))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            # RFC 7518 section 3.4: JWS wants r || s at fixed width, not the DER cryptography
            # returns.
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return b64url(r.to_bytes(P256_BYTES, "big") + s.to_bytes(P256_BYTES, "big"))
        return b64url(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))  # RFC 7518 3.3

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK (RFC 7517 section 4; members per RFC 7518 section 6)."""
        key = self._private
        fields: dict[str, str]
        if isinstance(key, Ed25519PrivateKey):  # RFC 8037 section 2
            raw = key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            fields = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            point = key.public_key().public_numbers()
            fields = {"kty": "EC", "crv": "P-256", "x": _uint(point.x, P256_BYTES),
                      "y": _uint(point.y, P256_BYTES)}  # fmt: skip
        else:
            numbers = key.public_key().public_numbers()
            fields = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        return {**fields, "kid": self.kid, "alg": self.alg, "use": "sig"}


def _load(pem: str) -> PrivateKeyTypes:
    """The PEM's key, checked: loading an RSA key verifies it (several milliseconds)."""
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _generate(alg: str) -> PrivateKey:
    if alg == EDDSA:
        return Ed25519PrivateKey.generate()
    if alg == ES256:
        return ec.generate_private_key(ec.SECP256R1())
    if alg == RS256:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def new_signing_key(
    kid: str, now: datetime, alg: str = EDDSA, activates_at: datetime | None = None
) -> SigningKey:
    """A fresh key; ``activates_at`` later than ``now`` publishes it before it signs."""
    pem = _generate(alg).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(
        kid=kid,
        private_pem=pem.decode("ascii"),
        created_at=now,
        alg=alg,
        activates_at=activates_at or now,
    )


def is_published(key: SigningKey, now: datetime) -> bool:
    return key.expires_at is None or now < key.expires_at


def can_sign(key: SigningKey, now: datetime) -> bool:
    assert key.activates_at is not None  # set by __post_init__
    return (
        key.activates_at <= now
        and (key.retired_at is None or now < key.retired_at)
        and is_published(key, now)
    )


def current_signing_key(keys: Iterable[SigningKey], alg: str, now: datetime) -> SigningKey | None:
    """The key that signs with ``alg`` at ``now``: of those activated and not yet retired, the
    most recently activated, so a rotation takes effect at the new key's activation time
    without touching the old one."""
    usable = [k for k in keys if k.alg == alg and can_sign(k, now)]
    return max(usable, key=lambda k: (k.activates_at, k.created_at, k.kid), default=None)


def published_keys(keys: Iterable[SigningKey], now: datetime) -> list[SigningKey]:
    """What the JWKS lists at ``now``: every key not yet expired, including ones not active
    yet (so caches hold them before they sign) and retired ones (so what they signed still
    verifies)."""
    return [k for k in keys if is_published(k, now)]
