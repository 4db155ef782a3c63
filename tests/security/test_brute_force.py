"""Brute force: sign-in limited per account and per IP with a clear message and a window that
ends (OWASP ASVS V2.2.1, RFC 6819 section 4.4.1.12), and ``/api/token`` limited per
application and per IP with 429 and ``Retry-After`` (RFC 6585 section 4).

The limiter's clock is the test clock (``limiter_clock``): windows are shown to end by moving
time, never by sleeping."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from support.refusals import refused_seed
from support.signin import PASSWORD, authorize, csrf_of, sign_in

WRONG = "The email or password is not correct."
LOCKED = re.compile(r"Too many failed sign-in attempts\. Try again in about \d+ minutes?\.")
# However the window is counted (moving or sliding), a lock ends within two windows.
LOGIN_WINDOW, TOKEN_WINDOW = 15 * 60, 60


def attempt(c: TestClient, email: str, password: str, ip: str = "203.0.113.7") -> object:
    page = c.get("/account/login", headers={"X-Forwarded-For": ip})
    return c.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password},
        headers={"X-Forwarded-For": ip},
        follow_redirects=False,
    )


def alert(r: object) -> str:
    text = r.text  # type: ignore[attr-defined]
    start = text.index('role="alert">') + len('role="alert">')
    return text[start : text.index("</p>", start)]


@pytest.fixture
def strict(make_client, world, limiter_clock):
    c, services = make_client(
        login_limit_per_account="3/15 minutes",
        login_limit_per_ip="6/15 minutes",
        trust_proxy=True,
    )
    services.accounts.create_user(email="bob@example.com", name="Bob", password=PASSWORD)
    return c


def test_wrong_passwords_lock_the_account_with_a_clear_message(strict: TestClient) -> None:
    for _ in range(3):
        r = attempt(strict, "bob@example.com", "guess")
        assert r.status_code == 400 and alert(r) == WRONG
    blocked = attempt(strict, "bob@example.com", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert LOCKED.fullmatch(alert(blocked))
    assert 0 < int(blocked.headers["retry-after"]) <= 2 * LOGIN_WINDOW
    assert "le_session" not in strict.cookies


def test_the_account_limit_follows_the_account_across_ips(strict: TestClient) -> None:
    for i in range(3):
        assert attempt(strict, "bob@example.com", "guess", ip=f"198.51.100.{i}").status_code == 400
    blocked = attempt(strict, "bob@example.com", "guess", ip="198.51.100.99")
    assert blocked.status_code == 429 and LOCKED.fullmatch(alert(blocked))


def test_a_locked_account_opens_again_when_the_window_ends(
    strict: TestClient, limiter_clock
) -> None:
    for _ in range(3):
        attempt(strict, "bob@example.com", "guess")
    blocked = attempt(strict, "bob@example.com", PASSWORD)
    assert blocked.status_code == 429
    wait = int(blocked.headers["retry-after"])
    assert 0 < wait <= 2 * LOGIN_WINDOW
    limiter_clock.advance(seconds=wait)  # the Retry-After the server gave is the truth
    assert attempt(strict, "bob@example.com", PASSWORD).status_code == 303


def test_a_successful_sign_in_clears_the_account_count(strict: TestClient) -> None:
    for _ in range(2):
        attempt(strict, "bob@example.com", "guess")
    assert attempt(strict, "bob@example.com", PASSWORD).status_code == 303
    strict.cookies.clear()
    for _ in range(2):
        assert attempt(strict, "bob@example.com", "guess").status_code == 400
    assert attempt(strict, "bob@example.com", PASSWORD).status_code == 303


def test_an_unknown_email_is_refused_exactly_like_a_wrong_password(strict: TestClient) -> None:
    unknown = attempt(strict, "nobody@example.com", "guess")
    known = attempt(strict, "bob@example.com", "guess")
    assert unknown.status_code == known.status_code == 400
    assert alert(unknown) == alert(known) == WRONG


def test_one_ip_spraying_many_accounts_is_stopped(strict: TestClient) -> None:
    for i in range(6):
        assert attempt(strict, f"user{i}@example.com", "guess").status_code == 400
    blocked = attempt(strict, "bob@example.com", PASSWORD)
    assert blocked.status_code == 429 and LOCKED.fullmatch(alert(blocked))


def test_an_attackers_ip_block_does_not_lock_out_the_real_user(strict: TestClient) -> None:
    for i in range(6):
        attempt(strict, f"user{i}@example.com", "guess", ip="203.0.113.66")
    assert attempt(strict, "bob@example.com", PASSWORD, ip="203.0.113.66").status_code == 429
    strict.cookies.clear()
    assert attempt(strict, "bob@example.com", PASSWORD, ip="192.0.2.10").status_code == 303


# -- /api/token ----------------------------------------------------------------------------


@pytest.fixture
def token_client(make_client, world, limiter_clock):
    c, services = make_client(
        token_limit_per_app="3/minute", token_limit_per_ip="5/minute", trust_proxy=True
    )
    world.services = services
    sign_in(c)
    return c, authorize(c, world.btn_id)


def exchange(c: TestClient, app_id: str, refresh: str, ip: str) -> object:
    return c.get(
        "/api/token",
        params={"appId": app_id, "refreshToken": refresh},
        headers={"X-Forwarded-For": ip},
    )


def test_token_exchanges_are_limited_per_app_across_ips(token_client, world) -> None:
    c, tokens = token_client
    for i in range(3):
        assert (
            exchange(c, world.app_id, tokens["refreshToken"], f"198.51.100.{i}").status_code == 200
        )
    r = exchange(c, world.app_id, tokens["refreshToken"], "198.51.100.50")
    refused_seed(r, 429, "rate_limited")
    assert 0 < int(r.headers["retry-after"]) <= 2 * TOKEN_WINDOW
    assert r.headers["cache-control"] == "no-store"


def test_token_exchanges_are_limited_per_ip_across_apps(token_client, world) -> None:
    c, tokens = token_client
    other_app, _ = world.app(name="Other")
    for _ in range(3):
        assert exchange(c, world.app_id, tokens["refreshToken"], "203.0.113.9").status_code == 200
    for _ in range(2):  # another app's budget, same IP: garbage still counts
        r = exchange(c, other_app, "ler_" + "x" * 43, "203.0.113.9")
        refused_seed(r, 400, "invalid_grant")
    r = exchange(c, other_app, "ler_" + "x" * 43, "203.0.113.9")
    refused_seed(r, 429, "rate_limited")
    assert 0 < int(r.headers["retry-after"]) <= 2 * TOKEN_WINDOW


def test_the_token_limit_window_ends(token_client, world, limiter_clock) -> None:
    c, tokens = token_client
    for i in range(3):
        exchange(c, world.app_id, tokens["refreshToken"], f"198.51.100.{i}")
    r = exchange(c, world.app_id, tokens["refreshToken"], "192.0.2.1")
    refused_seed(r, 429, "rate_limited")
    limiter_clock.advance(seconds=int(r.headers["retry-after"]))
    assert exchange(c, world.app_id, tokens["refreshToken"], "192.0.2.1").status_code == 200
