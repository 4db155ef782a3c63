"""Every person-facing page in each language, at desktop and phone widths: axe-core finds no
serious or critical violation, a phone needs no horizontal scrolling, and a screenshot of each
is written (``artifacts/screenshots/pages/<page>-<language>-<width>.png``).

axe-core comes from the npm lockfile (``tests/oauth_clients/js``) and is injected into
Chromium; the audit's contexts bypass the pages' script policy only so that the audit script
can run, which the pages' own tests check separately. A summary table is written to
``artifacts/accessibility.json``.

Each language, width and group of pages is a test of its own, so that pytest-xdist spreads
the sweep over its workers; a group's pages share one browser context, which signs in once
per module (its cookies are copied into each context) and keeps axe-core compiled
(``support.axe``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, StorageState

from leadexec_signin.core.accounts import User
from leadexec_signin.core.authorize import AuthorizeRequest
from support.artifacts import merge_json
from support.axe import BLOCKING, axe_violations
from support.live import NO_FEDCM, ROOT, SCREENSHOTS, Site
from support.signin import PASSWORD
from support.world import allow

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "de", "es")
WIDTHS = {"desktop": {"width": 1100, "height": 760}, "phone": {"width": 390, "height": 844}}
SUMMARY = ROOT / "artifacts" / "accessibility.json"


@dataclass
class Audit:
    site: Site
    email: str
    btn_new: str  # a button of an app the user has not granted: its popup asks for consent
    own_app: str  # an application of the user's own (a partner), in development mode
    axe: str  # axe-core's URL
    results: dict[str, dict[str, object]]
    signed_in: StorageState  # the user's session cookie, copied into each signed-in context
    two_step: User | None = None  # has the authenticator app: its second step is audited


@pytest.fixture(scope="module")
def audit(site: Site, browser: Browser, axe_url: str) -> Iterator[Audit]:
    # The module's fixture is made again if xdist gives this worker other modules' tests in
    # between: each time with accounts of its own.
    n = next(site.users)
    email = f"audit{n}@example.com"
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
        email=f"audit{n}-2fa@example.com", name="Tove Two-Step", password=PASSWORD
    )
    totp = pyotp.TOTP(site.services.codes.start(two_step).secret)
    site.services.codes.confirm(two_step, totp.now())
    site.services.registry.ensure_try_it(site.services.settings.issuer_origin)
    results: dict[str, dict[str, object]] = {}
    signed_in = sign_in(browser, site, email)
    yield Audit(site, email, site.btn_b, own.id, axe_url, results, signed_in, two_step)
    merge_json(SUMMARY, results)


def sign_in(browser: Browser, site: Site, email: str) -> StorageState:
    """Signs in through the login page once; the session's cookies, for other contexts."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(site.idp + "/account/login")
        page.fill("#email", email)  # by id: the labels are in the context's language
        page.fill("#password", PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_url("**/account/apps")
        return context.storage_state()
    finally:
        context.close()


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


def agent(a: Audit) -> str:
    """A client that registered itself (RFC 7591) in the shared provider, made once; the
    shared provider keeps self-registration off, so it is registered through the use case
    with the setting open."""
    from leadexec_signin.core.actions.self_registration import SelfRegistration

    services = a.site.services
    open_ = services.settings.with_changes(client_registration="open")
    registration = SelfRegistration(services.storage, services.limiter, services.clock, open_)
    found = [c for c in registration.clients()[0] if c.name == "Desk Agent"]
    if found:
        return found[0].id
    meta = {"client_name": "Desk Agent", "redirect_uris": ["https://desk.agent.example/cb"]}
    return registration.register(meta, "127.0.0.1")[0].id


def agent_consent(a: Audit) -> str:
    """/oauth2/authorize of that agent: the consent dialog with its "not reviewed" note."""
    query = {
        "client_id": agent(a), "redirect_uri": "https://desk.agent.example/cb",
        "response_type": "code", "scope": "openid profile email", "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }  # fmt: skip
    return "/oauth2/authorize?" + urlencode(query)


def admin_agents(a: Audit) -> str:
    agent(a)  # the page lists one
    return "/admin/agents"


# The groups of pages a test audits, and whether their visitor is signed in. The groups are of
# similar cost (the API reference alone is as slow as five small pages).
GROUPS = {
    "signed out": False,
    "the API reference": False,
    "the account": True,
    "the account's other pages": True,
    "the console": True,
    "the operators' pages": True,
}

PAGES: dict[str, tuple[str, Callable[[Audit], str]]] = {
    # name: (group, path)
    "login": ("signed out", lambda a: "/account/login"),
    "login-console": ("signed out", lambda a: "/account/login?next=/developers"),
    "second-step": ("signed out", lambda a: "/account/second-step"),
    "signup": ("signed out", lambda a: "/account/signup"),
    "forgot": ("signed out", lambda a: "/account/forgot"),
    "api-docs": ("the API reference", lambda a: "/docs"),
    "not-found": ("signed out", lambda a: "/account/nowhere"),
    "popup-error": (
        "signed out",
        lambda a: f"/signin/authorize?btnId=btn_nope&origin={a.site.partner}&state=s",
    ),
    "connected-apps": ("the account", lambda a: "/account/apps"),
    "device": ("the account", lambda a: "/device"),
    "device-consent": ("the account", device_consent),
    "sign-out": ("the account", lambda a: "/account/logout"),
    "email": ("the account", lambda a: "/account/email"),
    "security": ("the account", lambda a: "/account/security"),
    "security-app": ("the account", lambda a: "/account/security/app"),
    "login-step-up": ("the account's other pages", lambda a: "/account/login?step=mfa&next=/admin"),
    "console-apps": ("the console", lambda a: "/developers"),
    "console-app": ("the console", lambda a: f"/developers/apps/{a.own_app}"),
    "console-buttons": ("the console", lambda a: "/developers/buttons"),
    "console-docs": ("the console", lambda a: "/developers/docs"),
    "console-try": ("the console", lambda a: "/developers/try"),
    "admin": ("the operators' pages", lambda a: "/admin"),
    "admin-audit": ("the operators' pages", lambda a: "/admin/audit"),
    "admin-reject": ("the operators' pages", lambda a: f"/admin/apps/{a.own_app}/reject"),
    "profile": ("the account's other pages", lambda a: "/account/profile"),
    "delete-account": ("the account's other pages", lambda a: "/account/delete"),
    "admin-users": ("the operators' pages", lambda a: "/admin/users"),
    "admin-tokens": ("the operators' pages", lambda a: "/admin/tokens"),
    "admin-user": (
        "the operators' pages",
        lambda a: f"/admin/users/{a.site.services.people.by_email(a.email).id}",
    ),
    "admin-agents": ("the operators' pages", admin_agents),
    "agent-consent": ("the account's other pages", agent_consent),
    "consent": (
        "the account's other pages",
        lambda a: f"/signin/authorize?btnId={a.btn_new}&origin={a.site.partner}&state=s",
    ),
}


def test_every_page_is_in_a_group() -> None:
    assert {group for group, _ in PAGES.values()} == set(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_passes_axe_and_fits_a_phone(
    browser: Browser, audit: Audit, language: str, width: str, group: str
) -> None:
    problems: dict[str, object] = {}
    signed_in = GROUPS[group]
    context = browser.new_context(
        viewport=WIDTHS[width],
        bypass_csp=True,
        locale=language,
        is_mobile=width == "phone",
        has_touch=width == "phone",
        storage_state=audit.signed_in if signed_in else None,
    )
    try:
        context.add_init_script(NO_FEDCM)
        if not signed_in and audit.two_step is not None:
            pending = audit.site.services.factors.begin_second_step(audit.two_step, "/")
            context.add_cookies([{"name": "le_2fa", "value": pending, "url": audit.site.idp}])
        page = context.new_page()
        for name, (in_group, path) in PAGES.items():
            if in_group != group:
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
    finally:
        context.close()
    assert not problems, json.dumps(problems, indent=1)
