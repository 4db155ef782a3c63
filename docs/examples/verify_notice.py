"""Check a disconnect notice before acting on it: the Ed25519 signature over ``t.body`` with the
key its ``kid`` names, and a timestamp no older than five minutes.

Needs ``cryptography``. Pass the raw request body (bytes, before any JSON parsing) and the
``LeadExec-Signature`` header; cache the key set and fetch it again for a ``kid`` you lack.
"""

import base64
import json
import os
import sys
import time
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BASE = os.environ["LEADEXEC_URL"]
MAX_AGE = 300


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(body: bytes, header: str, keys: list[dict]) -> dict:
    """The notice, or ValueError: never act on a notice this refuses."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if abs(time.time() - int(fields.get("t", "0"))) > MAX_AGE:
        raise ValueError("stale or missing timestamp")
    key = next((k for k in keys if k.get("kid") == fields.get("kid")), None)
    if key is None:
        raise ValueError("unknown key")
    public = Ed25519PublicKey.from_public_bytes(b64url(key["x"]))
    try:
        public.verify(b64url(fields.get("ed25519", "")), fields["t"].encode() + b"." + body)
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return json.loads(body)


with urllib.request.urlopen(f"{BASE}/signin/keys", timeout=10) as response:
    jwks = json.load(response)["keys"]
try:
    notice = verify(sys.stdin.buffer.read(), os.environ["LEADEXEC_SIGNATURE"], jwks)
except ValueError as refused:
    sys.exit(f"rejected: {refused}")
# Forget the grant's tokens for notice["userId"]; notice["id"] is the same on a retry.
print(json.dumps(notice))
