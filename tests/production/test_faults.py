"""Faults a production deployment meets: the database or Redis goes away, then comes back.

The machine's PostgreSQL and Redis are never stopped: a TCP proxy between them and the server
is cut and restored instead (``tcpproxy.py``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from production.nodes import PARTNER, Node, NodeFactory, Seeded, node_env
from production.tcpproxy import TcpProxy
from support.signin import result_of

# Real server processes: the cluster tier (tests/support/tiers.py).
pytestmark = pytest.mark.cluster

_CODE = re.compile(r"Error code: <code>([a-z_]+)</code>")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(c: httpx.Client, email: str, password: str) -> None:
    page = c.get("/account/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    r = c.post(
        "/account/login",
        data={"csrf": csrf.group(1), "email": email, "password": password, "next": "/"},
    )
    assert r.status_code == 303, r.text


def wait_for(check: Callable[[], bool], what: str, node: Node, timeout: float = 20) -> None:
    """Polls a recovering system; the timeout only turns a hang into a readable failure."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen:\n{node.log()[-3000:]}"
        time.sleep(0.05)


def test_a_server_cut_off_postgresql_answers_503_in_every_surface_then_recovers(
    pg_url: str,
    make_seed: Callable[..., Seeded],
    start_node: NodeFactory,
    proxies: Callable[[str, int], TcpProxy],
    tmp_path: Path,
) -> None:
    seeded = make_seed(pg_url)
    seeded.services.accounts.create_user(email="cut@example.com", name="Cut", password="c" * 16)
    url = make_url(pg_url)
    proxy = proxies(url.host or "127.0.0.1", url.port or 5432)
    node = start_node(
        "db-cut", node_env(url.set(port=proxy.port).render_as_string(False), tmp_path)
    )
    pid = node.proc.pid  # type: ignore[union-attr]
    (refresh, access), (unseen_refresh, unseen_access) = seeded.grant(), seeded.grant()
    exchange = {"appId": seeded.app_id, "refreshToken": refresh}
    # A token exchanged in the last half second is answered from memory: ask with another.
    unseen_exchange = {"appId": seeded.app_id, "refreshToken": unseen_refresh}
    popup = {"btnId": seeded.btn_id, "origin": PARTNER, "state": "s1"}
    with node.client() as c:
        sign_in(c, "cut@example.com", "c" * 16)
        assert c.get("/readyz").json() == {"status": "ok", "database": "ok"}
        assert c.post("/api/token", data=exchange).status_code == 200

        proxy.cut()

        r = c.get("/readyz")
        assert (r.status_code, r.json()) == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )
        r = c.post("/api/token", data=unseen_exchange)
        assert r.status_code == 503
        assert r.json() == {
            "valid": False,
            "refreshToken": unseen_refresh,  # the caller's own, echoed on every refusal
            "authToken": None,
            "expireDate": None,
            "errorMessage": r.json()["errorMessage"],
            "error": "temporarily_unavailable",
        }
        r = c.get("/api/revoke", params={"token": refresh})
        assert (r.status_code, r.json()["valid"], r.json()["error"]) == (
            503,
            False,
            "temporarily_unavailable",
        )
        r = c.get("/api/v1/me", headers=bearer(unseen_access))
        assert (r.status_code, r.json()["error"]) == (503, "temporarily_unavailable")
        r = c.get("/account/apps")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("text/html")
        found = _CODE.search(r.text)
        assert found and found.group(1) == "temporarily_unavailable", r.text
        # The silent check, like the popup, posts the failure to the page (its callback hears
        # server_error naming the cause), under the failure's own status.
        r = c.get("/signin/immediate", params=popup)
        assert r.status_code == 503, r.text
        result = result_of(r.text)["result"]
        assert (result["error"], result["immediate"]) == ("server_error", True)
        assert result["errorMessage"].endswith("(temporarily_unavailable)")
        r = c.get(f"/signin/buttons/{seeded.btn_id}")
        assert (r.status_code, r.json()["error"]) == (503, "temporarily_unavailable")
        # The popup reports the failure to the partner page that opened it, without tokens,
        # as the documented server_error naming the real cause.
        r = c.get("/signin/authorize", params=popup)
        assert r.status_code == 503
        result = result_of(r.text)["result"]
        assert (result["valid"], result["error"], result["refreshToken"]) == (
            False,
            "server_error",
            None,
        )
        assert result["errorMessage"].endswith("(temporarily_unavailable)")

        proxy.restore()

        wait_for(lambda: c.get("/readyz").status_code == 200, "readiness after restore", node)
        assert c.post("/api/token", data=exchange).status_code == 200
        assert c.get("/api/v1/me", headers=bearer(unseen_access)).status_code == 200
        assert c.get("/account/apps").status_code == 200  # the session outlived the outage
        assert c.get("/api/revoke", params={"token": refresh}).json()["valid"] is True
        assert c.get("/api/v1/me", headers=bearer(access)).status_code == 401
    assert node.proc.poll() is None and node.proc.pid == pid  # type: ignore[union-attr]


