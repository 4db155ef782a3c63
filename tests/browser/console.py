"""What the console's browser tests share: a partner's own static site on a loopback port,
signing in to the console, and the code blocks' contrast and wrapping read from computed styles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from support.live import LiveServer
from support.signin import PASSWORD


@contextmanager
def static_site(folder: Path) -> Iterator[LiveServer]:
    """A tiny static server on a free loopback port: the partner's own development machine."""
    server = LiveServer()
    server.start(Starlette(routes=[Mount("/", StaticFiles(directory=folder, html=True))]))
    try:
        yield server
    finally:
        server.stop()


def console_sign_in(page: Page, idp: str, email: str) -> None:
    page.goto(idp + "/developers")
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


def register_app(page: Page, name: str, origins: str) -> None:
    """The console's registration form, filled and sent (the partner is signed in)."""
    page.get_by_label("Application name").fill(name)
    page.get_by_label("Allowed JavaScript origins for the sign-in button", exact=False).fill(
        origins
    )
    page.get_by_role("button", name="Register application").click()


def open_tab(page: Page, name: str) -> None:
    """One of the application page's tabs (Overview, Buttons, Settings, OAuth, ...)."""
    page.locator("nav.app-tabs").get_by_role("link", name=name, exact=True).click()


def create_button(page: Page) -> None:
    """The new-button form as it stands, sent, from the application's Buttons tab."""
    open_tab(page, "Buttons")
    form = page.locator("details.new-button")
    if form.get_attribute("open") is None:  # folded once the application has a button
        form.locator("summary").click()
    page.locator("#new-button").get_by_role("button", name="Create button").click()
    expect(page.get_by_text("Button created.")).to_be_visible()
