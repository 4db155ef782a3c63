"""FedCM in Chromium through the DevTools protocol, cross-site (partner on ``localhost``,
provider on ``127.0.0.1``) with third-party cookies blocked, in a persistent profile (where
Chromium re-authenticates a returning account by itself)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, Playwright
from tests.web.test_notices import notices_for_app

from leadexec_signin.core.accounts import User
from support.live import CHROMIUM, CHROMIUM_ARGS, NO_FEDCM, ROOT, Site
from support.signin import PASSWORD

from . import pages

# The partner page's own recorder sets window.__results; each push is timed from the SDK's
# start mark (Performance API, as bench/sdk_draw.py reads it).
CALLBACK_MARK = """
Object.defineProperty(window, "__results", { configurable: true,
  get: function () { return this.__r; },
  set: function (v) {
    v.push = function (r) {
      var s = performance.getEntriesByName("leadexec:start")[0];
      r.__ms = performance.now() - (s ? s.startTime : 0);
      return Array.prototype.push.call(this, r);
    };
    this.__r = v;
  } });
"""


@pytest.fixture
def profile(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


class Dialogs:
    """FedCm.enable on a page; every dialog is recorded and answered as the test says, and
    the reason for every failure the browser reports (Audits) kept."""

    def __init__(self, cdp: CDPSession, choose: bool, dismiss: bool = False) -> None:
        self.shown: list[str] = []
        self.issues: list[str] = []
        self.cdp = cdp
        self.choose = choose
        self.dismiss = dismiss
        cdp.send("FedCm.enable", {"disableRejectionDelay": True})
        cdp.on("FedCm.dialogShown", self.answer)
        cdp.send("Audits.enable")
        cdp.on("Audits.issueAdded", self.note)

    def answer(self, event: dict[str, Any]) -> None:
        self.shown.append(event["dialogType"])
        if event["dialogType"] == "AccountChooser" and self.choose:
            self.cdp.send("FedCm.selectAccount", {"dialogId": event["dialogId"], "accountIndex": 0})
        elif event["dialogType"] in {"AccountChooser", "Error"} and self.dismiss:
            self.cdp.send("FedCm.dismissDialog", {"dialogId": event["dialogId"]})

    def note(self, event: dict[str, Any]) -> None:
        details = event["issue"]["details"].get("federatedAuthRequestIssueDetails")
        if details:
            self.issues.append(details["federatedAuthRequestIssueReason"])


def log_in_at_provider(page: Page, site: Site, email: str) -> None:
    page.goto(f"{site.idp}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/account/apps")


def partner_page(site: Site) -> str:
    return f"{site.partner_localhost}/t/script-first"


def first_result(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.__results.length >= 1", timeout=15_000)
    return page.evaluate("() => window.__results[0]")  # type: ignore[no-any-return]


def test_a_returning_cross_site_user_is_recognised_without_a_prompt(
    site: Site, profile: BrowserContext, shot: Callable[..., Path]
) -> None:
    email = site.new_user("Fay Fedcm")
    page = profile.new_page()
    log_in_at_provider(page, site, email)
    page.add_init_script(CALLBACK_MARK)

    # Before: without FedCM, the cross-site silent check cannot see the session.
    before = profile.new_page()
    before.add_init_script(NO_FEDCM)
    before.add_init_script(CALLBACK_MARK)
    before.goto(partner_page(site))
    first_result(before)
    before.reload()  # timed as a reload, like "after" below: the same warm caches
    old = first_result(before)
    assert (old["valid"], old["error"], old["via"]) == (False, "immediate_failed", "iframe")
    before.close()

    # First visit with FedCM: the account chooser, the disclosure is the consent.
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    first = first_result(page)
    assert (first["valid"], first["via"], first["scopes"]) == (True, "fedcm", ["profile", "email"])
    assert first["user"]["email"] == email
    assert dialogs.shown == ["AccountChooser"]
    shot(page, "fedcm-first-sign-in")

    # Reload: recognised by the browser itself, no chooser.
    dialogs.shown.clear()
    dialogs.choose = False
    page.reload()
    again = first_result(page)
    assert (again["valid"], again["immediate"], again["via"]) == (True, True, "fedcm")
    assert again["refreshToken"].startswith("ler_")
    assert "AccountChooser" not in dialogs.shown
    print(
        f"\nFEDCM before: {old['error']} in {old['__ms']:.0f} ms; "
        f"after: valid in {again['__ms']:.0f} ms, dialogs {dialogs.shown}"
    )
    shot(page, "fedcm-returning-user")


def test_a_user_signed_out_of_leadexec_gets_immediate_failed(
    site: Site, profile: BrowserContext
) -> None:
    email = site.new_user("Sid Signedout")
    page = profile.new_page()
    log_in_at_provider(page, site, email)
    page.goto(f"{site.idp}/account/logout")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/login**")
    page.add_init_script(CALLBACK_MARK)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    result = first_result(page)
    assert (result["valid"], result["error"]) == (False, "immediate_failed")
    assert dialogs.shown == []


class Wire:
    """What went over the network as Chromium sent and received it (the DevTools protocol's
    extra info: the real cookies and Sec-Fetch headers, which Playwright's events leave out
    for a request the page cannot read)."""

    def __init__(self, cdp: CDPSession) -> None:
        self.urls: dict[str, str] = {}
        self.sent: dict[str, dict[str, str]] = {}
        self.answered: dict[str, dict[str, Any]] = {}
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self.request)
        cdp.on("Network.requestWillBeSentExtraInfo", self.sent_info)
        cdp.on("Network.responseReceivedExtraInfo", self.answer_info)

    def request(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def sent_info(self, event: dict[str, Any]) -> None:
        self.sent[event["requestId"]] = event["headers"]

    def answer_info(self, event: dict[str, Any]) -> None:
        self.answered[event["requestId"]] = event

    def exchange(self, page: Page, path: str) -> tuple[dict[str, str], dict[str, Any]]:
        for _ in range(50):
            ids = [i for i, url in self.urls.items() if url.endswith(path)]
            if ids and ids[0] in self.sent and ids[0] in self.answered:
                return self.sent[ids[0]], self.answered[ids[0]]
            page.wait_for_timeout(100)
        raise AssertionError(f"no exchange with {path} seen")


# A page's own call of the browser's API, with what it is told either way.
GET_CREDENTIAL = """async ([configURL, clientId, btnId]) => {
  try {
    const c = await navigator.credentials.get({ identity: { providers: [
      { configURL: configURL, clientId: clientId, params: { btnId: btnId } }] },
      mediation: "optional" });
    return { token: c.token };
  } catch (e) { return { name: e.name, error: e.error || null }; }
}"""
DISCONNECT = """async ([configURL, clientId, accountHint]) => {
  try {
    await IdentityCredential.disconnect({ configURL, clientId, accountHint });
    return "disconnected";
  } catch (e) { return e.name; }
}"""
# Records the SDK's calls of IdentityCredential.disconnect and how each ended.
RECORD_DISCONNECT = """
window.__disconnects = [];
if (window.IdentityCredential) {
  const real = IdentityCredential.disconnect.bind(IdentityCredential);
  IdentityCredential.disconnect = function (o) {
    const call = { clientId: o.clientId, accountHint: o.accountHint, outcome: "pending" };
    window.__disconnects.push(call);
    return real(o).then(
      (v) => { call.outcome = "fulfilled"; return v; },
      (e) => { call.outcome = e.name; throw e; });
  };
}
"""


def serve(monkeypatch: pytest.MonkeyPatch, site: Site, name: str, btn_id: str) -> str:
    """A partner page of this test alone (``/t/NAME``), with one button, on ``localhost``:
    another site than the provider's ``127.0.0.1``."""

    def build(s: Site) -> str:
        head = pages.RECORDER + f'\n<script src="{s.idp}/signin/button.js"></script>'
        body = f'<button id="leAppButton" data-btnId="{btn_id}">Sign in with LeadExec</button>'
        return pages.page(name, head, body)

    monkeypatch.setitem(pages.PAGES, name, build)
    return f"{site.partner_localhost}/t/{name}"


