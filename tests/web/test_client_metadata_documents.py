"""Client ID Metadata Documents over HTTP: a client never registered names itself by the URL
of a document served for real on localhost (this provider runs on loopback, as a developer's
does), and goes through authorize, PAR and the token endpoint; every document that cannot be
used is shown to the person at authorize (never redirected to a redirect URI nobody verified)
and answered ``invalid_client`` at the token endpoint. The fetch's own limits (addresses,
size, time, redirects) are tests/storage/test_client_documents.py's; here each is seen through
the endpoints."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.core import credentials
from leadexec_signin.core.self_registered import metadata_document_app_id
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.documents import Answer, DocumentServer, json_answer, slow_drip, ten_megabytes
from support.signin import ISSUER, sign_in
from web.oauth_flow import Client, Pkce, auth_params, authorize, exchange, query_of

CALLBACK = "http://127.0.0.1:7777/callback"
MCP = ISSUER + "/mcp"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(client_registration="metadata-documents")


@pytest.fixture(scope="module")
def documents() -> Iterator[DocumentServer]:
    served = DocumentServer()  # plain http on localhost: allowed, the provider is on loopback
    yield served
    served.stop()


def publish(documents: DocumentServer, path: str, **fields: object) -> Client:
    """A document at ``path`` naming its own URL, and the client it describes."""
    url = documents.url(path)
    body = {
        "client_id": url,
        "client_name": "Doc Agent",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        **fields,
    }
    documents.answers[path] = json_answer(body, **{"Cache-Control": "max-age=600"})
    return Client(url, None, CALLBACK)


def shown_not_redirected(r, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    assert reason in re.sub(r"\s+", " ", r.text.replace("&#39;", "'")), r.text[:3000]


def test_discovery_says_documents_are_accepted(client: TestClient) -> None:
    found = client.get("/.well-known/oauth-authorization-server").json()
    assert found["client_id_metadata_document_supported"] is True


def test_with_documents_off_a_url_is_an_unknown_client(
    settings: Settings, documents: DocumentServer
) -> None:
    off = build(settings.with_changes(client_registration="off"))
    try:
        with TestClient(create_app(off), base_url=ISSUER) as client:
            found = client.get("/.well-known/oauth-authorization-server").json()
            assert "client_id_metadata_document_supported" not in found
            c = publish(documents, "/off/agent.json")
            r = client.get(
                "/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False
            )
            shown_not_redirected(r, "unknown client_id")
    finally:
        off.close()
    assert "/off/agent.json" not in documents.requests  # not even fetched


def test_a_document_client_signs_in_gets_an_mcp_token_and_refreshes(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    c = publish(documents, "/ok/agent.json")
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, "profile email offline_access", resource=MCP))
    assert got["iss"] == ISSUER and "code" in got
    r = exchange(client, c, got["code"], pkce, resource=MCP)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    answer = r.json()  # type: ignore[attr-defined]
    assert set(answer["scope"].split()) == {"profile", "email", "offline_access"}
    app = world.services.storage.transaction
    with app() as tx:
        row = tx.app_by_id(metadata_document_app_id(c.id))
    assert row is not None and row.client_id == c.id and row.kind == "metadata_document"
    assert row.name == "Doc Agent" and row.redirect_uris == (CALLBACK,)
    refreshed = client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
              "client_id": c.id},
    )  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    # Its derived id is no client id of its own: the document is the client's only name.
    derived = Client(row.id, None, CALLBACK)
    r = client.get("/oauth2/authorize", params=auth_params(derived, Pkce()), follow_redirects=False)
    shown_not_redirected(r, "unknown client_id")
    refused = client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"],
              "client_id": row.id},
    )  # fmt: skip
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_a_pushed_request_of_a_document_client(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    c = publish(documents, "/par/agent.json")
    pkce = Pkce()
    params = auth_params(c, pkce, "profile", resource=MCP)
    pushed = client.post("/oauth2/par", data=params)
    assert pushed.status_code == 201, pushed.text
    sign_in(client)
    got = authorize(
        client,
        {"client_id": c.id, "request_uri": pushed.json()["request_uri"], "redirect_uri": CALLBACK},
    )
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(302, {"Location": "http://localhost:1/elsewhere.json"}), "redirects (HTTP 302)"),
        (Answer(200, {}, ten_megabytes), "larger than 5 KB"),
        (Answer(404, {}, b"gone"), "answered HTTP 404"),
        (Answer(200, {}, b"<html>not json</html>"), "not JSON"),
    ],
    ids=["redirects", "ten-megabytes", "not-found", "not-json"],
)
def test_a_document_that_cannot_be_fetched_is_shown_not_redirected(
    client: TestClient, world, documents: DocumentServer, answer: Answer, reason: str
) -> None:  # type: ignore[no-untyped-def]
    path = f"/bad/{abs(hash(reason))}.json"
    documents.answers[path] = answer
    c = Client(documents.url(path), None, CALLBACK)
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    shown_not_redirected(r, reason)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"client_id": "https://agent.example/client.json"}, "not the URL it was fetched from"),
        ({"redirect_uris": ["http://agent.example/cb"]}, "http is allowed for 127.0.0.1"),
        ({"redirect_uris": ["com.example.agent:/cb"]}, "use https, or http on 127.0.0.1"),
        ({"redirect_uris": []}, "redirect_uris is required"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "Only public clients"),
        ({"client_secret": "hunter2"}, "cannot carry a client_secret"),
    ],
    ids=["client-id-mismatch", "http-redirect-uri", "private-scheme", "no-redirect-uris",
         "confidential", "a-secret"],
)  # fmt: skip
def test_a_document_that_says_what_it_may_not_is_shown_not_redirected(
    client: TestClient, world, documents: DocumentServer, fields: dict[str, object], reason: str
) -> None:  # type: ignore[no-untyped-def]
    path = f"/says/{abs(hash(reason))}.json"
    c = publish(documents, path, **fields)
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    shown_not_redirected(r, reason)


@pytest.mark.parametrize(
    "url",
    ["https://10.0.0.7/agent.json", "https://169.254.169.254/latest/meta-data/agent",
     "https://[::ffff:192.168.0.1]/agent.json"],
    ids=["private", "cloud-metadata", "ipv4-mapped"],
)  # fmt: skip
def test_a_document_on_a_private_address_is_refused_everywhere(
    client: TestClient, world, url: str
) -> None:  # type: ignore[no-untyped-def]
    c = Client(url, None, CALLBACK)
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    shown_not_redirected(r, "resolves to an address this provider does not fetch from")
    pushed = client.post("/oauth2/par", data=auth_params(c, Pkce()))
    assert pushed.status_code == 401 and pushed.json()["error"] == "invalid_client"
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": "lec_x", "client_id": url,
              "redirect_uri": CALLBACK, "code_verifier": "v" * 43},
    )  # fmt: skip
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert "resolves to an address" in token.json()["error_description"]


def test_a_redirect_uri_the_document_does_not_list_is_shown_not_followed(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    c = publish(documents, "/other-cb/agent.json")
    sign_in(client)
    params = auth_params(c, Pkce(), redirect_uri="https://attacker.example/cb")
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    shown_not_redirected(r, "not registered for the application")


def test_a_scope_the_operator_did_not_allow_is_refused_at_the_redirect_uri(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    """The default allows agents profile and email (and openid, offline_access): asking for
    the user's settings is ``invalid_scope``, sent back since the redirect URI is verified."""
    c = publish(documents, "/greedy/agent.json")
    sign_in(client)
    r = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), "profile settings"),
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    got = query_of(r.headers["location"])
    assert r.headers["location"].startswith(CALLBACK)
    assert got["error"] == "invalid_scope" and "settings" in got["error_description"]


