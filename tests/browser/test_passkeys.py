"""Passkeys in Chromium with its virtual authenticator: a user goes from password-only to a
passkey on the security page, then signs in with it and no password, by the button and by the
browser's autofill; the hostile answers are refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from .authenticator import (
    NO_AUTOFILL,
    LocalIdp,
    add_passkey,
    attach,
    local_idp,
    sign_in_with_password,
)
from .conftest import NO_FEDCM

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    yield from local_idp(tmp_path_factory.mktemp("passkey-idp"))


@pytest.fixture
def ctx(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(10_000)
    context.add_init_script(NO_FEDCM)
    yield context
    context.close()


def test_a_user_goes_from_password_only_to_a_passkey_and_signs_in_with_it(
    idp: LocalIdp, ctx: BrowserContext, shot: Callable[..., Path]
) -> None:
    email = idp.new_user("pat1@example.com")
    page = ctx.new_page()
    authenticator = attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    page.get_by_role("link", name="Security").click()
    page.get_by_text("You have no passkey yet.").wait_for()
    shot(page, "security-empty")
    add_passkey(page, idp.url)
    shot(page, "security-passkey-added")
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True  # discoverable
    assert page.get_by_role("heading", name="Work laptop").is_visible()
    page.set_viewport_size(PHONE)
    shot(page, "security-phone", full_page=True)
    page.set_viewport_size({"width": 1100, "height": 760})
    # Sign out, then sign in with the passkey alone, from the button.
    page.get_by_role("button", name="Sign out").click()
    page.add_init_script(NO_AUTOFILL)
    page.goto(f"{idp.url}/account/login")
    shot(page, "signin-with-passkey")
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/account/apps")
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\npasskey sign-in, click to signed-in page: {elapsed_ms:.0f} ms")
    assert page.get_by_text(email).is_visible()
    [row] = idp.services.passkeys.list(idp.user_id(email))
    assert row.last_used_at is not None and row.sign_count >= 1


def test_the_browsers_autofill_signs_in_with_a_passkey(idp: LocalIdp, ctx: BrowserContext) -> None:
    email = idp.new_user("pat2@example.com")
    page = ctx.new_page()
    attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    add_passkey(page, idp.url, "Phone")
    page.get_by_role("button", name="Sign out").click()
    # The email field offers the passkey (autocomplete="username webauthn", conditional
    # mediation); Chromium's virtual authenticator picks it without a click.
    html = page.request.get(f"{idp.url}/account/login").text()
    assert 'autocomplete="username webauthn"' in html
    page.goto(f"{idp.url}/account/login")
    page.wait_for_url("**/account/apps")
    assert page.get_by_text(email).is_visible()