def noticed_app(site: Site, name: str) -> tuple[str, str]:
    """An application of its own (so its notices are this test's), on the localhost origin."""
    app, _ = site.services.registry.register(
        name=name,
        origins=[site.partner_localhost],
        scopes="profile,email",
        notice_url="https://partner.example/notices",
    )
    site.services.operator.set_app_status(app.id, "approved")
    return app.id, site.services.registry.create_button(app_id=app.id, scopes="profile,email").id


def fresh_user(site: Site, name: str) -> User:
    """``site.new_user`` with the account itself (its id is the disconnect's hint)."""
    return site.services.accounts.create_user(
        email=f"fedcm{next(site.users)}@example.com",
        name=name,
        password=PASSWORD,
        company="Browser Leads",
        plan="Pro",
    )


def grants_of(site: Site, user: User) -> list[str]:
    return [g.grant.app_id for g in site.services.accounts.connected_apps(user.id)]


def test_an_unregistered_origin_gets_no_credential_from_the_assertion_endpoint(
    site: Site, profile: BrowserContext
) -> None:
    """The strongest case: a returning user, whose browser would sign them in to the real
    partner by itself, on a page of another site that names the partner's application."""
    user = fresh_user(site, "Una Unregistered")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    assert first_result(page)["valid"] is True
    assert grants_of(site, user) == [site.app_a]

    evil = site.evil.replace("127.0.0.1", "localhost")
    dialogs.shown.clear()
    dialogs.dismiss = True  # the browser's error dialog, once it fails
    page.goto(f"{evil}/t/unregistered")
    sdk = first_result(page)
    assert (sdk["valid"], sdk["refreshToken"], sdk["user"]) == (False, None, None)
    own = page.evaluate(GET_CREDENTIAL, [f"{site.idp}/fedcm/config.json", site.app_a, site.btn_a])
    assert "token" not in own
    # The refusal is not readable by that page: no reason reaches it.
    assert own["error"] is None
    assert set(dialogs.issues) == {"CorsError"}
    assert grants_of(site, user) == [site.app_a]


