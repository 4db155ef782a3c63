"""The partner console as a product, over HTTP: navigation, the complete page to paste,
editing and deleting applications and buttons, secret rotation with a grace period, the usage
chart, the issuer warning, and clear 4xx answers to bad input."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from support.signin import (
    ISSUER,
    PARTNER,
    PASSWORD,
    authorize,
    csrf_of,
    open_popup,
    result_of,
    sign_in,
)

HOST = ISSUER.removeprefix("http://")


def new_app(client: TestClient, *, secret: bool = False, **fields: str) -> tuple[str, str]:
    """Registered from the console's form: (app id, the secret or "")."""
    page = client.get("/developers")
    data = {"csrf": csrf_of(page.text), "name": "Console App", "origins": PARTNER,
            "scopes": ["profile", "email"], **fields}  # fmt: skip
    if secret:
        data["with_secret"] = "on"
    r = client.post("/developers/apps", data=data)
    assert r.status_code == 200, r.text
    app_id = re.search(r"<code>(app_[^<]+)</code>", r.text).group(1)
    found = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text)
    return app_id, found.group(1) if found else ""


def new_button(client: TestClient, app_id: str, **fields: str) -> str:
    page = client.get(f"/developers/apps/{app_id}")
    r = client.post(
        f"/developers/apps/{app_id}/buttons",
        data={"csrf": csrf_of(page.text), "scopes": ["profile"], **fields},
        follow_redirects=False,
    )
    assert r.status_code == 303
    ids = re.findall(r'data-btnId="(btn_[^"]+)"', client.get(r.headers["location"]).text)
    return [i for i in ids if i != "btn_preview"][-1]


def post(client: TestClient, path: str, **data: object):
    page = client.get("/developers")
    return client.post(path, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False)


@pytest.fixture
def partner(client: TestClient, world) -> TestClient:
    sign_in(client)
    return client


def test_every_console_page_has_the_navigation(partner: TestClient) -> None:
    app_id, _ = new_app(partner)
    for path in ("/developers", f"/developers/apps/{app_id}", "/developers/buttons",
                 "/developers/docs", "/developers/try"):  # fmt: skip
        page = partner.get(path)
        assert page.status_code == 200, path
        nav = page.text[page.text.index('<nav class="console-nav"') : page.text.index("</nav>")]
        for link in ('href="/developers"', 'href="/developers/buttons"', 'href="/developers/try"',
                     'href="/developers/docs"', 'action="/account/logout"'):  # fmt: skip
            assert link in nav, (path, link)
        assert 'aria-current="page"' in nav
        assert "<script>" not in page.text  # scripts come from this origin only (CSP)


def test_the_sign_out_in_the_navigation_ends_the_session(partner: TestClient) -> None:
    page = partner.get("/developers")
    r = partner.post(
        "/account/logout",
        data={"csrf": csrf_of(page.text), "next": "/account/login?next=/developers"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/account/login?next=/developers"
    assert partner.get("/developers", follow_redirects=False).status_code == 303


def test_the_complete_page_has_the_ids_the_host_and_the_seed_messages(partner: TestClient) -> None:
    app_id, _ = new_app(partner)
    page = partner.get(f"/developers/apps/{app_id}")
    assert (
        'id="complete-page"' not in page.text and "Create a button on the Buttons tab" in page.text
    )
    btn_id = new_button(partner, app_id, theme="dark", size="large")
    page = partner.get(f"/developers/apps/{app_id}")
    block = re.search(
        r'<pre class="code" id="complete-page" tabindex="0"><code>(.*?)</code></pre>',
        page.text,
        re.S,
    )
    complete = html.unescape(block.group(1))
    assert complete.startswith("<!doctype html>") and complete.rstrip().endswith("</html>")
    assert f"'{HOST}/signin/button.js'" in complete and f"'{HOST}/signin/button.css'" in complete
    # Its size and theme too: the stylesheet draws the final button before the script runs.
    assert (
        f'<button id="leAppButton" data-btnId="{btn_id}" data-size="large" data-theme="dark">'
        in complete
    )
    assert "Success! You have accepted access to your account." in complete
    assert "Failure! You have denied access to your account." in complete
    assert 'data-copy="complete-page"' in page.text
    # The live preview: the button's markup in its theme and size, styled by the SDK's CSS.
    assert '<link rel="stylesheet" href="/signin/button.css">' in page.text
    assert f'data-btnId="{btn_id}" data-theme="dark" data-size="large"' in page.text


def test_a_console_reached_under_another_host_warns(client: TestClient, world) -> None:
    other = TestClient(client.app, base_url="http://127.0.0.1:51427")
    sign_in(other)
    page = other.get("/developers")
    assert 'id="host-warning"' in page.text
    assert "127.0.0.1:51427" in page.text and ISSUER in page.text
    sign_in(client)
    assert 'id="host-warning"' not in client.get("/developers").text


def test_an_application_is_edited(partner: TestClient, world) -> None:
    app_id, _ = new_app(partner, secret=True)
    r = post(partner, f"/developers/apps/{app_id}/edit", name="  Renamed   CRM ",
             logo="https://cdn.example.com/logo.png", origins="http://localhost:3000\nhttps://A.example.com",
             notice="https://crm.example.com/notices", hardened="on")  # fmt: skip
    edited = f"/developers/apps/{app_id}?done=edited#settings"  # back on the Settings tab
    assert (r.status_code, r.headers["location"]) == (303, edited)
    app = world.services.registry.app(app_id)
    assert (app.name, app.logo_url, app.notice_url, app.hardened) == (
        "Renamed CRM",
        "https://cdn.example.com/logo.png",
        "https://crm.example.com/notices",
        True,
    )
    assert app.origins == ("http://localhost:3000", "https://a.example.com")
    assert "Application saved." in partner.get(r.headers["location"]).text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x" * 81}, "1 to 80 characters"),
        ({"name": "x" * 300}, "too long"),
        ({"origins": "https://crm.example.com/path"}, "Not a valid origin"),
        ({"origins": "http://crm.example.com"}, "must use https"),
        ({"logo": "javascript:alert(1)"}, "logo URL must be an http(s) URL"),
        ({"notice": "http://crm.example.com/n"}, "must use https"),
        ({"hardened": "on"}, "Hardened delivery needs an application secret"),
    ],
    ids=["an oversized name", "a name past the field limit", "an origin with a path",
         "plain http off loopback", "a script URL as logo", "a plain http notice URL",
         "hardened delivery without a secret"],
)  # fmt: skip
def test_a_refused_edit_says_why_and_changes_nothing(
    partner: TestClient, world, fields: dict[str, str], message: str
) -> None:
    app_id, _ = new_app(partner)
    before = world.services.registry.app(app_id)
    data = {"name": "Console App", "origins": PARTNER, **fields}
    r = post(partner, f"/developers/apps/{app_id}/edit", **data)
    assert r.status_code == 400 and message in html.unescape(r.text)
    assert world.services.registry.app(app_id) == before