def test_a_document_that_went_bad_stops_the_client_at_the_token_endpoint(
    client: TestClient, world, documents: DocumentServer, clock
) -> None:  # type: ignore[no-untyped-def]
    c = publish(documents, "/later/agent.json")
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, "profile offline_access"))
    answer = exchange(client, c, got["code"], pkce).json()  # type: ignore[attr-defined]
    # The client's document now names another URL; once its 10 minutes are up it is read
    # again, and refused.
    publish(documents, "/later/agent.json", client_id="https://agent.example/other.json")
    clock.advance(minutes=11)
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
              "client_id": c.id},
    )  # fmt: skip
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert "not the URL it was fetched from" in r.json()["error_description"]


def test_an_unknown_document_client_is_an_invalid_client_at_the_token_endpoint(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    """Its document is fine, but it never went through authorize: nothing to exchange."""
    c = publish(documents, "/fresh/agent.json")
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": credentials.new_token(credentials.CODE),
              "client_id": c.id, "redirect_uri": CALLBACK, "code_verifier": "v" * 43},
    )  # fmt: skip
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_a_blocked_domain_is_refused_at_authorize(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    c = publish(documents, "/blocked/agent.json")
    world.services.self_registration.block_domain("localhost", actor="test")
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    shown_not_redirected(r, "an operator blocked it")


def test_fetching_new_documents_is_limited_per_address(
    settings: Settings, documents: DocumentServer
) -> None:
    """Anyone can name a new URL: each fetch counts as a registration does; a document kept
    costs nothing."""
    limited = build(settings.with_changes(registration_limit_per_ip="3/hour"))
    try:
        with TestClient(create_app(limited), base_url=ISSUER) as client:
            clients = [publish(documents, f"/limit/{n}.json") for n in range(4)]
            for c in clients[:3]:
                r = client.post("/oauth2/par", data=auth_params(c, Pkce()))
                assert r.status_code == 201, r.text
            again = client.post("/oauth2/par", data=auth_params(clients[0], Pkce()))
            assert again.status_code == 201  # kept: not fetched again
            r = client.post("/oauth2/par", data=auth_params(clients[3], Pkce()))
            assert r.status_code == 429 and r.json()["error"] == "rate_limited"
            assert "/limit/3.json" not in documents.requests
    finally:
        limited.close()


@pytest.mark.slow  # the slow document drips for 2 s, so that it is still being fetched
def test_a_second_fetch_from_a_host_being_fetched_is_refused_at_once(
    client: TestClient, documents: DocumentServer
) -> None:
    """A slow server holds one fetch (and its thread) for up to 2.5 s: a second URL on the
    same host meanwhile is refused at once, not queued and not fetched."""
    # Paths of this run's own: the document server is the module's, and each backend's run
    # of this test must wait for its own slow fetch, not find the other's in the log.
    run = uuid.uuid4().hex
    documents.answers[f"/busy/{run}/slow.json"] = Answer(200, {}, slow_drip(0.1, 20))
    slow = Client(documents.url(f"/busy/{run}/slow.json"), None, CALLBACK)
    other = publish(documents, f"/busy/{run}/other.json")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            client.get, "/oauth2/authorize", params=auth_params(slow, Pkce()),
            follow_redirects=False,
        )  # fmt: skip
        for _ in range(500):
            if f"/busy/{run}/slow.json" in documents.requests:
                break
            time.sleep(0.01)
        r = client.get("/oauth2/authorize", params=auth_params(other, Pkce()),
                       follow_redirects=False)  # fmt: skip
        shown_not_redirected(r, "Another document from the same host is being fetched")
        pushed = client.post("/oauth2/par", data=auth_params(other, Pkce()))
        assert not first.done()
        assert pushed.status_code == 401 and pushed.json()["error"] == "invalid_client"
        assert "being fetched" in pushed.json()["error_description"]
        shown_not_redirected(first.result(), "not JSON")
    assert f"/busy/{run}/other.json" not in documents.requests


