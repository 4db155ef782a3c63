"""OpenID Connect details: ``email_verified``; the ``claims`` request parameter (OpenID
Connect Core section 5.5: voluntary and essential claims for UserInfo and the ID token, an
essential ``acr`` with ``value``/``values``, the ID token's ``sub``); discovery's
``claims_parameter_supported`` and a ``claims_supported`` that lists what is returned."""

from __future__ import annotations

import json

import jwt
from starlette.testclient import TestClient

from leadexec_signin.core.factors import ACR_MFA
from support.signin import sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, query_of, register, tokens


def id_claims(answer: dict[str, str]) -> dict[str, object]:
    return jwt.decode(answer["id_token"], options={"verify_signature": False})


def userinfo(client: TestClient, answer: dict[str, str]) -> dict[str, object]:
    r = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def with_claims(client: TestClient, c, claims: object, scope: str = "openid", **extra: str):  # type: ignore[no-untyped-def]
    pkce = Pkce()
    params = auth_params(c, pkce, scope, claims=json.dumps(claims), **extra)
    got = authorize(client, params)
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    return r.json()  # type: ignore[attr-defined]


def test_email_verified_comes_with_the_email(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    answer = tokens(client, c, "openid email")
    assert id_claims(answer)["email_verified"] is True
    assert userinfo(client, answer)["email_verified"] is True
    answer = tokens(client, c, "openid profile")
    assert "email_verified" not in id_claims(answer) and "email" not in id_claims(answer)


def test_an_essential_userinfo_claim_is_asked_for_and_returned(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    wanted = json.dumps({"userinfo": {"name": {"essential": True}}})
    page = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), "openid", claims=wanted))
    assert 'name="scopes" value="profile"' in page.text  # the dialog asks for what releases it
    answer = with_claims(client, c, {"userinfo": {"name": {"essential": True}}})
    assert userinfo(client, answer)["name"] == "Ann Example"


def test_a_voluntary_id_token_claim_is_in_the_id_token(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    answer = with_claims(client, c, {"id_token": {"email": None, "zoneinfo": None}})
    claims = id_claims(answer)
    assert claims["email"] == "ann@example.com" and claims["email_verified"] is True
    assert claims["zoneinfo"] == "Europe/Paris"


def test_claims_we_do_not_have_or_may_not_release_are_ignored(client: TestClient, world) -> None:
    c = register(world.services, scopes="profile")
    sign_in(client)
    answer = with_claims(client, c, {"userinfo": {"phone_number": {"essential": True},
                                                  "email": None, "name": None}})  # fmt: skip
    info = userinfo(client, answer)
    assert info["name"] == "Ann Example" and "email" not in info and "phone_number" not in info


def test_a_malformed_claims_parameter_is_invalid_request(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    for bad in ("not json", "[1]", '{"access_token": {}}', '{"userinfo": []}',
                '{"id_token": {"acr": {"values": "x"}}}', '{"userinfo": {"name": 3}}'):  # fmt: skip
        r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), claims=bad),
                       follow_redirects=False)  # fmt: skip
        answer = query_of(r.headers["location"])
        assert answer["error"] == "invalid_request", bad[:20]
    r = client.post("/oauth2/authorize", data=auth_params(c, Pkce(), claims="{" * 5000))
    assert r.status_code == 400  # too long to read at all: shown, never followed


def test_an_essential_acr_we_never_offer_is_access_denied(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:example:loa:4"]}}}
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), claims=json.dumps(claims)),
                   follow_redirects=False)  # fmt: skip
    assert query_of(r.headers["location"])["error"] == "access_denied"


def test_an_essential_acr_value_of_mfa_asks_a_password_session_for_a_second_factor(
    client: TestClient, world
) -> None:
    c = register(world.services)
    sign_in(client)
    claims = {"id_token": {"acr": {"essential": True, "value": ACR_MFA}}}
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), claims=json.dumps(claims)),
                   follow_redirects=False)  # fmt: skip
    assert (
        r.headers["location"].startswith("/account/login?") and "step=mfa" in r.headers["location"]
    )
    # A voluntary acr is answered with what the sign-in was.
    answer = with_claims(client, c, {"id_token": {"acr": {"values": [ACR_MFA]}}})
    assert id_claims(answer)["acr"] == "urn:leadexec:acr:1fa"


def test_an_id_token_sub_of_another_account_asks_to_sign_in_as_it(
    client: TestClient, world
) -> None:
    c = register(world.services)
    sign_in(client)
    claims = json.dumps({"id_token": {"sub": {"value": "usr_" + "O" * 22}}})
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), claims=claims),
                   follow_redirects=False)  # fmt: skip
    assert r.headers["location"].startswith("/account/login?")
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), claims=claims, prompt="none"),
                   follow_redirects=False)  # fmt: skip
    assert query_of(r.headers["location"])["error"] == "login_required"
    own = json.dumps({"id_token": {"sub": {"value": world.user_id}}})
    assert "code" in authorize(client, auth_params(c, Pkce(), claims=own))


def test_discovery_lists_exactly_the_claims_returned(client: TestClient, world) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["claims_parameter_supported"] is True
    c = register(world.services)
    sign_in(client)
    answer = tokens(client, c, "openid profile email account settings")
    returned = set(id_claims(answer)) | set(userinfo(client, answer))
    assert returned == set(meta["claims_supported"])
