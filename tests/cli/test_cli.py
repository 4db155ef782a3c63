"""The ``leadexec-signin`` command line, run as a real process."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leadexec_signin.cli import parser


def run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(data_dir),
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    env.pop("LEADEXEC_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def ok(data_dir: Path, *args: str, stdin: str = "") -> dict[str, object] | list[object]:
    done = run(data_dir, *args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_default_database_is_an_sqlite_file_created_on_first_use(tmp_path: Path) -> None:
    assert ok(tmp_path, "migrate") == {"migrated": True}
    assert (tmp_path / "leadexec-signin.sqlite3").exists()


def test_app_lifecycle(tmp_path: Path) -> None:
    created = ok(
        tmp_path, "apps", "create", "--name", "CLI App", "--origin", "https://crm.example.com",
        "--origin", "HTTPS://CRM.example.com:443", "--scopes", "profile,email", "--with-secret",
    )  # fmt: skip
    assert isinstance(created, dict)
    assert created["status"] == "pending"
    assert created["origins"] == ["https://crm.example.com"]  # canonical, deduplicated
    assert str(created["appSecret"]).startswith("lesk_")
    app_id = str(created["appId"])
    assert app_id.startswith("app_") and len(app_id) >= 26
    for action, status in (
        ("approve", "approved"),
        ("suspend", "suspended"),
        ("reinstate", "approved"),
    ):
        assert ok(tmp_path, "apps", action, app_id)["status"] == status  # type: ignore[index]
    listed = ok(tmp_path, "apps", "list")
    assert isinstance(listed, list) and listed[0]["appId"] == app_id
    assert "appSecret" not in listed[0]  # shown once, at creation only
    button = ok(tmp_path, "buttons", "create", "--app", app_id, "--scopes", "profile")
    assert str(button["btnId"]).startswith("btn_")  # type: ignore[index]


def test_user_password_comes_from_stdin(tmp_path: Path) -> None:
    user = ok(tmp_path, "users", "create", "--email", "X@Example.com", "--name", "X",
              stdin="a good password\n")  # fmt: skip
    assert user["email"] == "x@example.com"  # type: ignore[index]
    dup = run(tmp_path, "users", "create", "--email", "x@example.com", "--name", "X", "--json",
              stdin="a good password\n")  # fmt: skip
    assert dup.returncode == 2 and json.loads(dup.stdout)["error"] == "conflict"


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (("users", "create", "--email", "not-an-email", "--name", "N"), "a good password\n",
         "invalid_request"),
        (("users", "create", "--email", "a@b.co", "--name", "N"), "short\n", "invalid_request"),
        (("apps", "create", "--name", "A", "--origin", "https://a.example/path", "--scopes",
          "profile"), "", "invalid_request"),
        (("apps", "create", "--name", "A", "--origin", "http://evil.example", "--scopes",
          "profile"), "", "invalid_request"),
        (("apps", "create", "--name", "A", "--origin", "javascript:alert(1)", "--scopes",
          "profile"), "", "invalid_request"),
        (("apps", "create", "--name", "A", "--origin", "https://a.example", "--scopes",
          "profile,root"), "", "invalid_request"),
        (("apps", "approve", "app_doesnotexist000000000000"), "", "not_found"),
        (("buttons", "create", "--app", "app_doesnotexist000000000000", "--scopes", "profile"), "",
         "not_found"),
    ],
    ids=[
        "a malformed email",
        "a short password",
        "an origin with a path",
        "plain http off loopback",
        "a javascript url",
        "an unknown scope",
        "approving an unknown app",
        "a button for an unknown app",
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_json_error(tmp_path: Path, args, stdin, code) -> None:
    done = run(tmp_path, *args, "--json", stdin=stdin)
    assert done.returncode == 2
    body = json.loads(done.stdout)
    assert body["error"] == code and body["errorMessage"]
    assert "Traceback" not in done.stderr


def test_button_scopes_must_be_allowed_for_the_app(tmp_path: Path) -> None:
    app = ok(tmp_path, "apps", "create", "--name", "A", "--origin", "https://a.example",
             "--scopes", "profile")  # fmt: skip
    done = run(tmp_path, "buttons", "create", "--app", str(app["appId"]),  # type: ignore[index]
               "--scopes", "profile,settings", "--json")  # fmt: skip
    assert done.returncode == 2 and json.loads(done.stdout)["error"] == "invalid_request"


def test_listing_apps_where_there_is_no_database_says_so(tmp_path: Path) -> None:
    """Run from another folder, the embedded default would silently be a new, empty database."""
    done = run(tmp_path / "elsewhere", "apps", "list", "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"] == "not_found"
    assert "No database at" in json.loads(done.stdout)["errorMessage"]
    assert not (tmp_path / "elsewhere").exists()  # nothing created


def test_migrating_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(tmp_path),
        "LEADEXEC_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
        "LEADEXEC_DB_CONNECT_TIMEOUT": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "127.0.0.1:9/nowhere" in line and "(temporarily_unavailable)" in line


def test_every_command_and_flag_says_what_it_does(tmp_path: Path) -> None:
    top = run(tmp_path, "--help").stdout
    for command in ("serve", "demo", "migrate", "users", "apps", "buttons", "grants"):
        assert re.search(rf"^\s+{command}\s+\S", top, re.M), command
    assert "usage: leadexec-signin apps create" in run(tmp_path, "apps", "create", "--help").stdout

    def walk(p: argparse.ArgumentParser, path: str) -> list[str]:
        missing = [
            f"{path} {'/'.join(a.option_strings) or a.dest}"
            for a in p._actions
            if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction) and not a.help
        ]
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, child in a.choices.items():
                    missing += walk(child, f"{path} {name}")
        return missing

    assert walk(parser(), "leadexec-signin") == []


def test_serve_without_an_issuer_names_the_address_it_listens_on(tmp_path: Path) -> None:
    """Otherwise every partner snippet would load the SDK from the default port."""
    from production.nodes import free_port

    port = free_port()
    env = {**os.environ, "LEADEXEC_DATA_DIR": str(tmp_path), "LEADEXEC_LOG_LEVEL": "WARNING"}
    for name in ("LEADEXEC_ISSUER", "LEADEXEC_DATABASE_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "leadexec_signin.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
    finally:
        server.terminate()
        server.wait(15)
    assert first.strip() == (
        f"LeadExec Sign-In on http://127.0.0.1:{port} (issuer http://127.0.0.1:{port})"
    )
