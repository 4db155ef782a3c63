"""Seeding and proofs for ``bench/dpop.sh`` (run with the project's .venv).

dpop.py seed --out ids.json
    LEADEXEC_* from the environment name the (already migrated) database. One approved
    application, one user signed in through the popup (the real use cases, as seed.py),
    then two access tokens for that grant from the server's own minter: one bound to a
    fresh ES256 DPoP key (what /oauth2/token answers to a request with a proof) and one
    plain. Writes {"bearer", "dpop", "key"} (the key as a PKCS#8 PEM) to ``--out``.
dpop.py proofs --ids ids.json --url URL --count N --out proofs.txt
    N proofs (one per line, each with its own jti) for GET URL with that token's ath,
    dated a few seconds ahead so they stay valid through the warm-up and the measured
    window; wrk sends each once (lib/wrk-dpop.lua).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seed(out: Path) -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from seed import ORIGIN, SCOPES, sign_in

    from leadexec_signin.compose import build
    from leadexec_signin.core.dpop import thumbprint
    from leadexec_signin.settings import Settings

    p = build(Settings.from_env())
    p.prepare()
    user = p.accounts.create_user(email="dpop@example.com", name="Dee Pop", password="x" * 12)
    app, _ = p.registry.register(name="DPoP bench", origins=[ORIGIN], scopes=SCOPES)
    p.operator.set_app_status(app.id, "approved")
    button = p.registry.create_button(app_id=app.id, scopes=SCOPES)
    sign_in(p, user, button.id, ask_first=True)
    with p.storage.reading() as tx:
        grant = tx.active_grant(user.id, app.id)
    assert grant is not None
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    expires = p.clock.now() + timedelta(hours=1)
    scopes = frozenset(SCOPES.split(","))
    ids = {
        "bearer": p.access_tokens.mint(grant.id, scopes, expires),
        "dpop": p.access_tokens.mint(grant.id, scopes, expires, None, thumbprint(jwk)),
        "key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    }
    p.close()
    out.write_text(json.dumps(ids))


def proofs(ids_path: Path, url: str, count: int, out: Path) -> None:
    """Signed with ``cryptography`` directly (the header encoded once): PyJWT's encode would
    take a minute for 90,000 proofs on a loaded machine, eating their 60 s of life."""
    import jwt
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    ids = json.loads(ids_path.read_text())
    key = serialization.load_pem_private_key(ids["key"].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    header = b64url(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).encode())
    ath = b64url(hashlib.sha256(ids["dpop"].encode()).digest())
    # The server forgives 10 s ahead of its clock and accepts 60 s behind it.
    iat = int(time.time()) + 8
    ecdsa = ec.ECDSA(hashes.SHA256())
    with out.open("w") as f:
        for _ in range(count):
            claims = {"jti": secrets.token_urlsafe(12), "htm": "GET", "htu": url,
                      "iat": iat, "ath": ath}  # fmt: skip
            signing_input = header + "." + b64url(json.dumps(claims).encode())
            r, s = decode_dss_signature(key.sign(signing_input.encode(), ecdsa))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
            f.write(signing_input + "." + b64url(signature) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--out", type=Path, required=True)
    pr = sub.add_parser("proofs")
    pr.add_argument("--ids", type=Path, required=True)
    pr.add_argument("--url", required=True)
    pr.add_argument("--count", type=int, required=True)
    pr.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.cmd == "seed":
        seed(args.out)
    else:
        proofs(args.ids, args.url, args.count, args.out)


if __name__ == "__main__":
    main()
