"""``max_age`` and ``prompt=login`` ask again for the factors the session used (OpenID Connect
Core 3.1.2.1): a session signed in with a password and the authenticator app is sent to sign
in again, the password alone does not get the client its code (the second step comes again,
and the way back without it is refused), and the new ID token's ``auth_time`` and ``amr`` are
the new sign-in's. A passkey session's re-authentication offers the passkey again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pyotp
import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.factors import ACR_MFA
from support.signin import ISSUER, PASSWORD, csrf_of
from web.oauth_flow import Pkce, auth_params, consent, exchange, query_of, register
from web.test_oauth_tokens import jwks_of


def id_token_claims(client: TestClient, token: str, audience: str) -> dict:
    """Verified, with the test clock's minutes ahead of the real one allowed for."""
    header = jwt.get_unverified_header(token)
    key = jwks_of(client)[header["kid"]]
    return jwt.decode(
        token, key, algorithms=[header["alg"]], audience=audience, issuer=ISSUER, leeway=600
    )


AGAIN = [
    pytest.param({"prompt": "login"}, id="prompt=login"),
    pytest.param({"max_age": "60"}, id="max_age older than the session"),
]


def password_again(client: TestClient, location: str) -> object:
    """The sign-in form the request was sent to, answered with the password."""
    assert location.startswith("/account/login?"), location
    next_url = parse_qs(urlsplit(location).query)["next"][0]
    page = client.get(location)
    assert page.status_code == 200
    return client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": "re@example.com", "password": PASSWORD,
              "next": next_url},
        follow_redirects=False,
    )  # fmt: skip


@pytest.mark.parametrize("again", AGAIN)
def test_a_password_and_app_session_is_asked_for_both_again(
    client: TestClient, services: Services, clock, again: dict[str, str]
) -> None:
    user = services.accounts.create_user(email="re@example.com", name="R", password=PASSWORD)
    totp = pyotp.TOTP(services.codes.start(user).secret)
    services.codes.confirm(user, totp.at(clock.now()))
    c = register(services)
    client.cookies.set("le_session", services.sessions.start(user, ("pwd", "otp", "mfa")))
    signed_in_at = int(clock.now().timestamp())
    clock.advance(seconds=120)
    pkce = Pkce()
    params = auth_params(c, pkce, **again)
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert r.status_code == 303
    asked = password_again(client, r.headers["location"])
    # The password alone is not the sign-in the session had: the second step comes again.
    assert (asked.status_code, asked.headers["location"]) == (303, "/account/second-step")  # type: ignore[attr-defined]
    step = client.get("/account/second-step")
    assert "authenticator app" in step.text
    # Going back to the client without it: still the old sign-in, so asked again, no code.
    back = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert back.headers["location"].startswith("/account/login?")
    # The app's code: signed in again with both, and the client gets its code.
    clock.advance(seconds=31)
    done = client.post(
        "/account/second-step",
        data={"csrf": csrf_of(step.text), "code": totp.at(clock.now())},
        follow_redirects=False,
    )
    assert done.status_code == 303
    # Our continue page (a form's redirect may not leave for the client), then the request.
    continued = urlsplit(done.headers["location"])
    assert continued.path == "/account/continue"
    r = client.get(parse_qs(continued.query)["next"][0], follow_redirects=False)
    if r.status_code == 200 and 'value="allow"' in r.text:  # the first time: consent
        r = consent(client, r.text)  # type: ignore[assignment]
    location = r.headers["location"]
    assert location.startswith(c.redirect_uri), location
    code = query_of(location)["code"]
    answer = exchange(client, c, code, pkce).json()  # type: ignore[attr-defined]
    claims = id_token_claims(client, answer["id_token"], c.id)
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp", "mfa"], ACR_MFA)
    assert claims["auth_time"] > signed_in_at  # the new sign-in's time


@pytest.mark.parametrize("again", AGAIN)
def test_a_passkey_session_is_offered_its_passkey_again(
    client: TestClient, services: Services, clock, again: dict[str, str]
) -> None:
    from leadexec_signin.core.factors import Passkey

    user = services.accounts.create_user(email="re@example.com", name="R", password=PASSWORD)
    with services.storage.transaction() as tx:
        tx.add_passkey(
            Passkey("pk_1", user.id, "Y3JlZA", "a2V5", "laptop", 0, True, True, clock.now())
        )
    c = register(services)
    client.cookies.set("le_session", services.sessions.start(user, ("swk", "user", "mfa")))
    clock.advance(seconds=120)
    r = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), **again), follow_redirects=False
    )
    location = r.headers["location"]
    form = client.get(location)
    assert 'id="passkey-signin"' in form.text  # "Sign in with a passkey" on the form
    asked = password_again(client, location)
    assert asked.headers["location"] == "/account/second-step"  # type: ignore[attr-defined]
    step = client.get("/account/second-step").text
    assert "passkey" in step.lower() and "authenticator app" not in step
