"""CSRF on every state-changing form, login CSRF, session fixation and logout (OWASP ASVS
V3 session management and V4.2.2, RFC 6819 section 4.4.1.8, RFC 9700 section 4.7)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.storage.sql import tables
from support.refusals import refused_page
from support.signin import PARTNER, PASSWORD, csrf_of, decide, open_popup, result_of, sign_in

EVIL = "http://127.0.0.1.evil:9000"


@dataclass
class Form:
    """One state-changing form: how to reach it, what it posts, how to see it did nothing."""

    open: Callable[[TestClient, object], tuple[str, dict[str, str]]]
    untouched: Callable[[TestClient, object], None]


def _login_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    html = client.get("/account/login").text
    return "/account/login", {
        "csrf": csrf_of(html),
        "email": "ann@example.com",
        "password": PASSWORD,
        "next": "/account/apps",
    }


def _not_signed_in(client: TestClient, world) -> None:
    assert "le_session" not in client.cookies
    assert client.get("/account/apps", follow_redirects=False).status_code == 303


def _logout_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    sign_in(client)
    html = client.get("/account/logout").text
    return "/account/logout", {"csrf": csrf_of(html), "next": "/account/login"}


def _still_signed_in(client: TestClient, world) -> None:
    assert client.get("/account/apps", follow_redirects=False).status_code == 200


def _remove_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    sign_in(client)
    consent = open_popup(client, world.btn_id)
    decide(client, consent.text, "allow", world.btn_id)  # type: ignore[attr-defined]
    html = client.get("/account/apps").text
    action = re.search(r'action="(/account/apps/[^"]+/remove)"', html)
    assert action
    return action.group(1), {"csrf": csrf_of(html)}


def _still_connected(client: TestClient, world) -> None:
    assert len(world.services.accounts.connected_apps(world.user_id)) == 1


def _decision_form(decision: str) -> Callable[[TestClient, object], tuple[str, dict[str, str]]]:
    def open_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
        sign_in(client)
        html = open_popup(client, world.btn_id).text  # type: ignore[attr-defined]
        scopes = re.search(r'name="scopes" value="([^"]*)"', html)
        assert scopes
        return "/signin/authorize", {
            "csrf": csrf_of(html),
            "btnId": world.btn_id,
            "origin": PARTNER,
            "state": "s",
            "scopes": scopes.group(1),
            "decision": decision,
        }

    return open_form


def _no_grant(client: TestClient, world) -> None:
    assert world.services.accounts.connected_apps(world.user_id) == []


# -- the self-service account forms (web/account/recovery.py) -------------------------------


class _Captured:
    """Stands in for the mailer: the links the forms under attack would spend."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


def _mailed_link(world, ask: Callable[[], None]) -> str:
    captured = _Captured()
    world.services.recovery.mailer = world.services.email_change.mailer = captured
    ask()
    found = re.search(r"/account/[a-z/]+\?token=\S+", captured.sent[-1].text)  # type: ignore[attr-defined]
    assert found
    return found.group(0)


def _link_form(client: TestClient, link: str, extra: dict[str, str]) -> tuple[str, dict[str, str]]:
    html = client.get(link).text
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token
    return link.split("?")[0], {"csrf": csrf_of(html), "token": token.group(1), **extra}


def _signup_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    html = client.get("/account/signup").text
    return "/account/signup", {
        "csrf": csrf_of(html),
        "name": "Mallory",
        "email": "planted@example.com",
        "password": PASSWORD,
    }


def _no_new_account(client: TestClient, world) -> None:
    with world.services.storage.transaction() as tx:
        assert tx.user_by_email("planted@example.com") is None


def _forgot_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    html = client.get("/account/forgot").text
    return "/account/forgot", {"csrf": csrf_of(html), "email": world.email}


def _no_link_sent(client: TestClient, world) -> None:
    with world.services.storage.engine.connect() as c:
        assert c.execute(select(tables.account_tokens)).all() == []


def _verify_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    link = _mailed_link(
        world,
        lambda: world.services.recovery.sign_up(
            email="new@example.com", name="New", password=PASSWORD, ip="1"
        ),
    )
    return _link_form(client, link, {})


def _still_unverified(client: TestClient, world) -> None:
    with world.services.storage.transaction() as tx:
        user = tx.user_by_email("new@example.com")
    assert user is not None and user.email_verified_at is None


def _reset_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    link = _mailed_link(
        world, lambda: world.services.recovery.request_reset(email=world.email, ip="1")
    )
    return _link_form(client, link, {"password": "attacker's choice"})


def _password_unchanged(client: TestClient, world) -> None:
    assert world.services.accounts.sign_in(world.email, PASSWORD, "1").id == world.user_id


def _email_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    sign_in(client)
    html = client.get("/account/email").text
    return "/account/email", {
        "csrf": csrf_of(html),
        "new_email": "attacker@example.com",
        "password": PASSWORD,
    }


def _email_confirm_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    user = _ann(world)
    link = _mailed_link(
        world,
        lambda: world.services.email_change.request_email_change(
            user, new_email="moved@example.com", password=PASSWORD, ip="1"
        ),
    )
    return _link_form(client, link, {})


