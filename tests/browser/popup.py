"""Driving the sign-in popup the way a person does: click, sign in, Allow or Cancel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from support.signin import PASSWORD

Shot = Callable[..., Path]


def open_popup(page: Page, selector: str = "#leAppButton", *, settle: bool = True) -> Page:
    """Click the button; ``settle=False`` when the window may answer and close at once."""
    with page.expect_popup() as info:
        page.click(selector)
    popup = info.value
    if settle:
        popup.wait_for_load_state()
    return popup


def log_in(popup: Page, email: str, shot: Shot | None = None) -> None:
    popup.get_by_label("Email").fill(email)
    popup.get_by_label("Password").fill(PASSWORD)
    if shot:
        shot(popup, "signin-form")
    popup.get_by_role("button", name="Sign in", exact=True).click()


def decide(popup: Page, choice: str, shot: Shot | None = None) -> None:
    """Click "Allow" or "Cancel" on the consent dialog; the popup then closes itself."""
    button = popup.get_by_role("button", name=choice, exact=True)
    button.wait_for()
    if shot:
        shot(popup, "consent")
    with popup.expect_event("close"):
        button.click()


def sign_in_and_allow(
    page: Page, email: str, selector: str = "#leAppButton", shot: Shot | None = None
) -> None:
    popup = open_popup(page, selector)
    log_in(popup, email, shot)
    decide(popup, "Allow", shot)


def results(page: Page, count: int) -> list[Any]:
    """The objects the page's callbacks received, once there are ``count`` of them."""
    page.wait_for_function("n => window.__results.length >= n", arg=count)
    found: list[Any] = page.evaluate("window.__results")
    return found


def events(page: Page, count: int) -> list[dict[str, str]]:
    """The demo partner's event log (one entry per AuthorizeResult call)."""
    page.locator("#events li").nth(count - 1).wait_for()
    found: list[dict[str, str]] = page.eval_on_selector_all(
        "#events li",
        "items => items.map(li => ({valid: li.dataset.valid, error: li.dataset.error,"
        " immediate: li.dataset.immediate}))",
    )
    return found


def last_result(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(page.inner_text("#last-result"))
    return found
