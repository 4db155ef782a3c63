"""The demo partner site in Chromium: button, popup and result, as a person goes through them."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page

from support.live import ROOT, Site
from support.signin import RESULT_FIELDS

from .popup import decide, events, last_result, log_in, open_popup, sign_in_and_allow

pytestmark = pytest.mark.browser

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FAILED = {"valid": "false", "error": "immediate_failed", "immediate": "true"}

# Counts the SDK's window.open calls, so "no popup" is read from the page, not from an event
# that could still be on its way.
COUNT_OPENS = """
window.__opened = 0;
const realOpen = window.open;
window.open = function () { window.__opened += 1; return realOpen.apply(this, arguments); };
"""

# Layout shifts and the SDK's own performance marks, recorded from the first byte of the page.
OBSERVE = """
window.__shifts = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__shifts.push({value: e.value, at: e.startTime});
}).observe({type: "layout-shift", buffered: true});
"""


def record_timing(page: Page) -> None:
    """Script load to rendered button, from the SDK's performance marks (reported, not
    asserted against a number: timings are not tests)."""
    timing = page.evaluate(
        """() => {
      const m = n => performance.getEntriesByName(n)[0].startTime;
      const js = performance.getEntriesByType("resource").find(r => r.name.endsWith("/button.js"));
      return {scriptRequested: js.startTime, scriptLoaded: js.responseEnd,
              scriptStarted: m("leadexec:start"), buttonDrawn: m("leadexec:drawn"),
              buttonRendered: m("leadexec:rendered")};
    }"""
    )
    # Drawn (clickable, in the markup's look) before its fetched settings are applied.
    assert timing["scriptLoaded"] <= timing["scriptStarted"] <= timing["buttonDrawn"]
    assert timing["buttonDrawn"] <= timing["buttonRendered"]
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "sdk-timing.json").write_text(json.dumps(timing, indent=2))


def test_first_sign_in_calls_authorize_result_with_every_field(
    site: Site, page: Page, shot: object
) -> None:
    email = site.new_user("Dana Browser")
    page.add_init_script(OBSERVE)
    page.goto(site.partner + "/")
    assert events(page, 1) == [FAILED]
    page.wait_for_selector("#leAppButton[data-le-state=ready]")
    assert page.locator("iframe").count() == 0  # the silent check's frame is gone once it answered
    # Rendering moved nothing: the stylesheet gives the button its final size and the page
    # keeps the button's slot (docs/sdk.md); the script only fills in what is laid out.
    assert page.evaluate("window.__shifts") == []
    record_timing(page)
    shot(page.locator("#leAppButton"), "button-demo-page")  # type: ignore[operator]

    sign_in_and_allow(page, email, shot=shot)  # type: ignore[arg-type]

    assert events(page, 2)[1] == {"valid": "true", "error": "", "immediate": "false"}
    result = last_result(page)
    assert RESULT_FIELDS <= result.keys()
    assert result["valid"] is True
    assert result["error"] is None and result["errorMessage"] is None
    assert result["immediate"] is False
    assert (result["appId"], result["btnId"]) == (site.app_a, site.btn_a)
    assert result["scopes"] == ["profile", "email"]
    assert result["refreshToken"].startswith("ler_") and result["authToken"].startswith("lea_")
    assert ISO_Z.match(result["expireDate"])
    assert result["user"]["name"] == "Dana Browser" and result["user"]["email"] == email
    assert set(result["user"]) == {"id", "name", "email"}  # only what profile,email release
    assert page.locator("#success").is_visible()
    assert page.locator("#leAppButton").is_hidden()  # the seed's callback hides it
    # The partner's backend traded the refresh token at /api/token and called /api/v1/me.
    page.locator("#profile").wait_for()
    assert page.inner_text("#user-name") == "Dana Browser"
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, "partner-demo-signed-in", full_page=True)  # type: ignore[operator]


def test_reload_signs_in_silently_and_disconnect_ends_it(
    site: Site, context: BrowserContext, page: Page
) -> None:
    email = site.new_user()
    page.add_init_script(COUNT_OPENS)
    page.goto(site.partner + "/")
    events(page, 1)
    sign_in_and_allow(page, email)
    events(page, 2)

    page.reload()
    assert events(page, 1) == [{"valid": "true", "error": "", "immediate": "true"}]
    assert last_result(page)["immediate"] is True
    page.locator("#profile").wait_for()
    assert page.evaluate("window.__opened") == 0  # signed in again without any window
    assert len(context.pages) == 1

    page.get_by_role("button", name="Disconnect").click()
    page.get_by_text("Disconnected").wait_for()
    assert page.locator("#leAppButton").is_visible()
    page.reload()
    assert events(page, 1) == [FAILED]
    assert page.evaluate("window.__opened") == 0


def test_cancel_gives_access_denied(site: Site, page: Page) -> None:
    email = site.new_user()
    page.goto(site.partner + "/")
    events(page, 1)
    popup = open_popup(page)
    log_in(popup, email)
    decide(popup, "Cancel")
    assert events(page, 2)[1] == {"valid": "false", "error": "access_denied", "immediate": "false"}
    result = last_result(page)
    assert result["refreshToken"] is None and result["authToken"] is None
    assert result["user"] is None
    assert page.locator("#failure").is_visible()
    assert page.inner_text("#failure") == "Failure! You have denied access to your account."


def test_closing_the_popup_gives_popup_closed(
    site: Site, context: BrowserContext, page: Page
) -> None:
    page.add_init_script(COUNT_OPENS)
    page.goto(site.partner + "/")
    events(page, 1)
    popup = open_popup(page)
    # A second click brings the open window forward instead of opening another one.
    page.click("#leAppButton")
    assert page.evaluate("window.__opened") == 1
    assert len(context.pages) == 2
    popup.close()
    assert events(page, 2)[1] == {"valid": "false", "error": "popup_closed", "immediate": "false"}
    assert "popup_closed" in page.inner_text("#notice")


def test_a_refused_popup_gives_popup_blocked(site: Site, context: BrowserContext) -> None:
    # Headless Chromium has no popup blocker; a blocker's refusal is window.open returning null.
    context.add_init_script("window.open = function () { return null; };")
    page = context.new_page()
    page.goto(site.partner + "/")
    events(page, 1)
    page.click("#leAppButton")
    assert events(page, 2)[1] == {"valid": "false", "error": "popup_blocked", "immediate": "false"}
    assert len(context.pages) == 1


def test_without_third_party_cookies_a_click_signs_in_without_a_prompt(
    site: Site, context: BrowserContext, page: Page
) -> None:
    """On localhost the provider (127.0.0.1) is another site: its SameSite=Lax session cookie
    stays out of the hidden iframe, as when a browser blocks third-party cookies."""
    email = site.new_user()
    page.goto(site.partner + "/")
    events(page, 1)
    sign_in_and_allow(page, email)
    events(page, 2)

    page.goto(site.partner_localhost + "/")
    assert events(page, 1) == [FAILED]
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url) if r.is_navigation_request() else None)
    popup = open_popup(page, settle=False)
    assert events(page, 2)[1] == {"valid": "true", "error": "", "immediate": "false"}
    if not popup.is_closed():
        popup.wait_for_event("close")  # it closes itself once it has posted
    assert not [url for url in seen if "/account/login" in url]  # no sign-in form shown