def _ann(world):
    with world.services.storage.transaction() as tx:
        return tx.user_by_id(world.user_id)


def _email_unchanged(client: TestClient, world) -> None:
    assert _ann(world).email == world.email


# -- the partner console and the operators' page -------------------------------------------


def _ann_app(world) -> tuple[str, str]:
    """Ann's own application (pending, with a secret) and its button."""
    app, _ = world.services.registry.register(
        name="Ann's CRM", origins=[PARTNER], scopes="profile,email", with_secret=True,
        owner_id=world.user_id,
    )  # fmt: skip
    return app.id, world.services.registry.create_button(app_id=app.id, scopes="profile").id


def _console_form(
    path: str, page: str = "/developers/apps/{app}", **fields: object
) -> Callable[[TestClient, object], tuple[str, dict[str, str]]]:
    def open_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
        sign_in(client)
        app_id, btn_id = _ann_app(world)
        world.console_ids = (app_id, btn_id)
        html = client.get(page.format(app=app_id)).text
        action = path.format(app=app_id, btn=btn_id)
        assert f'action="{action}"' in html, action  # the page really has this form
        return action, {"csrf": csrf_of(html), **fields}  # type: ignore[dict-item]

    return open_form


def _console_untouched(client: TestClient, world) -> None:
    app_id, btn_id = world.console_ids
    with world.services.storage.transaction() as tx:
        app = tx.app_by_id(app_id)
        button = tx.button_by_id(btn_id)
        apps = tx.apps_for_owner(world.user_id)
        buttons = tx.buttons_for_app(app_id)
    assert app is not None and app.name == "Ann's CRM" and app.origins == (PARTNER,)
    assert app.previous_secret_hash is None and app.secret_hash == world.console_secret_hash
    assert button is not None and button.theme == "light" and button.text == "Sign in with LeadExec"
    assert [a.id for a in apps] == [app_id]  # nothing registered either
    assert [b.id for b in buttons] == [btn_id]  # nor a button created


def _remember_secret(opener):
    def open_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
        found = opener(client, world)
        world.console_secret_hash = world.services.registry.app(world.console_ids[0]).secret_hash
        return found

    return open_form


def _register_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    action, data = _console_form("/developers/apps", "/developers")(client, world)
    return action, {**data, "name": "Planted", "origins": PARTNER, "scopes": "profile"}


def _status_form(client: TestClient, world) -> tuple[str, dict[str, str]]:
    world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    app_id, btn_id = _ann_app(world)
    world.console_ids = (app_id, btn_id)
    sign_in(client, "op@example.com")
    html = client.get("/admin").text
    assert f'action="/admin/apps/{app_id}/status"' in html
    return f"/admin/apps/{app_id}/status", {"csrf": csrf_of(html), "action": "approve"}


def _still_pending(client: TestClient, world) -> None:
    assert world.services.registry.app(world.console_ids[0]).status == "pending"


CONSOLE_FORMS = {
    "register an application": _register_form,
    "edit an application": _console_form(
        "/developers/apps/{app}/edit", name="Renamed", origins="https://evil.example"
    ),
    "delete an application": _console_form("/developers/apps/{app}/delete", confirm="Ann's CRM"),
    "create a button": _console_form("/developers/apps/{app}/buttons", scopes="profile"),
    "edit a button": _console_form(
        "/developers/apps/{app}/buttons/{btn}", scopes="profile", theme="dark", text="Mine"
    ),
    "delete a button": _console_form("/developers/apps/{app}/buttons/{btn}/delete"),
    "rotate the secret": _console_form("/developers/apps/{app}/secret", grace="7d"),
}


FORMS = {
    **{
        name: Form(_remember_secret(opener), _console_untouched)
        for name, opener in CONSOLE_FORMS.items()
    },
    "approve an application": Form(_status_form, _still_pending),
    "sign-in": Form(_login_form, _not_signed_in),
    "sign-out": Form(_logout_form, _still_signed_in),
    "remove access": Form(_remove_form, _still_connected),
    "consent Allow": Form(_decision_form("allow"), _no_grant),
    "consent Cancel": Form(_decision_form("cancel"), _no_grant),
    "sign-up": Form(_signup_form, _no_new_account),
    "forgot password": Form(_forgot_form, _no_link_sent),
    "confirm the address": Form(_verify_form, _still_unverified),
    "reset password": Form(_reset_form, _password_unchanged),
    "change email": Form(_email_form, _no_link_sent),
    "confirm the new email": Form(_email_confirm_form, _email_unchanged),
}


def _drop_field(client: TestClient, data: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in data.items() if k != "csrf"}


def _wrong_value(client: TestClient, data: dict[str, str]) -> dict[str, str]:
    return {**data, "csrf": "A" * 43}


def _no_cookie(client: TestClient, data: dict[str, str]) -> dict[str, str]:
    # The attacker knows a valid-looking token (their own) but the victim's browser holds
    # another cookie, or none: double submit fails.
    client.cookies.delete("le_csrf")
    return data


