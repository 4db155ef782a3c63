"""The operators' audit trail in Chromium: the page renders under its strict CSP with no
script error, the filter form narrows the table, the download links carry the filters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page

from support.live import Site
from support.signin import PASSWORD


def test_an_operator_filters_the_trail_and_downloads_what_is_shown(
    site: Site, page: Page, shot: Callable[..., Path]
) -> None:
    email = f"ops{next(site.users)}@example.com"
    site.services.accounts.create_user(
        email=email, name="Olivia Ops", password=PASSWORD, operator=True
    )
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(f"{site.idp}/account/login?next=/admin/audit")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")  # a failed sign-in: one more event on the trail
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/audit")
    assert page.locator("h1").inner_text() == "Audit trail"
    assert page.locator("table.audit tbody tr").count() >= 2

    page.select_option("select[name=kind]", "signin.failed")
    page.fill("input[name=user]", email)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**kind=signin.failed**")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 1 and "signin.failed" in rows.first.inner_text()
    shot(page, "admin-audit-filtered", full_page=True)

    href = page.locator("a.download", has_text="Download CSV").get_attribute("href")
    assert href is not None and urlsplit(href).path == "/admin/audit/export.csv"
    assert parse_qs(urlsplit(href).query) == {"user": [email], "kind": ["signin.failed"]}
    with page.expect_download() as got:
        page.click("a.download >> text=Download CSV")
    lines = Path(got.value.path()).read_text().splitlines()
    assert len(lines) == 2 and ",signin.failed," in lines[1]
    assert page.errors == [] and violations == []  # type: ignore[attr-defined]
