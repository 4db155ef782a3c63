"""The pages under ``prefers-color-scheme: dark`` and ``prefers-reduced-motion: reduce``: every
page's background is dark, axe-core's color-contrast rule finds nothing, nothing moves, and a
screenshot of each is written (``artifacts/screenshots/dark/<page>.png``). One light-scheme check
pins the light palette, which the dark one must not have changed.

One browser context, one page, reused for every page: sign in once as a partner, once as an
operator. axe-core comes from the npm lockfile, as in test_accessibility.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from leadexec_signin.core.authorize import AuthorizeRequest
from support.live import NO_FEDCM, SCREENSHOTS, Site
from support.signin import PASSWORD
from support.world import allow

from .console import check_code_blocks, create_button, luminance, parse_rgb, register_app

pytestmark = pytest.mark.browser
Shot = Callable[..., Path]
VIEWPORT = {"width": 1100, "height": 760}
LIGHT_BG = "rgb(243, 245, 248)"  # app.css --bg, light
# A transition the page could have: with reduced motion it must not run.
PROBE = "button, a { transition: background-color 300ms, color 300ms; }"

# The background the page is painted on: the body's own, else the root's (which the canvas takes).
BACKGROUND = """() => {
  for (const el of [document.body, document.documentElement]) {
    const bg = getComputedStyle(el).backgroundColor;
    if (bg !== 'transparent' && !/^rgba\\(.*,\\s*0\\)$/.test(bg)) return bg;
  }
  return 'rgb(255, 255, 255)';
}"""

CONTRAST = """async () => {
  const r = await axe.run(document, {runOnly: ['color-contrast']});
  return {
    violations: r.violations.flatMap(v => v.nodes.map(n => ({
      target: n.target.join(' '), summary: n.failureSummary}))),
    passes: r.passes.reduce((n, v) => n + v.nodes.length, 0),
  };
}"""

# The longest transition or animation on a styled button (or, without one, on any element).
MOTION = """() => {
  const seconds = s => Math.max(...s.split(',').map(t =>
    t.trim().endsWith('ms') ? parseFloat(t) / 1000 : parseFloat(t)));
  const styled = document.querySelector(
    'button.primary, button.secondary, button.danger, button.link');
  const all = styled ? [styled] : [...document.querySelectorAll('body *')];
  let longest = 0;
  for (const el of all) {
    const cs = getComputedStyle(el);
    longest = Math.max(longest, seconds(cs.transitionDuration), seconds(cs.animationDuration));
  }
  const button = styled ? seconds(getComputedStyle(styled).transitionDuration) : 0;
  return {styled: !!styled, button, longest};
}"""


def check_dark(page: Page, axe: Path, shot: Shot, name: str, results: dict[str, object]) -> None:
    background = page.evaluate(BACKGROUND)
    assert luminance(parse_rgb(background)) < 0.1, (name, background)
    page.add_script_tag(path=str(axe))
    found = page.evaluate(CONTRAST)
    assert found["violations"] == [], (name, json.dumps(found["violations"], indent=1))
    page.add_style_tag(content=PROBE)
    motion = page.evaluate(MOTION)
    if name != "not-found":  # the 404 page has no button
        assert motion["styled"], name
        assert motion["button"] < 0.001, (name, motion)  # '0s', or the rule's 0.01ms
    assert motion["longest"] < 0.001, (name, motion)
    shot(page, f"dark/{name}", full_page=True)
    results[name] = {"background": background, "contrast_passes": found["passes"]}


def test_every_page_in_the_dark_with_reduced_motion(
    browser: Browser,
    site: Site,
    node_modules: Path,
    shot: Shot,
) -> None:
    axe = node_modules / "axe-core" / "axe.min.js"
    (SCREENSHOTS / "dark").mkdir(parents=True, exist_ok=True)
    email = f"dark{next(site.users)}@example.com"
    user = site.services.accounts.create_user(
        email=email, name="Dana Dark", password=PASSWORD, company="Night Leads", plan="Pro"
    )
    # One connected application on /account/apps; Beta Books (btn_b) still asks for consent.
    allow(site.services, AuthorizeRequest(site.btn_a, site.partner, "s", False), user, "::1")
    operator = f"op-{email}"
    site.services.accounts.create_user(
        email=operator, name="Otto Operator", password=PASSWORD, operator=True
    )

    context = browser.new_context(
        color_scheme="dark", reduced_motion="reduce", viewport=VIEWPORT, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    context.add_init_script(NO_FEDCM)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    results: dict[str, object] = {}

    def visit(name: str, path: str) -> None:
        page.goto(site.idp + path)
        check_dark(page, axe, shot, name, results)

    # The light look is unchanged, and only reduced motion stops the probe's transition.
    page.emulate_media(color_scheme="light", reduced_motion="no-preference")
    page.goto(site.idp + "/account/login")
    assert page.evaluate(BACKGROUND) == LIGHT_BG
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(27, 35, 48)"
    page.add_style_tag(content=PROBE)
    assert page.evaluate(MOTION)["button"] == 0.3
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")

    visit("login", "/account/login")
    visit("signup", "/account/signup")
    visit("forgot", "/account/forgot")
    response = page.goto(site.idp + "/account/nowhere")
    assert response is not None and response.status == 404
    check_dark(page, axe, shot, "not-found", results)

    page.goto(site.idp + "/account/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/account/apps")
    expect(page.locator(".app-row")).to_have_count(1)
    check_dark(page, axe, shot, "apps", results)
    visit("consent", f"/signin/authorize?btnId={site.btn_b}&origin={site.partner}&state=s")
    expect(page.locator("ul.scopes")).to_be_visible()
    visit("developers", "/developers")

    # An application of one's own, with a button: the console page in full (code blocks, the
    # button preview, usage charts, every form).
    register_app(page, "Nightly Leads", "http://localhost:3000")
    create_button(page)
    assert check_code_blocks(page) >= 1
    check_dark(page, axe, shot, "console-app", results)
    # Its consent page in development mode (the owner, on localhost): the warning box too.
    button = page.locator("section.button-card").first.get_attribute("id")
    assert button is not None
    btn_id = button.removeprefix("button-")
    visit("consent-dev", f"/signin/authorize?btnId={btn_id}&origin=http://localhost:3000&state=s")
    expect(page.locator(".dev-mode")).to_be_visible()

    context.clear_cookies()
    page.goto(site.idp + "/account/login?next=/admin")
    page.fill("#email", operator)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/admin")
    expect(page.locator("#pending-queue")).to_contain_text("Nightly Leads")
    check_dark(page, axe, shot, "admin", results)
    visit("admin-audit", "/admin/audit")
    expect(page.locator("table.audit tbody tr").first).to_be_visible()

    context.close()
    assert errors == []
    print(json.dumps(results, indent=1))