def _oversized(client: TestClient, data: dict[str, str]) -> dict[str, str]:
    return {**data, "csrf": data["csrf"] * 4}


ATTACKS: dict[str, tuple[Callable[[TestClient, dict[str, str]], dict[str, str]], str | None]] = {
    "without the token": (_drop_field, None),
    "with a made-up token": (_wrong_value, None),
    "without the token's cookie": (_no_cookie, None),
    "with an over-long token": (_oversized, None),
    "with the right token from another site": (lambda c, d: d, EVIL),
    "with the right token from an opaque origin": (lambda c, d: d, "null"),
}


@pytest.mark.parametrize("form_name", FORMS.keys())
@pytest.mark.parametrize("attack_name", ATTACKS.keys())
def test_forged_form_posts_are_refused_and_change_nothing(
    client: TestClient, world, form_name: str, attack_name: str
) -> None:
    form = FORMS[form_name]
    mutate, origin = ATTACKS[attack_name]
    action, data = form.open(client, world)
    if form_name == "sign-in":
        client.cookies.delete("le_session")
    data = mutate(client, data)
    headers = {"Origin": origin} if origin else {}
    r = client.post(action, data=data, headers=headers, follow_redirects=False)
    refused_page(r, 403, "invalid_request")
    assert "set-cookie" not in r.headers or "le_session" not in r.headers["set-cookie"]
    form.untouched(client, world)


def test_a_state_change_is_never_a_get(client: TestClient, world) -> None:
    sign_in(client)
    # A link (or an <img>) carrying decision=allow shows the dialog; it never grants.
    r = client.get(
        "/signin/authorize",
        params={"btnId": world.btn_id, "origin": PARTNER, "state": "s", "decision": "allow"},
    )
    assert r.status_code == 200 and 'value="allow"' in r.text
    assert world.services.accounts.connected_apps(world.user_id) == []
    removal = client.get("/account/apps/grt_whatever/remove")
    refused_page(removal, 405, "method_not_allowed")
    logout = client.get("/account/logout")
    assert logout.status_code == 200  # a confirmation page: GET does not sign out
    assert client.get("/account/apps", follow_redirects=False).status_code == 200


def test_login_csrf_cannot_sign_the_victim_into_the_attackers_account(
    client: TestClient, world
) -> None:
    """The attacker knows their own password and their own CSRF token, never the victim's."""
    world.services.accounts.create_user(
        email="mallory@example.com", name="Mallory", password=PASSWORD
    )
    with TestClient(client.app, base_url=str(client.base_url)) as attacker:
        attacker_token = csrf_of(attacker.get("/account/login").text)
    client.get("/account/login")  # the victim has their own CSRF cookie
    r = client.post(
        "/account/login",
        data={"csrf": attacker_token, "email": "mallory@example.com", "password": PASSWORD},
        headers={"Origin": EVIL},
        follow_redirects=False,
    )
    refused_page(r, 403, "invalid_request")
    r = client.post(
        "/account/login",
        data={"csrf": attacker_token, "email": "mallory@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    refused_page(r, 403, "invalid_request")
    assert "le_session" not in client.cookies


@pytest.mark.parametrize(
    "planted",
    ["attacker", "made-up"],
    ids=["an attacker's own live session id", "a made-up session id"],
)
def test_signing_in_never_promotes_a_planted_session_id(
    client: TestClient, world, planted: str
) -> None:
    if planted == "attacker":
        world.services.accounts.create_user(email="eve@example.com", name="Eve", password=PASSWORD)
        sign_in(client, "eve@example.com")
        fixed = client.cookies["le_session"]
    else:
        fixed = "les_" + "F" * 43
        client.cookies.set("le_session", fixed, domain="127.0.0.1", path="/")
    sign_in(client)
    fresh = client.cookies["le_session"]
    assert fresh != fixed
    # The planted id is dead: whoever holds it is signed in as nobody.
    with TestClient(client.app, base_url=str(client.base_url)) as holder:
        holder.cookies.set("le_session", fixed)
        assert holder.get("/account/apps", follow_redirects=False).status_code == 303


def test_logout_kills_the_session_on_the_server(client: TestClient, world, granted) -> None:
    stolen = client.cookies["le_session"]
    html = client.get("/account/logout").text
    r = client.post("/account/logout", data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert r.status_code == 303
    with TestClient(client.app, base_url=str(client.base_url)) as thief:
        thief.cookies.set("le_session", stolen)
        assert thief.get("/account/apps", follow_redirects=False).status_code == 303
        silent = thief.get(
            "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
        )
        assert result_of(silent.text)["result"]["error"] == "immediate_failed"
        popup = open_popup(thief, world.btn_id)
        assert popup.status_code == 303 and "/account/login" in popup.headers["location"]


def test_a_session_ends_after_its_idle_lifetime(client: TestClient, world, clock) -> None:
    sign_in(client)
    assert client.get("/account/apps", follow_redirects=False).status_code == 200
    clock.advance(seconds=14 * 24 * 3600 + 1)
    assert client.get("/account/apps", follow_redirects=False).status_code == 303
