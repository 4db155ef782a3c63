"""The console and operator pages in Chromium: every page at desktop and phone widths
(screenshots in artifacts/screenshots/), no page scrolling sideways on a phone, the code blocks
readable, and the operator page refusing a partner with a sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.live import Site
from support.signin import PASSWORD

from .console import check_code_blocks, console_sign_in, create_button, register_app

pytestmark = pytest.mark.browser
Shot = Callable[..., Path]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 760}


def test_every_console_and_operator_page_at_desktop_and_phone_widths(
    site: Site, page: Page, shot: Shot
) -> None:
    email = site.new_user("Sam Screens")
    # Made at start-up by `serve` and the demo; this suite's server skips that step.
    site.services.registry.ensure_try_it(site.services.settings.issuer_origin)
    console_sign_in(page, site.idp, email)
    register_app(page, "Sam's Leads", "http://localhost:3000\nhttps://leads.example.com")
    create_button(page)
    app_url = page.url.split("?")[0]
    pages = {
        "console-apps": site.idp + "/developers",
        "console-app": app_url,
        "console-buttons": site.idp + "/developers/buttons",
        "console-docs": site.idp + "/developers/docs",
        "console-try": site.idp + "/developers/try",
    }
    operator = f"op-{email}"
    site.services.accounts.create_user(
        email=operator, name="Olive Operator", password=PASSWORD, operator=True
    )
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for name, url in pages.items():
            page.goto(url)
            expect(page.locator("nav.console-nav")).to_be_visible()
            assert check_code_blocks(page) >= (1 if name in ("console-app", "console-docs") else 0)
            # Nothing wider than the screen: the page never scrolls sideways.
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1"), name
            shot(page, f"{name}-{width}", full_page=True)
            if name == "console-app":  # the first screen, as it opens
                shot(page, f"{name}-{width}-top")
    page.set_viewport_size(DESKTOP)
    page.goto(site.idp + "/admin")
    expect(page.get_by_role("heading", name="This request was refused")).to_be_visible()
    expect(page.get_by_text("is not one")).to_be_visible()
    shot(page, "admin-refused-desktop", full_page=True)

    page.context.clear_cookies()
    page.goto(site.idp + "/admin")
    page.get_by_label("Email").fill(operator)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#pending-queue")).to_contain_text("Sam's Leads")
    expect(page.locator("#pending-queue")).to_contain_text(email)
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(site.idp + "/admin")
        shot(page, f"admin-queue-{width}", full_page=True)
        page.goto(site.idp + "/admin?q=" + email)
        expect(page.locator("#pending-queue")).to_contain_text("Sam's Leads")
        shot(page, f"admin-search-{width}", full_page=True)
        page.goto(site.idp + "/admin/audit")
        shot(page, f"admin-audit-{width}", full_page=True)
