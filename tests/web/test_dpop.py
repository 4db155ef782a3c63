"""DPoP (RFC 9449) over HTTP: proofs at the token endpoint (with the server's nonce), tokens
bound to the key (``token_type: DPoP``, ``cnf.jkt``), the LeadExec API and userinfo taking
``Authorization: DPoP``, a public client's refresh token bound to its key, and the hostile
cases: a proof replayed, for another URL, too old, of another key, with a private key."""

from __future__ import annotations

import jwt
import pytest

from support.dpop import DpopKey
from support.signin import ISSUER, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, register

TOKEN_URL = ISSUER + "/oauth2/token"
ME_URL = ISSUER + "/api/v1/me"
USERINFO_URL = ISSUER + "/oauth2/userinfo"


def now(world) -> int:
    return int(world.services.clock.now().timestamp())


def dpop_token_request(client, world, key: DpopKey, data: dict, auth=None, **proof_claims):
    """A token request with a proof; the first answer (no nonce yet) must be use_dpop_nonce
    with the nonce to use, then the same request with a proof carrying it."""
    proof = key.proof("POST", TOKEN_URL, iat=now(world), **proof_claims)
    first = client.post("/oauth2/token", data=data, auth=auth, headers={"DPoP": proof})
    assert first.status_code == 400, first.text
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    proof = key.proof("POST", TOKEN_URL, iat=now(world), nonce=nonce, **proof_claims)
    return client.post("/oauth2/token", data=data, auth=auth, headers={"DPoP": proof})


def code_data(client, c, scope: str = "openid profile email offline_access") -> dict:
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, scope))
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": c.redirect_uri,
        "code_verifier": pkce.verifier,
    }
    if c.secret is None:
        data["client_id"] = c.id
    return data


def bound_tokens(client, world, key: DpopKey, **client_options) -> tuple[object, dict]:
    c = register(world.services, **client_options)
    sign_in(client)
    r = dpop_token_request(client, world, key, code_data(client, c), auth=c.auth)
    assert r.status_code == 200, r.text
    assert r.headers["DPoP-Nonce"]
    return c, r.json()


def call_me(client, world, key: DpopKey, token: str, *, url: str = ME_URL, **proof_options):
    proof = key.proof("GET", url, access_token=token, iat=now(world), **proof_options)
    return client.get("/api/v1/me", headers={"Authorization": f"DPoP {token}", "DPoP": proof})


