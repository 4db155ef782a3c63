"""DPoP proofs (RFC 9449 section 4.3): the checks of one proof, the key's thumbprint, and the
server's nonces.

A proof is a JWT signed with the client's private key, its public key in the header. The
key is read and the signature verified with PyJWT's algorithms (over ``cryptography``; ES256
straight through ``cryptography``, see :func:`_signature_ok`); everything else is ours:
``typ``, an asymmetric ``alg`` that matches the key, no private key material in the
header, ``htm`` and ``htu`` naming this very request, ``iat`` within the window, a ``jti``
(single use is the caller's: ``core/actions/dpop.py``), ``ath`` when an access token goes
with it, and a server nonce where one is required.

Nonces are stateless: a time window under an HMAC of the server's access-token key, so every
process accepts every other's without sharing anything but the database's keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import get_default_algorithms

from leadexec_signin.core.errors import InvalidDpopProof, UseDpopNonce

# Asymmetric algorithms only (RFC 9449 section 4.2: never "none" or a MAC).
ALGS = ("ES256", "RS256", "PS256", "EdDSA")
_ALGORITHMS = {name: get_default_algorithms()[name] for name in ALGS}
_KEY_TYPES = {"ES256": "EC", "RS256": "RSA", "PS256": "RSA", "EdDSA": "OKP"}
# RFC 7638 section 3.2: the members of each key type's thumbprint, in lexicographic order.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
                       "OKP": ("crv", "kty", "x")}  # fmt: skip
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_PROOF = 8192
MAX_JTI = 256
# A proof older than this is refused (its jti is remembered as long); clocks ahead of ours by
# up to SKEW are forgiven.
MAX_AGE = 60
SKEW = 10
# A nonce names a window of NONCE_WINDOW seconds; the current and the previous are accepted.
NONCE_WINDOW = 300
_KEY_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Proof:
    """A proof whose signature, claims and (if asked) nonce are good; its jti not yet used."""

    jkt: str  # RFC 7638 thumbprint (base64url SHA-256) of its public key
    jti: str
    iat: int


@dataclass(frozen=True)
class DpopPresented:
    """``Authorization: DPoP`` as a resource received it: the ``DPoP`` header's proof and
    the request it must name."""

    proof: str
    method: str
    url: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidDpopProof("The DPoP proof is not a JWT.") from None
    return raw


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the required members as compact, sorted JSON."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 section 4.2): base64url SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def same_origin_and_path(htu: str, expected: str) -> bool:
    """RFC 9449 section 4.3 step 9: ``htu`` without query and fragment, scheme and host in
    any case and the default port written or not (RFC 3986 section 6.2.3)."""

    def normal(uri: str) -> tuple[str, str, int | None, str] | None:
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if port == {"https": 443, "http": 80}.get(scheme):
            port = None
        return scheme, (parts.hostname or "").lower(), port, parts.path or "/"

    if htu == expected:  # what clients send: no parsing
        return True
    got = normal(htu)
    return got is not None and got == normal(expected)


def _header(segment: str) -> tuple[str, Any, str]:
    """A proof's header checked: its algorithm, its public key parsed, the key's thumbprint."""
    try:
        header = json.loads(_unb64(segment))
    except ValueError:
        raise InvalidDpopProof("The DPoP proof is not a JWT.") from None
    if not isinstance(header, dict):
        raise InvalidDpopProof("The DPoP proof is not a JWT.")
    if header.get("typ") != "dpop+jwt":
        raise InvalidDpopProof("The DPoP proof's typ must be dpop+jwt.")
    alg = header.get("alg")
    if alg not in _ALGORITHMS:
        raise InvalidDpopProof(f"The DPoP proof's alg must be one of: {', '.join(ALGS)}.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDpopProof("The DPoP proof's header carries no jwk.")
    key, jkt = _public_key(alg, jwk)
    return alg, key, jkt


class _Headers:
    """Headers already checked, by their encoded text: a client sends the same header (its
    algorithm and public key) with every proof, and reading it (JSON, the key parsed, the
    thumbprint) costs about half of the signature check."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, tuple[str, Any, str]] = OrderedDict()

    def get(self, segment: str) -> tuple[str, Any, str]:
        found = self._seen.get(segment)
        if found is None:
            found = self._seen[segment] = _header(segment)
            if len(self._seen) > _KEY_CACHE_SIZE:
                self._seen.popitem(last=False)
        return found


