"""``/docs``: the interactive API reference renders from this origin under its own policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from support.live import Site

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_every_operation_without_a_policy_violation(
    site: Site, page: Page, shot: Callable[..., Path]
) -> None:
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site.idp) else None)
    response = page.goto(site.idp + "/docs")
    assert response is not None and response.status == 200
    page.locator(".opblock-summary-path", has_text="/api/token").first.wait_for()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    spec = httpx.get(site.idp + "/openapi.json").json()
    described = {p.replace("\u200b", "") for p in paths}
    assert described >= set(spec["paths"]), set(spec["paths"]) - described

    # Try it out: an exchange with a made-up token gets the API's own refusal, shown on the page.
    page.locator(".opblock-summary-path", has_text="/api/token").first.click()
    block = page.locator(".opblock.is-open").first
    block.get_by_role("button", name="Try it out").click()
    assert page.errors == [] and refused == [] and outside == []  # type: ignore[attr-defined]
    shot(page, "api_docs")


def test_the_api_reference_page_keeps_scripts_to_this_origin(site: Site) -> None:
    answer = httpx.get(site.idp + "/docs")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "<script>" not in answer.text
    bundle = httpx.get(site.idp + "/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
