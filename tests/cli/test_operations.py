"""The operators' commands: ``audit export``, ``keys list|rotate|retire``, their help, and
their one-line refusals (exit status 2, never a traceback); run by ``main()`` in this process
(``support.command_line``), and the refusals of an unreachable database by a real process."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from leadexec_signin.cli import parser
from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.command_line import run_in_process

# Some commands as a real process (~1 s of CPU each): out of the fast tier.
pytestmark = pytest.mark.slow

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:9/nothing"


def run(
    data_dir: Path, *args: str, stdin: str = "", process: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command in this process, or with ``process`` as ``python -m leadexec_signin.cli``."""
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADEXEC_")},
        **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
        "LEADEXEC_DATA_DIR": str(data_dir),
        "LEADEXEC_LOG_LEVEL": "WARNING",
        "LEADEXEC_DB_CONNECT_TIMEOUT": "2",
        **env,
    }
    if not process:
        return run_in_process(args, full, stdin)
    return subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        check=False,
    )


def ok(data_dir: Path, *args: str, stdin: str = "") -> object:
    done = run(data_dir, *args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(done: subprocess.CompletedProcess[str], code: str, words: str) -> None:
    """The one-line refusal: exit 2, ``error: TEXT (CODE)``, and no traceback anywhere."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert lines[0].endswith(f"({code})") and words in lines[0], lines[0]
    assert "Traceback" not in done.stdout + done.stderr


# -- audit export ----------------------------------------------------------------------------


@pytest.fixture
def audited(tmp_path: Path) -> tuple[Path, str]:
    """A database with a user, an application with a secret, approved from the command line."""
    ok(tmp_path, "users", "create", "--email", "ops@example.com", "--name", "Ops",
       stdin="a long enough password\n")  # fmt: skip
    app = ok(tmp_path, "apps", "create", "--name", "Audited", "--origin", "https://a.example",
             "--scopes", "profile", "--with-secret")  # fmt: skip
    assert isinstance(app, dict)
    ok(tmp_path, "apps", "approve", str(app["appId"]))
    return tmp_path, str(app["appId"])


def test_audit_export_writes_every_matching_event_as_json_or_csv(
    audited: tuple[Path, str],
) -> None:
    data_dir, app_id = audited
    events = ok(data_dir, "audit", "export", "--since", "2000-01-01")
    assert isinstance(events, list)
    kinds = [e["event"] for e in events]
    assert kinds == ["app.status", "app.secret_created", "app.created", "user.created"]
    status = events[0]
    assert (status["actor"], status["subject"], status["appId"]) == ("cli", app_id, app_id)
    assert status["detail"] == {"status": "approved", "was": "pending"}

    done = run(data_dir, "audit", "export", "--since", "2000-01-01", "--app", app_id)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["event"] for r in rows] == ["app.status", "app.secret_created", "app.created"]
    assert "(database:" not in done.stdout  # nothing follows the export on standard output
    as_csv = run(data_dir, "audit", "export", "--since", "2000-01-01", "--format", "csv")
    assert len(as_csv.stdout.splitlines()) == 5  # a header and four events

    only = ok(data_dir, "audit", "export", "--since", "2000-01-01", "--kind", "user.created",
              "--user", "OPS@example.com")  # fmt: skip
    assert [e["event"] for e in only] == ["user.created"]  # type: ignore[union-attr]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert ok(data_dir, "audit", "export", "--since", tomorrow) == []
    assert ok(data_dir, "audit", "export", "--since", "2000-01-01", "--until", "2000-01-02") == []
    empty = run(data_dir, "audit", "export", "--since", tomorrow)
    header = "id,at,event,actor,subject,userId,appId,ip,userAgent,requestId,detail"
    assert empty.stdout.splitlines() == [header]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--since", "yesterday"], "invalid_request", "since must be a date"),
        (["--since", "2026-01-02", "--until", "2026-01-01"], "invalid_request", "must come after"),
        (["--since", "2026-01-01", "--kind", "nope"], "invalid_request", "Unknown kind"),
        (["--since", "2026-01-01", "--app", "x"], "invalid_request", "application id"),
        (["--since", "2026-01-01", "--user", "x y"], "invalid_request", "user id"),
        (["--since", "2026-01-01", "--format", "xml"], "invalid_request", "csv or json"),
    ],
    ids=["a word is not a time", "a range that ends first", "an unknown kind",
         "a malformed app id", "a malformed user", "an unknown format"],
)  # fmt: skip
def test_audit_export_refuses_bad_filters_in_one_line(
    audited: tuple[Path, str], args: list[str], code: str, words: str
) -> None:
    refused(run(audited[0], "audit", "export", *args), code, words)


def test_every_operations_command_refuses_a_database_it_cannot_reach(tmp_path: Path) -> None:
    where = {"LEADEXEC_DATABASE_URL": UNREACHABLE}
    for args in (["audit", "export", "--since", "2026-01-01"], ["keys", "list"],
                 ["keys", "rotate"], ["keys", "retire", "key_x"]):  # fmt: skip
        refused(run(tmp_path, *args, **where), "temporarily_unavailable", "")
    # A real process too: its exit status and standard error as a shell sees them.
    refused(run(tmp_path, "keys", "list", process=True, **where), "temporarily_unavailable", "")
    refused(run(tmp_path, "backup", str(tmp_path / "b"), **where), "invalid_request", "pg_dump")
    refused(run(tmp_path, "restore", str(tmp_path / "b"), **where), "invalid_request", "pg_dump")
    # With --json, the refusal is JSON on standard output.
    done = run(tmp_path, "keys", "list", "--json", process=True, **where)
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "temporarily_unavailable"
    # The embedded database, looked for where there is none: said so, nothing made.
    refused(run(tmp_path / "empty", "keys", "list"), "not_found", "No database at")
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (["audit", "export"], ["--since", "--until", "--kind", "--app", "--user", "--format",
                               "--json"]),
        (["keys", "list"], ["--json"]),
        (["keys", "rotate"], ["--alg", "--delay", "--json"]),
        (["keys", "retire"], ["kid", "--force", "--json"]),
        (["backup"], ["path", "--force", "--json"]),
        (["restore"], ["path", "--json"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and not v[0].startswith("-") else None,
)  # fmt: skip
def test_each_command_and_flag_has_help(
    tmp_path: Path, command: list[str], flags: list[str]
) -> None:
    done = run(tmp_path, *command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for flag in flags:
        assert flag in text, flag
    # Every argument of the command has words of its own.
    sub = parser()
    for word in command:
        choices = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices
        sub = choices[word]
    for action in sub._actions:
        assert action.help, action.dest
    top = run(tmp_path, "--help").stdout
    assert command[0] in top


# -- keys ------------------------------------------------------------------------------------


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[tuple[Path, Settings, FrozenClock]]:
    """A database whose start-up made its three signing keys (as ``serve`` does)."""
    settings = Settings.from_env(
        {"LEADEXEC_DATA_DIR": str(tmp_path), "LEADEXEC_NOTICE_INTERVAL": "0"}
    )
    ok(tmp_path, "migrate")
    clock = FrozenClock(datetime.now(UTC))
    services = build(settings, clock)
    services.prepare()
    services.close()
    yield tmp_path, settings, clock


def jwks_kids(services: Services) -> set[str]:
    with TestClient(create_app(services), base_url="http://127.0.0.1:8000") as c:
        r = c.get("/oauth2/jwks")
        assert r.status_code == 200
        notices = c.get("/signin/keys").json()["keys"]
    assert {k["kid"] for k in notices} == {k["kid"] for k in r.json()["keys"]}
    return {k["kid"] for k in r.json()["keys"]}


def test_a_rotation_publishes_at_once_and_signs_after_the_delay(
    keyed: tuple[Path, Settings, FrozenClock],
) -> None:
    data_dir, settings, clock = keyed
    listed = ok(data_dir, "keys", "list")
    assert isinstance(listed, list)
    assert sorted(k["alg"] for k in listed) == ["ES256", "EdDSA", "RS256"]
    assert {k["state"] for k in listed} == {"signing"} and all(k["published"] for k in listed)
    assert all("private" not in json.dumps(k).lower() for k in listed)
    old = next(k["kid"] for k in listed if k["alg"] == "RS256")

    before = datetime.now(UTC)
    made = ok(data_dir, "keys", "rotate", "--alg", "RS256", "--delay", "600")
    ran = datetime.now(UTC)
    assert isinstance(made, list) and len(made) == 1
    new = made[0]
    assert (new["alg"], new["state"], new["published"]) == ("RS256", "next", True)
    signs_from = datetime.fromisoformat(new["activatesAt"].replace("Z", "+00:00"))
    # 600 s after the command ran on the real clock (the JSON gives whole seconds).
    delay = timedelta(seconds=600)
    assert before + delay - timedelta(seconds=1) <= signs_from <= ran + delay
    after = {k["kid"]: k for k in ok(data_dir, "keys", "list")}  # type: ignore[union-attr]
    assert after[old]["retiredAt"] == new["activatesAt"]  # stops when the new one starts
    assert after[old]["state"] == "signing"

    services = build(settings, clock)
    try:
        assert {old, new["kid"]} <= jwks_kids(services)  # both published at once
        assert services.keys.current("RS256").kid == old  # the old one still signs
        # The command ran on the real clock: move the test's to just before that time, then
        # just after (the JSON gives whole seconds).
        clock.advance(seconds=(signs_from - clock.now()).total_seconds() - 1)
        assert services.keys.current("RS256").kid == old
        clock.advance(seconds=2.01)
        assert services.keys.current("RS256").kid == new["kid"]  # after the delay: the new
        assert {old, new["kid"]} <= jwks_kids(services)  # its tokens still verify
        # Unpublished once every token it signed has expired (an hour, plus a margin).
        clock.advance(seconds=settings.access_token_ttl_seconds + 5 * 60 + 1)
        kids = jwks_kids(services)
        assert new["kid"] in kids and old not in kids
    finally:
        services.close()
    # In real time the rotation is still ahead; the other algorithms were not touched.
    states = sorted((k["alg"], k["state"]) for k in ok(data_dir, "keys", "list"))  # type: ignore[union-attr]
    assert states == [("ES256", "signing"), ("EdDSA", "signing"), ("RS256", "next"),
                      ("RS256", "signing")]  # fmt: skip
    again = run(data_dir, "keys", "rotate", "--alg", "RS256", "--delay", "600")
    refused(again, "conflict", "already under way")


def test_retire_refuses_a_key_that_signs_or_whose_tokens_live_unless_forced(
    keyed: tuple[Path, Settings, FrozenClock],
) -> None:
    data_dir, settings, _clock = keyed
    listed = ok(data_dir, "keys", "list")
    kid = {k["alg"]: k["kid"] for k in listed}  # type: ignore[union-attr]
    refused(run(data_dir, "keys", "retire", kid["EdDSA"]), "conflict", "signs EdDSA tokens")
    # The only EdDSA key: not even --force (notices could no longer be signed).
    refused(run(data_dir, "keys", "retire", kid["EdDSA"], "--force"), "conflict", "rotate it out")
    refused(run(data_dir, "keys", "retire", "key_nope"), "not_found", "No signing key 'key_nope'")
    refused(run(data_dir, "keys", "retire", "k" * 300), "not_found", "No signing key")
    refused(run(data_dir, "keys", "rotate", "--alg", "HS256"), "invalid_request", "RS256")
    refused(run(data_dir, "keys", "rotate", "--delay", "-1"), "invalid_request", "between 0")

    ok(data_dir, "keys", "rotate", "--alg", "ES256", "--delay", "0")  # the new one signs now
    states = {k["kid"]: k["state"] for k in ok(data_dir, "keys", "list")}  # type: ignore[union-attr]
    assert states[kid["ES256"]] == "retiring"
    refused(run(data_dir, "keys", "retire", kid["ES256"]), "conflict", "may still be valid")
    done = ok(data_dir, "keys", "retire", kid["ES256"], "--force")
    assert (done["state"], done["published"]) == ("expired", False)  # type: ignore[index]
    services = build(settings)  # the command's own (real) time
    try:
        assert kid["ES256"] not in jwks_kids(services)
    finally:
        services.close()
    # Retiring what is already unpublished changes nothing and says so.
    assert ok(data_dir, "keys", "retire", kid["ES256"])["state"] == "expired"  # type: ignore[index]
    # Each of these is in the audit trail, by the command line.
    trail = ok(data_dir, "audit", "export", "--since", "2000-01-01", "--kind", "key.retired")
    assert [(e["subject"], e["actor"], e["detail"]["forced"]) for e in trail] == [  # type: ignore[union-attr]
        (kid["ES256"], "cli", True)
    ]
    rotated = ok(data_dir, "audit", "export", "--since", "2000-01-01", "--kind", "key.rotated")
    assert rotated[0]["detail"]["replaces"] == [kid["ES256"]]  # type: ignore[index]
