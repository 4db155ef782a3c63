"""The standard authorization endpoint over HTTP: what is shown, what is redirected, and the
same sign-in, consent and remembered grant as the popup (RFC 6749 4.1, RFC 7636, RFC 9207,
OpenID Connect Core 3.1.2)."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest

from support.signin import ISSUER, sign_in
from web.oauth_flow import (
    REDIRECT,
    Pkce,
    auth_params,
    authorize,
    consent,
    exchange,
    hidden_fields,
    query_of,
    register,
    tokens,
)


def get(client, params):
    return client.get("/oauth2/authorize", params=params, follow_redirects=False)


# -- errors shown to the user, never redirected ---------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"client_id": "app_" + "x" * 22}, "unknown client_id"),
        ({"client_id": "not-an-id"}, "unknown client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "not registered"),
        ({"redirect_uri": REDIRECT + "/../evil"}, "not registered"),
        ({"redirect_uri": REDIRECT + "?next=https://evil.example"}, "not registered"),
        ({"redirect_uri": REDIRECT + "#frag"}, "not registered"),
        ({"redirect_uri": "https://rp.example/*"}, "not registered"),
        ({"redirect_uri": "HTTPS://RP.EXAMPLE/cb"}, "not registered"),
        ({"redirect_uri": ""}, "no redirect_uri"),
    ],
    ids=[
        "an unknown client",
        "a malformed client id",
        "another host",
        "a path that climbs out",
        "an added query",
        "a fragment",
        "a wildcard",
        "a different spelling of the same URI",
        "no redirect uri",
    ],
)
def test_a_bad_client_or_redirect_uri_is_shown_and_never_followed(
    client, world, change, words
) -> None:
    c = register(world.services)
    params = {**auth_params(c, Pkce()), **change}
    r = get(client, params)
    assert r.status_code == 400
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert words in r.text


def test_a_redirect_uri_sent_twice_is_shown_not_followed(client, world) -> None:
    c = register(world.services)
    query = "&".join(f"{k}={v}" for k, v in auth_params(c, Pkce()).items())
    r = client.get(
        f"/oauth2/authorize?{query}&redirect_uri=https://evil.example/cb", follow_redirects=False
    )
    assert r.status_code == 400 and "location" not in r.headers


# -- errors returned to the client, with state and iss --------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"scope": "offline_access"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://rp.example/req"}, "request_uri_not_supported"),
        ({"state": "a\nb"}, "invalid_request"),
    ],
    ids=[
        "the implicit flow",
        "a hybrid flow",
        "no PKCE",
        "PKCE downgraded to plain",
        "PKCE without a method (plain by default)",
        "a malformed challenge",
        "an unknown scope",
        "no identity or data scope",
        "prompt none with another",
        "an unknown prompt",
        "a negative max_age",
        "the fragment response mode",
        "a request object",
        "a request uri",
        "a state with a newline",
    ],
)
def test_bad_requests_go_back_to_the_client_with_state_and_iss(
    client, world, change, error
) -> None:
    c = register(world.services)
    r = get(client, {**auth_params(c, Pkce()), **change})
    assert r.status_code == 303
    got = query_of(r.headers["location"])
    assert r.headers["location"].startswith(REDIRECT + "?")
    assert got["error"] == error
    assert got["iss"] == ISSUER
    if "state" not in change:
        assert got["state"] == "st-42"
    assert "code" not in got


def test_a_scope_the_application_is_not_allowed_is_invalid_scope(client, world) -> None:
    c = register(world.services, scopes="profile")
    r = get(client, auth_params(c, Pkce(), scope="openid email"))
    assert query_of(r.headers["location"])["error"] == "invalid_scope"


def test_address_and_phone_are_ignored_not_refused_nor_granted(client, world) -> None:
    """OpenID Connect Core 3.1.2.1: scopes not understood SHOULD be ignored. We hold no postal
    address or phone number: a generic client asking for them gets what we have."""
    c = register(world.services)
    pkce = Pkce()
    params = auth_params(c, pkce, scope="openid profile address phone")
    sign_in(client)
    page = get(client, params)
    assert page.status_code == 200 and 'value="allow"' in page.text
    # What the dialog showed (and echoes back): the data scope, nothing for address or phone.
    assert hidden_fields(page.text)["scopes"] == "profile"
    assert "See your name" in page.text
    got = query_of(consent(client, page.text).headers["location"])
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["scope"].split()) == {"openid", "profile"}
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    claims = client.get("/oauth2/userinfo", headers=bearer).json()
    assert not {"address", "phone_number"} & claims.keys()


@pytest.mark.parametrize(
    "scope",
    ["address phone", "openid emial", "openid address admin"],
    ids=["only ignored scopes ask for nothing", "a typo of ours is told",
         "an unknown scope beside an ignored one is told"],
)  # fmt: skip
def test_unknown_scopes_stay_invalid_scope(client, world, scope) -> None:
    c = register(world.services)
    r = get(client, auth_params(c, Pkce(), scope=scope))
    assert query_of(r.headers["location"])["error"] == "invalid_scope"


def test_a_suspended_application_is_unauthorized_client(client, world) -> None:
    c = register(world.services)
    world.services.operator.set_app_status(c.id, "suspended")
    r = get(client, auth_params(c, Pkce()))
    assert query_of(r.headers["location"])["error"] == "unauthorized_client"


# -- sign-in, consent, the remembered grant ---------------------------------------------------


def test_sign_in_then_consent_then_code_and_a_returning_user_is_not_asked(client, world) -> None:
    c = register(world.services)
    params = auth_params(c, Pkce())
    r = get(client, params)
    assert r.status_code == 303 and r.headers["location"].startswith("/account/login?next=")
    sign_in(client)
    page = get(client, params)
    assert page.status_code == 200 and 'value="allow"' in page.text
    assert "Standard RP" in page.text and "rp.example" in page.text
    assert page.headers["referrer-policy"] == "same-origin"
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    assert "form-action 'self' https://rp.example" in csp
    done = consent(client, page.text)
    got = query_of(done.headers["location"])
    assert set(got) == {"code", "state", "iss"} and got["iss"] == ISSUER
    # Next time: no dialog, straight back with a code.
    again = get(client, auth_params(c, Pkce()))
    assert again.status_code == 303 and "code=" in again.headers["location"]


def test_cancel_is_access_denied(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    page = get(client, auth_params(c, Pkce()))
    r = consent(client, page.text, "cancel")
    got = query_of(r.headers["location"])
    assert (got["error"], got["state"], got["iss"]) == ("access_denied", "st-42", ISSUER)


def test_the_consent_form_needs_its_csrf_token(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    page = get(client, auth_params(c, Pkce()))
    fields = {**hidden_fields(page.text), "decision": "allow", "csrf": "forged"}
    r = client.post("/oauth2/authorize", data=fields, headers={"Origin": ISSUER},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and "location" not in r.headers


def test_a_consent_posted_from_another_site_is_refused(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    page = get(client, auth_params(c, Pkce()))
    fields = {**hidden_fields(page.text), "decision": "allow"}
    r = client.post("/oauth2/authorize", data=fields, headers={"Origin": "https://evil.example"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and "location" not in r.headers


def test_prompt_none_answers_login_required_then_consent_required_then_a_code(
    client, world
) -> None:
    c = register(world.services)
    silent = auth_params(c, Pkce(), prompt="none")
    assert query_of(get(client, silent).headers["location"])["error"] == "login_required"
    sign_in(client)
    assert query_of(get(client, silent).headers["location"])["error"] == "consent_required"
    authorize(client, auth_params(c, Pkce()))
    assert "code" in query_of(get(client, silent).headers["location"])


def test_prompt_consent_asks_again_though_the_grant_covers_it(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    authorize(client, auth_params(c, Pkce()))
    page = get(client, auth_params(c, Pkce(), prompt="consent"))
    assert page.status_code == 200 and 'value="allow"' in page.text


@pytest.mark.parametrize(
    "extra", [{"prompt": "login"}, {"prompt": "select_account"}, {"max_age": "0"}],
    ids=["prompt login", "prompt select_account", "max_age 0"],
)  # fmt: skip
def test_a_fresh_sign_in_is_asked_for_once_and_then_the_code_comes(client, world, extra) -> None:
    c = register(world.services)
    sign_in(client)
    authorize(client, auth_params(c, Pkce()))
    world.services.clock.advance(seconds=5)  # type: ignore[attr-defined]
    r = get(client, auth_params(c, Pkce(), **extra))
    assert r.status_code == 303 and r.headers["location"].startswith("/account/login?")
    login = client.get(r.headers["location"])
    assert 'name="password"' in login.text
    # Signing in again comes back to the request, which now finishes (no second round).
    nxt = hidden_fields(login.text)["next"]
    world.services.clock.advance(seconds=2)  # type: ignore[attr-defined]
    signed = client.post(
        "/account/login",
        data={"csrf": hidden_fields(login.text)["csrf"], "email": world.email,
              "password": "correct horse battery", "next": nxt},
        follow_redirects=False,
    )  # fmt: skip
    # The sign-in ends on its own page, which navigates on to the request (form-action).
    assert signed.headers["location"] == "/account/continue?" + urlencode({"next": nxt})
    back = client.get(nxt, follow_redirects=False)
    assert back.status_code == 303 and "code=" in back.headers["location"], back.text
    token = exchange(client, c, query_of(back.headers["location"])["code"], Pkce())
    assert token.status_code == 400  # a new verifier: proves the code is bound to its PKCE


def test_max_age_satisfied_needs_no_new_sign_in_and_auth_time_is_in_the_id_token(
    client, world
) -> None:
    c = register(world.services)
    sign_in(client)
    signed_at = int(world.services.clock.now().timestamp())
    answer = tokens(client, c)
    claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
    assert claims["auth_time"] == signed_at
    r = get(client, auth_params(c, Pkce(), max_age="3600"))
    assert "code=" in r.headers["location"]


def test_login_hint_fills_the_email_field(client, world) -> None:
    c = register(world.services)
    r = get(client, auth_params(c, Pkce(), login_hint="someone@example.com"))
    login = client.get(r.headers["location"])
    assert 'value="someone@example.com"' in login.text


def test_an_id_token_hint_for_another_user_with_prompt_none_is_login_required(
    client, world
) -> None:
    c = register(world.services)
    sign_in(client)
    hint = tokens(client, c)["id_token"]
    world.services.accounts.create_user(email="bo@example.com", name="Bo", password="pw-bo-12345")
    sign_in(client, "bo@example.com", "pw-bo-12345")
    r = get(client, auth_params(c, Pkce(), prompt="none", id_token_hint=hint))
    assert query_of(r.headers["location"])["error"] == "login_required"
    forged = hint[:-4] + ("AAAA" if not hint.endswith("AAAA") else "BBBB")
    r = get(client, auth_params(c, Pkce(), id_token_hint=forged))
    assert query_of(r.headers["location"])["error"] == "invalid_request"


def test_form_post_answers_with_a_page_that_posts_to_the_redirect_uri(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    authorize(client, auth_params(c, Pkce()))
    r = get(client, auth_params(c, Pkce(), response_mode="form_post"))
    assert r.status_code == 200
    assert f'action="{REDIRECT}"' in r.text
    fields = hidden_fields(r.text)
    assert set(fields) == {"code", "state", "iss"} and fields["iss"] == ISSUER
    assert "form-action 'self' https://rp.example" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert '<script src="/static/oauth2/form_post.js"></script>' in r.text


def test_native_apps_use_any_port_on_loopback(client, world) -> None:
    c = register(world.services, redirect_uris=("http://127.0.0.1/callback",), auth_method="none",
                 secret=False)  # fmt: skip
    sign_in(client)
    params = {**auth_params(c, Pkce()), "redirect_uri": "http://127.0.0.1:53124/callback"}
    got = authorize(client, params)
    assert "code" in got
    wrong_path = {**params, "redirect_uri": "http://127.0.0.1:53124/other"}
    assert get(client, wrong_path).status_code == 400


def test_the_authorization_request_may_be_posted(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    authorize(client, auth_params(c, Pkce()))
    r = client.post("/oauth2/authorize", data=auth_params(c, Pkce()), follow_redirects=False)
    assert r.status_code == 303 and "code=" in r.headers["location"]
