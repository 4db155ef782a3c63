"""RFC 7591 dynamic registration and RFC 7592 management over HTTP: an agent registers itself,
signs a person in with PKCE, and manages its registration with its registration access token;
every hostile registration gets its RFC 7591 refusal; off, the endpoint is not there."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from leadexec_signin.settings import Settings
from support.signin import ISSUER, sign_in
from web.oauth_flow import Client, Pkce, auth_params, authorize, exchange, query_of, refresh

AGENT = {
    "client_name": "Desk Agent",
    "redirect_uris": ["http://127.0.0.1:33418/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "none",
    "logo_uri": "https://agent.example/logo.png",
    "client_uri": "https://agent.example",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(client_registration="open", registration_limit_per_ip="8/minute")


def register(client: TestClient, body: object = None, **headers: str):
    return client.post("/oauth2/register", json=AGENT if body is None else body, headers=headers)


def refused(r, status: int, error: str) -> str:
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()["error_description"]


# -- RFC 7591 section 3: registration -----------------------------------------------------------


def test_an_agent_registers_and_gets_its_id_and_registration_token(client: TestClient) -> None:
    r = register(client)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_id"].startswith("app_")
    assert body["registration_access_token"].startswith("lerat_")
    assert body["registration_client_uri"] == f"{ISSUER}/oauth2/register/{body['client_id']}"
    assert body["token_endpoint_auth_method"] == "none" and "client_secret" not in body
    assert body["redirect_uris"] == AGENT["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["scope"] == "openid offline_access profile email"  # the operator's default
    assert body["client_name"] == "Desk Agent" and body["logo_uri"] == AGENT["logo_uri"]
    assert isinstance(body["client_id_issued_at"], int)
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["access-control-allow-origin"] == "*"


def test_discovery_names_the_endpoint_only_when_registration_is_open(
    client: TestClient, make_client
) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        assert client.get(path).json()["registration_endpoint"] == f"{ISSUER}/oauth2/register"
    for setting in ("off", "metadata-documents"):
        other, _ = make_client(client_registration=setting)
        for path in (
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ):
            assert "registration_endpoint" not in other.get(path).json()


@pytest.mark.parametrize("setting", ["off", "metadata-documents"])
def test_registration_is_not_there_unless_open(make_client, setting: str) -> None:
    """404, as node-oidc-provider answers for its registration feature turned off."""
    other, _ = make_client(client_registration=setting)
    words = refused(register(other), 404, "not_found")
    assert "not enabled" in words
    assert other.get("/oauth2/register/app_" + "a" * 22).status_code == 404


def test_a_registered_agent_signs_a_person_in_with_pkce_and_refreshes(
    client: TestClient, world
) -> None:
    body = register(client).json()
    agent = Client(body["client_id"], None, AGENT["redirect_uris"][0])
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(agent, pkce, "openid profile offline_access"))
    answer = exchange(client, agent, got["code"], pkce)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert set(tokens["scope"].split()) == {"openid", "profile", "offline_access"}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == world.user_id
    again = refresh(client, agent, tokens["refresh_token"])
    assert again.status_code == 200, again.text


def test_pkce_is_required_of_a_registered_agent(client: TestClient, world) -> None:
    body = register(client).json()
    agent = Client(body["client_id"], None, AGENT["redirect_uris"][0])
    sign_in(client)
    params = auth_params(agent, Pkce(), "openid profile")
    del params["code_challenge"], params["code_challenge_method"]
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert r.status_code == 303
    assert query_of(r.headers["location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "scope", ["openid settings", "openid account", "profile settings"], ids=lambda s: f"asks {s}"
)
def test_an_agent_asking_for_a_scope_the_operator_did_not_allow_is_refused(
    client: TestClient, world, scope: str
) -> None:
    words = refused(register(client, {**AGENT, "scope": scope}), 400, "invalid_client_metadata")
    assert "may ask only for" in words
    body = register(client).json()  # registered with the default scopes
    agent = Client(body["client_id"], None, AGENT["redirect_uris"][0])
    sign_in(client)
    r = client.get(
        "/oauth2/authorize", params=auth_params(agent, Pkce(), scope), follow_redirects=False
    )
    assert r.status_code == 303  # sent back to the client, as OAuth says (RFC 6749 4.1.2.1)
    sent = query_of(r.headers["location"])
    assert (sent["error"], sent["state"], sent["iss"]) == ("invalid_scope", "st-42", ISSUER)


def test_an_operator_narrowing_the_scopes_applies_to_agents_already_registered(
    client: TestClient, world, make_client, settings: Settings
) -> None:
    body = register(client).json()
    narrow, _ = make_client(self_registered_scopes=frozenset({"openid", "profile"}))
    agent = Client(body["client_id"], None, AGENT["redirect_uris"][0])
    sign_in(narrow)
    params = auth_params(agent, Pkce(), "openid profile offline_access")
    r = narrow.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert query_of(r.headers["location"])["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("http://agent.example/callback", id="plain http off loopback"),
        pytest.param("http://192.168.1.20:8080/callback", id="plain http on a private address"),
        pytest.param("javascript:alert(document.domain)", id="javascript"),
        pytest.param("data:text/html,<script>alert(1)</script>", id="data"),
        pytest.param("com.example.agent:/callback", id="a private-use scheme"),
        pytest.param("https://agent.example/cb#x", id="with a fragment"),
        pytest.param("https://user:pw@agent.example/cb", id="with credentials"),
        pytest.param("/callback", id="relative"),
    ],
)
def test_a_redirect_uri_that_is_not_loopback_or_https_is_refused(
    client: TestClient, uri: str
) -> None:
    r = register(client, {**AGENT, "redirect_uris": [uri]})
    refused(r, 400, "invalid_redirect_uri")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({**AGENT, "token_endpoint_auth_method": "client_secret_basic"}, "public",
                     id="a confidential client"),
        pytest.param({**AGENT, "grant_types": ["client_credentials"]}, "grant_types",
                     id="the client credentials grant"),
        pytest.param({**AGENT, "grant_types": ["implicit"], "response_types": ["token"]},
                     "grant_types", id="the implicit flow"),
        pytest.param({**AGENT, "logo_uri": "javascript:alert(1)"}, "logo_uri",
                     id="a javascript logo"),
        pytest.param({**AGENT, "client_uri": "data:text/html,hi"}, "client_uri",
                     id="a data homepage"),
        pytest.param({**AGENT, "client_name": "<b>x</b>" * 20}, "name", id="a name too long"),
        pytest.param(["redirect_uris"], "JSON object", id="an array"),
        pytest.param("just a string", "JSON object", id="a string"),
    ],
)  # fmt: skip
def test_metadata_we_refuse_is_invalid_client_metadata(
    client: TestClient, body: object, words: str
) -> None:
    assert words in refused(register(client, body), 400, "invalid_client_metadata")


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("https://evil%2Eexample/cb", id="a percent-encoded host"),
        pytest.param("https://evil.example\\.agent.example/cb", id="a backslash"),
        pytest.param("https://203.0.113.9/cb", id="an IPv4 literal"),
        pytest.param("https://[2001:db8::9]/cb", id="an IPv6 literal"),
        pytest.param("https://3405803785/cb", id="an IPv4 address in decimal"),
        pytest.param("https://0xcb007109/cb", id="an IPv4 address in hexadecimal"),
    ],
)
def test_a_redirect_host_a_block_could_not_name_is_refused(client: TestClient, uri: str) -> None:
    """A browser goes to evil.example for evil%2Eexample, and to an address no block names:
    an operator's block of evil.example must cover every host a code can be sent to."""
    r = register(client, {**AGENT, "redirect_uris": [uri]})
    assert "by a domain name" in refused(r, 400, "invalid_redirect_uri")


