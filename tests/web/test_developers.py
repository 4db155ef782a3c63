"""The partner console and the operator pages, over HTTP."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, open_popup, sign_in
from leadexec_signin.storage.sql import tables


def register(client: TestClient, **fields: object):
    page = client.get("/developers")
    data = {
        "csrf": csrf_of(page.text),
        "name": "Console App",
        "origins": f"{PARTNER}\n",
        "scopes": ["profile", "email"],
        **fields,
    }
    return client.post("/developers/apps", data=data)


def test_console_needs_sign_in(client: TestClient) -> None:
    r = client.get("/developers", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/login?next=/developers"


def test_a_partner_registers_an_app_and_gets_a_working_button(client: TestClient, world) -> None:
    sign_in(client)
    r = register(client, with_secret="on")
    assert r.status_code == 200
    assert "Application registered." in r.text and "pending" in r.text
    secret = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    app_id = re.search(r"<code>(app_[^<]+)</code>", r.text).group(1)
    snippet = html.unescape(r.text)
    assert f"'{ISSUER.removeprefix('http://')}/signin/button.js'" in snippet
    mine = [a for a in world.services.registry.list_apps() if a.id == app_id]
    assert mine and mine[0].owner_id == world.user_id and mine[0].status == "pending"
    # The secret is shown once: the page never shows it again.
    assert secret not in client.get(f"/developers/apps/{app_id}").text

    page = client.get(f"/developers/apps/{app_id}")
    r = client.post(
        f"/developers/apps/{app_id}/buttons",
        data={"csrf": csrf_of(page.text), "scopes": ["profile"], "theme": "dark", "size": "large",
              "text": "Continue with LeadExec"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Button created." in page.text
    btn_id = re.search(r'data-btnId="(btn_[^"]+)"', page.text.replace("&#34;", '"')).group(1)
    assert open_popup(client, btn_id).status_code == 403  # app_not_approved until approved
    world.services.operator.set_app_status(app_id, "approved")
    tokens = authorize(client, btn_id)
    r = client.post(
        "/api/token",
        data={"appId": app_id, "refreshToken": tokens["refreshToken"], "appSecret": secret},
    )
    assert r.status_code == 200


def test_registration_errors_are_shown_and_nothing_is_created(client: TestClient, world) -> None:
    sign_in(client)
    before = len(world.services.registry.list_apps())
    for fields, message in [
        ({"origins": "https://crm.example.com/login"}, "Not a valid origin"),
        ({"origins": ""}, "Register at least one JavaScript origin."),
        ({"scopes": ["profile", "admin"]}, "Unknown scope: admin."),
        ({"logo": "javascript:alert(1)"}, "logo URL must be an http(s) URL"),
        ({"name": ""}, "application name must have 1 to 80 characters"),
    ]:
        r = register(client, **fields)
        assert r.status_code == 400, fields
        assert message in r.text, (fields, message)
    assert len(world.services.registry.list_apps()) == before


def test_partners_cannot_see_each_others_apps(client: TestClient, world) -> None:
    sign_in(client)
    r = client.get(f"/developers/apps/{world.app_id}")  # created without an owner
    assert r.status_code == 404
    page = client.get("/developers")
    r = client.post(f"/developers/apps/{world.app_id}/secret", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 404


def test_console_forms_need_csrf(client: TestClient, world) -> None:
    sign_in(client)
    r = client.post("/developers/apps", data={"name": "X", "origins": PARTNER, "scopes": "profile"})
    assert r.status_code == 403


def test_origins_can_be_edited(client: TestClient, world) -> None:
    sign_in(client)
    r = register(client)
    app_id = re.search(r"<code>(app_[^<]+)</code>", r.text).group(1)
    r = client.post(
        f"/developers/apps/{app_id}/origins",
        data={
            "csrf": csrf_of(r.text),
            "origins": "https://A.example.com:443\nhttp://localhost:3000",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    app, _ = world.services.console.owned_app(
        app_id, world.services.accounts.sign_in(world.email, PASSWORD, "t")
    )
    assert app.origins == ("https://a.example.com", "http://localhost:3000")


def test_secret_rotation_replaces_the_old_secret(client: TestClient, world) -> None:
    sign_in(client)
    first = register(client, with_secret="on")
    app_id = re.search(r"<code>(app_[^<]+)</code>", first.text).group(1)
    old = re.search(r'id="app-secret">(lesk_[^<]+)<', first.text).group(1)
    r = client.post(f"/developers/apps/{app_id}/secret", data={"csrf": csrf_of(first.text)})
    new = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    assert new != old
    world.services.operator.set_app_status(app_id, "approved")
    btn = world.button("profile", app_id)
    tokens = authorize(client, btn)
    base = {"appId": app_id, "refreshToken": tokens["refreshToken"]}
    assert client.post("/api/token", data={**base, "appSecret": old}).status_code == 401
    assert client.post("/api/token", data={**base, "appSecret": new}).status_code == 200


def test_try_it_page_shows_the_seed_messages(client: TestClient) -> None:
    r = client.get("/developers/try")
    assert r.status_code == 200
    assert "Success! You have accepted access to your account." in r.text
    assert "Failure! You have denied access to your account." in r.text
    assert 'data-btnId="btn_leadexec-try-it-builtin"' in r.text
    assert "frame-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/developers/try").status_code == 200  # made once, reused


def test_admin_pages_are_for_operators_only(client: TestClient, world) -> None:
    sign_in(client)
    assert client.get("/admin").status_code == 404
    operator = world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    op = TestClient(client.app, base_url=ISSUER)
    sign_in(op, "op@example.com")
    app_id, _ = world.app(status="pending", name="Waiting App")
    page = op.get("/admin")
    assert page.status_code == 200 and "Waiting App" in page.text and ">Approve<" in page.text
    r = op.post(
        f"/admin/apps/{app_id}/status",
        data={"csrf": csrf_of(page.text), "action": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        next(a for a in world.services.registry.list_apps() if a.id == app_id).status == "approved"
    )
    # The audit trail says who approved it, and from what.
    a = tables.audit_events
    with world.services.storage.engine.connect() as c:
        details = c.execute(
            select(a.c.detail).where(a.c.event == "app.status", a.c.app_id == app_id)
        ).scalars()
        assert list(details) == [{"status": "approved", "was": "pending", "actor": operator.id}]
    bad = op.post(f"/admin/apps/{app_id}/status", data={"csrf": csrf_of(page.text), "action": "x"})
    assert bad.status_code == 400
    forged = op.post(f"/admin/apps/{app_id}/status", data={"action": "suspend"})
    assert forged.status_code == 403