def test_a_dpop_token_is_bound_and_works_only_with_a_proof_of_its_key(client, world) -> None:
    key = DpopKey()
    _, answer = bound_tokens(client, world, key)
    assert answer["token_type"] == "DPoP"
    token = answer["access_token"]
    me = call_me(client, world, key, token)
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"
    # The same token as Bearer: refused with a DPoP challenge (RFC 9449 section 7.2).
    bearer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
    assert bearer.headers["WWW-Authenticate"].startswith('DPoP algs="ES256 RS256 PS256 EdDSA"')
    assert 'error="invalid_token"' in bearer.headers["WWW-Authenticate"]
    # Userinfo takes it the same way.
    proof = key.proof("GET", USERINFO_URL, access_token=token, iat=now(world))
    info = client.get("/oauth2/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert info.status_code == 200 and info.json()["email"] == "ann@example.com"
    plain = client.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert plain.status_code == 401 and plain.headers["WWW-Authenticate"].startswith("DPoP ")


def test_a_replayed_proof_is_refused(client, world) -> None:
    key = DpopKey()
    _, answer = bound_tokens(client, world, key)
    token = answer["access_token"]
    proof = key.proof("GET", ME_URL, access_token=token, iat=now(world))
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    again = client.get("/api/v1/me", headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "invalid_dpop_proof"
    assert 'error="invalid_dpop_proof"' in again.headers["WWW-Authenticate"]
    assert "already used" in again.json()["error_description"]


def test_a_replayed_proof_at_the_token_endpoint_is_refused(client, world) -> None:
    key = DpopKey()
    c = register(world.services, secret=False)
    sign_in(client)
    first = client.post(
        "/oauth2/token",
        data=code_data(client, c),
        headers={"DPoP": key.proof("POST", TOKEN_URL, iat=now(world))},
    )
    nonce = first.headers["DPoP-Nonce"]
    proof = key.proof("POST", TOKEN_URL, iat=now(world), nonce=nonce)
    ok = client.post("/oauth2/token", data=code_data(client, c), headers={"DPoP": proof})
    assert ok.status_code == 200, ok.text
    replay = client.post("/oauth2/token", data=code_data(client, c), headers={"DPoP": proof})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("another URL", {"url": ISSUER + "/api/v1/settings"}),
        ("another host", {"url": "https://evil.example/api/v1/me"}),
        ("too old", {"iat_offset": -120}),
        ("from the future", {"iat_offset": 60}),
        ("another method", {"method": "POST"}),
        ("no ath", {"ath": None}),
        ("ath of another token", {"ath": "x" * 43}),
    ],
)
def test_a_proof_that_does_not_name_this_request_is_refused(client, world, case, options) -> None:
    key = DpopKey()
    _, answer = bound_tokens(client, world, key)
    token = answer["access_token"]
    if "ath" in options:  # made by hand: no ath, or the hash of another token
        extra = {} if options["ath"] is None else {"ath": options["ath"]}
        proof = key.proof("GET", ME_URL, iat=now(world), **extra)
    else:
        proof = key.proof(
            options.get("method", "GET"),
            options.get("url", ME_URL),
            access_token=token,
            iat=now(world) + options.get("iat_offset", 0),
        )
    r = client.get("/api/v1/me", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert r.status_code == 401, case
    assert r.json()["error"] == "invalid_dpop_proof", case


def test_a_proof_of_another_key_than_the_bound_one_is_refused(client, world) -> None:
    key, thief = DpopKey(), DpopKey()
    _, answer = bound_tokens(client, world, key)
    r = call_me(client, world, thief, answer["access_token"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert r.headers["WWW-Authenticate"].startswith("DPoP ")
    assert "not of the key" in r.json()["error_description"]


def test_a_proof_with_a_private_key_in_its_jwk_is_refused(client, world) -> None:
    key = DpopKey()
    c = register(world.services, secret=False)
    sign_in(client)
    proof = key.proof("POST", TOKEN_URL, iat=now(world), jwk=key.private_jwk)
    r = client.post("/oauth2/token", data=code_data(client, c), headers={"DPoP": proof})
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    assert "public key" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("case", "header"),
    [
        ("not a JWT", "garbage"),
        ("no signature", "a.b"),
        ("unsigned", jwt.encode({"jti": "x"}, None, algorithm="none", headers={"typ": "dpop+jwt"})),
        (
            "a MAC",
            jwt.encode({"jti": "x"}, "k" * 32, algorithm="HS256", headers={"typ": "dpop+jwt"}),
        ),
        ("oversized", "a" * 9000),
    ],
)
def test_a_malformed_proof_is_a_clear_400(client, world, case, header) -> None:
    c = register(world.services, secret=False)
    sign_in(client)
    r = client.post("/oauth2/token", data=code_data(client, c), headers={"DPoP": header})
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", case


def test_dpop_scheme_without_a_proof_and_an_unbound_token_as_dpop_are_refused(
    client, world
) -> None:
    key = DpopKey()
    c = register(world.services)
    sign_in(client)
    r = client.post("/oauth2/token", data=code_data(client, c), auth=c.auth)
    unbound = r.json()
    assert unbound["token_type"] == "Bearer"
    missing = client.get("/api/v1/me", headers={"Authorization": f"DPoP {unbound['access_token']}"})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_dpop_proof"
    as_dpop = call_me(client, world, key, unbound["access_token"])
    assert as_dpop.status_code == 401 and as_dpop.json()["error"] == "invalid_token"
    two = client.get(
        "/api/v1/me",
        headers=[
            ("Authorization", f"DPoP {unbound['access_token']}"),
            ("DPoP", "a.b.c"),
            ("DPoP", "d.e.f"),
        ],
    )
    assert two.status_code == 401 and two.json()["error"] == "invalid_dpop_proof"
    # The unbound token still works as Bearer.
    bearer = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {unbound['access_token']}"}
    )
    assert bearer.status_code == 200


def test_a_public_clients_refresh_token_is_bound_to_its_key(client, world) -> None:
    key, other = DpopKey(), DpopKey()
    c, answer = bound_tokens(client, world, key, secret=False)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": answer["refresh_token"],
        "client_id": c.id,
    }
    without = client.post("/oauth2/token", data=refresh)
    assert without.status_code == 400 and without.json()["error"] == "invalid_grant"
    nonce = client.post(
        "/oauth2/token",
        data=refresh,
        headers={"DPoP": other.proof("POST", TOKEN_URL, iat=now(world))},
    ).headers["DPoP-Nonce"]
    stolen = client.post(
        "/oauth2/token",
        data=refresh,
        headers={"DPoP": other.proof("POST", TOKEN_URL, iat=now(world), nonce=nonce)},
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    good = client.post(
        "/oauth2/token",
        data=refresh,
        headers={"DPoP": key.proof("POST", TOKEN_URL, iat=now(world), nonce=nonce)},
    )
    assert good.status_code == 200, good.text
    renewed = good.json()
    assert renewed["token_type"] == "DPoP" and renewed["refresh_token"] != answer["refresh_token"]
    assert call_me(client, world, key, renewed["access_token"]).status_code == 200
    # The successor is bound too.
    refresh["refresh_token"] = renewed["refresh_token"]
    assert client.post("/oauth2/token", data=refresh).json()["error"] == "invalid_grant"


def test_a_confidential_clients_refresh_token_is_not_bound_but_its_access_tokens_are(
    client, world
) -> None:
    key = DpopKey()
    c, answer = bound_tokens(client, world, key)
    refresh = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]}
    plain = client.post("/oauth2/token", data=refresh, auth=c.auth)
    assert plain.status_code == 200 and plain.json()["token_type"] == "Bearer"


