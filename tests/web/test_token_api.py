"""``/api/token`` and ``/api/v1/*``: the good path, and every kind of bad input."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.core import audit
from leadexec_signin.core.audit import AuditFilter
from leadexec_signin.core.errors import TemporarilyUnavailable
from leadexec_signin.web.app import create_app
from seed_token import echoes_refresh_token
from support.placement import record_threads
from support.signin import ISSUER, authorize, sign_in

SEED_KEYS = {"valid", "refreshToken", "authToken", "expireDate", "errorMessage", "error"}


@pytest.fixture
def tokens(client: TestClient, world) -> dict[str, object]:
    sign_in(client)
    return authorize(client, world.btn_id)


def refused(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert SEED_KEYS <= set(body)
    assert body["valid"] is False and body["error"] == code and body["errorMessage"]
    assert body["authToken"] is None and echoes_refresh_token(r), body
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("how", ["get", "form", "json"], ids=["query", "form body", "json body"])
def test_token_exchange_works_with_every_encoding(client, world, tokens, how) -> None:
    params = {"appId": world.app_id, "refreshToken": tokens["refreshToken"]}
    if how == "get":
        r = client.get("/api/token", params=params)
    elif how == "form":
        r = client.post("/api/token", data=params)
    else:
        r = client.post("/api/token", json=params)
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is True and body["error"] is None and body["errorMessage"] is None
    assert body["refreshToken"] == tokens["refreshToken"]
    assert body["authToken"].startswith("lea_") and body["authToken"] != tokens["authToken"]
    assert body["expireDate"].endswith("Z")


def test_access_token_lives_one_hour(client, world, tokens, clock) -> None:
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": tokens["refreshToken"]}
    )
    auth = {"Authorization": f"Bearer {r.json()['authToken']}"}
    clock.advance(minutes=59)
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    clock.advance(minutes=1)
    expired = client.get("/api/v1/me", headers=auth)
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_token")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"appId": ""}, 400, "invalid_request"),
        ({"refreshToken": "ler_x"}, 400, "invalid_request"),
        ({"appId": "app_" + "a" * 22}, 400, "invalid_request"),
        ({"appId": "not-an-app", "refreshToken": "ler_" + "a" * 43}, 401, "invalid_client"),
        ({"appId": "app_" + "a" * 22, "refreshToken": "ler_" + "a" * 43}, 401, "invalid_client"),
        ({"appId": "app_" + "a" * 600, "refreshToken": "ler_x"}, 400, "invalid_request"),
    ],
    ids=[
        "nothing at all",
        "an empty appId",
        "no appId",
        "no refreshToken",
        "a malformed appId",
        "an unknown appId",
        "an oversized appId",
    ],
)
def test_token_refuses_bad_parameters(client, world, params, status, code) -> None:
    refused(client.get("/api/token", params=params), status, code)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "ler_",
        "ler_" + "A" * 43,
        "lea_" + "A" * 43,
        "ler_\u00e9\u00e9\u00e9" * 10,
        "x" * 500,
    ],
    ids=["garbage", "prefix only", "made up", "an access token", "non-ascii", "oversized"],
)
def test_token_refuses_bad_refresh_tokens(client, world, tokens, token) -> None:
    refused(
        client.post("/api/token", data={"appId": world.app_id, "refreshToken": token}),
        400,
        "invalid_grant",
    )


def test_token_refuses_a_truncated_refresh_token(client, world, tokens) -> None:
    r = client.post(
        "/api/token", data={"appId": world.app_id, "refreshToken": tokens["refreshToken"][:-1]}
    )
    refused(r, 400, "invalid_grant")


def test_token_refuses_another_apps_refresh_token(client, world, tokens) -> None:
    other_app, _ = world.app(name="Other")
    r = client.post("/api/token", data={"appId": other_app, "refreshToken": tokens["refreshToken"]})
    refused(r, 400, "invalid_grant")


def test_token_requires_the_secret_of_an_app_that_has_one(client, world) -> None:
    app_id, secret = world.app(with_secret=True, name="Secretive")
    sign_in(client)
    result = authorize(client, world.button("profile", app_id))
    base = {"appId": app_id, "refreshToken": result["refreshToken"]}
    refused(client.post("/api/token", data=base), 401, "invalid_client")
    refused(
        client.post("/api/token", data={**base, "appSecret": "lesk_wrong"}), 401, "invalid_client"
    )
    assert client.post("/api/token", data={**base, "appSecret": secret}).status_code == 200


def test_a_refusal_of_a_token_answered_from_memory_is_still_recorded(
    client, world, monkeypatch
) -> None:
    """Once a refresh token's read is cached, its exchange runs without the database (on
    PostgreSQL too): a refusal then must still reach the audit trail, with its request."""
    in_memory: list[bool] = []
    endpoint_type = type(world.services.tokens)
    real = endpoint_type.handle

    def spy(self, admitted, ahead=None, *rest):  # type: ignore[no-untyped-def]
        in_memory.append(ahead is not None)
        return real(self, admitted, ahead, *rest)

    monkeypatch.setattr(endpoint_type, "handle", spy)
    app_id, secret = world.app(with_secret=True, name="Remembered")
    sign_in(client)
    result = authorize(client, world.button("profile", app_id))
    base = {"appId": app_id, "refreshToken": result["refreshToken"], "appSecret": secret}
    for _ in range(2):
        assert client.get("/api/token", params=base).status_code == 200
    wrong = client.get("/api/token", params={**base, "appSecret": "lesk_wrong"})
    refused(wrong, 401, "invalid_client")
    with world.services.storage.transaction() as tx:
        found = tx.audit_events(AuditFilter(kind=audit.TOKEN_REFUSED, app_id=app_id), limit=5)
    assert [(e.detail["reason"], e.request_id) for e in found] == [
        ("invalid_client", wrong.headers["x-request-id"])
    ]
    assert client.get("/api/token", params=base).status_code == 200
    # SQLite reads in place anyway; PostgreSQL ran all four on what it read ahead.
    assert in_memory == [not world.services.placement.embedded] * 4


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What the token endpoint handed to a thread, in order."""
    return record_threads(monkeypatch)


