"""A WebAuthn challenge lives 5 minutes, works once, and only for the browser that asked
(``core/actions/passkeys.py``): checked over HTTP with an answer shaped like a browser's whose
signature never matters, because an expired, spent or foreign challenge is refused before
any credential is looked at (the browser tests, with Chromium's authenticator, sign real
ones: ``tests/browser/test_passkey_attacks.py``)."""

from __future__ import annotations

import base64
import json

from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from support.signin import ISSUER, csrf_of

EXPIRED = "This passkey request has expired or belongs to another window."
UNKNOWN = "This passkey is not registered here."


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def options(client: TestClient) -> tuple[str, str]:
    """The sign-in page's CSRF token and a new challenge for this browser."""
    csrf = csrf_of(client.get("/account/login").text)
    r = client.post("/account/passkey/options", data={"csrf": csrf}, headers={"Origin": ISSUER})
    assert r.status_code == 200, r.text
    return csrf, r.json()["challenge"]


def answer(client: TestClient, csrf: str, challenge: str) -> object:
    client_data = {"type": "webauthn.get", "challenge": challenge, "origin": ISSUER}
    credential = {
        "id": b64(b"not-a-registered-credential"),
        "rawId": b64(b"not-a-registered-credential"),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(json.dumps(client_data).encode()),
            "authenticatorData": b64(bytes(37)),
            "signature": b64(bytes(64)),
        },
    }
    return client.post(
        "/account/passkey/signin",
        data={"csrf": csrf, "credential": json.dumps(credential)},
        headers={"Origin": ISSUER},
    )


def test_a_challenge_expires_after_5_minutes(client: TestClient, services: Services) -> None:
    csrf, challenge = options(client)
    services.clock.advance(minutes=5)
    late = answer(client, csrf, challenge)
    assert late.status_code == 400 and EXPIRED in late.json()["message"]  # type: ignore[attr-defined]
    # One just inside the 5 minutes gets past its challenge (to the unknown credential).
    csrf, challenge = options(client)
    services.clock.advance(minutes=4, seconds=59)
    in_time = answer(client, csrf, challenge)
    assert UNKNOWN in in_time.json()["message"]  # type: ignore[attr-defined]


def test_a_challenge_works_once_and_for_its_own_browser_only(
    client: TestClient, services: Services
) -> None:
    csrf, challenge = options(client)
    first = answer(client, csrf, challenge)
    assert UNKNOWN in first.json()["message"]  # type: ignore[attr-defined]
    again = answer(client, csrf, challenge)  # spent by the first answer, whatever it was
    assert EXPIRED in again.json()["message"]  # type: ignore[attr-defined]
    # Another browser (its own cookies) answering this browser's challenge: refused.
    csrf, challenge = options(client)
    with TestClient(client.app, base_url=ISSUER) as other:
        other_csrf = csrf_of(other.get("/account/login").text)
        stolen = answer(other, other_csrf, challenge)
    assert EXPIRED in stolen.json()["message"]  # type: ignore[attr-defined]
