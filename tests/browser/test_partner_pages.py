"""How a partner may put the SDK on a page: two applications, late buttons, a blocking script
tag, the seed's jQuery disconnect; and the button's looks (screenshots)."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
from playwright.sync_api import Page, expect

from leadexec_signin import i18n
from leadexec_signin.core.errors import ImmediateFailed
from leadexec_signin.web.signin.popup import SDK_MESSAGES
from support.live import Site

from .popup import decide, log_in, open_popup, results, sign_in_and_allow

pytestmark = pytest.mark.browser


def ready(page: Page, selector: str) -> None:
    page.wait_for_selector(f"{selector}[data-le-state=ready]")


def test_two_buttons_of_different_apps_on_one_page(site: Site, page: Page) -> None:
    email = site.new_user()
    page.goto(site.partner + "/t/two")
    first = results(page, 2)
    by_who = {who: r for who, r in first}
    assert set(by_who) == {"acme", "beta"}  # each callback once, with its own button's check
    assert by_who["acme"]["btnId"] == site.btn_a and by_who["beta"]["btnId"] == site.btn_b
    assert all(r["error"] == "immediate_failed" for r in by_who.values())
    ready(page, f'[data-btnid="{site.btn_b}"]')
    assert page.get_attribute(f'[data-btnid="{site.btn_b}"]', "data-le-theme") == "dark"
    assert page.get_attribute("#leAppButton", "data-le-theme") == "light"

    popup = open_popup(page, f'[data-btnid="{site.btn_b}"]')
    log_in(popup, email)
    popup.get_by_text("Beta Books wants to access").wait_for()
    decide(popup, "Allow")
    who, result = results(page, 3)[2]
    assert who == "beta"
    assert result["valid"] is True and result["appId"] == site.app_b
    assert result["scopes"] == ["profile"] and set(result["user"]) == {"id", "name"}
    assert len(page.evaluate("window.__results")) == 3  # Acme's callback was not called again


def test_a_button_inserted_after_load_works(site: Site, page: Page) -> None:
    email = site.new_user()
    page.goto(site.partner + "/t/empty")
    page.wait_for_function("window.LeadExec && window.LeadExec.origin")
    assert page.evaluate("window.__results") == []
    page.evaluate(
        """btnId => {
      const b = document.createElement("button");
      b.setAttribute("data-btnId", btnId);
      b.textContent = "Sign in with LeadExec";
      document.getElementById("slot").appendChild(b);
    }""",
        site.btn_a,
    )
    assert results(page, 1)[0]["error"] == "immediate_failed"
    ready(page, "[data-btnid]")
    assert page.get_attribute("[data-btnid]", "type") == "button"
    sign_in_and_allow(page, email, "[data-btnid]")
    result = results(page, 2)[1]
    assert result["valid"] is True and result["appId"] == site.app_a


def test_the_script_included_before_the_markup_works(site: Site, page: Page) -> None:
    page.goto(site.partner + "/t/script-first")
    assert results(page, 1)[0]["error"] == "immediate_failed"
    ready(page, "#leAppButton")
    assert page.evaluate("LeadExec.origin") == site.idp
    popup = open_popup(page)
    assert popup.url.startswith(site.idp + "/account/login?next=%2Fsignin%2Fauthorize")
    popup.close()
    assert results(page, 2)[1]["error"] == "popup_closed"


def test_the_seeds_jquery_disconnect_works_against_api_revoke(site: Site, page: Page) -> None:
    email = site.new_user()
    page.goto(site.partner + "/t/jquery")
    results(page, 1)
    sign_in_and_allow(page, email)
    token = results(page, 2)[1]["refreshToken"]
    page.click("#revokeButton")
    page.wait_for_function("() => window.__revoked.length + window.__revokeErrors.length > 0")
    assert page.evaluate("window.__revokeErrors") == []
    assert page.evaluate("window.__revoked") == [
        {"valid": True, "errorMessage": None, "error": None}
    ]
    # The association is gone: the refresh token no longer buys an access token.
    r = httpx.post(site.idp + "/api/token", data={"appId": site.app_a, "refreshToken": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # LeadExec.disconnect on the same token now reports the refusal in the seed's shape.
    again = page.evaluate("t => LeadExec.disconnect(t)", token)
    assert again["valid"] is False and again["error"] == "invalid_grant"


def test_button_looks_and_keyboard_focus(site: Site, page: Page, shot: object) -> None:
    page.goto(site.partner + "/t/gallery")
    results(page, 1)
    for selector in ("#leAppButton", *(f'[data-btnid="{b}"]' for b in site.buttons.values())):
        ready(page, selector)
    looks = page.eval_on_selector_all(
        "[data-btnid]",
        "els => els.map(e => [e.dataset.leTheme, e.dataset.leSize, e.offsetHeight,"
        " getComputedStyle(e).backgroundColor])",
    )
    assert looks == [
        ["light", "medium", 40, "rgb(255, 255, 255)"],
        ["light", "small", 32, "rgb(255, 255, 255)"],
        ["dark", "medium", 40, "rgb(27, 35, 48)"],
        ["dark", "large", 48, "rgb(27, 35, 48)"],
    ]
    shot(page.locator("#light"), "button-light")  # type: ignore[operator]
    shot(page.locator("#dark"), "button-dark")  # type: ignore[operator]
    # Reachable by keyboard, named by its text alone (the logo is decoration).
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "leAppButton"
    named = page.get_by_role("button", name="Sign in with LeadExec", exact=True)
    assert named.count() == 4
    shot(page.locator("#light"), "button-light-focused")  # type: ignore[operator]
    assert page.errors == []  # type: ignore[attr-defined]


STYLESHEETS = "[...document.querySelectorAll('link')].filter(l => l.href.includes('button.css'))"


def test_the_seeds_markup_alone_is_styled_and_data_lang_picks_the_popups_language(
    site: Site, page: Page
) -> None:
    page.goto(site.partner + "/t/script-only")
    ready(page, "#leAppButton")
    page.wait_for_function(
        "getComputedStyle(document.querySelector('#leAppButton')).borderRadius === '6px'"
    )
    button = page.eval_on_selector(
        "#leAppButton", "e => [e.offsetHeight, getComputedStyle(e).backgroundColor]"
    )
    assert button == [40, "rgb(255, 255, 255)"]
    assert page.evaluate(f"{STYLESHEETS}.length") == 1  # the SDK linked it itself
    popup = open_popup(page)
    assert "hl=fr" in unquote(popup.url)  # carried through the sign-in page to the popup
    assert popup.evaluate("document.documentElement.lang") == "fr"
    assert popup.get_by_role("button", name="Se connecter", exact=True).is_visible()
    popup.close()
    # The SDK's own words follow data-lang too: the default button text and the messages of
    # its error results; the codes stay the same in every language.
    with i18n.using("fr"):
        french = {k: i18n.gettext(v) for k, v in SDK_MESSAGES.items()}
        label = i18n.gettext("Sign in with LeadExec")
        not_yet = i18n.gettext(ImmediateFailed.description)  # the silent check's, from us
    assert label != "Sign in with LeadExec"
    expect(page.locator("#leAppButton")).to_have_text(label)
    expect(page.get_by_role("button", name=label)).to_have_count(1)  # its accessible name
    checked, closed = results(page, 2)
    assert (checked["error"], checked["errorMessage"]) == ("immediate_failed", not_yet)
    assert not_yet != ImmediateFailed.description
    assert (closed["error"], closed["errorMessage"]) == ("popup_closed", french["popup_closed"])
    assert french["popup_closed"] != SDK_MESSAGES["popup_closed"]

    # The seed's full snippet links the stylesheet itself: the SDK adds no second one.
    page.goto(site.partner + "/t/gallery")
    ready(page, "#leAppButton")
    assert page.evaluate(f"{STYLESHEETS}.length") == 1
