"""Chromium as a new partner: sign up, follow the verification link the SMTP server received,
register an application for localhost, paste the console's complete page into a site of one's
own, reach "Success!", then edit, rotate the secret and delete; "forgot password" and a change
of email the same way. Each new page is photographed at desktop and phone widths
(artifacts/screenshots/account-*.png)."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from leadexec_signin.compose import Services, build
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from smtp_server import SmtpServer, running_smtp_server
from support.live import NO_FEDCM, ROOT, LiveServer
from support.signin import PASSWORD

from .console import check_code_blocks, open_tab, register_app, static_site
from .popup import decide, log_in, open_popup

pytestmark = pytest.mark.browser
log = logging.getLogger(__name__)

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


def test_a_new_partner_from_sign_up_to_success_then_edit_rotate_and_delete(
    page: Page,
    browser: Browser,
    idp: Idp,
    photograph: Callable[[Page, str], None],
    shot: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The whole first visit, as one person does it: nothing here comes from an operator or a
    command line, and the page that says "Success!" is the one copied from the console."""
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
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(idp.url + "/developers")
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()

    with static_site(tmp_path) as partner_server:
        origin = f"http://localhost:{partner_server.port}"
        register_app(page, "Nia's CRM", origin)
        expect(page.locator("#app-status")).to_have_text("development mode")
        expect(page.locator("#app-mode")).to_contain_text("the buttons work only for you")

        open_tab(page, "Buttons")
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

        # The complete page, copied with its Copy button as a person would, then saved as the
        # partner's index.html.
        open_tab(page, "Overview")
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=idp.url)
        copy = page.locator('button.copy[data-copy="complete-page"]')
        copy.click()
        expect(copy).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.locator("#complete-page").text_content()
        assert "Success!" in copied and idp.url.removeprefix("http://") in copied
        (tmp_path / "index.html").write_text(copied)

        # The partner tries the page in a browser of its own: the popup asks them to sign in.
        visitor = browser.new_context(viewport=DESKTOP)
        visitor.add_init_script(NO_FEDCM)
        partner = visitor.new_page()
        partner.goto(origin + "/")
        button = partner.locator("#leAppButton")
        expect(button).to_have_attribute("data-le-theme", "dark")
        popup = open_popup(partner)
        log_in(popup, "nia@partner.example")
        expect(popup.locator(".dev-mode")).to_contain_text(
            "Development mode: only you, on localhost."
        )
        popup.get_by_role("button", name="Allow", exact=True).wait_for()
        shot(popup, "consent-development-mode")
        decide(popup, "Allow")
        expect(partner.locator("#le-result")).to_have_text(
            "Success! You have accepted access to your account."
        )
        expect(button).to_be_hidden()
        # In development mode the page shows what came back and the exchange, ready to run.
        details = partner.locator("#le-details").inner_text()
        assert '"valid": true' in details and '"refreshToken": "' in details
        curl = details.strip().splitlines()[-1]
        assert curl.startswith(f"curl -X POST {idp.url}/api/token --data-urlencode appId=app_")
        done = subprocess.run([*shlex.split(curl), "-sS"], capture_output=True, text=True,
                              timeout=30, check=False)  # fmt: skip
        assert json.loads(done.stdout)["valid"] is True, done.stdout + done.stderr
        shot(partner, "partner-page-success")
        visitor.close()

    page.reload()
    open_tab(page, "Settings")
    page.locator("#edit-name").fill("Nia's CRM v2")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Application saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nia's CRM v2", exact=True)).to_be_visible()

    open_tab(page, "Secret")
    page.get_by_role("button", name="Create a secret").click()
    expect(page.locator("#app-secret")).to_be_visible()
    page.get_by_label("When the new secret is made").select_option("1h")
    page.get_by_role("button", name="Replace the secret").click()
    expect(page.get_by_text("The old secret keeps working for 1 hour.")).to_be_visible()

    open_tab(page, "Danger zone")
    page.get_by_label("Type the name", exact=False).fill("Nia's CRM v2")
    page.get_by_role("button", name="Delete Nia's CRM v2").click()
    expect(page.get_by_text("Application deleted.")).to_be_visible()
    expect(page.get_by_text("You have not registered an application yet.")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]

    elapsed = time.perf_counter() - started
    log.warning("sign-up to Success! to deletion: %.1f s", elapsed)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "partner_walkthrough.txt").write_text(f"{elapsed:.1f} s\n")
    assert elapsed < 30


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
    page.get_by_role("button", name="Sign in", exact=True).click()
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


def test_an_unconfirmed_account_gets_the_link_again_and_the_demo_page_points_at_the_outbox(
    page: Page, idp: Idp
) -> None:
    """Signed up, the first mail lost: the sign-in refuses with a button that sends a new link,
    whose "check your email" page (the development outbox is on) links to the outbox."""
    page.goto(idp.url + "/account/signup")
    page.fill("#name", "Lou Lostmail")
    page.fill("#email", "lou@partner.example")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    page.locator("#outbox-link").get_by_role("link", name="mail outbox").click()
    expect(page.locator("h1")).to_have_text("Mail outbox")
    idp.smtp.inbox.wait_for("lou@partner.example")

    page.goto(idp.url + "/account/login")
    page.fill("#email", "lou@partner.example")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Confirm your email address first")).to_be_visible()
    page.locator("#resend-link").get_by_role("button", name="Send the link again").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    expect(page.locator(".lead")).to_contain_text("lou@partner.example")
    expect(page.locator("#outbox-link")).to_be_visible()
    # The new link confirms the account, with the password it signed up with.
    mail = idp.smtp.inbox.wait_for("lou@partner.example", count=2)[-1]
    page.goto(mail.link)
    page.get_by_role("button", name="Confirm email address").click()
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)  # signed in
