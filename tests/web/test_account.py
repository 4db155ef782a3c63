"""People's pages: sign-in, sign-out, connected applications, and their protections."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, authorize, csrf_of, open_popup, sign_in


def test_login_page_has_the_spec_labels_and_protections(client: TestClient) -> None:
    r = client.get("/account/login")
    assert r.status_code == 200
    assert '<label for="email">Email</label>' in r.text
    assert '<label for="password">Password</label>' in r.text
    assert ">Sign in</button>" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    cookie = r.headers["set-cookie"]
    assert "le_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_wrong_password_is_refused_with_a_clear_message(client: TestClient, world) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": "wrong password"},
    )
    assert r.status_code == 400
    assert "The email or password is not correct." in r.text
    assert "le_session" not in r.headers.get("set-cookie", "")


def test_login_without_csrf_token_is_refused(client: TestClient, world) -> None:
    client.get("/account/login")
    r = client.post("/account/login", data={"email": world.email, "password": PASSWORD})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert "le_session" not in r.headers.get("set-cookie", "")


def test_login_from_another_site_is_refused(client: TestClient, world) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "sent from another site" in r.text


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("/account/apps", "/account/apps"),
        ("/signin/authorize?btnId=x", "/signin/authorize?btnId=x"),
        ("https://evil.example/", "/account/apps"),
        ("//evil.example/", "/account/apps"),
        ("/\\evil.example", "/account/apps"),
        ("javascript:alert(1)", "/account/apps"),
        ("/ok\r\nSet-Cookie: x=1", "/account/apps"),
    ],
    ids=[
        "a path",
        "a path with query",
        "absolute url",
        "scheme-relative",
        "backslash",
        "js url",
        "crlf",
    ],
)
def test_next_accepts_only_same_site_paths(client: TestClient, world, next_url, lands) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={
            "csrf": csrf_of(page.text),
            "email": world.email,
            "password": PASSWORD,
            "next": next_url,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == lands


def test_sign_in_issues_a_fresh_session_and_logout_kills_it(client: TestClient, world) -> None:
    sign_in(client)
    first = client.cookies.get("le_session")
    sign_in(client)
    second = client.cookies.get("le_session")
    assert first and second and first != second
    # The first session id is dead server-side, not merely replaced in this browser.
    stale = TestClient(client.app, base_url=ISSUER, cookies={"le_session": first})
    assert stale.get("/account/apps", follow_redirects=False).status_code == 303
    page = client.get("/account/apps")
    r = client.post("/account/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    replay = TestClient(client.app, base_url=ISSUER, cookies={"le_session": second})
    assert replay.get("/account/apps", follow_redirects=False).status_code == 303


def test_session_cookie_flags(client: TestClient, world) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert "le_session=les_" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_logout_without_csrf_is_refused(client: TestClient, world) -> None:
    sign_in(client)
    r = client.post("/account/logout", data={})
    assert r.status_code == 403
    assert client.get("/account/apps").status_code == 200  # still signed in


def test_connected_apps_lists_and_removes(client: TestClient, world) -> None:
    sign_in(client)
    tokens = authorize(client, world.btn_id)
    page = client.get("/account/apps")
    assert page.status_code == 200
    assert "Acme CRM" in page.text and "Remove access" in page.text
    assert "See your email address" in page.text
    grant_id = world.services.accounts.connected_apps(world.user_id)[0].grant.id
    r = client.post(
        f"/account/apps/{grant_id}/remove",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/apps?removed=1"
    after = client.get(r.headers["location"])
    assert "Access removed." in after.text and "Acme CRM" not in after.text
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": tokens["refreshToken"]}
    )
    assert r.json()["error"] == "invalid_grant"
    assert 'value="allow"' in open_popup(client, world.btn_id).text


def test_remove_access_needs_csrf(client: TestClient, world) -> None:
    sign_in(client)
    authorize(client, world.btn_id)
    grant_id = world.services.accounts.connected_apps(world.user_id)[0].grant.id
    r = client.post(f"/account/apps/{grant_id}/remove", data={"csrf": "forged-token-value-123456"})
    assert r.status_code == 403
    assert len(world.services.accounts.connected_apps(world.user_id)) == 1


def test_cannot_remove_someone_elses_grant(client: TestClient, world) -> None:
    sign_in(client)
    authorize(client, world.btn_id)
    grant_id = world.services.accounts.connected_apps(world.user_id)[0].grant.id
    world.services.accounts.create_user(email="eve@example.com", name="Eve", password=PASSWORD)
    eve = TestClient(client.app, base_url=ISSUER)
    sign_in(eve, "eve@example.com")
    page = eve.get("/account/apps")
    r = eve.post(f"/account/apps/{grant_id}/remove", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 404
    assert len(world.services.accounts.connected_apps(world.user_id)) == 1


def test_apps_page_needs_sign_in(client: TestClient) -> None:
    r = client.get("/account/apps", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/login?next=/account/apps"


def test_consent_allow_without_csrf_is_refused(client: TestClient, world) -> None:
    sign_in(client)
    r = client.post(
        "/signin/authorize",
        data={"btnId": world.btn_id, "origin": "http://127.0.0.1:9000", "state": "s",
              "scopes": "profile email", "decision": "allow"},
    )  # fmt: skip
    assert r.status_code == 403
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_unknown_page_is_a_readable_404(client: TestClient) -> None:
    r = client.get("/nothing-here")
    assert r.status_code == 404 and "Page not found" in r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.fixture
def strict_client(settings, clock):
    strict = settings.with_changes(
        login_limit_per_account="3/15 minutes", login_limit_per_ip="5/15 minutes"
    )
    services = build(strict, clock)
    with TestClient(create_app(services), base_url=ISSUER) as c:
        yield c, services
    services.close()


def attempt(c: TestClient, email: str, password: str) -> object:
    page = c.get("/account/login")
    return c.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": password},
        follow_redirects=False,
    )


def test_brute_force_is_limited_per_account(strict_client) -> None:
    c, services = strict_client
    services.accounts.create_user(email="bf@example.com", name="Bf", password=PASSWORD)
    for _ in range(3):
        assert attempt(c, "bf@example.com", "wrong guess").status_code == 400
    blocked = attempt(c, "bf@example.com", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 900


def test_brute_force_is_limited_per_ip(strict_client) -> None:
    c, _ = strict_client
    for i in range(5):
        assert attempt(c, f"nobody{i}@example.com", "wrong guess").status_code == 400
    assert attempt(c, "another@example.com", "wrong guess").status_code == 429


def test_sign_in_in_the_popup_names_the_application(client: TestClient, world) -> None:
    first = open_popup(client, world.btn_id)
    page = client.get(first.headers["location"])
    assert 'to continue to <strong class="app-name">Acme CRM</strong>' in page.text
    plain = client.get("/account/login")
    assert "Use your LeadExec account." in plain.text