def test_deleting_an_application_ends_its_buttons_and_tokens(partner: TestClient, world) -> None:
    app_id, _ = new_app(partner)
    btn_id = new_button(partner, app_id)
    tokens = authorize(partner, btn_id)  # development mode: the owner, on a loopback origin
    assert tokens["valid"] is True
    r = post(partner, f"/developers/apps/{app_id}/delete", confirm="Not the name")
    assert r.status_code == 400 and "Type the application" in html.unescape(r.text)
    r = post(partner, f"/developers/apps/{app_id}/delete", confirm="Console App")
    assert (r.status_code, r.headers["location"]) == (303, "/developers?done=deleted")
    assert "Application deleted." in partner.get(r.headers["location"]).text
    assert world.services.registry.app(app_id) is None
    assert partner.get(f"/developers/apps/{app_id}").status_code == 404
    assert result_of(open_popup(partner, btn_id).text)["result"]["error"] == "invalid_button"
    r = partner.post("/api/token", data={"appId": app_id, "refreshToken": tokens["refreshToken"]})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_a_button_is_edited_and_deleted(partner: TestClient, world) -> None:
    app_id, _ = new_app(partner)
    btn_id = new_button(partner, app_id)
    path = f"/developers/apps/{app_id}/buttons/{btn_id}"
    r = post(partner, path, scopes=["profile", "email"], theme="dark", size="small", text="Go")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=button_saved#buttons")
    button, _ = world.services.registry.button(btn_id)
    assert (button.theme, button.size, button.text, button.scopes) == (
        "dark",
        "small",
        "Go",
        frozenset({"profile", "email"}),
    )
    r = post(partner, path, scopes=["settings"], theme="dark", size="small", text="Go")
    assert r.status_code == 400 and "not allowed the scopes: settings" in r.text
    r = post(partner, path, scopes=["profile"], theme="neon", size="small", text="Go")
    assert r.status_code == 400 and "Theme must be one of" in r.text
    r = post(partner, path + "/delete")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=button_deleted#buttons")
    assert world.services.registry.button(btn_id) is None
    assert post(partner, path + "/delete").status_code == 404


