"""Hostile answers to a passkey challenge, made from real assertions of Chromium's virtual
authenticator: each is refused with a 4xx and signs nobody in, and what must be audited is."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route
from sqlalchemy import select, update

from leadexec_signin.core import audit
from leadexec_signin.storage.sql import factor_tables, tables
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
SIGNIN = "/account/passkey/signin"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    yield from local_idp(tmp_path_factory.mktemp("passkey-attacks"))


@pytest.fixture
def ctx(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    context.add_init_script(NO_FEDCM)
    context.add_init_script(NO_AUTOFILL)
    yield context
    context.close()


def enrolled(idp: LocalIdp, ctx: BrowserContext, email: str) -> tuple[Page, Authenticator]:
    idp.new_user(email)
    page = ctx.new_page()
    authenticator = attach(ctx, page)
    sign_in_with_password(page, idp.url, email)
    page.wait_for_url("**/account/apps")
    add_passkey(page, idp.url)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/login**")
    return page, authenticator


def captured_assertion(page: Page, idp: LocalIdp, *, deliver: bool) -> dict[str, str]:
    """Click "Sign in with a passkey" and keep the form the page posts with the assertion;
    ``deliver=False`` stops it on the way (its challenge is then still unused)."""
    seen: list[dict[str, str]] = []

    def keep(route: Route) -> None:
        seen.append({k: v[0] for k, v in parse_qs(route.request.post_data or "").items()})
        if deliver:
            route.continue_()
        else:
            route.abort()

    page.route(f"**{SIGNIN}", keep)
    page.goto(f"{idp.url}/account/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_function("() => true")
    for _ in range(100):
        if seen:
            break
        page.wait_for_timeout(50)
    page.unroute(f"**{SIGNIN}")
    assert seen, "the page never posted an assertion"
    return seen[0]


def post(page: Page, idp: LocalIdp, form: dict[str, str]) -> Any:
    return page.request.post(
        idp.url + SIGNIN,
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": idp.url},
    )


def csrf(page: Page, idp: LocalIdp) -> str:
    page.goto(f"{idp.url}/account/login")
    return page.locator('input[name="csrf"]').first.input_value()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tampered(form: dict[str, str], change: Any) -> dict[str, str]:
    credential = json.loads(form["credential"])
    change(credential["response"])
    return {**form, "credential": json.dumps(credential)}


def events(idp: LocalIdp, kind: str) -> list[Any]:
    with idp.services.storage.transaction() as tx:
        return list(
            tx.c.execute(
                select(tables.audit_events).where(tables.audit_events.c.event == kind)
            ).all()
        )


def signed_in(page: Page, idp: LocalIdp) -> bool:
    page.goto(f"{idp.url}/account/apps")
    return urlsplit(page.url).path == "/account/apps"


def test_a_replayed_assertion_is_refused(idp: LocalIdp, ctx: BrowserContext) -> None:
    page, _ = enrolled(idp, ctx, "replay@example.com")
    form = captured_assertion(page, idp, deliver=True)
    page.wait_for_url("**/account/apps")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/login**")
    again = post(page, idp, {**form, "csrf": csrf(page, idp)})
    assert again.status == 400 and again.json()["error"] == "invalid_credentials"
    assert not signed_in(page, idp)


def test_a_challenge_from_another_browser_session_is_refused(
    idp: LocalIdp, ctx: BrowserContext, browser: Browser
) -> None:
    page, _ = enrolled(idp, ctx, "other@example.com")
    form = captured_assertion(page, idp, deliver=False)  # its challenge is still unused
    other = browser.new_context()
    try:
        thief = other.new_page()
        stolen = post(thief, idp, {**form, "csrf": csrf(thief, idp)})
        assert stolen.status == 400 and "another window" in stolen.json()["message"]
        assert not signed_in(thief, idp)
    finally:
        other.close()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("origin", id="made for another origin"),
        pytest.param("rp_id", id="made for another RP ID"),
        pytest.param("uv", id="user verification false for a passwordless sign-in"),
    ],
)
def test_an_assertion_made_for_something_else_is_refused(
    idp: LocalIdp, ctx: BrowserContext, change: str
) -> None:
    page, _ = enrolled(idp, ctx, f"{change}@example.com")
    form = captured_assertion(page, idp, deliver=False)

    def edit(response: dict[str, str]) -> None:
        if change == "origin":
            client = json.loads(unb64(response["clientDataJSON"]))
            client["origin"] = "http://evil.localhost:1"
            response["clientDataJSON"] = b64(json.dumps(client).encode())
        else:
            data = bytearray(unb64(response["authenticatorData"]))
            if change == "rp_id":
                data[0:32] = bytes(32)  # the SHA-256 of another RP ID
            else:
                data[32] &= ~0x04  # the UV flag
            response["authenticatorData"] = b64(bytes(data))

    r = post(page, idp, {**tampered(form, edit), "csrf": csrf(page, idp)})
    assert r.status == 400 and r.json()["error"] == "invalid_credentials"
    assert not signed_in(page, idp)
    assert events(idp, audit.PASSKEY_REFUSED)


def test_the_browser_refuses_when_the_authenticator_cannot_verify_the_user(
    idp: LocalIdp, ctx: BrowserContext
) -> None:
    page, authenticator = enrolled(idp, ctx, "nouv@example.com")
    authenticator.user_verified(False)
    page.goto(f"{idp.url}/account/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text("could not verify you").wait_for()
    assert not signed_in(page, idp)


def test_a_sign_counter_that_goes_backwards_is_refused_and_audited(
    idp: LocalIdp, ctx: BrowserContext
) -> None:
    page, _ = enrolled(idp, ctx, "clone@example.com")
    user_id = idp.user_id("clone@example.com")
    with idp.services.storage.transaction() as tx:  # as if a copy had signed in 1000 times
        tx.c.execute(
            update(factor_tables.passkeys)
            .where(factor_tables.passkeys.c.user_id == user_id)
            .values(sign_count=1000)
        )
    page.goto(f"{idp.url}/account/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text("counter went backwards").wait_for()
    assert not signed_in(page, idp)
    [event] = [e for e in events(idp, audit.COUNTER_REGRESSED) if e.user_id == user_id]
    assert event.detail["stored"] == 1000


def test_a_10_kb_authenticator_response_is_a_4xx_and_nothing_is_stored(
    idp: LocalIdp, ctx: BrowserContext
) -> None:
    email = idp.new_user("big@example.com")
    page = ctx.new_page()
    sign_in_with_password(page, idp.url, email)
    page.goto(f"{idp.url}/account/security")
    token = page.locator('input[name="csrf"]').first.input_value()
    huge = json.dumps(
        {"id": "x", "rawId": "x", "type": "public-key", "response": {"a": "A" * 10240}}
    )
    for path in ("/account/security/passkeys", SIGNIN):
        r = page.request.post(
            idp.url + path,
            data=urlencode({"csrf": token, "name": "Big", "credential": huge}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": idp.url},
        )
        assert 400 <= r.status < 500, (path, r.status)
    assert idp.services.passkeys.list(idp.user_id(email)) == []
