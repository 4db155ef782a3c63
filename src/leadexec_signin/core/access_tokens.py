"""Access tokens that prove themselves: ``lea_`` + base64url(claims + HMAC-SHA256).

An exchange then writes nothing: the token carries its grant, scopes and expiry under a MAC,
and every use checks the MAC (constant time) and then reads its grant, so revoking the grant
still ends it at once. The claims are not secret (a grant id and a time), the MAC key is:
it lives in the database with the other keys (an attacker who can read the database already
holds every grant) and is chosen by the ``kid`` in the token, so keys can be added.

Layout of the decoded bytes: version (1) | kid (8) | expires, Unix seconds (4) | scope bits
(1) | sign-in bits (1) | nonce (8) | grant id (ASCII, the rest) | MAC (32). The nonce makes two
tokens minted in the same second differ. The sign-in bits are the RFC 8176 ``amr`` of the
sign-in the token was issued under (0: not recorded), so userinfo and introspection say how the
user signed in without a read, and a token says what its own sign-in was, not the grant's
latest. Version 1 tokens (no sign-in byte) are still read, with no ``amr``; tokens from before
these formats (``lea_`` + 43 random characters) are looked up in storage as they always were.
Version 3 is version 2 bound to a DPoP key (RFC 9449 section 6): the 32 bytes of the key's RFC
7638 thumbprint (``cnf.jkt``) follow the nonce, under the same MAC. Versions 4 and 5 are 2 and 3
with one more byte after the sign-in bits: the RFC 8707 resource the token is for (its ``aud``,
an index into ``core/resources.py``); a token for no resource in particular is still minted as
version 2 or 3, so every token the LeadExec API took before is read the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from leadexec_signin.core import resources
from leadexec_signin.core.factors import AMR_ORDER
from leadexec_signin.core.scopes import PROTOCOL_SCOPES, SCOPES

PREFIX = "lea_"
VERSION = 2
_HEADS = {
    1: struct.Struct(">B8sIB8s"),  # version, kid, expires, scope bits, nonce
    2: struct.Struct(">B8sIBB8s"),  # version, kid, expires, scope bits, amr bits, nonce
    3: struct.Struct(">B8sIBB8s"),  # as 2, then the DPoP key's thumbprint (32 bytes)
    4: struct.Struct(">B8sIBBB8s"),  # as 2, with the audience byte before the nonce
    5: struct.Struct(">B8sIBBB8s"),  # as 4, then the DPoP key's thumbprint
}
BOUND = 3
AIMED, AIMED_BOUND = 4, 5
_BOUND_VERSIONS = (BOUND, AIMED_BOUND)
_JKT_LENGTH = 32
_HEAD = _HEADS[VERSION]
_MAC_LENGTH = 32
# Bits 0-3 the data scopes, 4-5 openid and offline_access (never set before OpenID Connect,
# so older tokens read the same).
_SCOPE_BITS = {name: 1 << i for i, name in enumerate((*SCOPES, *PROTOCOL_SCOPES))}
# RFC 8176 methods, one bit each, read back in one fixed order (the order ID tokens use too).
_AMR_BITS = {name: 1 << i for i, name in enumerate(AMR_ORDER)}
# An opaque token of the first format: 256 random bits, found by hash in storage.
LEGACY_LENGTH = len(PREFIX) + 43


@dataclass(frozen=True)
class MacKey:
    kid: str  # 8 ASCII characters
    secret: bytes  # 32 random bytes
    created_at: datetime


@dataclass(frozen=True)
class Claims:
    kid: str
    grant_id: str
    scopes: frozenset[str]
    expires_at: datetime
    amr: tuple[str, ...] | None = None  # how the user signed in; None: not recorded
    jkt: str | None = None  # the DPoP key's thumbprint (base64url) for a bound token
    aud: str | None = None  # the resource it is for (``core/resources.py``); None: any


def new_mac_key(now: datetime) -> MacKey:
    return MacKey(secrets.token_hex(4), secrets.token_bytes(32), now)


def _scope_bits(scopes: frozenset[str]) -> int:
    return sum(_SCOPE_BITS[s] for s in scopes)


def _amr_bits(amr: tuple[str, ...] | None) -> int:
    return sum(_AMR_BITS[m] for m in set(amr or ()) if m in _AMR_BITS)


def mint(
    key: MacKey,
    grant_id: str,
    scopes: frozenset[str],
    expires_at: datetime,
    amr: tuple[str, ...] | None = None,
    jkt: str | None = None,
    aud: str | None = None,
) -> str:
    fields = (
        key.kid.encode("ascii"),
        int(expires_at.timestamp()),
        _scope_bits(scopes),
        _amr_bits(amr),
    )
    if aud is None:
        head = _HEAD.pack(VERSION if jkt is None else BOUND, *fields, secrets.token_bytes(8))
    else:
        version = AIMED if jkt is None else AIMED_BOUND
        aimed = resources.audience_byte(aud)
        head = _HEADS[version].pack(version, *fields, aimed, secrets.token_bytes(8))
    if jkt is not None:
        head += base64.urlsafe_b64decode(jkt + "=" * (-len(jkt) % 4))
    body = head + grant_id.encode("ascii")
    mac = hmac.digest(key.secret, body, "sha256")  # one call into OpenSSL
    return PREFIX + base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode("ascii")


def derive(key: MacKey, label: bytes, value: str) -> str:
    """A refresh token computed from another (rotation): HMAC-SHA256 under ``key``, shaped like
    every refresh token (``ler_`` + 43 characters, 256 bits)."""
    mac = hmac.new(key.secret, label + b"\x00" + value.encode("ascii"), hashlib.sha256)
    return "ler_" + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def kid_of(token: str) -> str | None:
    """The key a token names, before anything is trusted (to pick the key)."""
    raw = _decode(token)
    if raw is None:
        return None
    try:
        return raw[1:9].decode("ascii")
    except UnicodeDecodeError:
        return None


def verify(token: str, key: MacKey) -> Claims | None:
    """The claims if the MAC is right for ``key``; None otherwise (never says why)."""
    raw = _decode(token)
    if raw is None:
        return None
    body, mac = raw[:-_MAC_LENGTH], raw[-_MAC_LENGTH:]
    expected = hmac.digest(key.secret, body, "sha256")
    if not hmac.compare_digest(mac, expected):
        return None
    head = _HEADS.get(body[0])
    bound = body[0] in _BOUND_VERSIONS
    start = head.size + (_JKT_LENGTH if bound else 0) if head is not None else 0
    if head is None or len(body) <= start:
        return None
    aimed = 0
    if body[0] == 1:
        _version, kid, expires, bits, _nonce = head.unpack_from(body)
        methods = 0
    elif body[0] in (AIMED, AIMED_BOUND):
        _version, kid, expires, bits, methods, aimed, _nonce = head.unpack_from(body)
    else:
        _version, kid, expires, bits, methods, _nonce = head.unpack_from(body)
    if kid.decode("ascii") != key.kid:
        return None
    aud = resources.from_byte(aimed)
    if aimed and aud is None:
        return None  # a resource this server no longer knows
    amr = tuple(name for name, bit in _AMR_BITS.items() if methods & bit)
    jkt = None
    if bound:
        jkt = base64.urlsafe_b64encode(body[head.size : start]).rstrip(b"=").decode("ascii")
    return Claims(
        kid=key.kid,
        grant_id=body[start:].decode("ascii"),
        scopes=frozenset(name for name, bit in _SCOPE_BITS.items() if bits & bit),
        expires_at=datetime.fromtimestamp(expires, UTC),
        amr=amr or None,
        jkt=jkt,
        aud=aud,
    )


def _decode(token: str) -> bytes | None:
    if not token.startswith(PREFIX) or len(token) <= LEGACY_LENGTH or len(token) > 256:
        return None
    text = token[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _HEADS[1].size + 1 + _MAC_LENGTH:
        return None
    # One spelling per token: padding, other alphabets or stray bits are a different string.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        return None
    return raw
