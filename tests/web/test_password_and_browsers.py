"""The security page's password change (the current password is required; every other
browser is signed out; the owner is told by mail) and its list of signed-in browsers (device,
IP, when; sign one out, or every one but this)."""

from __future__ import annotations

from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.actions.browsers import device
from leadexec_signin.core.actions.sessions import public_sid
from support.signin import PASSWORD, csrf_of, sign_in

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def test_a_password_change_needs_the_current_one_and_ends_every_other_session(
    client: TestClient, services: Services
) -> None:
    user = services.accounts.create_user(email="pw@example.com", name="P", password=PASSWORD)
    other = services.sessions.start(user, ("pwd",), "203.0.113.9", CHROME_WINDOWS)
    sign_in(client, "pw@example.com")
    page = client.get("/account/security")
    assert "Chrome / Windows" in page.text and "203.0.113.9" in page.text
    csrf = csrf_of(page.text)
    wrong = client.post(
        "/account/security/password",
        data={"csrf": csrf, "current_password": "not it at all", "new_password": "a new one 123"},
    )
    assert wrong.status_code == 400
    r = client.post(
        "/account/security/password",
        data={"csrf": csrf, "current_password": PASSWORD, "new_password": "a new one 123"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert services.sessions.user(other) is None  # the other browser is signed out
    assert client.get("/account/security").status_code == 200  # this one is not
    client.cookies.clear()
    sign_in(client, "pw@example.com", "a new one 123")


def test_a_browser_can_be_signed_out_from_the_list_or_all_but_this_one(
    client: TestClient, services: Services
) -> None:
    user = services.accounts.create_user(email="br@example.com", name="B", password=PASSWORD)
    first = services.sessions.start(user, ("pwd",), "198.51.100.1", CHROME_WINDOWS)
    second = services.sessions.start(user, ("pwd",), "198.51.100.2", "curl/8")
    sign_in(client, "br@example.com")
    found = services.sessions.current(first)
    assert found is not None
    page = client.get("/account/security")
    r = client.post(
        f"/account/security/sessions/{public_sid(found[0])}/end",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and services.sessions.user(first) is None
    assert services.sessions.user(second) is not None
    r = client.post(
        "/account/security/sessions/others/end",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and services.sessions.user(second) is None
    assert client.get("/account/security").status_code == 200


def test_a_device_is_named_from_its_user_agent() -> None:
    assert device(CHROME_WINDOWS) == "Chrome / Windows"
    assert device("") == "?"