def test_a_client_that_requires_dpop_gets_no_unbound_token(client, world) -> None:
    c = register(world.services, dpop_bound_access_tokens=True)
    sign_in(client)
    r = client.post("/oauth2/token", data=code_data(client, c), auth=c.auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    assert "must send a DPoP proof" in r.json()["error_description"]


def test_a_stale_nonce_is_answered_with_a_fresh_one(client, world) -> None:
    key = DpopKey()
    c = register(world.services, secret=False)
    sign_in(client)
    first = client.post(
        "/oauth2/token",
        data=code_data(client, c),
        headers={"DPoP": key.proof("POST", TOKEN_URL, iat=now(world))},
    )
    nonce = first.headers["DPoP-Nonce"]
    world.services.clock.advance(minutes=11)  # two nonce windows later
    stale = client.post(
        "/oauth2/token",
        data=code_data(client, c),
        headers={"DPoP": key.proof("POST", TOKEN_URL, iat=now(world), nonce=nonce)},
    )
    assert stale.status_code == 400 and stale.json()["error"] == "use_dpop_nonce"
    assert stale.headers["DPoP-Nonce"] != nonce
    # A resource given a stale nonce answers 401 use_dpop_nonce with the fresh one.


def test_jwt_access_tokens_carry_cnf_jkt(client, world) -> None:
    key = DpopKey("EdDSA")
    _, answer = bound_tokens(client, world, key, access_token_format="jwt")
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}
    assert call_me(client, world, key, answer["access_token"]).status_code == 200


def test_discovery_lists_the_dpop_algorithms(client) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]


