"""``leadexec-signin backup`` and ``restore`` of the embedded SQLite database: an online copy
while a real ``serve`` takes sign-ins and revocations, restored into a fresh folder, holds every
grant acknowledged before the backup began; a restore is checked and refused while the database
is in use."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from test_operations import ok, refused, run

from leadexec_signin.background import tls
from leadexec_signin.compose import build
from leadexec_signin.core.errors import InvalidGrant
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from production.conftest import start_node  # noqa: F401 (a fixture)
from production.nodes import PARTNER, NodeFactory, node_env, seed
from seed_token import exchange_refresh_token
from support.signin import result_of

# A server and commands as real processes: out of the fast tier.
pytestmark = pytest.mark.slow

PASSWORD = "b" * 16
NEWCOMERS = 25  # first sign-ins per thread


@dataclass
class Acked:
    refresh: str
    at: float  # monotonic time the consent was answered
    revoke_started: float | None = None
    revoke_acked: float | None = None


@dataclass
class Journal:
    lock: threading.Lock = field(default_factory=threading.Lock)
    grants: list[Acked] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def consent(c: httpx.Client, btn_id: str) -> dict[str, object]:
    params = {"btnId": btn_id, "origin": PARTNER, "state": "bk"}
    page = c.get("/signin/authorize", params=params)
    assert page.status_code == 200, page.text
    if 'value="allow"' in page.text:
        scopes = re.search(r'name="scopes" value="([^"]*)"', page.text)
        page = c.post(
            "/signin/authorize",
            data={**params, "csrf": csrf_of(page.text), "decision": "allow",
                  "scopes": scopes.group(1) if scopes else ""},
        )  # fmt: skip
    return result_of(page.text)["result"]  # type: ignore[return-value]


def sign_in(c: httpx.Client, email: str) -> None:
    page = c.get("/account/login")
    r = c.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": PASSWORD, "next": "/"},
    )
    assert r.status_code == 303, r.text


def newcomers(url: str, emails: list[str], btn_id: str, journal: Journal) -> None:
    """People signing in for the first time, one after the other: a new grant each."""
    try:
        for email in emails:
            if journal.stop.is_set():
                return
            with httpx.Client(base_url=url, timeout=20, verify=tls()) as c:
                sign_in(c, email)
                result = consent(c, btn_id)
                assert result["valid"] is True, result
                with journal.lock:
                    journal.grants.append(Acked(str(result["refreshToken"]), time.monotonic()))
    except (AssertionError, httpx.HTTPError) as exc:
        journal.errors.append(repr(exc))


def revoker(url: str, email: str, btn_id: str, journal: Journal) -> None:
    """One person connecting and disconnecting the application again and again."""
    with httpx.Client(base_url=url, timeout=20, verify=tls()) as c:
        try:
            sign_in(c, email)
            while not journal.stop.is_set():
                result = consent(c, btn_id)
                assert result["valid"] is True, result
                grant = Acked(str(result["refreshToken"]), time.monotonic())
                with journal.lock:
                    journal.grants.append(grant)
                grant.revoke_started = time.monotonic()
                r = c.get("/api/revoke", params={"token": grant.refresh})
                assert r.status_code == 200 and r.json()["valid"] is True, r.text
                grant.revoke_acked = time.monotonic()
        except (AssertionError, httpx.HTTPError) as exc:
            journal.errors.append(repr(exc))


def test_an_online_backup_under_load_restores_every_acknowledged_grant(
    tmp_path: Path,
    start_node: NodeFactory,  # noqa: F811
) -> None:
    live = tmp_path / "live"
    database = live / "leadexec-signin.sqlite3"
    url = f"sqlite:///{database}"
    live.mkdir()
    upgrade(url)
    seeded = seed(url, live)
    emails = [f"bk-{i}@example.com" for i in range(2 * NEWCOMERS + 1)]
    for email in emails:
        seeded.services.accounts.create_user(email=email, name="Backup", password=PASSWORD)
    app_id = seeded.app_id
    seeded.services.close()
    # The revoker loops as fast as the machine lets it: its address's revoke limit is not
    # what this test is about.
    node = start_node(
        "backup-live", node_env("", live, LEADEXEC_REVOKE_LIMIT_PER_IP="1000000/minute")
    )

    journal = Journal()
    half = NEWCOMERS + 1
    threads = [
        threading.Thread(target=newcomers, args=(node.url, emails[1:half], seeded.btn_id, journal)),
        threading.Thread(target=newcomers, args=(node.url, emails[half:], seeded.btn_id, journal)),
        threading.Thread(target=revoker, args=(node.url, emails[0], seeded.btn_id, journal)),
    ]
    for t in threads:
        t.start()

    def kept() -> int:
        return sum(1 for g in journal.grants if g.revoke_started is None)

    deadline = time.monotonic() + 90
    while kept() < 12 and time.monotonic() < deadline and not journal.errors:
        time.sleep(0.05)  # waiting for load to build up, not for a result
    began = time.monotonic()
    copy = tmp_path / "copy.sqlite3"
    done = run(live, "backup", str(copy), "--json", process=True)  # beside the server's
    ended = time.monotonic()
    assert done.returncode == 0, done.stderr
    report = ok_json(done.stdout)
    time.sleep(0.5)  # more writes after the copy, which it must not need
    # While the server runs, the live database cannot be replaced.
    refused(run(live, "restore", str(copy), process=True), "conflict", "open in a running process")
    journal.stop.set()
    for t in threads:
        t.join(30)
    assert journal.errors == []
    before = [g for g in journal.grants if g.at < began]
    assert len(journal.grants) > len(before)  # writes went on after the copy began
    assert (
        report["revision"]
        == sqlite3.connect(database)
        .execute("SELECT version_num FROM alembic_version")
        .fetchone()[0]
    )
    assert report["bytes"] == copy.stat().st_size > 0

    fresh = tmp_path / "fresh"
    restored = ok(fresh, "restore", str(copy))
    assert restored["path"] == str((fresh / "leadexec-signin.sqlite3").resolve())  # type: ignore[index]
    assert restored["replaced"] is None  # type: ignore[index]
    conn = sqlite3.connect(fresh / "leadexec-signin.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()

    settings = Settings.from_env({"LEADEXEC_DATA_DIR": str(fresh)})
    services = build(settings)
    try:
        checked = 0
        for grant in before:
            if grant.revoke_acked is not None and grant.revoke_acked < began:
                with pytest.raises(InvalidGrant):  # revoked before the copy: stays revoked
                    exchange_refresh_token(services, app_id, grant.refresh, None, "::1")
            elif grant.revoke_started is None or grant.revoke_started > ended:
                issued = exchange_refresh_token(services, app_id, grant.refresh, None, "::1")
                assert issued.access_token.startswith("lea_")
                checked += 1
        assert checked >= 12
    finally:
        services.close()


def ok_json(stdout: str) -> dict[str, object]:
    import json

    data = json.loads(stdout)
    assert isinstance(data, dict)
    return data


def test_restore_checks_the_file_and_keeps_the_database_it_replaces(tmp_path: Path) -> None:
    ok(tmp_path / "a", "migrate")
    copy = tmp_path / "a.bak"
    made = ok(tmp_path / "a", "backup", str(copy))
    assert made["path"] == str(copy.resolve())  # type: ignore[index]
    refused(run(tmp_path / "a", "backup", str(copy)), "conflict", "already exists")
    assert ok(tmp_path / "a", "backup", str(copy), "--force")["bytes"] > 0  # type: ignore[index]
    refused(
        run(tmp_path / "a", "backup", str(tmp_path / "no" / "x")), "invalid_request", "No folder"
    )
    refused(run(tmp_path / "none", "backup", str(tmp_path / "b")), "not_found", "No database")

    # Installed over an existing database, which is kept beside it.
    ok(tmp_path / "b", "migrate")
    again = ok(tmp_path / "b", "restore", str(copy))
    kept = Path(str(again["replaced"]))  # type: ignore[index]
    assert kept.exists() and kept.name.startswith("leadexec-signin.sqlite3.before-restore-")
    assert not (tmp_path / "b" / "leadexec-signin.sqlite3-wal").exists()

    text = tmp_path / "not-a-db"
    text.write_text("hello")
    refused(run(tmp_path / "b", "restore", str(text)), "invalid_request", "not an SQLite database")
    refused(
        run(tmp_path / "b", "restore", str(tmp_path / "missing")), "invalid_request", "Cannot read"
    )
    broken = tmp_path / "broken.sqlite3"
    data = bytearray(copy.read_bytes())
    data[4096 * 2 : 4096 * 2 + 512] = b"\xff" * 512  # a page of the copy overwritten
    broken.write_bytes(bytes(data))
    refused(run(tmp_path / "b", "restore", str(broken)), "invalid_request", "")
    foreign = tmp_path / "foreign.sqlite3"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    refused(run(tmp_path / "b", "restore", str(foreign)), "invalid_request", "not a LeadExec")
    old = tmp_path / "old.sqlite3"
    upgrade(f"sqlite:///{old}")
    con = sqlite3.connect(old)
    con.execute("UPDATE alembic_version SET version_num = '0005'")
    con.commit()
    con.close()
    refused(run(tmp_path / "b", "restore", str(old)), "invalid_request", "revision 0005")