def test_a_document_that_failed_is_not_fetched_again_for_a_minute(
    client: TestClient, documents: DocumentServer, clock
) -> None:  # type: ignore[no-untyped-def]
    documents.answers["/failed/agent.json"] = Answer(404, {}, b"gone")
    c = Client(documents.url("/failed/agent.json"), None, CALLBACK)
    before = documents.requests.count("/failed/agent.json")  # the server serves every backend
    for _ in range(3):
        r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
        shown_not_redirected(r, "answered HTTP 404")
    pushed = client.post("/oauth2/par", data=auth_params(c, Pkce()))
    assert pushed.status_code == 401 and "HTTP 404" in pushed.json()["error_description"]
    assert documents.requests.count("/failed/agent.json") == before + 1
    publish(documents, "/failed/agent.json")
    clock.advance(seconds=61)
    pushed = client.post("/oauth2/par", data=auth_params(c, Pkce()))
    assert pushed.status_code == 201, pushed.text
    assert documents.requests.count("/failed/agent.json") == before + 2


@pytest.mark.slow  # a fetch waits its whole 2.5 s
def test_a_host_that_did_not_answer_is_not_asked_again_for_a_minute(
    client: TestClient, documents: DocumentServer
) -> None:
    documents.answers["/mute/one.json"] = Answer(200, {}, slow_drip(0.5, 20))
    one = Client(documents.url("/mute/one.json"), None, CALLBACK)
    two = publish(documents, "/mute/two.json")
    pushed = client.post("/oauth2/par", data=auth_params(one, Pkce()))
    assert pushed.status_code == 401 and "did not arrive within" in pushed.text
    pushed = client.post("/oauth2/par", data=auth_params(two, Pkce()))
    assert pushed.status_code == 401 and "did not arrive within" in pushed.text
    assert "/mute/two.json" not in documents.requests


