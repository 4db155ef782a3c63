"""What a person meets in the first minutes, in Chromium: "Remove access" asks before it acts,
and the wording of the consent and connected-apps pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from leadexec_signin.core.authorize import AuthorizeRequest
from support.live import Site
from support.signin import PASSWORD
from support.world import allow

pytestmark = pytest.mark.browser


def signed_in_with_a_grant(page: Page, site: Site, name: str) -> str:
    email = f"grant-{id(page)}@example.com"
    user = site.services.accounts.create_user(email=email, name=name, password=PASSWORD)
    allow(site.services, AuthorizeRequest(site.btn_a, site.partner, "s", False), user, "::1")
    page.goto(site.idp + "/account/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/account/apps")
    return email


def test_remove_access_asks_before_it_acts(site: Site, page: Page) -> None:
    signed_in_with_a_grant(page, site, "Rémi Remove")
    row = page.locator("li.app-row")
    expect(row).to_have_count(1)
    name = row.locator("h2").inner_text()
    row.get_by_text("Remove access", exact=True).click()
    # The first click only asks: the application is still connected.
    question = row.locator(".confirm-box")
    expect(question).to_contain_text(f"Remove the access of {name}?")
    expect(question).to_contain_text("signed out everywhere at once")
    expect(page.get_by_text("Access removed.")).to_have_count(0)
    row.get_by_text("Remove access", exact=True).click()  # changed my mind: it folds
    expect(question).to_be_hidden()
    row.get_by_text("Remove access", exact=True).click()
    question.get_by_role("button", name="Yes, remove access").click()
    expect(page.get_by_text("Access removed.")).to_be_visible()
    expect(page.locator("li.app-row")).to_have_count(0)
