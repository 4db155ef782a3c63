"""``kill -9`` of a server in the middle of a stream of sign-ins, token exchanges and
revocations: nothing acknowledged is lost, nothing is left half-written.

Each worker is a signed-in user who loops: consent (a new grant and its refresh token),
two exchanges (access tokens), one revocation. Every answer the server acknowledged goes in a
journal; a request that was in flight when the server died is marked so, and may have landed
or not, but all-or-nothing. After a restart on the same database the journal is replayed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from leadexec_signin.background import tls
from production.nodes import PARTNER, NodeFactory, Seeded, node_env
from support.signin import result_of

# Real server processes: the cluster tier (tests/support/tiers.py).
pytestmark = pytest.mark.cluster

WORKERS = 4
KILL_AFTER = 80  # acknowledged operations before the kill
PASSWORD = "k" * 16


@dataclass
class GrantLog:
    refresh: str
    access: list[str] = field(default_factory=list)
    revoke: str = ""  # "", "in-flight" or "acked"


@dataclass
class Journal:
    lock: threading.Lock = field(default_factory=threading.Lock)
    grants: list[GrantLog] = field(default_factory=list)
    acks: int = 0
    enough: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def ack(self) -> None:
        with self.lock:
            self.acks += 1
            if self.acks >= KILL_AFTER:
                self.enough.set()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(c: httpx.Client, email: str) -> None:
    page = c.get("/account/login")
    r = c.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": PASSWORD, "next": "/"},
    )
    assert r.status_code == 303, r.text


def consent(c: httpx.Client, btn_id: str) -> dict[str, object]:
    params = {"btnId": btn_id, "origin": PARTNER, "state": "k9"}
    page = c.get("/signin/authorize", params=params)
    assert page.status_code == 200, page.text
    if 'value="allow"' in page.text:
        scopes = re.search(r'name="scopes" value="([^"]*)"', page.text)
        page = c.post(
            "/signin/authorize",
            data={
                **params,
                "csrf": csrf_of(page.text),
                "scopes": scopes.group(1) if scopes else "",
                "decision": "allow",
            },
        )
    return result_of(page.text)["result"]  # type: ignore[return-value]


def worker(url: str, cookies: httpx.Cookies, seeded: Seeded, journal: Journal) -> None:
    with httpx.Client(base_url=url, timeout=10, cookies=cookies, verify=tls()) as c:
        try:
            while True:
                result = consent(c, seeded.btn_id)
                assert result["valid"] is True, result
                grant = GrantLog(str(result["refreshToken"]))
                with journal.lock:
                    journal.grants.append(grant)
                journal.ack()
                form = {"appId": seeded.app_id, "refreshToken": grant.refresh}
                for _ in range(2):
                    r = c.post("/api/token", data=form)
                    assert r.status_code == 200, r.text
                    grant.access.append(r.json()["authToken"])
                    journal.ack()
                grant.revoke = "in-flight"
                r = c.get("/api/revoke", params={"token": grant.refresh})
                assert r.status_code == 200 and r.json()["valid"] is True, r.text
                grant.revoke = "acked"
                journal.ack()
        except httpx.TransportError:
            return  # the server died under us: whatever was in flight stays marked so
        except AssertionError as exc:
            journal.errors.append(str(exc))


def test_kill_9_in_a_stream_of_exchanges_and_revocations_loses_no_acknowledged_grant(
    database_url: str,
    make_seed: Callable[..., Seeded],
    start_node: NodeFactory,
    tmp_path: Path,
) -> None:
    seeded = make_seed(database_url)
    emails = [f"k9-{i}@example.com" for i in range(WORKERS)]
    for email in emails:
        seeded.services.accounts.create_user(email=email, name="Kill Nine", password=PASSWORD)
    env = node_env(database_url, tmp_path / "data")
    node = start_node("k9-first", env)
    jars = []
    for email in emails:
        with httpx.Client(base_url=node.url, verify=tls()) as c:
            sign_in(c, email)
            jars.append(c.cookies)
    journal = Journal()
    threads = [
        threading.Thread(target=worker, args=(node.url, jar, seeded, journal)) for jar in jars
    ]
    for t in threads:
        t.start()
    assert journal.enough.wait(60), journal.errors
    node.kill9()
    for t in threads:
        t.join(30)
    assert journal.errors == []
    acked_grants = len(journal.grants)
    assert acked_grants >= WORKERS

    again = start_node("k9-restarted", env)
    with httpx.Client(base_url=again.url, timeout=10, verify=tls()) as c:
        for grant in journal.grants:
            r = c.post("/api/token", data={"appId": seeded.app_id, "refreshToken": grant.refresh})
            alive = r.status_code == 200
            if grant.revoke == "acked":
                assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), r.text
            elif grant.revoke == "":
                assert alive, r.text
            # An in-flight revocation either landed whole or not at all: the access tokens
            # agree with the refresh token.
            for access in grant.access:
                me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
                assert me.status_code == (200 if alive else 401), me.text
    for jar, email in zip(jars, emails, strict=True):
        with httpx.Client(base_url=again.url, cookies=jar, verify=tls()) as c:
            r = c.get("/account/apps")  # sessions are rows: they survive the kill
            assert r.status_code == 200 and email in r.text

    engine = create_engine(database_url)
    with engine.connect() as conn:

        def count(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        for table in ("refresh_tokens", "access_tokens", "auth_codes"):
            assert (
                count(
                    f"SELECT count(*) FROM {table} x JOIN grants g ON g.id = x.grant_id "
                    "WHERE g.revoked_at IS NOT NULL"
                )
                == 0
            ), f"{table} left under a revoked grant"
        # A consent writes the grant and its refresh token in one transaction.
        assert (
            count(
                "SELECT count(*) FROM grants g WHERE g.revoked_at IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM refresh_tokens r WHERE r.grant_id = g.id)"
            )
            == 0
        )
        assert count("SELECT count(*) FROM grants") >= acked_grants
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()
