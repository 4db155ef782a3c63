"""Limits that an attacker must not be able to turn against users or slip past."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.core.errors import InvalidCredentials, RateLimited
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, authorize, csrf_of, sign_in


@pytest.fixture
def make(settings, clock):
    made = []

    def build_client(**changes):
        custom = settings.with_changes(**changes)
        services = build(custom, clock)
        made.append(services)
        return TestClient(create_app(services), base_url=ISSUER), services

    yield build_client
    for services in made:
        services.close()


def test_failed_exchanges_from_strangers_do_not_use_up_a_partners_budget(make, world) -> None:
    client, _ = make(token_limit_per_app="5/minute", trust_proxy=True)
    sign_in(client)
    tokens = authorize(client, world.btn_id)
    for i in range(20):  # the appId is public: anyone can send garbage with it
        r = client.get(
            "/api/token",
            params={"appId": world.app_id, "refreshToken": "ler_" + "x" * 43},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    good = {"appId": world.app_id, "refreshToken": tokens["refreshToken"]}
    for _ in range(5):
        assert client.get("/api/token", params=good).status_code == 200
    over = client.get("/api/token", params=good)
    assert (over.status_code, over.json()["error"]) == (429, "rate_limited")
    assert int(over.headers["retry-after"]) > 0


def test_parallel_guesses_cannot_slip_past_the_account_limit(settings, clock) -> None:
    # A real argon2 cost, so many guesses are in flight while others are being verified.
    slow = settings.with_changes(
        argon2_time_cost=2, argon2_memory_kib=16384, login_limit_per_account="3/15 minutes"
    )
    services = build(slow, clock)
    services.accounts.create_user(email="race@example.com", name="Race", password=PASSWORD)

    def guess(i: int) -> str:
        try:
            services.accounts.sign_in("race@example.com", f"wrong {i}", f"203.0.113.{i}")
        except (InvalidCredentials, RateLimited) as exc:
            return exc.code
        return "signed in"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(12)))
    services.close()
    assert outcomes.count("invalid_credentials") == 3
    assert outcomes.count("rate_limited") == 9


def test_a_spoofed_forwarded_for_does_not_reset_the_ip_limit(make, world) -> None:
    client, _ = make(login_limit_per_ip="3/15 minutes", trust_proxy=True)
    statuses = []
    for i in range(6):
        page = client.get("/account/login")
        r = client.post(
            "/account/login",
            data={"csrf": csrf_of(page.text), "email": f"x{i}@example.com", "password": "nope"},
            # The client writes the left part; our proxy appends the real address.
            headers={"X-Forwarded-For": f"10.0.0.{i}, 203.0.113.9"},
        )
        statuses.append(r.status_code)
    assert statuses == [400, 400, 400, 429, 429, 429]


def test_notice_urls_must_be_https_off_loopback(world) -> None:
    from leadexec_signin.core.errors import InvalidRequest

    for url in ("http://10.0.0.5/hook", "http://169.254.169.254/latest", "https://u:p@x.example/"):
        with pytest.raises(InvalidRequest):
            world.app(name="Hooked", notice_url=url)
    app_id, _ = world.app(name="Hooked", notice_url="https://hooks.example.com/leadexec")
    assert app_id.startswith("app_")


def test_revocation_is_rate_limited_per_address(make, world) -> None:
    """Every revocation is a write that may queue a signed notice: bounded like the exchange."""
    client, _ = make(revoke_limit_per_ip="3/minute")
    statuses = []
    for _ in range(4):
        r = client.get("/api/revoke", params={"token": "ler_" + "x" * 43})
        statuses.append((r.status_code, r.json()["error"]))
    assert statuses == [(400, "invalid_grant")] * 3 + [(429, "rate_limited")]
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["valid"] is False  # the seed's shape, even when limited