def test_no_redirect_uris_is_invalid_redirect_uri(client: TestClient) -> None:
    refused(register(client, {"client_name": "x"}), 400, "invalid_redirect_uri")


def test_malformed_and_oversized_bodies_are_refused(client: TestClient) -> None:
    bad = client.post(
        "/oauth2/register",
        content=b'{"redirect_uris": [',
        headers={"content-type": "application/json"},
    )
    assert "not valid JSON" in refused(bad, 400, "invalid_client_metadata")
    deep = client.post(
        "/oauth2/register", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    assert deep.status_code == 413
    form = client.post("/oauth2/register", data={"redirect_uris": "https://agent.example/cb"})
    assert "application/json" in refused(form, 400, "invalid_client_metadata")
    big = {**AGENT, "client_name": "A", "padding": "x" * 20_000}
    assert "16 KiB" in refused(register(client, big), 413, "invalid_client_metadata")
    nested = client.post(
        "/oauth2/register", content=b"[" * 5000 + b"]" * 5000,
        headers={"content-type": "application/json"},
    )  # fmt: skip
    refused(nested, 400, "invalid_client_metadata")


def test_a_registration_flood_from_one_address_is_limited(make_client) -> None:
    flooded, _ = make_client(registration_limit_per_ip="3/minute", trust_proxy=True)
    first = {"X-Forwarded-For": "198.51.100.7"}
    answers = [register(flooded, **first).status_code for _ in range(3)]
    # Refused registrations count too: a flood of garbage is as limited as good ones.
    bad = register(flooded, {"redirect_uris": ["javascript:x"]}, **first)
    assert answers == [201, 201, 201]
    words = refused(bad, 429, "rate_limited")
    assert words and int(bad.headers["retry-after"]) > 0
    assert register(flooded, **first).status_code == 429
    assert register(flooded, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 201


# -- RFC 7592: reading, replacing and deleting a registration ----------------------------------


def test_the_registration_is_read_replaced_and_deleted_with_its_token(
    client: TestClient, world
) -> None:
    body = register(client).json()
    uri, token = body["registration_client_uri"], body["registration_access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    read = client.get(uri, headers=auth)
    assert read.status_code == 200
    assert body == read.json()  # the token too (RFC 7592 section 3): the one presented
    changed = {
        "client_id": body["client_id"],
        "client_name": "Desk Agent 2",
        "redirect_uris": ["https://agent.example/callback"],
        "scope": "openid profile",
    }
    put = client.put(uri, json=changed, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["client_name"] == "Desk Agent 2"
    assert put.json()["redirect_uris"] == ["https://agent.example/callback"]
    assert "logo_uri" not in put.json()  # left out: replaced by nothing (RFC 7592 2.2)
    assert put.json()["scope"] == "openid offline_access profile"
    # The agent's grant ends with its registration.
    agent = Client(body["client_id"], None, "https://agent.example/callback")
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(agent, pkce, "openid profile offline_access"))
    tokens = exchange(client, agent, got["code"], pkce).json()
    gone = client.delete(uri, headers=auth)
    assert gone.status_code == 204 and gone.content == b""
    assert refresh(client, agent, tokens["refresh_token"]).status_code in (400, 401)
    refused(client.get(uri, headers=auth), 401, "invalid_token")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no token"),
        pytest.param({"Authorization": "Bearer lerat_" + "A" * 43}, id="a wrong token"),
        pytest.param({"Authorization": "Basic bGVyYXRfeDp5"}, id="another scheme"),
        pytest.param({"Authorization": "Bearer " + "x" * 5000}, id="a huge token"),
    ],
)
def test_a_wrong_or_missing_registration_token_is_refused(client: TestClient, headers) -> None:
    body = register(client).json()
    uri = body["registration_client_uri"]
    for r in (
        client.get(uri, headers=headers),
        client.put(uri, json={**AGENT, "client_id": body["client_id"]}, headers=headers),
        client.delete(uri, headers=headers),
    ):
        refused(r, 401, "invalid_token")
        assert r.headers["www-authenticate"].startswith(
            'Bearer realm="LeadExec", error="invalid_token"'
        )
    assert (
        client.get(
            uri, headers={"Authorization": f"Bearer {body['registration_access_token']}"}
        ).status_code
        == 200
    )


def test_one_agents_token_does_not_open_another_agents_registration(client: TestClient) -> None:
    mine, theirs = register(client).json(), register(client).json()
    auth = {"Authorization": f"Bearer {mine['registration_access_token']}"}
    refused(client.get(theirs["registration_client_uri"], headers=auth), 401, "invalid_token")
    refused(
        client.get(f"{ISSUER}/oauth2/register/app_{'z' * 22}", headers=auth), 401, "invalid_token"
    )


def test_a_replacement_naming_another_client_id_or_a_secret_is_refused(client: TestClient) -> None:
    body = register(client).json()
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
    uri = body["registration_client_uri"]
    other = client.put(uri, json={**AGENT, "client_id": "app_" + "q" * 22}, headers=auth)
    refused(other, 400, "invalid_client_metadata")
    secret = client.put(
        uri, json={**AGENT, "client_id": body["client_id"], "client_secret": "s"}, headers=auth
    )
    refused(secret, 400, "invalid_client_metadata")
    bad_uri = client.put(
        uri, json={**AGENT, "client_id": body["client_id"], "redirect_uris": ["http://x.example/"]},
        headers=auth,
    )  # fmt: skip
    refused(bad_uri, 400, "invalid_redirect_uri")


def test_the_registration_token_is_never_stored_or_logged(
    client: TestClient, world, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    body = register(client).json()
    token = body["registration_access_token"]
    client.get(body["registration_client_uri"] + f"?access_token={token}")
    with world.services.storage.engine.connect() as c:
        dumped = " ".join(str(row) for row in c.execute(text("SELECT * FROM applications")).all())
    assert token not in dumped
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("leadexec_signin")]
    assert any("/oauth2/register" in line for line in ours)  # the access log saw the calls
    assert not [line for line in ours if token in line]
