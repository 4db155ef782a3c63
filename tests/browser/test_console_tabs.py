"""The application's console page in tabs (Overview, Buttons, Settings, OAuth, Secret, Usage,
Danger zone): each fits a desktop screen, a phone scrolls only down, the Copy buttons still
copy, a form's answer opens on its own tab, and the page reads well to axe."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from support.axe import BLOCKING, axe_violations
from support.live import SCREENSHOTS, Site

from .console import console_sign_in, create_button, register_app

pytestmark = pytest.mark.browser
Shot = Callable[..., Path]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TABS = ["overview", "buttons", "settings", "oauth", "secret", "usage", "delete"]


def height(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def open_app(page: Page, site: Site) -> str:
    console_sign_in(page, site.idp, site.new_user("Tia Tabs"))
    register_app(page, "Tia's Leads", "http://localhost:3000\nhttps://leads.example.com")
    create_button(page)
    return page.url.split("?")[0].split("#")[0]


def test_each_tab_fits_a_desktop_screen_and_a_phone_scrolls_only_down(
    site: Site, page: Page, shot: Shot
) -> None:
    app_url = open_app(page, site)
    heights: dict[str, dict[str, int]] = {}
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for tab in TABS:
            page.goto(f"{app_url}#{tab}")
            panel = page.locator(f"section.tab-panel#{tab}")
            expect(panel).to_be_visible()
            # The other tabs' panels are hidden, and the tab names the one shown.
            assert page.locator("section.tab-panel:visible").count() == 1
            current = page.locator(".app-tabs a[aria-current='true']")
            assert current.get_attribute("href") == f"#{tab}"
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
            heights.setdefault(width, {})[tab] = height(page)
            shot(page, f"console-app-tab-{tab}-{width}", full_page=True)
    (SCREENSHOTS / "console-app-tab-heights.json").write_text(json.dumps(heights, indent=1))
    # A desktop screen is 800 px high: every tab fits on it.
    assert max(heights["desktop"].values()) <= DESKTOP["height"], heights


def test_the_tabs_move_with_a_click_and_the_back_button_and_copy_still_copies(
    site: Site, page: Page
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    app_url = open_app(page, site)
    page.goto(app_url)
    expect(page.locator("section#overview")).to_be_visible()
    expect(page.locator("section#oauth")).to_be_hidden()
    page.locator(".app-tabs").get_by_role("link", name="OAuth").click()
    expect(page.locator("section#oauth")).to_be_visible()
    expect(page.locator("section#overview")).to_be_hidden()
    expect(page.get_by_role("button", name="Save OAuth settings")).to_be_visible()
    page.go_back()
    expect(page.locator("section#overview")).to_be_visible()
    copy = page.locator("section#overview").get_by_role("button", name="Copy the complete page")
    copy.click()
    expect(copy).to_have_text("Copied")
    pasted = page.evaluate("navigator.clipboard.readText()")
    assert pasted.startswith("<!doctype html>") and "data-btnid" in pasted.lower()


def test_a_form_answers_on_its_own_tab(site: Site, page: Page) -> None:
    app_url = open_app(page, site)
    assert page.url.endswith("#buttons")  # the button was created on the Buttons tab
    expect(page.locator("section#buttons")).to_be_visible()
    page.goto(f"{app_url}#settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Application saved.")).to_be_visible()
    expect(page.locator("section#settings")).to_be_visible()
    # A refused form comes back on its tab, with the refusal above the tabs.
    page.goto(f"{app_url}#oauth")
    page.locator("#redirect_uris").fill("http://crm.example.com/callback")
    page.get_by_role("button", name="Save OAuth settings").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("section#oauth")).to_be_visible()
    expect(page.locator("section#overview")).to_be_hidden()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["on a desktop", "on a phone"])
def test_every_tab_passes_axe(
    site: Site,
    browser: Browser,
    axe_url: str,
    size: dict[str, int],
) -> None:
    phone = size == PHONE
    # As the accessibility suite audits: its contexts bypass the page's script policy only so
    # that axe itself can be injected.
    context = browser.new_context(viewport=size, bypass_csp=True, is_mobile=phone, has_touch=phone)
    try:
        page = context.new_page()
        app_url = open_app(page, site)
        problems = {}
        for tab in TABS:
            page.goto(f"{app_url}#{tab}")
            expect(page.locator(f"section#{tab}")).to_be_visible()
            blocking = [v for v in axe_violations(page, axe_url) if v["impact"] in BLOCKING]
            if blocking:
                problems[tab] = blocking
        assert problems == {}
    finally:
        context.close()


def test_a_first_secret_says_what_it_changes_before_and_after(site: Site, page: Page) -> None:
    app_url = open_app(page, site)
    page.goto(f"{app_url}#secret")
    effect = page.locator("#secret-effect")
    expect(effect).to_contain_text("Creating a secret makes it required at once: /api/token")
    expect(effect).to_contain_text("the OAuth client becomes confidential (client_secret_basic)")
    page.get_by_role("button", name="Create a secret").click()
    notice = page.get_by_role("status").filter(has_text="Secret created.")
    expect(notice).to_have_text(
        "Secret created. From now on /api/token requires it with every exchange, and the "
        "OAuth client is confidential (client_secret_basic)."
    )
    expect(page.get_by_text("The old secret stopped working")).to_have_count(0)  # there was none
    expect(page.locator("section#secret")).to_be_visible()
    expect(page.locator("#secret-effect")).to_have_count(0)
    # A real rotation, without a grace, says the old one stopped: there was one.
    page.get_by_label("When the new secret is made").select_option("0")
    page.get_by_role("button", name="Replace the secret").click()
    expect(page.get_by_text("New secret created. The old secret stopped working.")).to_be_visible()


def test_after_registering_back_and_reload_work(site: Site, page: Page) -> None:
    console_sign_in(page, site.idp, site.new_user("Rob Redirect"))
    register_app(page, "Rob's Leads", "http://localhost:3000")
    expect(page.get_by_text("Application registered.")).to_be_visible()
    assert "/developers/apps/app_" in page.url and "done=registered" in page.url
    page.reload()  # a GET: nothing is posted again
    expect(page.get_by_role("heading", name="Rob's Leads")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()
    assert page.url == site.idp + "/developers"
    assert page.locator("li, tr").filter(has_text="Rob's Leads").count() == 1  # registered once
