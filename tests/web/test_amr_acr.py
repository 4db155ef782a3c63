"""How the user signed in, told to the partner: ID tokens carry RFC 8176 ``amr`` and ``acr``
(before a passkey: a password; after: the passkey, user verification and mfa), on refresh
too, and so do userinfo and introspection (opaque and RFC 9068 access tokens, refresh
tokens); discovery lists ``acr_values_supported``; ``acr_values`` and an essential ``acr`` in
``claims`` send a password-only session to sign in again with a second factor."""

from __future__ import annotations

import json

import jwt
import pyotp
import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.factors import ACR_MFA, ACR_SINGLE, Passkey
from support.signin import PASSWORD, sign_in
from support.signin import authorize as popup
from support.world import World
from web.oauth_flow import (
    Client,
    Pkce,
    auth_params,
    authorize,
    exchange,
    refresh,
    register,
    tokens,
)
from web.test_oauth_tokens import verify_id_token


def told(client: TestClient, services: Services, c: Client, answer: dict[str, str]) -> list:
    """(amr, acr) as the ID token, userinfo, and introspection of the access and the refresh
    token each tell it; userinfo also through the path the token cache takes (its grant in
    hand), which must answer the same."""
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    info = client.get("/oauth2/userinfo", headers=bearer).json()
    grant_id = services.access_tokens.grant_of(answer["access_token"])
    if grant_id is not None:  # a self-proving token: the cache's path, the grant read ahead
        known = services.token_checks.grant_context(grant_id)
        assert services.api.userinfo(answer["access_token"], known) == info
    seen = [verify_id_token(client, answer["id_token"], c.id), info]
    for kind in ("access_token", "refresh_token"):
        seen.append(
            client.post("/oauth2/introspect", data={"token": answer[kind]}, auth=c.auth).json()
        )
    return [(claims.get("amr"), claims.get("acr")) for claims in seen]


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
    # This user has no second factor: the form says so, and offers no passkey of theirs.
    form = client.get(location).text
    assert "your account has none yet" in form and "your passkey" not in form
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


@pytest.mark.parametrize("access_token_format", ["opaque", "jwt"])
def test_userinfo_and_introspection_tell_how_the_user_signed_in(
    client: TestClient, services: Services, access_token_format: str
) -> None:
    user = services.accounts.create_user(email="ui@example.com", name="U", password=PASSWORD)
    c = register(services, access_token_format=access_token_format)
    sign_in(client, "ui@example.com")
    password = tokens(client, c)
    assert told(client, services, c, password) == [(["pwd"], ACR_SINGLE)] * 4
    # A passkey's sign-in in the same browser: the new tokens say so...
    client.cookies.clear()
    client.cookies.set("le_session", services.sessions.start(user, ("swk", "user", "mfa")))
    passkey = tokens(client, c)
    assert told(client, services, c, passkey) == [(["swk", "user", "mfa"], ACR_MFA)] * 4
    # ...while the tokens of the password sign-in still tell theirs: a token says how its own
    # sign-in went, not the grant's latest.
    assert told(client, services, c, password) == [(["pwd"], ACR_SINGLE)] * 4
    # A refresh's access token repeats its refresh token's sign-in.
    again = refresh(client, c, password["refresh_token"]).json()  # type: ignore[attr-defined]
    assert told(client, services, c, again) == [(["pwd"], ACR_SINGLE)] * 4
    if access_token_format == "jwt":  # RFC 9068 section 2.2.1: in the token itself too
        claims = jwt.decode(passkey["access_token"], options={"verify_signature": False})
        assert (claims["amr"], claims["acr"]) == (["swk", "user", "mfa"], ACR_MFA)


def test_the_sign_in_apis_own_tokens_add_nothing(client: TestClient, world: World) -> None:
    """The seed's flow does not record a sign-in on its tokens: its authorization object keeps
    its fields, and introspection of its access token tells no amr (rather than a guess)."""
    app_id, secret = world.app(with_secret=True)
    assert secret is not None
    sign_in(client, world.email)
    result = popup(client, world.button("profile", app_id))
    assert "amr" not in result and "acr" not in result and result["valid"] is True
    seen = client.post(
        "/oauth2/introspect", data={"token": result["authToken"]}, auth=(app_id, secret)
    ).json()
    assert seen["active"] is True and "amr" not in seen and "acr" not in seen


@pytest.mark.parametrize(
    ("has", "says"),
    [
        pytest.param("passkey", "sign in with your passkey.", id="a passkey"),
        pytest.param("app", "then enter the code from your authenticator app", id="an app"),
        pytest.param("both", "with your passkey, or with your password and then", id="both"),
    ],
)
def test_step_up_offers_the_factors_the_user_has(
    client: TestClient, services: Services, has: str, says: str
) -> None:
    user = services.accounts.create_user(email="has@example.com", name="H", password=PASSWORD)
    if has in ("passkey", "both"):
        with services.storage.transaction() as tx:
            tx.add_passkey(
                Passkey("pk_1", user.id, "Y3JlZA", "a2V5", "laptop", 0, True, True,
                        services.clock.now())
            )  # fmt: skip
    if has in ("app", "both"):
        secret = services.codes.start(user)
        services.codes.confirm(user, pyotp.TOTP(secret.secret).at(services.clock.now()))
    c = register(services)
    client.cookies.set("le_session", services.sessions.start(user))  # a password only
    r = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), acr_values=ACR_MFA),
        follow_redirects=False,
    )  # fmt: skip
    form = client.get(r.headers["location"]).text
    assert says in form
    if has == "app":
        assert "your passkey" not in form