def test_without_redis_the_service_keeps_working_on_the_database_and_logs_it(
    pg_url: str,
    redis_url: str,
    make_seed: Callable[..., Seeded],
    start_node: NodeFactory,
    proxies: Callable[[str, int], TcpProxy],
    tmp_path: Path,
) -> None:
    real = make_url(redis_url)
    proxy = proxies(real.host or "127.0.0.1", real.port or 6379)
    cut_redis = f"redis://127.0.0.1:{proxy.port}/{real.database or 0}"
    env = node_env(pg_url, tmp_path, cut_redis, LEADEXEC_TOKEN_LIMIT_PER_APP="4/minute")
    node = start_node("redis-cut", env)
    # The seeding process (another "node") reaches the real Redis and publishes there.
    seeded = make_seed(pg_url, redis_url)
    refresh, access = seeded.grant()
    form = {"appId": seeded.app_id, "refreshToken": refresh}
    with node.client() as c:
        assert c.get("/api/v1/me", headers=bearer(access)).status_code == 200
        wait_for(lambda: "subscribed to invalidation events" in node.log(), "subscribe", node)

        proxy.cut()

        # Tokens, the API, rate limits (now per process) and revocation all still work.
        answers = [c.post("/api/token", data=form) for _ in range(5)]
        assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
        fresh = answers[0].json()["authToken"]
        assert c.get("/api/v1/me", headers=bearer(fresh)).status_code == 200
        assert c.get("/readyz").status_code == 200  # Redis is optional: still ready
        r = c.get("/api/revoke", params={"token": refresh})
        assert (r.status_code, r.json()["valid"]) == (200, True)
        assert c.get("/api/v1/me", headers=bearer(fresh)).status_code == 401
        log = node.log()
        assert "rate-limit storage unreachable" in log
        assert "redis unreachable for invalidation events" in log

        # A Redis that hangs instead of refusing: answers still come, a moment later at most.
        proxy.restore()
        proxy.hang()
        with node.client() as slow:
            slow.timeout = httpx.Timeout(5)
            other = seeded.another_app()  # the first one used up its 4 exchanges a minute
            refresh3, access3 = other.grant()
            form3 = {"appId": other.app_id, "refreshToken": refresh3}
            assert [slow.post("/api/token", data=form3).status_code for _ in range(3)] == [200] * 3
            assert slow.get("/api/v1/me", headers=bearer(access3)).status_code == 200
            assert slow.get("/api/revoke", params={"token": refresh3}).json()["valid"] is True
            assert slow.get("/api/v1/me", headers=bearer(access3)).status_code == 401

        proxy.restore()

        # Back on Redis: a revocation made elsewhere reaches this node's cache by event.
        before = node.log().count("subscribed to invalidation events")
        wait_for(
            lambda: node.log().count("subscribed to invalidation events") > before,
            "re-subscription",
            node,
        )
        refresh2, access2 = seeded.grant()
        assert c.get("/api/v1/me", headers=bearer(access2)).status_code == 200
        seeded.services.revocation.revoke_token(refresh2, "127.0.0.1")
        started = time.perf_counter()
        while c.get("/api/v1/me", headers=bearer(access2)).status_code != 401:
            assert time.perf_counter() - started < 1.0
