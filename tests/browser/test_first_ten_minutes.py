"""What a person meets in the first minutes, in Chromium: "Remove access" asks before it acts,
and the wording of the consent and connected-apps pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clients import ClientRegistration
from support.live import SCREENSHOTS, Site
from support.signin import PASSWORD
from support.world import allow

from .popup import results

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


def development_consent(page: Page, site: Site) -> str:
    """A partner's own pending application on localhost, its consent page for its owner."""
    email = f"o{id(page) % 10**6}@example.com"
    owner = site.services.accounts.create_user(email=email, name="Oona Owner", password=PASSWORD)
    app, _ = site.services.registry.register(
        name="Oona's Leads", origins=["http://localhost:3000"], scopes="profile,email",
        owner_id=owner.id,
    )  # fmt: skip
    button = site.services.registry.create_button(app_id=app.id, scopes="profile,email")
    page.goto(site.idp + "/account/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/account/apps")
    return f"{site.idp}/signin/authorize?btnId={button.id}&origin=http://localhost:3000&state=s"


def test_the_consent_page_reads_once_and_fits_a_phone_and_the_popup(site: Site, page: Page) -> None:
    consent = development_consent(page, site)
    page.set_viewport_size({"width": 500, "height": 610})  # the popup's inside (500 x 680)
    page.goto(consent)
    expect(page.locator(".dev-mode")).to_be_visible()
    trust = page.locator("#trust")
    expect(trust).to_contain_text("from your connected applications.")
    assert trust.inner_text().lower().count("connected applications") == 1
    expect(trust.get_by_role("link", name="connected applications")).to_have_attribute(
        "href", "/account/apps"
    )
    # The footer is on the popup's first screen, under the development notice.
    page.screenshot(path=str(SCREENSHOTS / "consent-popup-development.png"), full_page=True)
    bottom = page.evaluate("document.querySelector('footer').getBoundingClientRect().bottom")
    assert bottom <= 610, bottom
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(consent)
    # The origin is never cut inside: it moves to a line of its own.
    lines = page.evaluate(
        "[...document.querySelector('.origin').getClientRects()].map(r => Math.round(r.top))"
    )
    assert len(set(lines)) == 1, lines
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")


def test_the_operator_page_says_what_was_done_and_signs_out(site: Site, page: Page) -> None:
    email = f"op{id(page) % 10**6}@example.com"
    site.services.accounts.create_user(
        email=email, name="Opal Operator", password=PASSWORD, operator=True
    )
    site.services.registry.register(
        name="Queued Leads", origins=["https://queued.example.com"], scopes="profile"
    )
    page.goto(site.idp + "/admin")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    row = page.locator("#pending-queue tr").filter(has_text="Queued Leads")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Application approved. Its owner was emailed.")
    for path in ("/admin", "/admin/audit"):
        page.goto(site.idp + path)
        expect(page.locator("#sign-out")).to_be_visible()
    page.locator("#sign-out").click()
    page.goto(site.idp + "/admin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_signed_out_visit_prints_no_error_in_the_partners_console(site: Site, page: Page) -> None:
    """The silent check's everyday "not signed in" answer is not a red line in the console;
    the callback still gets immediate_failed."""
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    page.on(
        "response",
        lambda r: logged.append(f"status {r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(site.partner + "/t/two")
    first = results(page, 2)
    assert all(r["error"] == "immediate_failed" for _, r in first)
    page.wait_for_timeout(300)  # late console lines, if any
    assert [line for line in logged if line.startswith(("error", "status"))] == []


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
    ids=["desktop 1280x800", "phone 390x844"],
)
def test_the_operator_rejects_with_a_reason_and_the_tables_line_up(
    site: Site, browser: Browser, shot: Callable[..., Path], viewport: dict[str, int]
) -> None:
    """The two tables of /admin share their column widths, an application ID is one line
    (never broken inside), nothing is wider than the screen; Reject asks for the reason on
    its own page and says what was done."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    tag = f"{viewport['width']}-{id(page) % 10**6}"
    email = f"rej{tag}@example.com"
    site.services.accounts.create_user(email=email, name="Ray", password=PASSWORD, operator=True)
    long_uri = "https://crm.northwind-traders.example/integrations/leadexec/oauth/callback"
    doomed, _ = site.services.registry.register(
        name=f"Doomed Leads {tag}", origins=["https://doomed.example", "http://localhost:3000"],
        scopes="profile,email,account", client=ClientRegistration(redirect_uris=(long_uri,)),
    )  # fmt: skip
    approved, _ = site.services.registry.register(
        name=f"Fine Leads {tag}", origins=["https://fine.example"], scopes="profile"
    )
    site.services.operator.set_app_status(approved.id, "approved")
    page.goto(site.idp + "/admin")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/admin")
    page.goto(site.idp + "/admin?q=" + tag)  # this test's two applications
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    for code in page.locator("table.queue code.id").all():  # each ID on one line
        assert code.evaluate("c => c.getClientRects().length") == 1
    if viewport["width"] >= 1024:
        lefts = page.evaluate(
            """[...document.querySelectorAll('table.queue')].map(t =>
                 [...t.querySelectorAll('thead th')].map(
                   th => Math.round(th.getBoundingClientRect().left)))"""
        )
        assert len(lefts) == 2 and lefts[0] == lefts[1], lefts
        for table in page.locator("table.queue").all():  # nothing spills out of its table
            assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1")
    shot(page, f"admin-queue-{viewport['width']}", full_page=True)
    row = page.locator("#pending-queue tr").filter(has_text=doomed.name)
    row.get_by_role("link", name="Reject…").click()
    page.get_by_role("button", name="Reject and email the owner").click()  # no reason yet
    expect(page.get_by_label("Reason, emailed to the owner")).to_be_focused()  # required
    page.get_by_label("Reason, emailed to the owner").fill("The privacy policy link is broken.")
    shot(page, f"admin-reject-{viewport['width']}", full_page=True)
    page.get_by_role("button", name="Reject and email the owner").click()
    expect(page.get_by_role("status")).to_have_text(
        "Application rejected: it is stopped. Its owner was emailed your reason."
    )
    assert site.services.registry.app(doomed.id).status == "suspended"  # type: ignore[union-attr]
    context.close()
