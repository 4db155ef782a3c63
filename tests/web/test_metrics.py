"""``/metrics``: the numbers move with real traffic over HTTP, labels are route templates and
error codes (never what a client sent), and nothing is shown without the token."""

from __future__ import annotations

import os
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.signin import PARTNER, PASSWORD, authorize, csrf_of, sign_in

TOKEN = "metrics-token-for-the-tests"
REDIS_URL = os.environ.get("LEADEXEC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # One revocation per minute and address, so the second is a rate-limit refusal.
    return settings.with_changes(metrics_token=TOKEN, revoke_limit_per_ip="1/minute")


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in after, f"no {name}{labels} in the scrape"
    return after[key] - before.get(key, 0.0)


def test_the_numbers_move_with_real_traffic(client: TestClient, world) -> None:
    before = scrape(client)
    # A failed and a successful password sign-in, then consent in the popup.
    page = client.get("/account/login")
    failed = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": "not it"},
    )
    assert failed.status_code == 400
    sign_in(client)
    tokens = authorize(client, world.btn_id)
    refresh = str(tokens["refreshToken"])
    # An exchange, a refused one on each surface, two LeadExec API calls.
    ok = client.get("/api/token", params={"appId": world.app_id, "refreshToken": refresh})
    assert ok.json()["valid"] is True
    bad = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": "ler_" + "x" * 43}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    oauth = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": "app_nobody"},
    )
    assert oauth.status_code == 401 and oauth.json()["error"] == "invalid_client"
    for _ in range(2):
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['authToken']}"})
        assert me.status_code == 200
    # The partner revokes; a second revocation from the same address is rate-limited; an
    # operator removes another grant.
    assert client.get("/api/revoke", params={"token": refresh}).json()["valid"] is True
    assert client.get("/api/revoke", params={"token": refresh}).status_code == 429
    authorize(client, world.btn_id)
    world.services.revocation.by_operator(world.app_id, world.email, actor="cli")
    # An address that names nothing, with something unique in it; a route with a parameter.
    assert client.get("/nowhere/scanner-4f1c2a").status_code == 404
    assert client.get(f"/signin/buttons/{world.btn_id}").status_code == 200

    after = scrape(client)
    assert moved(before, after, "leadexec_signins_total", result="ok") == 1
    assert moved(before, after, "leadexec_signins_total", result="failed") == 1
    # Twice: after the partner's revocation the second popup asks again.
    assert moved(before, after, "leadexec_consents_total", result="granted") == 2
    for surface, grant_type, result in [
        ("api", "refresh_token", "ok"),
        ("api", "refresh_token", "invalid_grant"),
        ("oauth2", "authorization_code", "invalid_client"),
    ]:
        labels = {"surface": surface, "grant_type": grant_type, "result": result}
        assert moved(before, after, "leadexec_token_exchanges_total", **labels) == 1, labels
    assert moved(before, after, "leadexec_revocations_total", source="partner") == 1
    assert moved(before, after, "leadexec_revocations_total", source="operator") == 1
    assert moved(before, after, "leadexec_rate_limited_total", limit="revoke-ip") == 1
    lookups = sum(
        moved(before, after, "leadexec_token_cache_lookups_total", result=r)
        for r in ("hit", "miss")
        if ("leadexec_token_cache_lookups_total", frozenset({("result", r)})) in after
    )
    assert lookups == 2
    # The two exchanges: one token read (then remembered), one unknown (never remembered).
    assert moved(before, after, "leadexec_refresh_cache_lookups_total", result="miss") == 2
    http = "leadexec_http_request_duration_seconds_count"
    assert moved(before, after, http, route="/api/token", method="GET", status="200") == 1
    assert moved(before, after, http, route="/api/token", method="GET", status="400") == 1
    assert moved(before, after, http, route="/oauth2/token", method="POST", status="401") == 1
    assert moved(before, after, http, route="/api/revoke", method="GET", status="429") == 1
    assert moved(before, after, http, route="unmatched", method="GET", status="404") >= 1
    buttons = {"route": "/signin/buttons/{btn_id}", "method": "GET", "status": "200"}
    assert moved(before, after, http, **buttons) == 1
    # Bounded labels: a raw path, a token or an appId never becomes a label.
    labels = " ".join(v for _name, items in after for _k, v in items)
    assert "scanner-4f1c2a" not in labels and "ler_" not in labels and world.app_id not in labels
    assert world.btn_id not in labels
    # What the database knows at scrape time.
    assert after[("leadexec_database_up", frozenset())] == 1
    assert ("leadexec_notices_pending", frozenset()) in after
    assert ("leadexec_notices_oldest_pending_age_seconds", frozenset()) in after
    assert ("leadexec_db_pool_connections", frozenset({("state", "in_use")})) in after


def test_metrics_are_refused_without_the_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert "Bearer" in client.get("/metrics").headers["www-authenticate"]
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
    assert wrong.status_code == 401 and "leadexec_" not in wrong.text
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    odd = client.get(
        "/metrics", headers={"Authorization": "Bearer \u00e9t\u00e9".encode("latin-1")}
    )
    assert odd.status_code == 401  # a header that is not ASCII is a refusal, not a 500
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_metrics_are_not_exposed_when_no_token_is_set(services, settings: Settings) -> None:
    services.settings = settings.with_changes(metrics_token="")
    with TestClient(create_app(services), base_url=settings.issuer) as c:
        r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404 and "leadexec_" not in r.text
        assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LEADEXEC_METRICS_TOKEN", "short"), ("LEADEXEC_LOG_FORMAT", "xml")],
    ids=["a short metrics token stops start-up", "an unknown log format stops start-up"],
)
def test_bad_operations_settings_stop_start_up(variable: str, value: str) -> None:
    with pytest.raises(SystemExit, match=variable):
        Settings.from_env({variable: value})


def test_the_password_is_never_a_label(client: TestClient, world) -> None:
    page = client.get("/account/login")
    client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": PASSWORD},
    )
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert PASSWORD not in r.text and world.email not in r.text


def test_the_outbox_backlog_is_read_at_scrape_time(client: TestClient, world, clock) -> None:
    """A revocation queues a notice (the sender is off in these tests): pending, and its age
    as the clock moves."""
    app, _ = world.services.registry.register(
        name="Notified", origins=[PARTNER], scopes="profile", notice_url="https://p.example/n"
    )
    world.services.operator.set_app_status(app.id, "approved")
    sign_in(client)
    tokens = authorize(client, world.button("profile", app.id))
    before = scrape(client)
    assert client.get("/api/revoke", params={"token": tokens["refreshToken"]}).status_code == 200
    clock.advance(seconds=90)
    after = scrape(client)
    assert moved(before, after, "leadexec_notices_pending") == 1
    assert after[("leadexec_notices_oldest_pending_age_seconds", frozenset())] == 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("where", "up"),
    [(REDIS_URL, 1), ("nowhere", 0)],
    ids=["a reachable Redis is up", "a Redis nobody listens on is down"],
)
def test_redis_availability_is_read_at_scrape_time(settings: Settings, where: str, up: int) -> None:
    url = where if where != "nowhere" else f"redis://127.0.0.1:{free_port()}/0"
    services = build(settings.with_changes(redis_url=url))
    try:
        with TestClient(create_app(services), base_url=settings.issuer) as c:
            assert scrape(c)[("leadexec_redis_up", frozenset())] == up
    finally:
        services.close()