def test_a_refusal_is_readable_by_the_registered_partner_page(
    site: Site, profile: BrowserContext
) -> None:
    """A button of another application on the partner's page: refused, and the partner's
    page (registered for the application the browser named) is told why."""
    user = fresh_user(site, "Rhea Readable")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True, dismiss=True)
    page.goto(f"{site.partner_localhost}/t/empty")
    own = page.evaluate(GET_CREDENTIAL, [f"{site.idp}/fedcm/config.json", site.app_a, site.btn_b])
    assert "token" not in own
    assert own["error"] == "origin_not_allowed"
    # The browser read the provider's answer (not a CORS failure) and said so in its dialog.
    assert (dialogs.shown, dialogs.issues) == (
        ["AccountChooser", "Error"],
        ["IdTokenIdpErrorResponse"],
    )
    assert grants_of(site, user) == []


def test_a_request_without_sec_fetch_dest_webidentity_is_refused(
    site: Site, profile: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's own fetch, from the provider's own site so that the session cookie does go
    with it: only the missing ``Sec-Fetch-Dest: webidentity`` (which no page can set) stops
    it. The browser's own FedCM requests still pass."""
    user = fresh_user(site, "Seth Secfetch")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    page.goto(f"{site.partner}/t/empty")
    form = {
        "client_id": site.app_a,
        "account_id": user.id,
        "disclosure_text_shown": "true",
        "params": f'{{"btnId": "{site.btn_a}"}}',
    }
    wire = Wire(profile.new_cdp_session(page))
    told = page.evaluate(
        """async ([url, form]) => {
          const r = await fetch(url, { method: "POST", credentials: "include",
            mode: "no-cors", body: new URLSearchParams(form) });
          return { type: r.type, status: r.status, body: await r.text() };
        }""",
        [f"{site.idp}/fedcm/assertion", form],
    )
    sent, answered = wire.exchange(page, "/fedcm/assertion")
    assert sent["Sec-Fetch-Dest"] == "empty"
    assert "le_session=" in sent["Cookie"]  # signed in, and still refused
    assert answered["statusCode"] == 400
    assert "access-control-allow-origin" not in {k.lower() for k in answered["headers"]}
    assert told == {"type": "opaque", "status": 0, "body": ""}  # nothing for the page
    assert grants_of(site, user) == []

    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    page.goto(partner_page(site))
    result = first_result(page)
    assert (result["valid"], result["via"]) == (True, "fedcm")
    assert dialogs.shown == ["AccountChooser"]
    assert grants_of(site, user) == [site.app_a]


def sign_in_with_fedcm(page: Page, url: str) -> tuple[Dialogs, dict[str, Any]]:
    """The first visit: the browser's account chooser, whose disclosure is the consent."""
    dialogs = Dialogs(page.context.new_cdp_session(page), choose=True)
    page.goto(url)
    result = first_result(page)
    assert (result["valid"], result["via"]) == (True, "fedcm")
    assert dialogs.shown == ["AccountChooser"]
    return dialogs, result


def test_identity_credential_disconnect_ends_the_grant_like_remove_access(
    site: Site, profile: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_id, btn_id = noticed_app(site, "Dora Disconnect Co")
    user = fresh_user(site, "Dora Disconnect")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    dialogs, _ = sign_in_with_fedcm(page, serve(monkeypatch, site, "fedcm-disconnect", btn_id))
    assert grants_of(site, user) == [app_id]
    config = f"{site.idp}/fedcm/config.json"

    assert page.evaluate(DISCONNECT, [config, app_id, user.id]) == "disconnected"
    assert grants_of(site, user) == []
    (queued,) = notices_for_app(site.services, app_id)
    body = json.loads(queued.body)
    assert (body["via"], body["userId"], queued.delivered_at) == ("user", user.id, None)

    # Signed in again (the browser asks again: it forgot), then a hint that is not the
    # signed-in account: refused, and nothing ends (the browser, unsure which account the
    # provider meant, forgets them all for this application, as the FedCM spec lets it).
    dialogs.shown.clear()
    page.reload()
    assert first_result(page)["valid"] is True
    assert dialogs.shown == ["AccountChooser"]
    told = page.evaluate(DISCONNECT, [config, app_id, "someone.else@example.com"])
    assert told == "NetworkError"
    assert grants_of(site, user) == [app_id]
    assert len(notices_for_app(site.services, app_id)) == 1


def test_leadexec_disconnect_ends_the_grant_and_the_browser_forgets_it(
    site: Site, profile: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_id, btn_id = noticed_app(site, "Lee Leave Co")
    user = fresh_user(site, "Lee Leave")
    page = profile.new_page()
    page.add_init_script(RECORD_DISCONNECT)
    log_in_at_provider(page, site, user.email)
    url = serve(monkeypatch, site, "fedcm-leave", btn_id)
    dialogs, result = sign_in_with_fedcm(page, url)

    told = page.evaluate("(token) => LeadExec.disconnect(token)", result["refreshToken"])
    assert told == {"valid": True, "errorMessage": None, "error": None}
    # The SDK named the account its callback was handed, after the token's grant had ended.
    assert page.evaluate("() => window.__disconnects") == [
        {"clientId": app_id, "accountHint": user.id, "outcome": "fulfilled"}
    ]
    assert grants_of(site, user) == []
    (queued,) = notices_for_app(site.services, app_id)  # one notice, for the partner's revoke
    assert json.loads(queued.body)["via"] == "token"

    # The next visit is not signed in by the browser: its chooser asks again.
    dialogs.shown.clear()
    dialogs.choose, dialogs.dismiss = False, True
    page.reload()
    again = first_result(page)
    assert (again["valid"], again["error"], again["via"]) == (False, "immediate_failed", "iframe")
    assert dialogs.shown == ["AccountChooser"]


def test_scopes_beyond_the_disclosure_open_the_consent_window_and_the_callback_gets_them(
    site: Site, profile: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``account`` is not in the browser's disclosure: the assertion answers ``continue_on``,
    the browser opens the popup's consent page in its own window, the user allows, and the
    page's callback gets the authorization object through the browser."""
    btn_id = site.services.registry.create_button(
        app_id=site.app_a, scopes="profile,email,account"
    ).id
    user = fresh_user(site, "Cora Continue")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=True)
    with profile.expect_page() as opened:
        page.goto(serve(monkeypatch, site, "fedcm-continue", btn_id))
    consent = opened.value
    consent.wait_for_load_state()
    assert consent.url.startswith(f"{site.idp}/signin/authorize?")
    assert "Allow Acme CRM to access your account?" in consent.title()
    assert grants_of(site, user) == []  # nothing before the user allows
    consent.get_by_role("button", name="Allow").click()

    result = first_result(page)
    assert (result["valid"], result["via"]) == (True, "fedcm")
    assert result["scopes"] == ["profile", "email", "account"]
    assert result["user"] == {
        "id": user.id,
        "name": "Cora Continue",
        "email": user.email,
        "company": "Browser Leads",
        "plan": "Pro",
    }
    assert result["refreshToken"].startswith("ler_")
    assert dialogs.shown == ["AccountChooser"]
    assert grants_of(site, user) == [site.app_a]


def test_a_refusal_on_click_reaches_the_callback_with_leadexecs_code(
    site: Site, profile: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suspended between render and click: the browser shows LeadExec's reason and hands the
    code over (the partner's origin is registered), and the SDK passes it to the callback."""
    app_id, btn_id = noticed_app(site, "Sal Suspended Co")
    user = fresh_user(site, "Sal Suspended")
    page = profile.new_page()
    log_in_at_provider(page, site, user.email)
    dialogs = Dialogs(profile.new_cdp_session(page), choose=False, dismiss=True)
    page.goto(serve(monkeypatch, site, "fedcm-refused", btn_id))
    assert first_result(page)["error"] == "immediate_failed"  # chooser dismissed: the iframe
    site.services.operator.set_app_status(app_id, "suspended")
    dialogs.shown.clear()
    dialogs.choose = True
    page.click("#leAppButton")
    page.wait_for_function("() => window.__results.length >= 2", timeout=15_000)
    refused = page.evaluate("() => window.__results[1]")
    assert (refused["valid"], refused["error"], refused["via"]) == (
        False,
        "app_not_approved",
        "fedcm",
    )
    assert refused["refreshToken"] is None
    assert dialogs.shown == ["AccountChooser", "Error"]
    assert grants_of(site, user) == []


def test_the_sdk_guide_gives_automated_tests_the_script_this_suite_uses() -> None:
    """docs/sdk.md tells partners who test with Playwright, Puppeteer or Selenium how to take
    the popup path: with the very script every popup test here runs before the page's own, and
    the DevTools commands the FedCM tests above send."""
    guide = (ROOT / "docs" / "sdk.md").read_text()
    section = guide.split("### Testing your page with Playwright, Puppeteer or Selenium")[1]
    section = section.split("\n### ")[0]
    assert f'addInitScript("{NO_FEDCM}")' in section
    assert f'evaluateOnNewDocument("{NO_FEDCM}")' in section
    assert f'{{"source": "{NO_FEDCM}"}}' in section
    for command in ("FedCm.enable", "FedCm.dialogShown", "FedCm.selectAccount",
                    "FedCm.dismissDialog", '"disableRejectionDelay": true'):  # fmt: skip
        assert command in section, command
    this_suite = Path(__file__).read_text()
    assert 'cdp.send("FedCm.enable", {"disableRejectionDelay": True})' in this_suite
