"""A page on an origin that is not registered for the application gets no token by any route.

The user is signed in to LeadExec and has already granted the application, so every route
below would hand out tokens if the origin were not checked. The unregistered page is on
127.0.0.1 like the provider (same site), so the session cookie does reach its iframes: the
refusal comes from the origin rules, not from a cookie that happened to be missing.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from support.live import Site

from .popup import open_popup, results, sign_in_and_allow

pytestmark = pytest.mark.browser


def no_tokens(result: dict[str, Any]) -> None:
    assert result["valid"] is False
    assert result["refreshToken"] is None and result["authToken"] is None
    assert result["code"] is None and result["user"] is None


def test_unregistered_origin_gets_no_token_by_popup_iframe_or_listening(
    site: Site, context: BrowserContext, page: Page
) -> None:
    email = site.new_user()
    page.goto(site.partner + "/t/empty")  # the real partner: sign in and grant first
    page.evaluate(
        "id => { const b = document.createElement('button'); b.setAttribute('data-btnid', id);"
        " document.getElementById('slot').appendChild(b); }",
        site.btn_a,
    )
    results(page, 1)
    sign_in_and_allow(page, email, "[data-btnid]")
    assert results(page, 2)[1]["valid"] is True

    served: dict[str, str] = {}

    def keep(route: Route) -> None:
        response = route.fetch()
        served[route.request.url.split("state=")[-1]] = response.text()
        route.fulfill(response=response)

    context.route(lambda url: url.startswith(site.idp + "/signin/authorize?"), keep)
    evil = context.new_page()
    evil.goto(site.evil + "/t/unregistered")

    # 1. Its own silent check (honest origin): refused, quietly.
    first = results(evil, 1)[0]
    assert first["error"] == "immediate_failed" and "origin_not_allowed" in first["errorMessage"]
    no_tokens(first)

    # 2. Its own popup (honest origin): refused with origin_not_allowed.
    popup = open_popup(evil, settle=False)
    second = results(evil, 2)[1]
    assert second["error"] == "origin_not_allowed"
    no_tokens(second)
    if not popup.is_closed():
        popup.wait_for_event("close")

    # 3. The popup opened claiming the real partner's origin: the provider does answer with
    # tokens (it cannot know who opened the window), but posts them to the partner's origin
    # only, so the browser delivers nothing to this page.
    with evil.expect_popup() as info:
        evil.click("#lie-popup")
    liar = info.value
    if not liar.is_closed():
        liar.wait_for_event("close")
    assert '"refreshToken": "ler_' in served["lie-popup"]
    assert f'data-target="{site.partner}"' in served["lie-popup"]

    # 4. The silent check framed claiming the real partner's origin: the provider's
    # frame-ancestors names only that origin, so the page never runs inside this one.
    evil.click("#lie-frame")
    evil.wait_for_selector("#lie-iframe[data-loaded]", state="attached")
    frame = evil.frame_locator("#lie-iframe")
    assert frame.locator("#le-result").count() == 0

    # Messages sent to this page, for a while after the last attempt: none carries a token.
    evil.wait_for_timeout(500)
    messages: list[dict[str, Any]] = evil.evaluate("window.__messages")
    states = [m["data"].get("state") for m in messages if isinstance(m["data"], dict)]
    assert "lie-popup" not in states and "lie-frame" not in states
    for m in messages:
        if isinstance(m["data"], dict) and "result" in m["data"]:
            no_tokens(m["data"]["result"])
    assert len(evil.evaluate("window.__results")) == 2