def test_a_proof_is_single_use_across_processes(settings, clock, world) -> None:
    """Two server processes on one database (two composed providers): a proof used at one
    is refused at the other."""
    from starlette.testclient import TestClient

    from leadexec_signin.compose import build
    from leadexec_signin.web.app import create_app

    second = build(settings, clock)
    try:
        with (
            TestClient(create_app(world.services), base_url=ISSUER) as one,
            TestClient(create_app(second), base_url=ISSUER) as two,
        ):
            key = DpopKey()
            _, answer = bound_tokens(one, world, key)
            token = answer["access_token"]
            proof = key.proof("GET", ME_URL, access_token=token, iat=now(world))
            headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
            assert one.get("/api/v1/me", headers=headers).status_code == 200
            replay = two.get("/api/v1/me", headers=headers)
            assert replay.status_code == 401 and replay.json()["error"] == "invalid_dpop_proof"
    finally:
        second.close()


def test_introspection_says_a_bound_token_is_dpop_with_its_key(client, world) -> None:
    key = DpopKey()
    c, answer = bound_tokens(client, world, key)
    r = client.post("/oauth2/introspect", data={"token": answer["access_token"]}, auth=c.auth)
    info = r.json()
    assert info["active"] is True and info["token_type"] == "DPoP"
    assert info["cnf"] == {"jkt": key.jkt}


def bound_code(client, c, key_jkt: str) -> dict:
    """An authorization request naming dpop_jkt (RFC 9449 section 10); the token request."""
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, dpop_jkt=key_jkt))
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": c.redirect_uri,
        "code_verifier": pkce.verifier,
    }
    if c.secret is None:
        data["client_id"] = c.id
    return data


def test_dpop_jkt_binds_the_code_to_that_key(client, world) -> None:
    """Only a token request proving the named key redeems the code; another key's proof and
    no proof at all are invalid_grant, and neither spends the code."""
    key, other = DpopKey(), DpopKey()
    c = register(world.services)
    sign_in(client)
    data = bound_code(client, c, key.jkt)
    plain = client.post("/oauth2/token", data=data, auth=c.auth)
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_grant"
    wrong = dpop_token_request(client, world, other, data, auth=c.auth)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert "DPoP key" in wrong.json()["error_description"]
    right = dpop_token_request(client, world, key, data, auth=c.auth)
    assert right.status_code == 200, right.text
    answer = right.json()
    assert answer["token_type"] == "DPoP"
    assert call_me(client, world, key, answer["access_token"]).status_code == 200


def test_dpop_jkt_is_accepted_through_par(client, world) -> None:
    key, other = DpopKey(), DpopKey()
    c = register(world.services)
    pkce = Pkce()
    pushed = client.post(
        "/oauth2/par",
        data={k: v for k, v in auth_params(c, pkce, dpop_jkt=key.jkt).items() if k != "client_id"},
        auth=c.auth,
    )
    assert pushed.status_code == 201, pushed.text
    sign_in(client)
    got = authorize(client, {"client_id": c.id, "request_uri": pushed.json()["request_uri"],
                             "redirect_uri": c.redirect_uri})  # fmt: skip
    data = {"grant_type": "authorization_code", "code": got["code"],
            "redirect_uri": c.redirect_uri, "code_verifier": pkce.verifier}  # fmt: skip
    wrong = dpop_token_request(client, world, other, data, auth=c.auth)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = dpop_token_request(client, world, key, data, auth=c.auth)
    assert right.status_code == 200 and right.json()["token_type"] == "DPoP"


@pytest.mark.parametrize(
    "jkt",
    ["short", "x" * 44, "a+b/" * 10 + "abc"],
    ids=["too short", "too long", "not base64url"],
)
def test_a_malformed_dpop_jkt_is_invalid_request_sent_back(client, world, jkt) -> None:
    c = register(world.services)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce(), dpop_jkt=jkt),
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "error=invalid_request" in r.headers["location"]
    body = {k: v for k, v in auth_params(c, Pkce(), dpop_jkt=jkt).items() if k != "client_id"}
    pushed = client.post("/oauth2/par", auth=c.auth, data=body)
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_request"
