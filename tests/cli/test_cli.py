"""The ``leadexec-signin`` command line: its answers from ``main()`` in this process
(``support.command_line``), its entry point, exit statuses and server in a real process."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from leadexec_signin.cli import parser
from leadexec_signin.compose import build
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.command_line import run_in_process

# Some commands as a real process (~1 s of CPU each): out of the fast tier.
pytestmark = pytest.mark.slow


def run(
    data_dir: Path, *args: str, stdin: str = "", process: bool = False
) -> subprocess.CompletedProcess[str]:
    """The command in this process, or with ``process`` as ``python -m leadexec_signin.cli``."""
    env = {
        **os.environ,
        "LEADEXEC_DATA_DIR": str(data_dir),
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    env.pop("LEADEXEC_DATABASE_URL", None)
    if not process:
        return run_in_process(args, env, stdin)
    return subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def ok(
    data_dir: Path, *args: str, stdin: str = "", process: bool = False
) -> dict[str, object] | list[object]:
    done = run(data_dir, *args, "--json", stdin=stdin, process=process)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_default_database_is_an_sqlite_file_created_on_first_use(tmp_path: Path) -> None:
    assert ok(tmp_path, "migrate", process=True) == {"migrated": True}
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
    # A real process: the password on its standard input, its exit status.
    user = ok(tmp_path, "users", "create", "--email", "X@Example.com", "--name", "X",
              stdin="a good password\n", process=True)  # fmt: skip
    assert user["email"] == "x@example.com"  # type: ignore[index]
    dup = run(tmp_path, "users", "create", "--email", "x@example.com", "--name", "X", "--json",
              stdin="a good password\n", process=True)  # fmt: skip
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
    assert re.search(r"^\s+client\s+\S", run(tmp_path, "apps", "--help").stdout, re.M)

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
    database = (tmp_path / "leadexec-signin.sqlite3").resolve()
    assert first.strip() == (
        f"LeadExec Sign-In on http://127.0.0.1:{port} (issuer http://127.0.0.1:{port}, "
        f"database {database})"
    )


# -- the OAuth 2.1 / OpenID Connect registration -------------------------------------------

# RFC 8037 appendix A.2: an Ed25519 public key.
PUBLIC_JWKS = {
    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]
}


def test_an_app_with_only_a_redirect_uri_needs_no_origin(tmp_path: Path) -> None:
    created = ok(tmp_path, "apps", "create", "--name", "Native", "--scopes", "profile",
                 "--redirect-uri", "com.example.app:/callback",
                 "--redirect-uri", "http://127.0.0.1/callback")  # fmt: skip
    assert isinstance(created, dict)
    assert created["origins"] == []
    assert created["redirectUris"] == ["com.example.app:/callback", "http://127.0.0.1/callback"]
    # No secret and no keys: a public client, whose refresh tokens always rotate.
    assert (created["clientType"], created["authMethod"]) == ("public", "none")
    assert created["rotateRefreshTokens"] is True
    assert (created["accessTokenFormat"], created["idTokenAlg"]) == ("opaque", "RS256")
    assert created["jwks"] is None and created["jwksUri"] is None
    assert created["appSecret"] is None
    [listed] = ok(tmp_path, "apps", "list")  # type: ignore[misc]
    assert {k: v for k, v in created.items() if k != "appSecret"} == listed
    text = run(tmp_path, "apps", "list").stdout
    # Said last, so a command run against the wrong database is noticed.
    database = (tmp_path / "leadexec-signin.sqlite3").resolve()
    assert text == (
        f"{created['appId']}  pending    Native  com.example.app:/callback "
        f"http://127.0.0.1/callback\n(database: {database})\n"
    )


def test_every_client_field_can_be_set_at_creation(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(PUBLIC_JWKS))
    created = ok(
        tmp_path, "apps", "create", "--name", "Backend", "--scopes", "profile,email",
        "--origin", "https://crm.example.com", "--redirect-uri", "https://crm.example.com/cb",
        "--client-type", "confidential", "--auth-method", "private_key_jwt",
        "--jwks-file", str(jwks),
        "--post-logout-redirect-uri", "https://crm.example.com/bye",
        "--backchannel-logout-uri", "https://crm.example.com/logout",
        "--access-token-format", "jwt", "--id-token-alg", "EdDSA", "--rotate-refresh-tokens",
        "--dpop-bound-access-tokens", "--device-grant", "--pkce", "optional", "--require-par",
    )  # fmt: skip
    assert isinstance(created, dict)
    assert created["origins"] == ["https://crm.example.com"]
    assert created["redirectUris"] == ["https://crm.example.com/cb"]
    assert (created["clientType"], created["authMethod"]) == ("confidential", "private_key_jwt")
    assert created["jwks"] == PUBLIC_JWKS
    assert created["postLogoutRedirectUris"] == ["https://crm.example.com/bye"]
    assert created["backchannelLogoutUri"] == "https://crm.example.com/logout"
    assert (created["accessTokenFormat"], created["idTokenAlg"]) == ("jwt", "EdDSA")
    assert created["rotateRefreshTokens"] is True and created["hasSecret"] is False
    assert created["dpopBoundAccessTokens"] is True and created["deviceGrant"] is True
    assert created["pkce"] == "optional" and created["requirePar"] is True


def test_apps_client_replaces_the_whole_registration(tmp_path: Path) -> None:
    created = ok(tmp_path, "apps", "create", "--name", "Web", "--scopes", "profile",
                 "--origin", "https://a.example", "--with-secret")  # fmt: skip
    app_id = str(created["appId"])  # type: ignore[index]
    assert created["clientType"] == "confidential"  # type: ignore[index]
    assert created["authMethod"] == "client_secret_basic"  # type: ignore[index]
    first = ok(tmp_path, "apps", "client", app_id, "--redirect-uri", "https://a.example/cb",
               "--auth-method", "client_secret_post", "--id-token-alg", "ES256",
               "--jwks-uri", "https://a.example/jwks.json",
               "--post-logout-redirect-uri", "https://a.example/")  # fmt: skip
    assert isinstance(first, dict)
    assert first["appId"] == app_id and first["redirectUris"] == ["https://a.example/cb"]
    assert (first["clientType"], first["authMethod"]) == ("confidential", "client_secret_post")
    assert first["jwksUri"] == "https://a.example/jwks.json" and first["idTokenAlg"] == "ES256"
    assert first["hasSecret"] is True and "appSecret" not in first  # the secret stays
    # A replacement, not a patch: what is left out goes back to its default.
    second = ok(tmp_path, "apps", "client", app_id, "--redirect-uri", "https://a.example/cb2")
    assert isinstance(second, dict)
    assert second["redirectUris"] == ["https://a.example/cb2"]
    assert second["authMethod"] == "client_secret_basic" and second["idTokenAlg"] == "RS256"
    assert second["jwksUri"] is None and second["postLogoutRedirectUris"] == []
    assert second["dpopBoundAccessTokens"] is False and second["deviceGrant"] is False
    assert second["pkce"] == "required" and second["requirePar"] is False
    [listed] = ok(tmp_path, "apps", "list")  # type: ignore[misc]
    assert listed == second
    # Without --json: one line that names the outcome.
    done = run(tmp_path, "apps", "client", app_id, "--redirect-uri", "https://a.example/cb")
    database = (tmp_path / "leadexec-signin.sqlite3").resolve()
    assert done.returncode == 0 and done.stdout == (
        f"{app_id}: OAuth registration saved (confidential client, client_secret_basic, "
        f"1 redirect URI(s)).\n(database: {database})\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--client-type", "secret"), "The client type must be one of: confidential, public."),
        (("--auth-method", "client_secret_jwt"), "The authentication method must be one of"),
        (("--client-type", "public", "--auth-method", "client_secret_basic"),
         "A public client uses the authentication method none"),
        (("--auth-method", "client_secret_basic"),
         "client_secret_basic needs an application secret"),
        (("--auth-method", "private_key_jwt"), "private_key_jwt needs the client's public keys"),
        (("--redirect-uri", "http://crm.example.com/cb"), "Redirect URIs must use https"),
        (("--redirect-uri", "https://crm.example.com/cb#top"),
         "cannot contain spaces or a fragment"),
        (("--redirect-uri", "javascript:alert(1)"), "must be a reverse domain name"),
        (("--jwks-uri", "http://crm.example.com/jwks"), "The JWKS URI must use https"),
        (("--jwks-file", "{tmp}/missing.json"), "Cannot read the JWKS file"),
        (("--jwks-file", "{tmp}/not-json.json"), 'The JWKS must be JSON like {"keys": [...]}'),
        (("--jwks-file", "{tmp}/private.json"), "The JWKS contains private key material"),
        (("--backchannel-logout-uri", "http://crm.example.com/logout"),
         "The back-channel logout URI must use https"),
        (("--id-token-alg", "HS256"), "The ID token algorithm is one of: RS256, ES256, EdDSA."),
        (("--access-token-format", "saml"), "The access-token format is opaque or jwt."),
    ],
    ids=[
        "an unknown client type",
        "an unknown authentication method",
        "a public client with a secret method",
        "a secret method without a secret",
        "private_key_jwt without keys",
        "a plain http redirect URI off loopback",
        "a redirect URI with a fragment",
        "a javascript redirect URI",
        "a plain http JWKS URI",
        "a JWKS file that does not exist",
        "a JWKS file that is not JSON",
        "a JWKS file with a private key",
        "a plain http back-channel logout URI",
        "a symmetric ID token algorithm",
        "an unknown access-token format",
    ],
)  # fmt: skip
def test_a_bad_client_field_is_one_line_on_stderr(tmp_path: Path, args, message) -> None:
    (tmp_path / "not-json.json").write_text("keys: []")
    private = {
        "keys": [{**PUBLIC_JWKS["keys"][0], "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]
    }
    (tmp_path / "private.json").write_text(json.dumps(private))
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
    base = ("--name", "A", "--scopes", "profile", "--redirect-uri", "https://crm.example.com/cb")
    app_id = str(ok(tmp_path, "apps", "create", *base)["appId"])  # type: ignore[index]
    for command in (
        ("apps", "create", *base),
        ("apps", "client", app_id, "--redirect-uri", "https://crm.example.com/cb"),
    ):
        done = run(tmp_path, *command, *args)
        assert done.returncode == 2, done.stdout
        assert "Traceback" not in done.stderr and done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith("error: ") and message in line and line.endswith("(invalid_request)")
    [unchanged] = ok(tmp_path, "apps", "list")  # type: ignore[misc]
    assert unchanged["appId"] == app_id and unchanged["authMethod"] == "none"


def test_an_app_needs_an_origin_or_a_redirect_uri(tmp_path: Path) -> None:
    done = run(tmp_path, "apps", "create", "--name", "A", "--scopes", "profile", "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert json.loads(done.stdout) == {
        "error": "invalid_request",
        "errorMessage": "Register at least one JavaScript origin or redirect URI.",
    }


def test_apps_client_keeps_an_app_reachable(tmp_path: Path) -> None:
    """Taking the last redirect URI away from an app with no origin would leave nothing
    a sign-in could come back to."""
    app = ok(tmp_path, "apps", "create", "--name", "A", "--scopes", "profile",
             "--redirect-uri", "https://a.example/cb")  # fmt: skip
    done = run(tmp_path, "apps", "client", str(app["appId"]), "--json")  # type: ignore[index]
    assert done.returncode == 2
    assert json.loads(done.stdout) == {
        "error": "invalid_request",
        "errorMessage": "Keep at least one JavaScript origin or redirect URI.",
    }


def test_apps_client_for_an_unknown_app_is_not_found(tmp_path: Path) -> None:
    ok(tmp_path, "migrate")
    done = run(tmp_path, "apps", "client", "app_doesnotexist000000000000",
               "--redirect-uri", "https://a.example/cb")  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.endswith("(not_found)")


def accepted_secrets(data_dir: Path, app_id: str, secrets: dict[str, str]) -> set[str]:
    """Over HTTP: the standard revocation endpoint authenticates the client, so it tells which
    secrets a provider on this data folder accepts (200) and which it refuses (401)."""
    settings = Settings.from_env(
        {"LEADEXEC_DATA_DIR": str(data_dir), "LEADEXEC_ISSUER": "https://id.example.test"}
    )
    services = build(settings)
    try:
        with TestClient(create_app(services), base_url="https://id.example.test") as client:
            codes = {
                name: client.post(
                    "/oauth2/revoke", data={"token": "unknown"}, auth=(app_id, secret)
                ).status_code
                for name, secret in secrets.items()
            }
    finally:
        services.close()
    assert set(codes.values()) <= {200, 401}, codes
    return {name for name, code in codes.items() if code == 200}


def test_rotating_a_secret_keeps_the_old_one_for_the_chosen_grace(tmp_path: Path) -> None:
    created = ok(
        tmp_path, "apps", "create", "--name", "Rotating", "--redirect-uri",
        "https://crm.example.com/cb", "--scopes", "profile", "--with-secret",
    )  # fmt: skip
    assert isinstance(created, dict)
    app_id = str(created["appId"])
    secrets = {"first": str(created["appSecret"])}
    ok(tmp_path, "apps", "approve", app_id)
    kept = ok(tmp_path, "apps", "rotate-secret", app_id, "--grace", "1h")
    assert isinstance(kept, dict) and kept["grace"] == "1h"
    secrets["second"] = str(kept["appSecret"])
    assert accepted_secrets(tmp_path, app_id, secrets) == {"first", "second"}
    # Without a grace (a leaked secret) the one replaced is refused at once, and so is the
    # first, whose grace a later rotation ends.
    third = run(tmp_path, "apps", "rotate-secret", app_id)
    assert third.returncode == 0, third.stderr
    assert "the old one is refused" in third.stdout
    [secrets["third"]] = re.findall(r"lesk_\S+", third.stdout)
    assert accepted_secrets(tmp_path, app_id, secrets) == {"third"}
    bad = run(tmp_path, "apps", "rotate-secret", app_id, "--grace", "forever")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    unknown = run(tmp_path, "apps", "rotate-secret", "app_nope")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr


def test_a_first_secret_says_what_it_changed_not_that_an_old_one_stopped(tmp_path: Path) -> None:
    created = ok(
        tmp_path, "apps", "create", "--name", "No Secret Yet", "--redirect-uri",
        "https://crm.example.com/cb", "--scopes", "profile",
    )  # fmt: skip
    assert isinstance(created, dict) and created.get("appSecret") is None
    app_id = str(created["appId"])
    first = run(tmp_path, "apps", "rotate-secret", app_id)
    assert first.returncode == 0, first.stderr
    assert "first appSecret" in first.stdout and "old" not in first.stdout
    assert "/api/token requires it" in first.stdout
    second = ok(tmp_path, "apps", "rotate-secret", app_id, "--grace", "1h")
    assert isinstance(second, dict) and second["replaced"] is True
    third = run(tmp_path, "apps", "rotate-secret", app_id)
    assert "new appSecret" in third.stdout and "the old one is refused" in third.stdout


def test_an_operator_rejects_a_pending_application_with_a_reason(tmp_path: Path) -> None:
    created = ok(
        tmp_path, "apps", "create", "--name", "To Reject", "--origin", "https://r.example",
        "--scopes", "profile",
    )  # fmt: skip
    assert isinstance(created, dict)
    app_id = str(created["appId"])
    said = run(tmp_path, "apps", "reject", app_id, "--reason", "No privacy policy.")
    assert said.returncode == 0, said.stderr
    # Made at the command line, it has no owner: nobody is said to be emailed.
    assert "is rejected (now suspended); it has no owner to email." in said.stdout
    shown = ok(tmp_path, "apps", "list")
    assert isinstance(shown, list)
    assert [a["status"] for a in shown if a["appId"] == app_id] == ["suspended"]
    again = run(tmp_path, "apps", "reject", app_id, "--reason", "Still no.")
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "Only an application waiting for approval can be rejected" in again.stderr
    missing = run(tmp_path, "apps", "reject", app_id)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    blank = run(tmp_path, "apps", "reject", app_id, "--reason", " ")
    assert blank.returncode != 0 and "Write the reason" in blank.stderr


def test_people_from_the_command_line(tmp_path: Path) -> None:
    """users list|show|disable|enable|reset-factors|set-operator|delete, with --json; the
    last operator is never disabled."""
    op = ok(tmp_path, "users", "create", "--email", "op@example.com", "--name", "Op",
            "--operator", stdin="a good password\n")  # fmt: skip
    ann = ok(tmp_path, "users", "create", "--email", "ann@example.com", "--name", "Ann",
             stdin="a good password\n")  # fmt: skip
    listed = ok(tmp_path, "users", "list", "--search", "ANN")
    assert [u["email"] for u in listed["users"]] == ["ann@example.com"]  # type: ignore[call-overload]
    assert ok(tmp_path, "users", "disable", "ann@example.com")["disabled"] is True  # type: ignore[call-overload]
    shown = ok(tmp_path, "users", "show", str(ann["id"]))  # type: ignore[call-overload]
    assert shown["disabled"] is True and shown["recentEvents"][0]["actor"] == "cli"  # type: ignore[call-overload]
    assert ok(tmp_path, "users", "list", "--filter", "disabled")["users"][0]["id"] == ann["id"]  # type: ignore[call-overload,index]
    last = run(tmp_path, "users", "disable", "op@example.com", "--json")
    assert last.returncode == 2 and json.loads(last.stdout)["error"] == "conflict"
    assert ok(tmp_path, "users", "set-operator", "ann@example.com", "on")["operator"] is True  # type: ignore[call-overload]
    assert ok(tmp_path, "users", "reset-factors", str(op["id"]))["done"] == "reset-factors"  # type: ignore[call-overload]
    assert ok(tmp_path, "users", "delete", "ann@example.com")["deleted"] is True  # type: ignore[call-overload]
    gone = run(tmp_path, "users", "show", "ann@example.com", "--json")
    assert gone.returncode == 2 and json.loads(gone.stdout)["error"] == "not_found"
    made = ok(tmp_path, "admin-tokens", "create", "--scopes",
              "users:read,users:write,apps:write,audit:read", "--expires", "90d")  # fmt: skip
    assert str(made["token"]).startswith("lxa_") and made["expiresAt"]  # type: ignore[call-overload]
    listed_tokens = run(tmp_path, "admin-tokens", "list", "--json")
    assert made["id"] in listed_tokens.stdout and str(made["token"]) not in listed_tokens.stdout  # type: ignore[call-overload]
    bad = run(tmp_path, "admin-tokens", "create", "--scopes", "root", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"] == "invalid_request"


def test_an_operator_blocks_and_unblocks_an_agents_domain(tmp_path: Path) -> None:
    assert ok(tmp_path, "migrate") == {"migrated": True}
    services = build(Settings(data_dir=tmp_path, client_registration="open"))
    try:
        agent, _ = services.self_registration.register(
            {"client_name": "Agent", "redirect_uris": ["https://eu.agent.example/cb"]}, "192.0.2.1"
        )
    finally:
        services.close()
    listed = ok(tmp_path, "agents", "list")
    assert isinstance(listed, dict) and listed["blockedDomains"] == []
    [row] = listed["clients"]
    assert (row["clientId"], row["kind"], row["domain"]) == (
        agent.id,
        "dynamic",
        "eu.agent.example",
    )
    assert ok(tmp_path, "agents", "block", "Agent.Example") == {
        "blocked": "Agent.Example", "suspended": [agent.id]
    }  # fmt: skip
    listed = ok(tmp_path, "agents", "list")
    assert listed["blockedDomains"] == ["agent.example"]
    assert listed["clients"][0]["status"] == "suspended"
    text = run(tmp_path, "agents", "list").stdout
    assert "blocked: agent.example" in text and "eu.agent.example\tdynamic\tsuspended" in text
    bad = run(tmp_path, "agents", "block", "not a domain")
    assert bad.returncode != 0 and "host name" in bad.stderr + bad.stdout
    assert ok(tmp_path, "agents", "unblock", "agent.example")["reinstated"] == [agent.id]
    again = run(tmp_path, "agents", "unblock", "agent.example", "--json")
    assert again.returncode != 0 and json.loads(again.stdout)["error"] == "not_found"
