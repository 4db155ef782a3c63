"""The sign-in with the keyboard alone (focus order, visible focus, Enter and Escape), and on a
phone, where the SDK opens the sign-in in a tab that still answers the page that opened it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from support.live import NO_FEDCM, Site
from support.signin import PASSWORD

from .popup import log_in, open_popup, results

pytestmark = pytest.mark.browser

# What the SDK asked window.open for, on every page of the context.
RECORD_OPEN = """
window.__opened = [];
const realOpen = window.open;
window.open = function (url, name, features) {
  window.__opened.push([String(name), String(features)]);
  return realOpen.apply(this, arguments);
};
"""
FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {tag: e.tagName, id: e.id, text: e.textContent.trim(), value: e.value || '',
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2};
}"""


def tab_until(popup: Page, text: str, limit: int = 15) -> list[str]:
    """Tab through the page until the control named ``text`` has focus; what was passed."""
    passed: list[str] = []
    for _ in range(limit):
        popup.keyboard.press("Tab")
        focused = popup.evaluate(FOCUSED)
        passed.append(focused["text"] or focused["id"])
        if focused["text"] == text:
            assert focused["outline"], f"no visible focus on {text}"
            return passed
    raise AssertionError(f"{text} never got the focus: {passed}")


def test_sign_in_and_allow_with_the_keyboard_alone(site: Site, page: Page) -> None:
    email = site.new_user("Kim Keys")
    page.goto(site.partner + "/t/script-first")
    assert results(page, 1)[0]["error"] == "immediate_failed"
    button = page.get_by_role("button", name="Sign in with LeadExec")  # its name is its text
    expect(button).to_have_count(1)
    button.focus()
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    popup = opened.value
    popup.wait_for_load_state()
    # The email field has the focus; Tab goes to the password; Enter signs in.
    assert popup.evaluate(FOCUSED)["id"] == "email"
    popup.keyboard.type(email)
    popup.keyboard.press("Tab")
    assert popup.evaluate(FOCUSED)["id"] == "password"
    popup.keyboard.type(PASSWORD)
    popup.keyboard.press("Enter")
    popup.get_by_role("button", name="Allow", exact=True).wait_for()
    passed = tab_until(popup, "Allow")
    assert "Cancel" in passed  # the choices in reading order: Cancel, then Allow
    with popup.expect_event("close"):
        popup.keyboard.press("Enter")
    result = results(page, 2)[1]
    assert result["valid"] is True and result["refreshToken"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_escape_on_the_consent_dialog_declines(site: Site, page: Page) -> None:
    email = site.new_user("Esa Escape")
    page.goto(site.partner + "/t/script-first")
    results(page, 1)
    popup = open_popup(page)
    log_in(popup, email)
    popup.get_by_role("button", name="Allow", exact=True).wait_for()
    with popup.expect_event("close"):
        popup.keyboard.press("Escape")
    result = results(page, 2)[1]
    assert (result["valid"], result["error"]) == (False, "access_denied")


def test_escape_on_the_sign_in_window_closes_it(site: Site, page: Page) -> None:
    page.goto(site.partner + "/t/script-first")
    results(page, 1)
    popup = open_popup(page)
    expect(popup.locator("#email")).to_be_focused()
    with popup.expect_event("close"), contextlib.suppress(PlaywrightError):
        popup.keyboard.press("Escape")  # the window may close before the press returns
    assert results(page, 2)[1]["error"] == "popup_closed"


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """Chromium's mobile emulation: a phone's screen, touch and user agent."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        user_agent=(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36"
        ),
    )
    context.set_default_timeout(10_000)
    context.add_init_script(NO_FEDCM)
    context.add_init_script(RECORD_OPEN)
    yield context
    context.close()


def test_on_a_phone_the_sign_in_opens_in_a_tab_and_answers_the_opener(
    site: Site, phone: BrowserContext
) -> None:
    email = site.new_user("Pia Phone")
    page = phone.new_page()
    page.goto(site.partner + "/t/script-first")
    results(page, 1)
    with page.expect_popup() as opened:
        page.tap("#leAppButton")
    tab = opened.value
    tab.wait_for_load_state()
    # A tab, not a sized popup window: no window features at all.
    assert page.evaluate("window.__opened") == [["_blank", ""]]
    for step in ("sign-in", "consent"):
        if step == "consent":
            log_in(tab, email)
            tab.get_by_role("button", name="Allow", exact=True).wait_for()
        overflow = tab.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the {step} page scrolls sideways on a phone"
    with tab.expect_event("close"):
        tab.get_by_role("button", name="Allow", exact=True).tap()
    result = results(page, 2)[1]
    assert result["valid"] is True and result["user"]["name"] == "Pia Phone"
