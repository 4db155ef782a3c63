"""The partner console in Chromium: a new partner's walk from an empty console to "Success!"
on their own page served from localhost (development mode, no operator involved), then edit,
secret rotation and deletion; the code blocks' contrast and wrapping from computed styles; and
screenshots of every console and operator page at desktop and phone widths."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .conftest import PASSWORD, ROOT, LiveServer, Site
from .popup import decide, open_popup

log = logging.getLogger(__name__)
Shot = Callable[..., Path]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 760}


@pytest.fixture
def partner_site(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A tiny static server on a free loopback port: the partner's own development machine."""
    server = LiveServer()
    server.start(Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))]))
    yield server, tmp_path
    server.stop()


def console_sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.idp + "/developers")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def parse_rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css))


# The text's color and the first opaque background behind it, walking up from the text.
COLORS = """el => {
  const text = getComputedStyle(el).color;
  let node = el;
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    const alpha = bg.startsWith('rgba') ? parseFloat(bg.split(',')[3]) : 1;
    if (bg !== 'transparent' && alpha > 0) return [text, bg];
    node = node.parentElement;
  }
  return [text, 'rgb(255, 255, 255)'];
}"""


def check_code_blocks(page: Page) -> int:
    blocks = page.locator("pre.code code")
    for i in range(blocks.count()):
        code = blocks.nth(i)
        if not code.is_visible():
            continue
        text, background = code.evaluate(COLORS)
        ratio = contrast(parse_rgb(text), parse_rgb(background))
        assert ratio >= 4.5, (text, background, ratio)
        pre = code.locator("xpath=..")
        # Long lines wrap: nothing hides past the block's right edge.
        assert pre.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
        assert pre.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    return blocks.count()


def test_a_new_partner_reaches_success_on_localhost_then_edits_rotates_and_deletes(
    site: Site, page: Page, partner_site: tuple[LiveServer, Path], shot: Shot
) -> None:
    started = time.perf_counter()
    server, folder = partner_site
    origin = f"http://localhost:{server.port}"
    email = site.new_user("Pat Partner")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.idp)

    console_sign_in(page, site, email)
    page.get_by_label("Application name").fill("Pat's CRM")
    page.get_by_label("Allowed JavaScript origins for the sign-in button", exact=False).fill(origin)
    page.get_by_role("button", name="Register application").click()
    expect(page.locator("#app-status")).to_have_text("development mode")
    expect(page.locator("#app-mode")).to_contain_text("the buttons work only for you")

    form = page.locator("#new-button")
    form.get_by_label("Theme").select_option("dark")
    form.get_by_label("Size").select_option("large")
    preview = page.locator("#preview-button")
    expect(preview).to_have_attribute("data-theme", "dark")  # the live preview follows
    expect(preview).to_have_attribute("data-size", "large")
    assert preview.evaluate("e => getComputedStyle(e).height") == "48px"  # the SDK's CSS
    form.get_by_role("button", name="Create button").click()
    expect(page.get_by_text("Button created.")).to_be_visible()
    assert check_code_blocks(page) >= 2

    # Copy the complete page with its Copy button, as a person would.
    page.locator('button.copy[data-copy="complete-page"]').click()
    expect(page.locator('button.copy[data-copy="complete-page"]')).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#complete-page").text_content()
    assert "Success!" in copied and site.idp_host in copied
    (folder / "index.html").write_text(copied)

    partner = page.context.new_page()
    partner.goto(origin + "/")
    button = partner.locator("#leAppButton")
    expect(button).to_have_attribute("data-le-theme", "dark")  # the SDK applied the button
    popup = open_popup(partner)
    expect(popup.locator(".dev-mode")).to_contain_text("Development mode: only you, on localhost.")
    popup.get_by_role("button", name="Allow", exact=True).wait_for()
    shot(popup, "consent-development-mode")
    decide(popup, "Allow")
    expect(partner.locator("#le-result")).to_have_text(
        "Success! You have accepted access to your account."
    )
    shot(partner, "partner-page-success")
    expect(button).to_be_hidden()
    partner.close()

    page.reload()
    page.locator("#edit-name").fill("Pat's CRM v2")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Application saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Pat's CRM v2", exact=True)).to_be_visible()

    page.get_by_role("button", name="Create a secret").click()
    expect(page.locator("#app-secret")).to_be_visible()
    page.get_by_label("When the new secret is made").select_option("1h")
    page.get_by_role("button", name="Replace the secret").click()
    expect(page.get_by_text("The old secret keeps working for 1 hour.")).to_be_visible()

    page.get_by_label("Type the name", exact=False).fill("Pat's CRM v2")
    page.get_by_role("button", name="Delete Pat's CRM v2").click()
    expect(page.get_by_text("Application deleted.")).to_be_visible()
    expect(page.get_by_text("You have not registered an application yet.")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]

    elapsed = time.perf_counter() - started
    log.warning("console walk-through: %.1f s", elapsed)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "console_walkthrough.txt").write_text(f"{elapsed:.1f} s\n")
    assert elapsed < 30


def test_every_console_and_operator_page_at_desktop_and_phone_widths(
    site: Site, page: Page, shot: Shot
) -> None:
    email = site.new_user("Sam Screens")
    # Made at start-up by `serve` and the demo; this suite's server skips that step.
    site.services.registry.ensure_try_it(site.services.settings.issuer_origin)
    console_sign_in(page, site, email)
    page.get_by_label("Application name").fill("Sam's Leads")
    page.get_by_label("Allowed JavaScript origins for the sign-in button", exact=False).fill(
        "http://localhost:3000\nhttps://leads.example.com"
    )
    page.get_by_role("button", name="Register application").click()
    page.locator("#new-button").get_by_role("button", name="Create button").click()
    expect(page.get_by_text("Button created.")).to_be_visible()
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