def test_a_refresh_exchange_waits_on_no_thread(client, world, threads) -> None:
    """A token this process has not read yet: SQLite reads it in place, PostgreSQL through
    its async driver into the token cache; neither hands the exchange to a thread."""
    sign_in(client)
    result = authorize(client, world.button("profile"))
    params = {"appId": world.app_id, "refreshToken": result["refreshToken"]}
    first = client.get("/api/token", params=params)
    assert first.status_code == 200 and first.json()["valid"] is True, first.text
    assert threads == []
    # A token nobody has: refused, its refusal recorded (from a thread on PostgreSQL).
    unknown = client.get("/api/token", params={**params, "refreshToken": "ler_" + "q" * 43})
    refused(unknown, 400, "invalid_grant")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"appId": 5, "refreshToken": "x"}'),
        ("text/plain", b"appId=x"),
        ("application/x-www-form-urlencoded", b"appId=a&appId=b&refreshToken=x"),
    ],
    ids=[
        "broken json",
        "a json array",
        "a number for appId",
        "an unknown type",
        "a repeated appId",
    ],
)
def test_token_refuses_malformed_bodies(client, world, content_type, body) -> None:
    r = client.post("/api/token", content=body, headers={"content-type": content_type})
    refused(r, 400, "invalid_request")


def test_token_refuses_an_oversized_body(client, world) -> None:
    r = client.post("/api/token", json={"appId": "x" * 70_000})
    assert r.status_code == 413 and r.json()["error"] == "invalid_request"


def test_token_refuses_an_oversized_query(client, world) -> None:
    r = client.get("/api/token?appId=" + "a" * 9000)
    assert r.status_code == 414 and r.json()["valid"] is False


def test_token_refuses_code_and_refresh_token_together(client, world, tokens) -> None:
    r = client.post(
        "/api/token",
        data={"appId": world.app_id, "refreshToken": tokens["refreshToken"], "code": "lec_x"},
    )
    refused(r, 400, "invalid_request")


def test_token_rejects_other_methods(client) -> None:
    r = client.delete("/api/token")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


# -- /api/v1 -------------------------------------------------------------------------------


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_me_returns_only_what_the_scopes_allow(client, world) -> None:
    sign_in(client)
    wide = authorize(client, world.button("profile,email,account,settings"))
    me = client.get("/api/v1/me", headers=bearer(wide["authToken"])).json()
    assert me == {
        "id": world.user_id,
        "name": "Ann Example",
        "email": "ann@example.com",
        "company": "Example Leads",
        "plan": "Enterprise",
    }
    settings = client.get("/api/v1/settings", headers=bearer(wide["authToken"]))
    assert settings.status_code == 200
    assert settings.json() == {"timezone": "Europe/Paris", "locale": "en-GB"}


