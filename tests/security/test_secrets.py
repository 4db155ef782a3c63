"""Secrets stay secret (RFC 6819 sections 5.1.4.1.3, 5.1.6; RFC 9700 section 4.2.4; OWASP
ASVS V7.1.1, V8.3.4): never in logs, redirect URLs, ``Referer``, error messages or the
database in plain text, and never cached: ``Cache-Control: no-store`` on every answer that
carries one."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from starlette.testclient import TestClient

from seed_token import supplied_refresh_token
from support.live_idp import LiveIdp, tokens_over_http
from support.signin import PARTNER, PASSWORD, authorize, csrf_of, decide, open_popup, sign_in

TOKEN_SHAPED = re.compile(r"\b(?:ler|lea|lec|les|lesk|lerat)_[A-Za-z0-9_-]{20,}")
WRONG_PASSWORD = "hunter2 is not my password"


def table_dump(database_url: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = [
            " ".join(str(v) for v in row)
            for table in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        ]
    engine.dispose()
    return "\n".join(rows)


def test_the_live_servers_log_and_database_hold_no_secret(live_idp: LiveIdp) -> None:
    """``leadexec-signin serve`` at DEBUG, fed secrets in every place a client might put
    them, including parameter names the server does not use."""
    fresh = tokens_over_http(live_idp.url, live_idp.btn_id, PARTNER)
    refresh, access = str(fresh["refreshToken"]), str(fresh["authToken"])
    with httpx.Client(base_url=live_idp.url, timeout=10) as c:
        assert c.get("/api/token", params={"appId": live_idp.app_id, "refreshToken": refresh})
        secret_params = {"appId": live_idp.secret_app_id, "appSecret": live_idp.app_secret}
        c.get("/api/token", params={**secret_params, "refreshToken": refresh})
        c.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
        # RFC 6750 section 2.3 spelling, and other names the server ignores.
        c.get("/api/v1/me", params={"access_token": access})
        c.get("/api/token", params={"refresh_token": refresh, "client_secret": live_idp.app_secret})
        c.get(f"/api/v1/me/{access}")
        page = c.get("/account/login")
        c.post(
            "/account/login",
            data={
                "csrf": csrf_of(page.text),
                "email": "live@example.com",
                "password": WRONG_PASSWORD,
            },
        )
        session = c.cookies.get("le_session")
        c.get("/api/revoke", params={"token": refresh, "callback": "cb"})
        # An agent's RFC 7592 registration access token, in the header and where it is not.
        agent = c.post("/oauth2/register", json={"redirect_uris": ["http://127.0.0.1:9/cb"]})
        registration = agent.json()["registration_access_token"]
        uri = agent.json()["registration_client_uri"]
        assert c.get(uri, headers={"Authorization": f"Bearer {registration}"}).status_code == 200
        c.get(uri, params={"access_token": registration})
        c.get(f"/oauth2/register/{registration}")
    secrets = {
        "registration access token": registration,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "refresh token": refresh,
        "access token": access,
        "seeded refresh token": live_idp.refresh_token,
        "app secret": live_idp.app_secret,
    }
    if session:
        secrets["session id"] = session
    log = live_idp.log.read_text()
    assert "GET /api/token?appId=" in log  # the access log is on and was read
    for what, value in secrets.items():
        assert value not in log, f"{what} written to the server log"
    assert not TOKEN_SHAPED.search(log), TOKEN_SHAPED.search(log)
    dump = table_dump(live_idp.database_url)
    assert "live@example.com" in dump
    for what, value in secrets.items():
        assert value not in dump, f"{what} stored in plain text"


def test_a_request_cannot_forge_a_log_line(live_idp: LiveIdp) -> None:
    """CWE-117: a newline in the path or the query is written escaped, on the same line."""
    forged = "1970-01-01 00:00:00,000 INFO leadexec_signin.core audit"
    with httpx.Client(base_url=live_idp.url, timeout=10) as c:
        c.get("/api/token", params={"appId": "x\n" + forged})
        c.get("/nowhere%0A" + forged.replace(" ", "%20"))
    # The access-log line is written just after the answer is sent: wait for both.
    deadline = time.monotonic() + 10
    while True:
        lines = live_idp.log.read_text().splitlines()
        if sum(forged in line for line in lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not any(line.startswith(forged) for line in lines)
    assert sum(forged in line for line in lines) == 2


def locations(client: TestClient, world) -> list[str]:
    """Every redirect of a full sign-in, consent, token and removal journey."""
    seen: list[str] = []

    def follow(r: object) -> object:
        while r.status_code in (301, 302, 303, 307, 308):  # type: ignore[attr-defined]
            seen.append(r.headers["location"])  # type: ignore[attr-defined]
            r = client.get(r.headers["location"], follow_redirects=False)  # type: ignore[attr-defined]
        return r

    login = follow(open_popup(client, world.btn_id))  # -> the sign-in page
    next_field = re.search(r'name="next" value="([^"]*)"', login.text)  # type: ignore[attr-defined]
    assert next_field
    form = {
        "csrf": csrf_of(login.text),  # type: ignore[attr-defined]
        "email": world.email,
        "password": PASSWORD,
        "next": next_field.group(1).replace("&amp;", "&"),
    }
    r = client.post("/account/login", data=form, follow_redirects=False)
    consent = follow(r)
    result = decide(client, consent.text, "allow", world.btn_id)  # type: ignore[attr-defined]
    assert "ler_" in result.text  # type: ignore[attr-defined]
    apps = client.get("/account/apps")
    action = re.search(r'action="(/account/apps/[^"]+/remove)"', apps.text)
    assert action
    follow(client.post(action.group(1), data={"csrf": csrf_of(apps.text)}, follow_redirects=False))
    logout = client.get("/account/logout")
    follow(
        client.post("/account/logout", data={"csrf": csrf_of(logout.text)}, follow_redirects=False)
    )
    return seen


def test_no_redirect_url_carries_a_secret(client: TestClient, world) -> None:
    seen = locations(client, world)
    assert len(seen) >= 4
    for url in seen:
        assert not TOKEN_SHAPED.search(url), url
        assert "password" not in url.lower()


@pytest.fixture
def tokens(client: TestClient, world) -> dict[str, object]:
    sign_in(client)
    return authorize(client, world.btn_id)


def test_error_messages_never_echo_a_secret(client: TestClient, world, tokens) -> None:
    refresh, access = str(tokens["refreshToken"]), str(tokens["authToken"])
    answers = [
        client.get("/api/token", params={"appId": world.app_id, "refreshToken": access}),
        client.get("/api/token", params={"appId": "app_" + "A" * 22, "refreshToken": refresh}),
        client.get("/api/token", params={"appId": world.app_id, "refreshToken": refresh[:-1]}),
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {refresh}"}),
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {access[:-1]}"}),
        client.get("/api/revoke", params={"token": access[:-1], "callback": "cb"}),
        client.get("/api/revoke", params={"token": refresh, "callback": "a;b"}),
        client.post("/api/token", data={"appId": world.app_id, "code": refresh}),
    ]
    expected = [
        (400, "invalid_grant"),  # an access token where the refresh token goes
        (401, "invalid_client"),  # someone else's appId
        (400, "invalid_grant"),  # one character short
        (401, "invalid_token"),  # a refresh token as a bearer
        (401, "invalid_token"),
        (200, "invalid_grant"),  # JSONP: a script cannot read a status
        (400, "invalid_request"),  # a callback that is not a name
        (400, "invalid_grant"),  # a refresh token as a code
    ]
    got = []
    for r in answers:
        body = r.text.partition("(")[2].rpartition(")")[0] if r.text.startswith("/**/") else r.text
        got.append((r.status_code, json.loads(body)["error"]))
    assert got == expected
    for r in answers:
        text = r.text
        if r.request.url.path == "/api/token":
            # The refusal's refreshToken is the caller's own value, echoed as the field is
            # defined ("the refresh token supplied during the call"): only there, and only
            # what was sent.
            body = json.loads(text)
            assert body["refreshToken"] == supplied_refresh_token(r)
            text = json.dumps({k: v for k, v in body.items() if k != "refreshToken"})
        assert refresh[4:] not in text and access[4:] not in text
        assert refresh[4:-1] not in text and access[4:-1] not in text


def test_token_pages_send_no_referer(client: TestClient, world, tokens) -> None:
    r = open_popup(client, world.btn_id)
    assert "ler_" in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    silent = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    )
    assert "lea_" in silent.text
    assert silent.headers["referrer-policy"] == "no-referrer"


def token_bearing(client: TestClient, world) -> dict[str, object]:
    sign_in(client)
    first = open_popup(client, world.btn_id)
    popup = decide(client, first.text, "allow", world.btn_id)
    result = authorize(client, world.btn_id)
    hardened, secret = world.app(with_secret=True, hardened=True, name="Hardened")
    hardened_btn = world.button("profile", hardened)
    code_page = decide(client, open_popup(client, hardened_btn).text, "allow", hardened_btn)
    settings_btn = world.button("profile,settings")
    settings_token = authorize(client, settings_btn)["authToken"]
    console = client.get("/developers")
    registered = client.post(
        "/developers/apps",
        data={"csrf": csrf_of(console.text), "name": "Mine", "origins": PARTNER,
              "scopes": ["profile"], "with_secret": "on"},
    )  # fmt: skip
    app_id = re.search(r"<code>(app_[A-Za-z0-9_-]+)</code>", registered.text)
    assert app_id
    found = re.search(r'"code": "(lec_[^"]+)"', code_page.text)
    assert found
    code = found.group(1)
    rotated = client.post(
        f"/developers/apps/{app_id.group(1)}/secret", data={"csrf": csrf_of(console.text)}
    )
    return {
        "the popup's result": popup,
        "the hardened popup's code": code_page,
        "the silent check's result": client.get(
            "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
        ),
        "a token exchange": client.get(
            "/api/token", params={"appId": world.app_id, "refreshToken": result["refreshToken"]}
        ),
        "a code exchange": client.post(
            "/api/token", data={"appId": hardened, "appSecret": secret, "code": code}
        ),
        "the user's profile": client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {result['authToken']}"}
        ),
        "the user's settings": client.get(
            "/api/v1/settings", headers={"Authorization": f"Bearer {settings_token}"}
        ),
        "a new app's secret": registered,
        "a rotated secret": rotated,
    }


def test_every_token_bearing_answer_is_no_store(client: TestClient, world) -> None:
    answers = token_bearing(client, world)
    assert len(answers) == 9
    for what, r in answers.items():
        assert r.status_code == 200, f"{what}: {r.status_code} {r.text[:200]}"  # type: ignore[attr-defined]
        body = r.text  # type: ignore[attr-defined]
        assert TOKEN_SHAPED.search(body) or '"email"' in body or "timezone" in body, what
        assert r.headers["cache-control"] == "no-store", what  # type: ignore[attr-defined]
