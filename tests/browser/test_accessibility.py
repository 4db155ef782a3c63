"""Every person-facing page in each language, at desktop and phone widths: axe-core finds no
serious or critical violation, a phone needs no horizontal scrolling, and a screenshot of each
is written (``artifacts/screenshots/pages/<page>-<language>-<width>.png``).

axe-core comes from the npm lockfile (``tests/oauth_clients/js``) and is injected into
Chromium; the audit's contexts bypass the pages' script policy only so that the audit script
can run, which the pages' own tests check separately. A summary table is written to
``artifacts/accessibility.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from leadexec_signin.core.accounts import User
from leadexec_signin.core.authorize import AuthorizeRequest
from support.artifacts import merge_json
from support.live import NO_FEDCM, ROOT, SCREENSHOTS, Site
from support.signin import PASSWORD
from support.world import allow

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "de", "es")
WIDTHS = {"desktop": {"width": 1100, "height": 760}, "phone": {"width": 390, "height": 844}}
SUMMARY = ROOT / "artifacts" / "accessibility.json"
BLOCKING = ("serious", "critical")


@dataclass
class Audit:
    site: Site
    email: str
    btn_new: str  # a button of an app the user has not granted: its popup asks for consent
    own_app: str  # an application of the user's own (a partner), in development mode
    axe: Path
    results: dict[str, dict[str, object]]
    two_step: User | None = None  # has the authenticator app: its second step is audited


@pytest.fixture(scope="module")
def audit(site: Site, node_modules: Path) -> Iterator[Audit]:
    email = "audit@example.com"
    # A partner and an operator too, so the console and the operator pages are audited.
    user = site.services.accounts.create_user(
        email=email, name="Alex Audit", password=PASSWORD, operator=True
    )
    allow(site.services, AuthorizeRequest(site.btn_a, site.partner, "s", False), user, "::1")
    own, _ = site.services.registry.register(
        name="Alex's Leads",
        origins=["http://localhost:3000"],
        scopes="profile,email",
        owner_id=user.id,
    )
    site.services.registry.create_button(app_id=own.id, scopes="profile")
    # An authenticator app being set up (made by the page's POST): its page shows the QR code.
    site.services.codes.start(user)
    # Someone between the password and the second step (a pending sign-in cookie per context).
    two_step = site.services.accounts.create_user(
        email="audit-2fa@example.com", name="Tove Two-Step", password=PASSWORD
    )
    totp = pyotp.TOTP(site.services.codes.start(two_step).secret)
    site.services.codes.confirm(two_step, totp.now())
    site.services.registry.ensure_try_it(site.services.settings.issuer_origin)
    results: dict[str, dict[str, object]] = {}
    axe = node_modules / "axe-core" / "axe.min.js"
    yield Audit(site, email, site.btn_b, own.id, axe, results, two_step)
    merge_json(SUMMARY, results)


def sign_in(context: BrowserContext, site: Site, email: str) -> None:
    page = context.new_page()
    page.goto(site.idp + "/account/login")
    page.fill("#email", email)  # by id: the labels are in the context's language
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/account/apps")
    page.close()


def device_consent(a: Audit) -> str:
    """/device with a live code of a device-only application: the page a person confirms."""
    from leadexec_signin.core.actions.client_auth import presented
    from leadexec_signin.core.clients import ClientRegistration

    services = a.site.services
    app, _ = services.registry.register(
        name="Acme TV", origins=[], scopes="profile,email",
        client=ClientRegistration(device_grant=True),
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    form = {"client_id": app.id}
    started = services.device.start(presented(None, form), "profile email", "127.0.0.1")
    return "/device?user_code=" + started.user_code


PAGES: dict[str, tuple[bool, Callable[[Audit], str]]] = {
    # name: (signed in?, path)
    "login": (False, lambda a: "/account/login"),
    "login-console": (False, lambda a: "/account/login?next=/developers"),
    "second-step": (False, lambda a: "/account/second-step"),
    "signup": (False, lambda a: "/account/signup"),
    "forgot": (False, lambda a: "/account/forgot"),
    "api-docs": (False, lambda a: "/docs"),
    "not-found": (False, lambda a: "/account/nowhere"),
    "popup-error": (
        False,
        lambda a: f"/signin/authorize?btnId=btn_nope&origin={a.site.partner}&state=s",
    ),
    "connected-apps": (True, lambda a: "/account/apps"),
    "device": (True, lambda a: "/device"),
    "device-consent": (True, device_consent),
    "sign-out": (True, lambda a: "/account/logout"),
    "email": (True, lambda a: "/account/email"),
    "security": (True, lambda a: "/account/security"),
    "security-app": (True, lambda a: "/account/security/app"),
    "login-step-up": (True, lambda a: "/account/login?step=mfa&next=/admin"),
    "console-apps": (True, lambda a: "/developers"),
    "console-app": (True, lambda a: f"/developers/apps/{a.own_app}"),
    "console-buttons": (True, lambda a: "/developers/buttons"),
    "console-docs": (True, lambda a: "/developers/docs"),
    "console-try": (True, lambda a: "/developers/try"),
    "admin": (True, lambda a: "/admin"),
    "admin-audit": (True, lambda a: "/admin/audit"),
    "admin-reject": (True, lambda a: f"/admin/apps/{a.own_app}/reject"),
    "profile": (True, lambda a: "/account/profile"),
    "delete-account": (True, lambda a: "/account/delete"),
    "admin-users": (True, lambda a: "/admin/users"),
    "admin-tokens": (True, lambda a: "/admin/tokens"),
    "admin-user": (True, lambda a: f"/admin/users/{a.site.services.people.by_email(a.email).id}"),
    "consent": (
        True,
        lambda a: f"/signin/authorize?btnId={a.btn_new}&origin={a.site.partner}&state=s",
    ),
}


def axe_violations(page: Page, axe: Path) -> list[dict[str, object]]:
    page.add_script_tag(path=str(axe))
    found: list[dict[str, object]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_passes_axe_and_fits_a_phone(
    browser: Browser, audit: Audit, language: str, width: str
) -> None:
    problems: dict[str, object] = {}
    for signed_in in (False, True):
        context = browser.new_context(
            viewport=WIDTHS[width],
            bypass_csp=True,
            locale=language,
            is_mobile=width == "phone",
            has_touch=width == "phone",
        )
        context.add_init_script(NO_FEDCM)
        if signed_in:
            sign_in(context, audit.site, audit.email)
        elif audit.two_step is not None:
            pending = audit.site.services.factors.begin_second_step(audit.two_step, "/")
            context.add_cookies([{"name": "le_2fa", "value": pending, "url": audit.site.idp}])
        page = context.new_page()
        for name, (needs_user, path) in PAGES.items():
            if needs_user != signed_in:
                continue
            target = path(audit)
            join = "&" if "?" in target else "?"
            page.goto(f"{audit.site.idp}{target}{join}lang={language}")
            assert page.evaluate("document.documentElement.lang") == language, name
            assert urlsplit(page.url).path == urlsplit(target).path, (name, page.url)
            violations = axe_violations(page, audit.axe)
            blocking = [v for v in violations if v["impact"] in BLOCKING]
            overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
            shot = SCREENSHOTS / "pages" / f"{name}-{language}-{width}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            audit.results[f"{name} {language} {width}"] = {
                "serious_or_critical": len(blocking),
                "other": len(violations) - len(blocking),
                "other_rules": sorted({str(v["id"]) for v in violations if v not in blocking}),
                "horizontal_overflow_px": overflow,
            }
            if blocking or overflow > 0:
                problems[name] = {"axe": blocking, "overflow": overflow}
        context.close()
    assert not problems, json.dumps(problems, indent=1)
