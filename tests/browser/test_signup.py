"""Chromium as a new partner: sign up, follow the verification link the SMTP server received,
sign in, reach the console; then "forgot password" and a change of email the same way. Each new
page is photographed at desktop and phone widths (artifacts/screenshots/account-*.png)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leadexec_signin.compose import Services, build
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from smtp_server import SmtpServer, running_smtp_server

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1100, "height": 760}
PHONE = {"width": 390, "height": 844}


@dataclass
class Idp:
    url: str
    services: Services
    smtp: SmtpServer


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """A provider of its own whose mail goes over SMTP to aiosmtpd (the package's shared one
    writes mail to the log); the development outbox is on too, to photograph it."""
    data = tmp_path_factory.mktemp("signup-idp")
    database = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database)
    server = LiveServer()
    with running_smtp_server() as smtp:
        settings = Settings.from_env(
            {
                **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
                "LEADEXEC_DATA_DIR": str(data),
                "LEADEXEC_DATABASE_URL": database,
                "LEADEXEC_ISSUER": server.url,
                "LEADEXEC_SMTP_URL": smtp.url,
                "LEADEXEC_DEV_OUTBOX": "1",
                "LEADEXEC_NOTICE_INTERVAL": "0",
            }
        )
        services = build(settings)
        services.prepare()
        server.start(create_app(services))
        try:
            yield Idp(server.url, services, smtp)
        finally:
            server.stop()
            services.close()


@pytest.fixture
def photograph(shot: Callable[..., Path]) -> Callable[[Page, str], None]:
    """The page at desktop and at phone width, whole."""

    def take(page: Page, name: str) -> None:
        shot(page, f"account-{name}-desktop", full_page=True)
        page.set_viewport_size(PHONE)
        shot(page, f"account-{name}-phone", full_page=True)
        page.set_viewport_size(DESKTOP)

    return take


def no_horizontal_scroll(page: Page) -> None:
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(DESKTOP)
    assert overflow <= 0, f"{page.url} scrolls sideways at phone width"


def test_a_new_partner_signs_up_verifies_and_reaches_the_console(
    page: Page, idp: Idp, photograph: Callable[[Page, str], None]
) -> None:
    started = time.perf_counter()
    page.goto(idp.url + "/developers")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_role("link", name="Create a LeadExec account").click()
    expect(page.locator("h1")).to_have_text("Create your account")
    no_horizontal_scroll(page)
    photograph(page, "signup")
    page.fill("#name", "Nia Newpartner")
    page.fill("#email", "nia@partner.example")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    photograph(page, "signup-sent")

    [mail] = idp.smtp.inbox.wait_for("nia@partner.example")
    page.goto(mail.link)
    expect(page.locator("h1")).to_have_text("Confirm your email address")
    expect(page.locator(".lead")).to_contain_text("nia@partner.example")
    photograph(page, "verify")
    page.get_by_role("button", name="Confirm email address").click()
    expect(page.locator(".notice")).to_have_text(
        "Your email address is confirmed. Sign in to continue."
    )
    expect(page.locator("#email")).to_have_value("nia@partner.example")
    photograph(page, "signin-after-verify")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(idp.url + "/developers")
    # The console itself, not the sign-in form it sends strangers to.
    expect(page.locator("h1")).not_to_have_text("Sign in")
    expect(page.locator("form[action='/account/login']")).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]
    print(f"sign-up to console in {time.perf_counter() - started:.2f} s")


def test_forgot_password_and_a_change_of_email_in_the_browser(
    page: Page, idp: Idp, photograph: Callable[[Page, str], None]
) -> None:
    idp.services.accounts.create_user(email="rae@partner.example", name="Rae", password=PASSWORD)
    page.goto(idp.url + "/account/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.locator("h1")).to_have_text("Reset your password")
    photograph(page, "forgot")
    page.fill("#email", "rae@partner.example")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    [mail] = idp.smtp.inbox.wait_for("rae@partner.example")
    page.goto(mail.link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    photograph(page, "reset")
    page.fill("#password", "a new passphrase 2")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".notice")).to_contain_text("Your password was changed")
    page.fill("#password", "a new passphrase 2")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(idp.url + "/account/apps")
    page.get_by_role("link", name="Email address").click()
    expect(page.locator("h1")).to_have_text("Your email address")
    no_horizontal_scroll(page)
    photograph(page, "email")
    page.fill("#new_email", "rae.new@partner.example")
    page.fill("#password", "a new passphrase 2")
    page.get_by_role("button", name="Send confirmation link").click()
    expect(page.locator("h1")).to_have_text("Confirm from your new address")
    [confirm] = idp.smtp.inbox.wait_for("rae.new@partner.example")
    page.goto(confirm.link)
    expect(page.locator("h1")).to_have_text("Confirm your new email address")
    photograph(page, "email-confirm")
    page.get_by_role("button", name="Use the new address").click()
    expect(page.locator(".notice")).to_contain_text("Your email address was changed")
    expect(page.locator(".lead")).to_contain_text("rae.new@partner.example")
    photograph(page, "email-changed")
    page.goto(mail.link)  # the spent reset link
    expect(page.locator("h1")).to_have_text("Something is wrong with this request")
    photograph(page, "link-spent")
    page.goto(idp.url + "/dev/outbox")
    expect(page.locator("h1")).to_have_text("Mail outbox")
    expect(page.locator("pre.mail-body a").first).to_have_attribute("href", confirm.link)
    no_horizontal_scroll(page)
    photograph(page, "outbox")
    assert page.errors == []  # type: ignore[attr-defined]