def test_document_fetches_are_counted_per_ipv6_64(
    settings: Settings, documents: DocumentServer
) -> None:
    """An IPv6 /64 is one customer's: counting each of its addresses apart is no limit."""
    limited = build(settings.with_changes(registration_limit_per_ip="1/hour", trust_proxy=True))
    try:
        with TestClient(create_app(limited), base_url=ISSUER) as client:
            c = [publish(documents, f"/v6/{n}.json") for n in range(3)]

            def push(doc: Client, ip: str) -> int:
                r = client.post("/oauth2/par", data=auth_params(doc, Pkce()),
                                headers={"X-Forwarded-For": ip})  # fmt: skip
                return r.status_code

            assert push(c[0], "2001:db8:1:2::1") == 201
            assert push(c[1], "2001:db8:1:2:ffff:ffff:ffff:fffe") == 429
            assert push(c[1], "2001:db8:1:3::1") == 201  # another /64
            assert push(c[2], "198.51.100.7") == 201
            assert push(c[2], "198.51.100.8") == 201  # kept: no fetch
    finally:
        limited.close()


def test_a_document_clients_id_token_is_for_its_url_and_signs_it_out(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    """OpenID Connect Core section 3.1.3.7: the client checks that aud is its own client_id,
    which is the document's URL; RP-initiated logout finds the client from that aud."""
    c = publish(documents, "/oidc/agent.json")
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, "openid profile"))
    r = exchange(client, c, got["code"], pkce)
    id_token = r.json()["id_token"]  # type: ignore[attr-defined]
    header = jwt.get_unverified_header(id_token)
    key = jwt.PyJWKSet.from_dict(client.get("/oauth2/jwks").json())[header["kid"]]
    claims = jwt.decode(id_token, key, algorithms=[header["alg"]], audience=c.id, issuer=ISSUER)
    assert claims["aud"] == c.id and claims["azp"] == c.id
    page = client.get("/oauth2/logout", params={"id_token_hint": id_token, "client_id": c.id})
    assert page.status_code == 200 and "Doc Agent" in page.text, page.text[:2000]
    hinted = client.get("/oauth2/logout", params={"id_token_hint": id_token})
    assert hinted.status_code == 200 and "Doc Agent" in hinted.text


@pytest.mark.parametrize(
    ("allowed", "refreshed"),
    [("openid offline_access profile", "offline_access profile"), ("openid profile email", None)],
    ids=["email-no-longer-allowed-is-dropped", "offline-access-no-longer-allowed-is-refused"],
)
def test_narrowing_the_allowed_scopes_reaches_tokens_already_granted(
    client: TestClient, world, settings: Settings, documents: DocumentServer, allowed: str,
    refreshed: str | None,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """LEADEXEC_SELF_REGISTERED_SCOPES narrowed after the consent: the code not yet exchanged
    and the refresh token already issued give only what is allowed now, and no refresh at all
    once offline_access is gone."""
    c = publish(documents, f"/narrowed/{abs(hash(allowed))}.json")
    sign_in(client)
    first, second = Pkce(), Pkce()
    got = authorize(client, auth_params(c, first, "profile email offline_access"))
    pending = authorize(client, auth_params(c, second, "profile email offline_access"))
    answer = exchange(client, c, got["code"], first).json()  # type: ignore[attr-defined]
    assert set(answer["scope"].split()) == {"profile", "email", "offline_access"}
    narrowed = build(settings.with_changes(self_registered_scopes=frozenset(allowed.split())))
    try:
        with TestClient(create_app(narrowed), base_url=ISSUER) as later:
            r = later.post(
                "/oauth2/token",
                data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
                      "client_id": c.id},
            )  # fmt: skip
            if refreshed is None:
                assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
                assert "no longer given refresh tokens" in r.json()["error_description"]
            else:
                assert r.status_code == 200, r.text
                assert set(r.json()["scope"].split()) == set(refreshed.split())
            code = exchange(later, c, pending["code"], second)
            assert code.status_code == 200, code.text  # type: ignore[attr-defined]
            given = code.json()  # type: ignore[attr-defined]
            assert set(given["scope"].split()) == set(allowed.split()) - {"openid"}
            assert ("refresh_token" in given) == ("offline_access" in allowed)
    finally:
        narrowed.close()


