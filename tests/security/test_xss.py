"""Cross-site scripting (OWASP ASVS V5.3, RFC 6819 section 4.4.1.7): every string a user, a
partner or a request supplies is escaped on every page that shows it; ``javascript:`` and other
active URLs are refused when an application is registered, so they never reach an attribute."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from support.refusals import refused_page
from support.signin import PARTNER, PASSWORD, csrf_of, decide, open_popup, result_of, sign_in

APP_NAME = "<img src=x onerror=alert(1)>\"'&"
USER_NAME = '<script>alert("u")</script>'
COMPANY = "</script><script>alert(2)</script>"
BUTTON_TEXT = "<svg onload=alert(3)>"
RAW = ("<img src=x", "<script>alert", "<svg onload", "</script><script>")
_RESULT = re.compile(r'<script id="le-result"[^>]*>(.*?)</script>', re.S)


def no_raw_markup(html: str) -> None:
    for needle in RAW:
        assert needle not in html, f"unescaped {needle!r} on the page"
    found = _RESULT.search(html)
    if found:  # the JSON island may never contain "<": it could close the script element
        assert "<" not in found.group(1)


@pytest.fixture
def hostile(client: TestClient, world):
    """A partner (Mallory) whose app name, URLs and button text are markup, and a victim whose
    own name and company are markup too."""
    services = world.services
    mallory = services.accounts.create_user(
        email="mallory@example.com", name="Mallory", password=PASSWORD, operator=True
    )
    app, _ = services.registry.register(
        name=APP_NAME,
        origins=[PARTNER],
        scopes="profile,email,account",
        owner_id=mallory.id,
        logo_url='https://cdn.example.com/x.png?"onerror="alert(4)',
        privacy_url='https://example.com/p?"><script>alert(5)</script>',
        terms_url="https://example.com/t?<b>",
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(
        app_id=app.id, scopes="profile,email,account", text=BUTTON_TEXT
    )
    victim = services.accounts.create_user(
        email="victim@example.com", name=USER_NAME, password=PASSWORD, company=COMPANY
    )
    return {"app": app.id, "btn": button.id, "victim": victim.id}


def test_partner_strings_are_escaped_in_the_consent_dialog(client, hostile) -> None:
    sign_in(client, "victim@example.com")
    r = open_popup(client, hostile["btn"])
    assert r.status_code == 200 and 'value="allow"' in r.text
    no_raw_markup(r.text)
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;" in r.text
    assert 'src="https://cdn.example.com/x.png?&#34;onerror=&#34;alert(4)"' in r.text


def test_user_strings_are_escaped_in_the_result_page(client, hostile) -> None:
    sign_in(client, "victim@example.com")
    consent = open_popup(client, hostile["btn"])
    r = decide(client, consent.text, "allow", hostile["btn"])
    assert r.status_code == 200
    no_raw_markup(r.text)
    user = result_of(r.text)["result"]["user"]
    assert user["name"] == USER_NAME and user["company"] == COMPANY  # data intact, markup inert


@pytest.mark.parametrize(
    "path",
    ["/account/apps", "/developers", "/developers/apps/{app}", "/admin"],
    ids=["connected applications", "partner console", "console app page", "operator page"],
)
def test_partner_strings_are_escaped_on_every_listing(client, hostile, path: str) -> None:
    sign_in(client, "victim@example.com")
    decide(client, open_popup(client, hostile["btn"]).text, "allow", hostile["btn"])
    client.cookies.clear()
    sign_in(client, "victim@example.com" if path == "/account/apps" else "mallory@example.com")
    r = client.get(path.format(app=hostile["app"]))
    assert r.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
    no_raw_markup(r.text)


def test_button_config_is_json_that_cannot_be_sniffed(client, hostile) -> None:
    r = client.get(f"/signin/buttons/{hostile['btn']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["appName"] == APP_NAME and r.json()["text"] == BUTTON_TEXT


STATE = "\"'><script>alert(6)</script>"


def test_state_is_escaped_in_the_form_and_the_result(client, world) -> None:
    sign_in(client)
    r = open_popup(client, world.btn_id, state=STATE)
    assert r.status_code == 200
    no_raw_markup(r.text)
    assert 'name="state" value="&#34;&#39;&gt;&lt;script&gt;alert(6)&lt;/script&gt;"' in r.text
    scopes = re.search(r'name="scopes" value="([^"]*)"', r.text)
    assert scopes
    result = client.post(
        "/signin/authorize",
        data={
            "csrf": csrf_of(r.text),
            "btnId": world.btn_id,
            "origin": PARTNER,
            "state": STATE,
            "scopes": scopes.group(1),
            "decision": "allow",
        },
    )
    assert result.status_code == 200
    no_raw_markup(result.text)
    assert result_of(result.text)["state"] == STATE


def test_markup_in_a_btn_id_is_escaped_in_the_error_result(client, world) -> None:
    r = open_popup(client, "btn_<script>alert(7)</script>")
    assert r.status_code == 400  # invalid_button, still posted to the page
    no_raw_markup(r.text)
    assert result_of(r.text)["result"]["error"] == "invalid_button"


def test_next_is_escaped_on_the_sign_in_page(client) -> None:
    r = client.get("/account/login", params={"next": '/x"><script>alert(8)</script>'})
    assert r.status_code == 200
    no_raw_markup(r.text)
    assert 'value="/x&#34;&gt;&lt;script&gt;alert(8)&lt;/script&gt;"' in r.text


def test_a_typed_email_is_escaped_when_the_form_comes_back(client, world) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": '"><script>alert(9)</script>', "password": "x"},
    )
    assert r.status_code == 400
    no_raw_markup(r.text)


def test_the_operator_notice_only_echoes_known_actions(client, hostile) -> None:
    sign_in(client, "mallory@example.com")
    r = client.get("/admin", params={"done": "Your account is locked. Call +1 555 0100"})
    assert r.status_code == 200
    assert "Call +1 555 0100" not in r.text


ACTIVE_URLS = {
    "javascript:": "javascript:alert(document.cookie)",
    "JavaScript: in mixed case": "JaVaScRiPt:alert(1)",
    "javascript: after whitespace": " \tjavascript:alert(1)",
    "javascript: with a tab inside": "java\tscript:alert(1)",
    "javascript: posing as a host": "javascript://example.com/%0aalert(1)",
    "data:": "data:text/html,<script>alert(1)</script>",
    "vbscript:": "vbscript:msgbox(1)",
    "a scheme-relative URL": "//evil.example/x.png",
    "a relative path": "/x.png",
}


@pytest.fixture
def console(client: TestClient, world):
    sign_in(client)
    html = client.get("/developers").text
    return csrf_of(html)


@pytest.mark.parametrize("url", ACTIVE_URLS.values(), ids=ACTIVE_URLS.keys())
@pytest.mark.parametrize("field", ["logo", "homepage", "privacy", "terms", "notice"])
def test_registration_refuses_active_urls(client, world, console, field: str, url: str) -> None:
    r = client.post(
        "/developers/apps",
        data={
            "csrf": console,
            "name": "Sneaky",
            "origins": PARTNER,
            "scopes": ["profile"],
            field: url,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert "must be an http(s) URL" in r.text
    no_raw_markup(r.text)
    assert [a.name for a in world.services.registry.list_apps()] == ["Acme CRM"]


@pytest.mark.parametrize(
    "origin",
    ["javascript:alert(1)", "http://127.0.0.1:9000/path", "https://evil.example/*", "null"],
    ids=["a javascript: origin", "an origin with a path", "a wildcard", "null"],
)
def test_registration_refuses_non_origins(client, world, console, origin: str) -> None:
    r = client.post(
        "/developers/apps",
        data={"csrf": console, "name": "Sneaky", "origins": origin, "scopes": ["profile"]},
    )
    assert r.status_code == 400 and "Not a valid origin" in r.text
    assert [a.name for a in world.services.registry.list_apps()] == ["Acme CRM"]


def test_a_refused_console_form_is_still_a_page_not_a_500(client, world, console) -> None:
    r = client.post(f"/developers/apps/{'%00'}", data={"csrf": console})
    refused_page(r, 405, "method_not_allowed")
