"""Operators need a second factor for /admin (LEADEXEC_OPERATOR_MFA=required, the default):
without one they are sent to enrol, with one but a password-only session they sign in again
with it; the command line is not affected; ``off`` lets them in (the demo)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core.factors import Passkey
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in


@pytest.fixture
def required(settings: Settings) -> Settings:
    return settings.with_changes(operator_mfa="required")


@pytest.fixture
def app_client(required: Settings, clock) -> Iterator[tuple[Services, TestClient]]:
    services = build(required, clock)
    with TestClient(create_app(services), base_url=ISSUER) as c:
        yield services, c
    services.close()


def a_passkey(services: Services, user_id: str) -> Passkey:
    passkey = Passkey(
        id="pk_" + "p" * 22,
        user_id=user_id,
        credential_id="Y3JlZA",
        public_key="a2V5",
        name="Laptop",
        sign_count=0,
        backup_eligible=False,
        backed_up=False,
        created_at=services.clock.now(),
    )
    with services.storage.transaction() as tx:
        tx.add_passkey(passkey)
    return passkey


def test_an_operator_without_a_second_factor_is_sent_to_enrol_before_admin(
    app_client: tuple[Services, TestClient],
) -> None:
    services, client = app_client
    services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "op@example.com")
    r = client.get("/admin", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/account/security?next=/admin&step=mfa"
    page = client.get(r.headers["location"])
    assert "needs a second factor" in page.text
    assert client.get("/admin/audit", follow_redirects=False).status_code == 303


def test_an_operator_with_a_passkey_but_a_password_session_signs_in_again_with_it(
    app_client: tuple[Services, TestClient],
) -> None:
    services, client = app_client
    user = services.accounts.create_user(
        email="op2@example.com", name="Op", password=PASSWORD, operator=True
    )
    a_passkey(services, user.id)
    # A session signed in with the password alone (before the passkey was added).
    client.cookies.set("le_session", services.sessions.start(user, ("pwd",)))
    r = client.get("/admin", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/account/login?next=/admin&step=mfa")
    assert "sign in with your passkey" in client.get(r.headers["location"]).text
    # A session signed in with the passkey (amr carries mfa) is let in.
    raw = services.sessions.start(user, ("hwk", "user", "mfa"))
    client.cookies.set("le_session", raw)
    assert client.get("/admin").status_code == 200


def test_the_last_factor_of_an_operator_cannot_be_removed(
    app_client: tuple[Services, TestClient],
) -> None:
    services, client = app_client
    user = services.accounts.create_user(
        email="op3@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "op3@example.com")
    passkey = a_passkey(services, user.id)
    page = client.get("/account/security")
    r = client.post(
        f"/account/security/passkeys/{passkey.id}/remove", data={"csrf": csrf_of(page.text)}
    )
    assert r.status_code == 409
    assert "Operators must keep a second factor" in r.text
    assert len(services.passkeys.list(user.id)) == 1


def test_removing_a_passkey_needs_a_recent_proof(
    app_client: tuple[Services, TestClient], clock
) -> None:
    services, client = app_client
    user = services.accounts.create_user(email="u@example.com", name="U", password=PASSWORD)
    sign_in(client, "u@example.com")
    passkey = a_passkey(services, user.id)
    clock.advance(minutes=6)
    page = client.get("/account/security")
    assert "Confirm it is you" in page.text
    csrf = csrf_of(page.text)
    r = client.post(f"/account/security/passkeys/{passkey.id}/remove", data={"csrf": csrf})
    assert r.status_code == 403 and len(services.passkeys.list(user.id)) == 1
    r = client.post(
        "/account/security/confirm",
        data={"csrf": csrf, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/account/security/passkeys/{passkey.id}/remove",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and services.passkeys.list(user.id) == []


def test_with_operator_mfa_off_an_operator_uses_admin_with_a_password(
    services: Services, client: TestClient
) -> None:
    services.accounts.create_user(
        email="demo@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "demo@example.com")
    assert client.get("/admin").status_code == 200


def test_start_up_refuses_an_rp_id_that_is_not_the_issuers_domain(settings: Settings) -> None:
    with pytest.raises(SystemExit, match="LEADEXEC_WEBAUTHN_RP_ID"):
        _ = settings.with_changes(issuer="https://id.example.com", webauthn_rp_id="evil.com").rp_id
    with pytest.raises(SystemExit):
        _ = settings.with_changes(issuer="https://id.example.com", webauthn_rp_id="ample.com").rp_id
    parent = settings.with_changes(issuer="https://id.example.com", webauthn_rp_id="example.com")
    assert parent.rp_id == "example.com"
    assert settings.with_changes(issuer="https://id.example.com").rp_id == "id.example.com"