def test_a_block_covers_every_redirect_host_of_a_document(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    """The document is on an allowed host, but a code would go to a blocked domain: refused;
    and blocking a redirect host later suspends a client already registered."""
    registration = world.services.self_registration
    registration.block_domain("blocked.example", actor="test")
    c = publish(documents, "/elsewhere/agent.json",
                redirect_uris=[CALLBACK, "https://cb.blocked.example/cb"])  # fmt: skip
    sign_in(client)
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    shown_not_redirected(r, "does not accept clients from cb.blocked.example")
    later = publish(documents, "/elsewhere/later.json",
                    redirect_uris=[CALLBACK, "https://agent.later.example/cb"])  # fmt: skip
    pushed = client.post("/oauth2/par", data=auth_params(later, Pkce()))
    assert pushed.status_code == 201, pushed.text
    suspended = registration.block_domain("later.example", actor="test")
    assert suspended == [metadata_document_app_id(later.id)]
    r = client.get("/oauth2/authorize", params=auth_params(later, Pkce()), follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


def test_the_consent_names_where_the_answer_goes_when_not_the_documents_host(
    client: TestClient, world, documents: DocumentServer
) -> None:  # type: ignore[no-untyped-def]
    """The document's host is what the dialog says the client is from; a redirect URI on
    another host is where the code goes, so the person is told that too."""
    elsewhere = "https://agent.example/cb"
    c = publish(documents, "/consent/agent.json", redirect_uris=[CALLBACK, elsewhere])
    sign_in(client)
    there = client.get(
        "/oauth2/authorize", params=auth_params(c, Pkce(), redirect_uri=elsewhere),
        follow_redirects=False,
    )  # fmt: skip
    assert there.status_code == 200 and 'value="allow"' in there.text
    assert '<strong class="client-domain">localhost</strong>' in there.text
    assert 'Your answer is sent to <strong class="redirect-host">agent.example</strong>' in (
        there.text
    )
    here = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    assert here.status_code == 200 and 'value="allow"' in here.text
    assert "redirect-host" not in here.text


def test_refetching_a_known_clients_document_does_not_spend_the_callers_limit(
    settings: Settings, world, documents: DocumentServer, clock
) -> None:  # type: ignore[no-untyped-def]
    """Hosted agents share an address: a known client's document fetched again at the token
    endpoint counts against its URL, not against the caller's registrations."""
    limited = build(settings.with_changes(registration_limit_per_ip="2/hour"), clock)
    try:
        with TestClient(create_app(limited), base_url=ISSUER) as client:
            c = publish(documents, "/refetch/agent.json")
            before = documents.requests.count("/refetch/agent.json")  # every backend's
            sign_in(client)
            pkce = Pkce()
            got = authorize(client, auth_params(c, pkce, "profile offline_access"))
            first = exchange(client, c, got["code"], pkce)
            token = first.json()["refresh_token"]  # type: ignore[attr-defined]
            for _ in range(4):
                clock.advance(minutes=11)  # the document's 10 minutes are up: fetched again
                r = client.post(
                    "/oauth2/token",
                    data={"grant_type": "refresh_token", "refresh_token": token,
                          "client_id": c.id},
                )  # fmt: skip
                assert r.status_code == 200, r.text
                token = r.json()["refresh_token"]
            assert documents.requests.count("/refetch/agent.json") == before + 5
            # A URL no client has is still counted against the caller.
            for n in range(2):
                pushed = client.post("/oauth2/par", data=auth_params(
                    publish(documents, f"/refetch/new{n}.json"), Pkce()))  # fmt: skip
                assert pushed.status_code == (201 if n == 0 else 429), pushed.text
    finally:
        limited.close()
