"""The standard token surface's behaviour over HTTP: refresh-token rotation with reuse
detection and its grace window, one grant for both surfaces, ID tokens, JWT access tokens,
private_key_jwt, UserInfo, revocation and logout."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from support.signin import ISSUER, PARTNER, authorize, csrf_of, sign_in
from web import oauth_flow
from web.oauth_flow import (
    REDIRECT,
    Client,
    Pkce,
    auth_params,
    hidden_fields,
    refresh,
    register,
    tokens,
)


def jwks_of(client) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(client.get("/oauth2/jwks").json())


def verify_id_token(client, token: str, audience: str) -> dict:
    header = jwt.get_unverified_header(token)
    key = jwks_of(client)[header["kid"]]
    return jwt.decode(token, key, algorithms=[header["alg"]], audience=audience, issuer=ISSUER)


# -- ID tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_the_id_token_verifies_against_the_jwks_with_every_claim(client, world, alg) -> None:
    c = register(world.services, id_token_alg=alg)
    sign_in(client)
    answer = tokens(client, c, "openid profile email account settings offline_access")
    header = jwt.get_unverified_header(answer["id_token"])
    assert header["alg"] == alg
    claims = verify_id_token(client, answer["id_token"], c.id)
    assert claims["sub"] == world.user_id and claims["azp"] == c.id
    assert claims["nonce"] == "n-42" and claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert (claims["name"], claims["email"]) == ("Ann Example", "ann@example.com")
    assert (claims["company"], claims["plan"]) == ("Example Leads", "Enterprise")
    assert (claims["zoneinfo"], claims["locale"]) == ("Europe/Paris", "en-GB")
    assert ("at_hash" in claims) == (alg != "EdDSA")
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert answer["scope"] == "openid offline_access profile email account settings"


def test_claims_follow_the_scopes_and_no_refresh_token_without_offline_access(
    client, world
) -> None:
    c = register(world.services)
    sign_in(client)
    answer = tokens(client, c, "openid email")
    assert "refresh_token" not in answer
    claims = verify_id_token(client, answer["id_token"], c.id)
    assert "email" in claims and "name" not in claims and "company" not in claims
    info = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    # The scopes' claims, and how the user signed in (as in the ID token).
    assert info.json() == {
        "sub": world.user_id,
        "email": "ann@example.com",
        "email_verified": True,
        "amr": ["pwd"],
        "acr": "urn:leadexec:acr:1fa",
    }
    posted = client.post("/oauth2/userinfo", data={"access_token": answer["access_token"]})
    assert posted.status_code == 200 and posted.json()["sub"] == world.user_id


def test_userinfo_refuses_a_token_without_openid_and_a_bad_token(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    answer = tokens(client, c, "profile")
    assert "id_token" not in answer
    r = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    r = client.get("/oauth2/userinfo", headers={"Authorization": "Bearer lea_nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    # The LeadExec API accepts the standard surface's token, scopes checked the same way.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert me.status_code == 200 and me.json()["name"] == "Ann Example"


# -- rotation -------------------------------------------------------------------------------


def test_a_public_clients_refresh_token_rotates_and_a_retry_within_the_grace_window_is_idempotent(
    client, world
) -> None:
    c = register(world.services, secret=False)
    sign_in(client)
    first = tokens(client, c)["refresh_token"]
    one = refresh(client, c, first)
    assert one.status_code == 200
    second = one.json()["refresh_token"]
    assert second != first
    # A lost answer: the same refresh again, 3 s later, gets the same successor.
    world.services.clock.advance(seconds=3)
    retry = refresh(client, c, first)
    assert retry.status_code == 200 and retry.json()["refresh_token"] == second
    assert retry.json()["access_token"] != one.json()["access_token"]
    # The client moves on; the old one coming back now is a copy: the grant ends.
    third = refresh(client, c, second).json()["refresh_token"]
    replay = refresh(client, c, first)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    dead = refresh(client, c, third)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_reuse_after_the_grace_window_revokes_the_grant(client, world) -> None:
    c = register(world.services, secret=False)
    sign_in(client)
    answer = tokens(client, c)
    first = answer["refresh_token"]
    second = refresh(client, c, first).json()["refresh_token"]
    world.services.clock.advance(seconds=11)
    assert refresh(client, c, first).json()["error"] == "invalid_grant"
    assert refresh(client, c, second).json()["error"] == "invalid_grant"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert me.status_code == 401


def test_a_confidential_client_keeps_its_refresh_token_unless_it_asked_for_rotation(
    client, world
) -> None:
    keeps = register(world.services)
    sign_in(client)
    token = tokens(client, keeps)["refresh_token"]
    assert refresh(client, keeps, token).json()["refresh_token"] == token
    rotates = register(world.services, rotate_refresh_tokens=True)
    token = tokens(client, rotates)["refresh_token"]
    assert refresh(client, rotates, token).json()["refresh_token"] != token


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    token = tokens(client, c, "openid profile offline_access")["refresh_token"]
    narrow = refresh(client, c, token, scope="openid")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "openid"
    wide = refresh(client, c, token, scope="openid email")
    assert wide.status_code == 400 and wide.json()["error"] == "invalid_scope"


def test_each_surface_accepts_only_its_own_refresh_tokens(client, world) -> None:
    c = register(world.services, secret=False)
    sign_in(client)
    oauth = tokens(client, c)["refresh_token"]
    seed = client.get("/api/token", params={"appId": c.id, "refreshToken": oauth})
    assert seed.status_code == 400 and seed.json()["error"] == "invalid_grant"
    popup = authorize(client, world.btn_id)["refreshToken"]
    other = refresh(client, register(world.services, secret=False), popup)
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"


# -- one grant for both surfaces ----------------------------------------------------------


def test_one_connected_app_for_both_surfaces_and_removing_it_ends_both(client, world) -> None:
    services = world.services
    app = services.registry.app(world.app_id)
    assert app is not None
    services.registry.set_client(
        app.id, type(app.registration)(redirect_uris=(REDIRECT,), rotate_refresh_tokens=True)
    )
    sign_in(client)
    seed = authorize(client, world.btn_id)
    c = Client(app.id, None)
    std = tokens(client, c, "openid profile email offline_access")
    page = client.get("/account/apps")
    removals = re.findall(r'action="/account/apps/(grt_[^/"]+)/remove"', page.text)
    assert len(removals) == 1, page.text  # one entry, whichever surface signed in
    r = client.post(
        f"/account/apps/{removals[0]}/remove",
        data={"csrf": csrf_of(page.text)},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    bearer = {"Authorization": f"Bearer {std['access_token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    seed_me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {seed['authToken']}"})
    assert seed_me.status_code == 401
    assert refresh(client, c, std["refresh_token"]).json()["error"] == "invalid_grant"
    again = client.get("/api/token", params={"appId": app.id, "refreshToken": seed["refreshToken"]})
    assert again.json()["error"] == "invalid_grant"


def test_rfc7009_revocation_ends_the_grant_for_both_surfaces(client, world) -> None:
    c = register(world.services)
    sign_in(client)
    std = tokens(client, c)
    r = client.post("/oauth2/revoke", data={"token": std["access_token"],
                    "token_type_hint": "access_token"}, auth=c.auth)  # fmt: skip
    assert r.status_code == 200 and r.content == b""
    assert refresh(client, c, std["refresh_token"]).json()["error"] == "invalid_grant"
    # Unknown tokens and another client's tokens: 200, nothing happens.
    other = register(world.services)
    mine = tokens(client, other)
    assert (
        client.post("/oauth2/revoke", data={"token": "ler_unknown"}, auth=c.auth).status_code == 200
    )
    client.post("/oauth2/revoke", data={"token": mine["refresh_token"]}, auth=c.auth)
    assert refresh(client, other, mine["refresh_token"]).status_code == 200


# -- JWT access tokens ----------------------------------------------------------------------


def test_jwt_access_tokens_follow_rfc9068_and_die_with_their_grant(client, world) -> None:
    c = register(world.services, access_token_format="jwt")
    sign_in(client)
    answer = tokens(client, c, "openid profile offline_access")
    token = answer["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    claims = jwt.decode(token, jwks_of(client)[header["kid"]], algorithms=["RS256"],
                        audience=ISSUER + "/api/v1", issuer=ISSUER)  # fmt: skip
    assert claims["client_id"] == c.id and claims["sub"] == world.user_id
    assert claims["scope"] == "openid offline_access profile" and claims["jti"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["name"] == "Ann Example"
    introspected = client.post("/oauth2/introspect", data={"token": token}, auth=c.auth).json()
    assert introspected["active"] is True and introspected["client_id"] == c.id
    client.post("/oauth2/revoke", data={"token": answer["refresh_token"]}, auth=c.auth)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # A JWT signed by someone else, even shaped right, is refused.
    forged = jwt.encode({**claims}, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                        headers={"kid": header["kid"], "typ": "at+jwt"})  # fmt: skip
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )


# -- private_key_jwt ------------------------------------------------------------------------


def assertion(key, client_id: str, **override: object) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER + "/oauth2/token",
              "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex, **override}  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})


def test_private_key_jwt_authenticates_once_per_assertion(client, world) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    c = register(world.services, secret=False, auth_method="private_key_jwt",
                 jwks=json.dumps({"keys": [{**public, "kid": "k1", "alg": "ES256"}]}))  # fmt: skip
    sign_in(client)
    pkce = Pkce()
    code = oauth_flow.authorize(client, auth_params(c, pkce))["code"]
    signed = assertion(key, c.id)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": pkce.verifier, "client_id": c.id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed}  # fmt: skip
    ok = client.post("/oauth2/token", data=form)
    assert ok.status_code == 200, ok.text
    token = ok.json()["refresh_token"]
    replay = client.post("/oauth2/token", data={**form, "grant_type": "refresh_token",
                         "refresh_token": token})  # fmt: skip
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    other_key = ec.generate_private_key(ec.SECP256R1())
    for bad in (
        assertion(other_key, c.id),
        assertion(key, c.id, aud="https://elsewhere.example/token"),
        assertion(key, c.id, exp=int(time.time()) + 3600),
        assertion(key, c.id, sub="app_someone_else_entirely_x"),
    ):
        r = client.post("/oauth2/token", data={**form, "grant_type": "refresh_token",
                        "refresh_token": token, "client_assertion": bad})  # fmt: skip
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    fresh = assertion(key, c.id)
    good = client.post("/oauth2/token", data={**form, "grant_type": "refresh_token",
                       "refresh_token": token, "client_assertion": fresh})  # fmt: skip
    assert good.status_code == 200


def test_a_client_must_use_the_method_it_registered(client, world) -> None:
    c = register(world.services)  # client_secret_basic
    sign_in(client)
    token = tokens(client, c)["refresh_token"]
    posted = client.post("/oauth2/token", data={"grant_type": "refresh_token",
                         "refresh_token": token, "client_id": c.id,
                         "client_secret": c.secret})  # fmt: skip
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"
    bare = client.post("/oauth2/token", data={"grant_type": "refresh_token",
                       "refresh_token": token, "client_id": c.id})  # fmt: skip
    assert bare.status_code == 401


# -- logout -----------------------------------------------------------------------------------


def test_rp_initiated_logout_confirms_signs_out_and_returns_with_state(client, world) -> None:
    c = register(world.services, post_logout_redirect_uris=("https://rp.example/bye",))
    sign_in(client)
    hint = tokens(client, c)["id_token"]
    params = {"id_token_hint": hint, "post_logout_redirect_uri": "https://rp.example/bye",
              "state": "s-9"}  # fmt: skip
    page = client.get("/oauth2/logout", params=params)
    assert page.status_code == 200 and "Standard RP" in page.text
    assert "form-action 'self' https://rp.example" in page.headers["content-security-policy"]
    fields = {**hidden_fields(page.text), "confirm": "yes"}
    done = client.post("/oauth2/logout", data=fields, headers={"Origin": ISSUER},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == "https://rp.example/bye?state=s-9"
    assert client.get("/account/apps", follow_redirects=False).status_code == 303  # signed out


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://rp.example/bye"},
        {"client_id": "CLIENT", "post_logout_redirect_uri": "https://evil.example/"},
        {"id_token_hint": "not.a.jwt"},
    ],
    ids=["a return address without a client", "an unregistered return address", "a bad hint"],
)
def test_logout_never_redirects_where_the_client_did_not_register(client, world, params) -> None:
    c = register(world.services, post_logout_redirect_uris=("https://rp.example/bye",))
    params = {k: v.replace("CLIENT", c.id) for k, v in params.items()}
    r = client.get("/oauth2/logout", params=params, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


def test_revocation_and_logout_queue_back_channel_logout_notices(client, world) -> None:
    c = register(world.services, backchannel_logout_uri="https://rp.example/backchannel")
    sign_in(client)
    answer = tokens(client, c)
    page = client.get("/oauth2/logout", params={"client_id": c.id})
    client.post("/oauth2/logout", data={**hidden_fields(page.text), "confirm": "yes"},
                headers={"Origin": ISSUER}, follow_redirects=False)  # fmt: skip
    sign_in(client)
    client.post("/oauth2/revoke", data={"token": answer["refresh_token"]}, auth=c.auth)
    with world.services.storage.transaction() as tx:
        due = tx.due_notices(world.services.clock.now(), 10)
    logout = [n for n in due if n.kind == "backchannel_logout"]
    assert len(logout) == 2 and {n.url for n in logout} == {"https://rp.example/backchannel"}
    sids = [json.loads(n.body).get("sid") for n in logout]
    assert sids.count(None) == 1  # the revocation names no session; the sign-out does
    from leadexec_signin.background import logout_form

    key = world.services.keys.current("RS256")
    form = parse_qs(logout_form(logout[0].body, key, ISSUER, int(time.time())))
    token = form["logout_token"][0]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, jwks_of(client)[header["kid"]], algorithms=["RS256"],
                        audience=c.id, issuer=ISSUER)  # fmt: skip
    assert header["typ"] == "logout+jwt" and claims["sub"] == world.user_id
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims and claims["jti"]


def test_the_discovery_document_lists_what_is_supported(client) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta == client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == ISSUER and meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}  # fmt: skip
    algs = {k["alg"] for k in client.get(meta["jwks_uri"].removeprefix(ISSUER)).json()["keys"]}
    assert algs == {"RS256", "ES256", "EdDSA"}
    assert PARTNER  # the seed's partner origin is not part of the standard surface
