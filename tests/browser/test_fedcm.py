"""FedCM in Chromium through the DevTools protocol, cross-site (partner on ``localhost``,
provider on ``127.0.0.1``) with third-party cookies blocked, in a persistent profile (where
Chromium re-authenticates a returning account by itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, Playwright

from .conftest import CHROMIUM, CHROMIUM_ARGS, NO_FEDCM, PASSWORD, Site

# The partner page's own recorder sets window.__results; each push is timed from the SDK's
# start mark (Performance API, as bench/sdk_draw.py reads it).
CALLBACK_MARK = """
Object.defineProperty(window, "__results", { configurable: true,
  get: function () { return this.__r; },
  set: function (v) {
    v.push = function (r) {
      var s = performance.getEntriesByName("leadexec:start")[0];
      r.__ms = performance.now() - (s ? s.startTime : 0);
      return Array.prototype.push.call(this, r);
    };
    this.__r = v;
  } });
"""


@pytest.fixture
def profile(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


class Dialogs:
    """FedCm.enable on a page; every dialog is recorded and answered as the test says."""

    def __init__(self, cdp: CDPSession, choose: bool) -> None:
        self.shown: list[str] = []
        self.cdp = cdp
        self.choose = choose
        cdp.send("FedCm.enable", {"disableRejectionDelay": True})
        cdp.on("FedCm.dialogShown", self.answer)

    def answer(self, event: dict[str, Any]) -> None:
        self.shown.append(event["dialogType"])
        if event["dialogType"] == "AccountChooser" and self.choose:
            self.cdp.send("FedCm.selectAccount", {"dialogId": event["dialogId"], "accountIndex": 0})


def log_in_at_provider(page: Page, site: Site, email: str) -> None:
    page.goto(f"{site.idp}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/account/apps")


def partner_page(site: Site) -> str:
    return f"{site.partner_localhost}/t/script-first"


def first_result(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.__results.length >= 1", timeout=15_000)
    return page.evaluate("() => window.__results[0]")  # type: ignore[no-any-return]


def test_a_returning_cross_site_user_is_recognised_without_a_prompt(
    site: Site, profile: BrowserContext, shot: Callable[..., Path]
) -> None:
    email = site.new_user("Fay Fedcm")
    page = profile.new_page()
    log_in_at_provider(page, site, email)
    page.add_init_script(CALLBACK_MARK)

    # Before: without FedCM, the cross-site silent check cannot see the session.
    before = profile.new_page()
    before.add_init_script(NO_FEDCM)
    before.add_init_script(CALLBACK_MARK)
    before.goto(partner_page(site))
    old = first_result(before)
    assert (old["valid"], old["error"], old["via"]) == (False, "immediate_failed", "iframe")
    before.close()

    # First visit with FedCM: the account chooser, the disclosure is the consent.
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    first = first_result(page)
    assert (first["valid"], first["via"], first["scopes"]) == (True, "fedcm", ["profile", "email"])
    assert first["user"]["email"] == email
    assert dialogs.shown == ["AccountChooser"]
    shot(page, "fedcm-first-sign-in")

    # Reload: recognised by the browser itself, no chooser.
    dialogs.shown.clear()
    dialogs.choose = False
    page.reload()
    again = first_result(page)
    assert (again["valid"], again["immediate"], again["via"]) == (True, True, "fedcm")
    assert again["refreshToken"].startswith("ler_")
    assert "AccountChooser" not in dialogs.shown
    print(
        f"\nFEDCM before: {old['error']} in {old['__ms']:.0f} ms; "
        f"after: valid in {again['__ms']:.0f} ms, dialogs {dialogs.shown}"
    )
    shot(page, "fedcm-returning-user")


def test_a_user_signed_out_of_leadexec_gets_immediate_failed(
    site: Site, profile: BrowserContext
) -> None:
    email = site.new_user("Sid Signedout")
    page = profile.new_page()
    log_in_at_provider(page, site, email)
    page.goto(f"{site.idp}/account/logout")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/login**")
    page.add_init_script(CALLBACK_MARK)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    result = first_result(page)
    assert (result["valid"], result["error"]) == (False, "immediate_failed")
    assert dialogs.shown == []
