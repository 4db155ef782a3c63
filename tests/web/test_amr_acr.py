"""How the user signed in, told to the partner: ID tokens carry RFC 8176 ``amr`` and ``acr``
(before a passkey: a password; after: the passkey, user verification and mfa), on refresh
too; discovery lists ``acr_values_supported``; ``acr_values`` and an essential ``acr`` in
``claims`` send a password-only session to sign in again with a second factor."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.factors import ACR_MFA, ACR_SINGLE
from support.signin import PASSWORD, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, refresh, register, tokens
from web.test_oauth_tokens import verify_id_token


def test_an_id_tokens_amr_and_acr_before_and_after_a_passkey(
    client: TestClient, services: Services
) -> None:
    user = services.accounts.create_user(email="amr@example.com", name="A", password=PASSWORD)
    c = register(services)
    sign_in(client, "amr@example.com")
    before = verify_id_token(client, tokens(client, c)["id_token"], c.id)
    assert (before["amr"], before["acr"]) == (["pwd"], ACR_SINGLE)
    # The same browser signed in with a passkey (what /account/passkey/signin starts).
    client.cookies.clear()
    client.cookies.set("le_session", services.sessions.start(user, ("hwk", "user", "mfa")))
    answer = tokens(client, c)
    after = verify_id_token(client, answer["id_token"], c.id)
    assert (after["amr"], after["acr"]) == (["hwk", "user", "mfa"], ACR_MFA)
    # A refresh repeats how the user signed in, as it repeats auth_time.
    again = refresh(client, c, answer["refresh_token"]).json()  # type: ignore[attr-defined]
    claims = verify_id_token(client, again["id_token"], c.id)
    assert (claims["amr"], claims["acr"]) == (["hwk", "user", "mfa"], ACR_MFA)


def test_discovery_lists_the_acr_values(client: TestClient) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["acr_values_supported"] == [ACR_SINGLE, ACR_MFA]
    assert {"amr", "acr"} <= set(meta["claims_supported"])


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"acr_values": ACR_MFA}, id="acr_values naming mfa"),
        pytest.param(
            {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_MFA]}}})},
            id="an essential acr in claims",
        ),
    ],
)
def test_a_password_session_is_stepped_up_when_the_client_asks_for_mfa(
    client: TestClient, services: Services, extra: dict[str, str]
) -> None:
    services.accounts.create_user(email="step@example.com", name="S", password=PASSWORD)
    c = register(services)
    sign_in(client, "step@example.com")
    r = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), **extra), follow_redirects=False
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/account/login?") and "step=mfa" in location
    assert "sign in with your passkey" in client.get(location).text
    # prompt=none cannot show that: login_required, sent back to the client.
    r = client.get(
        "/oauth2/authorize",
        params=auth_params(c, Pkce(), prompt="none", **extra),
        follow_redirects=False,
    )
    assert "error=login_required" in r.headers["location"]


def test_a_session_with_mfa_is_not_asked_again(client: TestClient, services: Services) -> None:
    user = services.accounts.create_user(email="mfa@example.com", name="M", password=PASSWORD)
    c = register(services)
    client.cookies.set("le_session", services.sessions.start(user, ("swk", "user", "mfa")))
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, acr_values=ACR_MFA))
    answer = exchange(client, c, got["code"], pkce).json()  # type: ignore[attr-defined]
    assert verify_id_token(client, answer["id_token"], c.id)["acr"] == ACR_MFA