def test_settings_needs_the_settings_scope(client, world, tokens) -> None:
    r = client.get("/api/v1/settings", headers=bearer(tokens["authToken"]))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope", scope="settings"' in r.headers["www-authenticate"]


def test_me_without_a_releasing_scope_is_insufficient(client, world) -> None:
    sign_in(client)
    only_settings = authorize(client, world.button("settings"))
    r = client.get("/api/v1/me", headers=bearer(only_settings["authToken"]))
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer lea_" + "A" * 43,
        "Bearer lea_" + "A" * 400,
    ],
    ids=[
        "no header",
        "an empty header",
        "a bare scheme",
        "an empty token",
        "basic auth",
        "garbage",
        "a made-up token",
        "an oversized token",
    ],
)
def test_api_refuses_bad_bearer_tokens(client, header) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert r.headers["www-authenticate"].startswith("Bearer ")


def test_api_refuses_a_refresh_token_as_an_access_token(client, tokens) -> None:
    r = client.get("/api/v1/me", headers=bearer(tokens["refreshToken"]))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_token")


def test_api_ignores_tokens_in_the_query_string(client, tokens) -> None:
    r = client.get("/api/v1/me", params={"access_token": tokens["authToken"]})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_token")


def test_unknown_api_path_is_a_json_404(client) -> None:
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_an_access_token_issued_before_self_proving_tokens_works_until_it_expires(
    client, world, tokens, clock
) -> None:
    """After the upgrade, tokens of the first format (``lea_`` + 43 random characters, found
    by hash in ``access_tokens``) keep working for the rest of their hour, and no longer."""
    from datetime import timedelta

    from leadexec_signin.core import credentials
    from leadexec_signin.core.tokens import AccessToken

    grant = world.services.accounts.connected_apps(world.user_id)[0].grant
    old = credentials.new_token(credentials.ACCESS)
    assert len(old) == 47
    with world.services.storage.transaction() as tx:
        tx.add_access_token(
            AccessToken(
                token_hash=credentials.token_hash(old),
                grant_id=grant.id,
                app_id=grant.app_id,
                scopes=grant.scopes,
                expires_at=clock.now() + timedelta(minutes=30),
                created_at=clock.now() - timedelta(minutes=30),
            )
        )
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert me.status_code == 200 and me.json()["email"] == world.email
    clock.advance(minutes=31)
    late = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert (late.status_code, late.json()["error"]) == (401, "invalid_token")


# -- PostgreSQL: the exchange on the event loop ----------------------------------------------

on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@on_postgresql
def test_an_exchange_whose_read_is_not_in_hand_goes_to_a_thread(
    client, world, monkeypatch, threads
) -> None:
    """Nothing read ahead (the async read found another application's token, or nothing):
    the exchange must not read the database on the event loop, but go to a thread, and the
    address is counted once."""
    sign_in(client)
    result = authorize(client, world.button("profile"))
    services = world.services

    async def nothing(_admitted):  # type: ignore[no-untyped-def]
        return None

    monkeypatch.setattr(services.placement, "_read_ahead", nothing)
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": result["refreshToken"]}
    )
    assert r.status_code == 200, r.text
    assert threads == [services.tokens.handle]


@on_postgresql
def test_an_async_read_that_fails_is_done_again_in_a_thread(
    client, world, monkeypatch, threads
) -> None:
    """The event loop's own connections failing (a slow start, one broken) costs the exchange
    a thread hop through the synchronous pool, not a 503: the database itself is there."""
    sign_in(client)
    result = authorize(client, world.button("profile"))
    services = world.services

    async def unavailable(_token_hash):  # type: ignore[no-untyped-def]
        raise TemporarilyUnavailable(debug="TimeoutError")

    monkeypatch.setattr(services.async_reads, "refresh_grant", unavailable)
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": result["refreshToken"]}
    )
    assert r.status_code == 200, r.text
    assert threads == [services.tokens.handle]


@on_postgresql
def test_the_address_limit_counts_each_exchange_once_before_any_read(
    settings, clock, world, monkeypatch
) -> None:
    """One request, one count against the limit, however the exchange goes (read ahead, then
    in a thread); an address over its limit costs no database read."""
    services = build(settings.with_changes(token_limit_per_ip="2/minute"), clock)
    reads: list[str] = []
    real = services.async_reads.refresh_grant  # type: ignore[union-attr]

    async def counted(token_hash: str):  # type: ignore[no-untyped-def]
        reads.append(token_hash)
        return await real(token_hash)

    monkeypatch.setattr(services.async_reads, "refresh_grant", counted)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as c:
            codes = [
                c.get(
                    "/api/token", params={"appId": world.app_id, "refreshToken": f"ler_{i}" * 9}
                ).status_code
                for i in range(3)
            ]
    finally:
        services.close()
    assert codes == [400, 400, 429]
    assert len(reads) == 2


