"""The self-proving access token's bytes (``core/access_tokens.py``): the sign-in's ``amr``
rides in it under the MAC, tokens minted before it did (version 1) still verify, with no
``amr``, and no bit of either version can be changed without the MAC noticing."""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from datetime import UTC, datetime, timedelta

import pytest

from leadexec_signin.core import access_tokens
from leadexec_signin.core.access_tokens import PREFIX, MacKey

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
KEY = MacKey("k1234567", secrets.token_bytes(32), NOW)
EXPIRES = NOW + timedelta(hours=1)
SCOPES = frozenset({"openid", "profile", "email"})


def version_1(key: MacKey, grant_id: str) -> str:
    """A token as the release before this one minted it (no sign-in byte)."""
    body = struct.pack(">B8sIB8s", 1, key.kid.encode(), int(EXPIRES.timestamp()), 0b10011, b"n" * 8)
    body += grant_id.encode()
    raw = body + hmac.digest(key.secret, body, "sha256")
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "amr",
    [("pwd",), ("pwd", "otp", "mfa"), ("hwk", "user", "mfa"), ("pwd", "swk", "user", "mfa"), None],
    ids=[
        "a password",
        "password and app",
        "a device-bound passkey",
        "password and a synced passkey",
        "not recorded",
    ],
)
def test_the_sign_in_rides_in_the_token(amr: tuple[str, ...] | None) -> None:
    token = access_tokens.mint(KEY, "grt_abc", SCOPES, EXPIRES, amr)
    claims = access_tokens.verify(token, KEY)
    assert claims is not None
    assert (claims.grant_id, claims.scopes, claims.expires_at) == ("grt_abc", SCOPES, EXPIRES)
    assert claims.amr == amr


def test_a_version_1_token_still_verifies_without_amr() -> None:
    claims = access_tokens.verify(version_1(KEY, "grt_old"), KEY)
    assert claims is not None and claims.grant_id == "grt_old" and claims.amr is None
    assert claims.scopes == frozenset({"profile", "email", "openid"})


@pytest.mark.parametrize("version", [1, 2, 4])
def test_no_byte_can_be_changed(version: int) -> None:
    token = (
        version_1(KEY, "grt_x")
        if version == 1
        else access_tokens.mint(
            KEY, "grt_x", SCOPES, EXPIRES, ("pwd",), aud="/mcp" if version == 4 else None
        )
    )
    text = token[len(PREFIX) :]
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        forged = PREFIX + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        assert access_tokens.verify(forged, KEY) is None, i


def test_a_dpop_bound_token_carries_its_key_and_its_sign_in() -> None:
    """Version 3 (RFC 9449 section 6): the key's thumbprint under the MAC, beside amr."""
    from leadexec_signin.core.dpop import thumbprint

    key = access_tokens.new_mac_key(datetime.now(UTC))
    jkt = thumbprint(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )
    expires = datetime.now(UTC) + timedelta(hours=1)
    token = access_tokens.mint(key, "grt_abc", frozenset({"openid"}), expires, ("pwd",), jkt)
    claims = access_tokens.verify(token, key)
    assert claims is not None
    assert (claims.jkt, claims.amr, claims.grant_id) == (jkt, ("pwd",), "grt_abc")
    plain = access_tokens.verify(access_tokens.mint(key, "grt_abc", frozenset(), expires), key)
    assert plain is not None and plain.jkt is None
    # A flipped byte of the thumbprint breaks the MAC like any other.
    raw = bytearray(base64.urlsafe_b64decode(token[4:] + "=" * (-len(token[4:]) % 4)))
    raw[30] ^= 1
    forged = "lea_" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert access_tokens.verify(forged, key) is None


@pytest.mark.parametrize("jkt", [None, "A" * 43], ids=["a bearer token", "a DPoP-bound token"])
@pytest.mark.parametrize("aud", ["/api/v1", "/mcp", None])
def test_the_resource_rides_in_the_token(aud: str | None, jkt: str | None) -> None:
    """Versions 4 and 5 (RFC 8707): the audience byte under the MAC; none named keeps 2 and 3."""
    token = access_tokens.mint(KEY, "grt_abc", SCOPES, EXPIRES, ("pwd",), jkt, aud)
    claims = access_tokens.verify(token, KEY)
    assert claims is not None
    assert (claims.aud, claims.jkt, claims.amr, claims.grant_id) == (aud, jkt, ("pwd",), "grt_abc")
    raw = base64.urlsafe_b64decode(token[4:] + "=" * (-len(token[4:]) % 4))
    assert raw[0] == {(None, None): 2, (None, "A" * 43): 3}.get((aud, jkt), 4 if jkt is None else 5)
