"""Passkeys in Chromium with its virtual authenticator: a user goes from password-only to a
passkey on the security page, then signs in with it and no password, by the button and by the
browser's autofill; step-up on acr_values and an application that requires two-step sign-in
end with the passkey too; the hostile answers are refused."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pyotp
import pytest
from authlib.integrations.requests_client import OAuth2Session as OAuth2Client
from playwright.sync_api import Browser, BrowserContext, Page

from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.factors import ACR_MFA
from support.live import NO_FEDCM

from .authenticator import (
    NO_AUTOFILL,
    Authenticator,
    LocalIdp,
    add_passkey,
    attach,
    local_idp,
    sign_in_with_password,
)

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
    # The email field offers the passkey (autocomplete="username webauthn", conditional
    # mediation); Chromium's virtual authenticator picks it without a click, so the sign-in
    # page that signing out lands on signs straight back in.
    html = page.request.get(f"{idp.url}/account/login").text()
    assert 'autocomplete="username webauthn"' in html
    with page.expect_navigation(url="**/account/login**"):
        page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/apps")
    assert page.get_by_text(email).is_visible()


def enrolled(idp: LocalIdp, ctx: BrowserContext, email: str) -> tuple[Page, Authenticator]:
    """A user with a passkey, signed out; autofill off so the button is what signs in."""
    idp.new_user(email)
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    authenticator = attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    add_passkey(page, idp.url)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/login**")
    return page, authenticator


def passkey_in(ctx: BrowserContext, window: Page, source: Authenticator) -> None:
    """The same passkey in another window (each tab has its own virtual authenticator)."""
    other = attach(ctx, window)
    for credential in source.credentials():
        other.add(credential)


def test_the_seed_popup_signs_in_with_a_passkey_and_the_page_gets_valid_true(
    idp: LocalIdp, ctx: BrowserContext
) -> None:
    page, authenticator = enrolled(idp, ctx, "popup@example.com")
    page.goto(idp.partner)
    with page.expect_popup() as info:
        page.click("#leAppButton")
    popup = info.value
    popup.wait_for_load_state()
    passkey_in(ctx, popup, authenticator)
    popup.get_by_role("button", name="Sign in with a passkey").click()
    allow = popup.get_by_role("button", name="Allow", exact=True)
    allow.wait_for()
    with popup.expect_event("close"):
        allow.click()
    page.wait_for_function("() => document.querySelector('#last-result').textContent.length > 2")
    result = json.loads(page.inner_text("#last-result"))
    assert result["valid"] is True and result["user"]["email"] == "popup@example.com"
    # The seed's authorization object keeps its fields and adds nothing.
    assert "amr" not in result and "acr" not in result


def test_the_oauth_flow_signs_in_with_a_passkey_and_the_id_token_says_so(
    idp: LocalIdp, ctx: BrowserContext
) -> None:
    page, _authenticator = enrolled(idp, ctx, "oauth@example.com")
    redirect = f"{idp.partner}/cb"
    app, secret = idp.services.registry.register(
        name="Standard RP",
        origins=[],
        scopes="profile,email",
        with_secret=True,
        client=ClientRegistration(redirect_uris=(redirect,)),
    )
    idp.services.operator.set_app_status(app.id, "approved")
    client = OAuth2Client(
        app.id, secret, scope="openid profile", redirect_uri=redirect, code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{idp.url}/oauth2/authorize", code_verifier=verifier, nonce="n-1"
    )
    page.goto(url)
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"{redirect}?**")
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\nOAuth passkey sign-in, click to callback (consent included): {elapsed_ms:.0f} ms")
    answer = client.fetch_token(
        f"{idp.url}/oauth2/token", authorization_response=page.url, code_verifier=verifier
    )
    claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
    assert {"user", "mfa"} <= set(claims["amr"]) and {"hwk", "swk"} & set(claims["amr"])
    assert claims["acr"] == ACR_MFA


def test_the_fedcm_login_window_signs_in_with_a_passkey(idp: LocalIdp, ctx: BrowserContext) -> None:
    page, _authenticator = enrolled(idp, ctx, "fedcm@example.com")
    # The window the browser opens from the config's login_url.
    login_url = page.request.get(f"{idp.url}/.well-known/web-identity").json()["login_url"]
    page.goto(login_url)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/fedcm/signed-in**")
    accounts = page.request.get(
        f"{idp.url}/fedcm/accounts", headers={"Sec-Fetch-Dest": "webidentity"}
    ).json()
    assert [a["email"] for a in accounts["accounts"]] == ["fedcm@example.com"]


def test_an_operator_is_blocked_from_admin_until_enrolled(
    idp: LocalIdp, ctx: BrowserContext, shot: Callable[..., Path]
) -> None:
    email = idp.new_user("operator@example.com", operator=True)
    page = ctx.new_page()
    attach(ctx, page)
    ctx.add_init_script(NO_AUTOFILL)
    sign_in_with_password(page, idp.url, email, "/admin")
    page.wait_for_url("**/account/security?next=/admin&step=mfa")
    assert page.get_by_text("needs a second factor").is_visible()
    shot(page, "operator-enrol-before-admin")
    page.get_by_label("Name of the new passkey").fill("Operator key")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_role("link", name="Sign in with your passkey to continue").click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/admin")
    assert page.get_by_role("heading", name="Applications").is_visible()


def test_totp_enrolment_and_two_step_sign_in_with_pyotp_codes_and_a_recovery_code(
    idp: LocalIdp, ctx: BrowserContext, shot: Callable[..., Path]
) -> None:
    email = idp.new_user("totp@example.com")
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    page.goto(f"{idp.url}/account/security")
    page.get_by_role("button", name="Set up an authenticator app").click()
    assert page.locator(".qr svg").is_visible()  # drawn on the server, inside the page's CSP
    shot(page, "security-app-setup")
    totp = pyotp.TOTP(page.inner_text(".totp-key").replace(" ", ""))
    page.get_by_label("Then enter the 6-digit code the app shows").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "security-recovery-codes")
    page.goto(f"{idp.url}/account/logout")
    page.get_by_role("button", name="Sign out").click()
    # Password, then the app's next code (the one just used is spent).
    page.wait_for_timeout(10)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/second-step")
    shot(page, "second-step")
    next_code = totp.at(int(time.time()) + 30)
    page.get_by_label("Code from your authenticator app").fill(next_code)
    page.get_by_role("button", name="Continue", exact=True).click()
    page.wait_for_url("**/account/apps")
    # A recovery code, once.
    page.goto(f"{idp.url}/account/logout")
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/second-step")
    page.get_by_text("Use a recovery code").click()
    page.get_by_label("Recovery code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Continue with a recovery code").click()
    page.wait_for_url("**/account/apps")


def oauth_client(idp: LocalIdp, *, require_mfa: bool = False) -> tuple[OAuth2Client, str]:
    redirect = f"{idp.partner}/cb"
    app, secret = idp.services.registry.register(
        name="Strict RP" if require_mfa else "Careful RP",
        origins=[],
        scopes="profile,email",
        with_secret=True,
        client=ClientRegistration(redirect_uris=(redirect,), require_mfa=require_mfa),
    )
    idp.services.operator.set_app_status(app.id, "approved")
    client = OAuth2Client(
        app.id, secret, scope="openid profile", redirect_uri=redirect, code_challenge_method="S256"
    )
    return client, redirect


def id_token_after_consent(idp: LocalIdp, page: Page, client: OAuth2Client, verifier: str) -> dict:
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"{client.redirect_uri}?**")
    answer = client.fetch_token(
        f"{idp.url}/oauth2/token", authorization_response=page.url, code_verifier=verifier
    )
    return jwt.decode(answer["id_token"], options={"verify_signature": False})


def test_step_up_on_acr_values_signs_in_again_with_the_passkey(
    idp: LocalIdp, ctx: BrowserContext, shot: Callable[..., Path]
) -> None:
    """Signed in with a password, then a passkey added: a client asking acr_values=mfa sends
    the user to sign in again, told to use the passkey, and gets acr mfa."""
    email = idp.new_user("stepup@example.com")
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    add_passkey(page, idp.url)  # this session stays a password one
    client, _ = oauth_client(idp)
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{idp.url}/oauth2/authorize", code_verifier=verifier, nonce="n-2", acr_values=ACR_MFA
    )
    page.goto(url)
    page.wait_for_url("**/account/login?**step=mfa**")
    assert page.get_by_text("This needs a second factor: sign in with your passkey.").is_visible()
    shot(page, "step-up-acr-values")
    page.get_by_role("button", name="Sign in with a passkey").click()
    claims = id_token_after_consent(idp, page, client, verifier)
    assert claims["acr"] == ACR_MFA and {"user", "mfa"} <= set(claims["amr"])


def test_an_application_that_requires_two_steps_has_its_user_enrol_first(
    idp: LocalIdp, ctx: BrowserContext, shot: Callable[..., Path]
) -> None:
    """A user without a second factor is sent to add one before consenting, then signs in
    with it and reaches the client, whose ID token says mfa."""
    email = idp.new_user("strict@example.com")
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    client, _ = oauth_client(idp, require_mfa=True)
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{idp.url}/oauth2/authorize", code_verifier=verifier, nonce="n-3"
    )
    page.goto(url)
    page.wait_for_url("**/account/security?**step=mfa**")
    shot(page, "require-mfa-enrol")
    page.get_by_label("Name of the new passkey").fill("Phone")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_role("link", name="Sign in with your passkey to continue").click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    claims = id_token_after_consent(idp, page, client, verifier)
    assert claims["acr"] == ACR_MFA and {"user", "mfa"} <= set(claims["amr"])