def test_rotation_keeps_the_old_secret_for_the_chosen_grace(
    partner: TestClient, world, clock
) -> None:
    app_id, old = new_app(partner, secret=True)
    btn_id = new_button(partner, app_id)
    tokens = authorize(partner, btn_id)
    page = partner.get(f"/developers/apps/{app_id}")
    assert 'name="grace"' in page.text and "Keep the old secret working for 24 hours" in page.text
    r = partner.post(
        f"/developers/apps/{app_id}/secret", data={"csrf": csrf_of(page.text), "grace": "1h"}
    )
    assert "The old secret keeps working for 1 hour." in r.text
    new = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    base = {"appId": app_id, "refreshToken": tokens["refreshToken"]}
    assert partner.post("/api/token", data={**base, "appSecret": old}).status_code == 200
    assert partner.post("/api/token", data={**base, "appSecret": new}).status_code == 200
    assert (
        "The previous secret keeps working until" in partner.get(f"/developers/apps/{app_id}").text
    )
    clock.advance(minutes=61)
    assert partner.post("/api/token", data={**base, "appSecret": old}).status_code == 401
    assert partner.post("/api/token", data={**base, "appSecret": new}).status_code == 200
    # "Stop the old secret now": the one it replaces is refused at once.
    r = post(partner, f"/developers/apps/{app_id}/secret", grace="0")
    newest = re.search(r'id="app-secret">(lesk_[^<]+)<', r.text).group(1)
    assert "The old secret stopped working." in r.text
    assert partner.post("/api/token", data={**base, "appSecret": new}).status_code == 401
    assert partner.post("/api/token", data={**base, "appSecret": newest}).status_code == 200
    assert post(partner, f"/developers/apps/{app_id}/secret", grace="forever").status_code == 400


def test_the_usage_chart_counts_sign_ins_exchanges_and_grants(partner: TestClient, world) -> None:
    app_id, _ = new_app(partner)
    btn_id = new_button(partner, app_id)
    page = partner.get(f"/developers/apps/{app_id}")
    assert page.text.count('<svg class="chart"') == 3 and "0 in 30 days" in page.text
    tokens = authorize(partner, btn_id)
    for _ in range(2):
        partner.post("/api/token", data={"appId": app_id, "refreshToken": tokens["refreshToken"]})
    page = partner.get(f"/developers/apps/{app_id}").text
    assert page.count("<rect ") == 90  # 30 days, three panels
    assert re.search(r"<title>\d{4}-\d\d-\d\d: 1 sign-ins</title>", page)
    assert re.search(r"<title>\d{4}-\d\d-\d\d: 2 exchanges</title>", page)
    assert re.search(r"<title>\d{4}-\d\d-\d\d: 1 active grants</title>", page)
    assert "1 today" in page


def test_try_it_offers_the_partners_own_buttons(partner: TestClient) -> None:
    app_id, _ = new_app(partner)
    btn_id = new_button(partner, app_id, size="small")
    page = partner.get("/developers/try")
    assert f'<button type="button" data-btnId="{btn_id}" data-size="small">' in page.text
    assert "origin_not_allowed" in page.text  # this page's origin is not the app's
    assert 'data-btnId="btn_leadexec-try-it-builtin"' in page.text
    listing = partner.get("/developers/buttons")
    assert btn_id in listing.text and 'data-copy="markup-' in listing.text


def test_another_partners_application_and_unknown_ids_are_not_found(
    client: TestClient, world
) -> None:
    sign_in(client)
    app_id, _ = new_app(client)
    btn_id = new_button(client, app_id)
    world.services.accounts.create_user(email="eve@example.com", name="Eve", password=PASSWORD)
    eve = TestClient(client.app, base_url=ISSUER)
    sign_in(eve, "eve@example.com")
    for path, data in [
        (f"/developers/apps/{app_id}/edit", {"name": "Mine", "origins": PARTNER}),
        (f"/developers/apps/{app_id}/delete", {"confirm": "Console App"}),
        (f"/developers/apps/{app_id}/buttons/{btn_id}", {"scopes": "profile"}),
        (f"/developers/apps/{app_id}/buttons/{btn_id}/delete", {}),
        (f"/developers/apps/{app_id}/secret", {"grace": "0"}),
        ("/developers/apps/app_" + "x" * 22 + "/edit", {"name": "X", "origins": PARTNER}),
        ("/developers/apps/%00/delete", {}),
        (f"/developers/apps/{app_id}/buttons/btn_%00/delete", {}),
    ]:
        r = post(eve, path, **data)
        assert r.status_code == 404, path
        assert "Error code: <code>not_found</code>" in r.text
    assert world.services.registry.button(btn_id) is not None
    assert world.services.registry.app(app_id).name == "Console App"
    assert (
        post(client, f"/developers/apps/{app_id}/buttons/btn_{'y' * 22}/delete").status_code == 404
    )


@pytest.mark.parametrize(
    "path",
    ["/edit", "/delete", "/buttons/BTN", "/buttons/BTN/delete", "/secret"],
    ids=["edit", "delete", "edit a button", "delete a button", "rotate the secret"],
)
def test_console_forms_refuse_a_missing_csrf_token(partner: TestClient, world, path: str) -> None:
    app_id, _ = new_app(partner)
    btn_id = new_button(partner, app_id)
    r = partner.post(
        f"/developers/apps/{app_id}{path.replace('BTN', btn_id)}",
        data={"name": "X", "origins": PARTNER, "confirm": "Console App", "scopes": "profile"},
    )
    assert r.status_code == 403
    assert world.services.registry.app(app_id).name == "Console App"
    assert world.services.registry.button(btn_id) is not None