# -- the answer's fields on a refusal, and which refusal comes first -------------------------


def test_a_refusal_echoes_the_refresh_token_supplied(client, world, tokens) -> None:
    """``refreshToken`` is "the refresh token supplied during the call": a refusal carries
    the caller's own value back (null only when none was supplied), by GET, form and JSON."""
    app_id, secret = world.app(with_secret=True, name="Echo")
    sent = "ler_" + "z" * 43
    answers = [
        client.get("/api/token", params={"appId": app_id, "refreshToken": sent}),
        client.post("/api/token", data={"appId": app_id, "refreshToken": sent}),
        client.post(
            "/api/token", json={"appId": app_id, "refreshToken": sent, "appSecret": secret}
        ),
        client.get("/api/token", params={"appId": world.app_id, "refreshToken": "garbage"}),
    ]
    assert [(r.status_code, r.json()["refreshToken"]) for r in answers] == [
        (401, sent),
        (401, sent),
        (400, sent),
        (400, "garbage"),
    ]
    missing = client.get("/api/token", params={"appId": app_id})
    assert (missing.status_code, missing.json()["refreshToken"]) == (400, None)


def test_client_authentication_is_refused_before_a_malformed_token(client, world) -> None:
    """RFC 6749 section 5.2: a wrong appSecret is invalid_client, whatever the token."""
    app_id, secret = world.app(with_secret=True, name="Order")
    for token in ("garbage", "ler_" + "q" * 43):
        r = client.get("/api/token", params={"appId": app_id, "refreshToken": token,
                                             "appSecret": "lesk_wrong"})  # fmt: skip
        refused(r, 401, "invalid_client")
        r = client.get("/api/token", params={"appId": app_id, "refreshToken": token,
                                             "appSecret": secret})  # fmt: skip
        refused(r, 400, "invalid_grant")


# -- with Redis: the limits awaited on the event loop -------------------------------------------

REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def with_redis(settings, clock) -> Iterator[object]:
    """Servers on this machine's Redis (each test resets the keys it counts)."""
    made = []

    def make(**changes):  # type: ignore[no-untyped-def]
        services = build(settings.with_changes(redis_url=REDIS_URL, **changes), clock)
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


@pytest.mark.cluster
def test_with_redis_an_exchange_waits_on_no_thread(with_redis, world, threads) -> None:
    """The limits are in Redis: counted through its async client on the event loop, so the
    refresh exchange still needs no thread (SQLite reads in place, PostgreSQL awaits)."""
    make = with_redis
    services = make()
    world.services = services
    with TestClient(create_app(services), base_url=ISSUER) as c:
        sign_in(c)
        result = authorize(c, world.button("profile"))
        threads.clear()
        params = {"appId": world.app_id, "refreshToken": result["refreshToken"]}
        for _ in range(3):
            r = c.get("/api/token", params=params)
            assert r.status_code == 200, r.text
        assert threads == []
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['authToken']}"})
        assert me.status_code == 200 and threads == []


@pytest.mark.cluster
def test_with_redis_two_servers_count_one_limit(with_redis, world) -> None:
    """The address's limit is shared through Redis by servers counting on their event loops:
    what one server counted, the other refuses."""
    make = with_redis
    ip = f"198.51.100.{secrets.randbelow(200) + 1}"
    limit = "3/minute"
    a = make(token_limit_per_ip=limit, trust_proxy=True)
    b = make(token_limit_per_ip=limit, trust_proxy=True)
    a.limiter.reset(limit, "token-ip", ip)
    world.services = a
    headers = {"X-Forwarded-For": ip}
    params = {"appId": world.app_id, "refreshToken": "ler_" + "q" * 43}
    with (
        TestClient(create_app(a), base_url=ISSUER) as ca,
        TestClient(create_app(b), base_url=ISSUER) as cb,
    ):
        codes = [ca.get("/api/token", params=params, headers=headers).status_code for _ in range(2)]
        codes += [
            cb.get("/api/token", params=params, headers=headers).status_code for _ in range(2)
        ]
    assert codes == [400, 400, 400, 429]