def _public_key(alg: str, jwk: dict[str, Any]) -> tuple[Any, str]:
    if _PRIVATE_MEMBERS & jwk.keys():
        # A private key in the header would be published with every request.
        raise InvalidDpopProof("The DPoP proof's jwk must be a public key.")
    if jwk.get("kty") != _KEY_TYPES[alg]:
        raise InvalidDpopProof(f"The DPoP proof's jwk is not a key for {alg}.")
    try:
        key = _ALGORITHMS[alg].from_jwk(jwk)
        jkt = thumbprint(jwk)
    except Exception:
        raise InvalidDpopProof("The DPoP proof's jwk is not a valid public key.") from None
    if hasattr(key, "private_bytes"):
        raise InvalidDpopProof("The DPoP proof's jwk must be a public key.")
    return key, jkt


_HEADERS = _Headers()


def verify(
    proof: str,
    method: str,
    url: str,
    now: int,
    *,
    access_token: str | None = None,
) -> tuple[Proof, str | None]:
    """The proof's checks but single use and the nonce's validity; returns the proof and the
    nonce it carried (None when it carried none)."""
    if not proof or len(proof) > MAX_PROOF or not proof.isascii():
        raise InvalidDpopProof("The DPoP proof is missing or too long.")
    parts = proof.split(".")
    if len(parts) != 3:
        raise InvalidDpopProof("The DPoP proof is not a signed JWT.")
    alg, key, jkt = _HEADERS.get(parts[0])
    try:
        claims = json.loads(_unb64(parts[1]))
    except ValueError:
        raise InvalidDpopProof("The DPoP proof is not a JWT.") from None
    if not isinstance(claims, dict):
        raise InvalidDpopProof("The DPoP proof is not a JWT.")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    if not _signature_ok(alg, key, signing_input, _unb64(parts[2])):
        raise InvalidDpopProof("The DPoP proof's signature is not valid.")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
        raise InvalidDpopProof("The DPoP proof needs a jti.")
    if claims.get("htm") != method:
        raise InvalidDpopProof("The DPoP proof's htm is not this request's method.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or not same_origin_and_path(htu, url):
        raise InvalidDpopProof("The DPoP proof's htu is not this request's URL.")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidDpopProof("The DPoP proof needs an iat (seconds).")
    if iat > now + SKEW or iat < now - MAX_AGE:
        raise InvalidDpopProof("The DPoP proof is too old or from the future: make a new one.")
    if access_token is not None:
        ath = claims.get("ath")
        expected = access_token_hash(access_token)
        if not isinstance(ath, str) or not hmac.compare_digest(ath, expected):
            raise InvalidDpopProof("The DPoP proof's ath is not the hash of this access token.")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidDpopProof("The DPoP proof's nonce must be a string.")
    return Proof(jkt, jti, iat), nonce


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _signature_ok(alg: str, key: Any, signing_input: bytes, signature: bytes) -> bool:
    """ES256, what nearly every client sends, straight to ``cryptography`` with its ECDSA
    object made once (PyJWT's wrapper makes one per call: a sixth of the verify's cost);
    the other algorithms through PyJWT's."""
    if alg != "ES256":
        return bool(_ALGORITHMS[alg].verify(signing_input, key, signature))
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


_WINDOW = struct.Struct(">I")


def make_nonce(secret: bytes, now: int) -> str:
    window = _WINDOW.pack(now // NONCE_WINDOW)
    return b64url(window + hmac.digest(secret, b"dpop-nonce" + window, "sha256")[:16])


def check_nonce(nonce: str | None, secrets: list[bytes], now: int) -> None:
    """The nonce is one of ours, of this window or the one before; else ``use_dpop_nonce``
    (RFC 9449 section 8), and the caller answers with a fresh one."""
    if nonce:
        for window in (now, now - NONCE_WINDOW):
            for secret in secrets:
                if hmac.compare_digest(nonce, make_nonce(secret, window)):
                    return
    raise UseDpopNonce()
