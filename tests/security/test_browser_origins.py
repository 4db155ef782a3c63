"""Hostile pages in real Chromium (RFC 9700 section 4.1, RFC 6819 section 4.4.1.8): a look-alike
origin, a sandboxed iframe (origin ``null``) and a page that lies about its origin get no token
through the popup, the silent iframe or messages; partner strings the SDK draws stay text.

Reuses the live servers, the partner's test pages and the browser of ``tests/browser/``; the
hostile pages are served by one more of that suite's ``LiveServer`` on loopback (Chromium
refuses a page it cannot place in an address space any access to loopback). The user has always
granted the application on its real origin first, so any refusal is the origin check at work,
not a missing grant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as WebRoute

from browser import pages
from browser.popup import log_in, results
from leadexec_signin.demo_partner import snippet
from support.live import LiveServer, Site

pytestmark = pytest.mark.browser

LISTENER = """<script>
window.__messages = [];
window.addEventListener("message", function (e) {
  window.__messages.push({origin: e.origin, data: e.data});
});
</script>"""


class Hostile:
    """A loopback server that answers whatever page a test put at a path."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.server = LiveServer()

        async def show(request: Request) -> Response:
            html = self.pages.get(request.path_params["name"])
            return HTMLResponse(html) if html else Response(status_code=404)

        self.server.start(Starlette(routes=[WebRoute("/{name}", show)]))

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.server.stop()


@pytest.fixture
def partner_page(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Put a page at ``/t/NAME`` of the partner test servers (served with their CSP)."""

    def put(name: str, html: str) -> None:
        monkeypatch.setitem(pages.PAGES, name, lambda _site: html)

    return put


def button_page(site: Site, btn_id: str, extra_body: str = "") -> str:
    head = pages.RECORDER + LISTENER + snippet(site.idp_host)
    body = f'<button id="leAppButton" data-btnId="{btn_id}">Sign in with LeadExec</button>'
    return pages.page("Hostile", head, body + extra_body)


def no_tokens(result: dict[str, Any]) -> None:
    assert result["valid"] is False
    assert result["refreshToken"] is None and result["authToken"] is None
    assert result["code"] is None and result["user"] is None


def no_token_in_messages(target: Any) -> None:
    for m in target.evaluate("window.__messages"):
        assert "ler_" not in str(m["data"]) and "lea_" not in str(m["data"]), m


def grant_app_b(site: Site, page: Page, partner_page: Callable[[str, str], None]) -> None:
    """A fresh user signs in and allows app B on its one registered origin."""
    email = site.new_user()
    partner_page("sec-real", button_page(site, site.btn_b))
    page.goto(site.partner + "/t/sec-real")
    assert results(page, 1)[0]["error"] == "immediate_failed"
    with page.expect_popup() as info:
        page.click("#leAppButton")
    popup = info.value
    log_in(popup, email)
    allow = popup.get_by_role("button", name="Allow", exact=True)
    with popup.expect_event("close"):
        allow.click()
    assert results(page, 2)[1]["valid"] is True


@pytest.mark.parametrize(
    "where",
    ["hostile-127", "partner-localhost", "hostile-localhost"],
    ids=["another port on the same host", "localhost for 127.0.0.1", "localhost on another port"],
)
def test_a_look_alike_origin_gets_nothing_in_chromium(
    site: Site,
    context: BrowserContext,
    page: Page,
    hostile: Hostile,
    partner_page: Callable[[str, str], None],
    where: str,
) -> None:
    grant_app_b(site, page, partner_page)
    html = button_page(site, site.btn_b)
    if where == "partner-localhost":
        partner_page("sec-lookalike", html)
        url = site.partner.replace("127.0.0.1", "localhost") + "/t/sec-lookalike"
    else:
        hostile.pages["lookalike"] = html
        url = hostile.url + "/lookalike"
        if where == "hostile-localhost":
            url = url.replace("127.0.0.1", "localhost")
    lookalike = context.new_page()
    lookalike.goto(url)
    silent = results(lookalike, 1)[0]
    assert silent["error"] == "immediate_failed" and silent["immediate"] is True
    no_tokens(silent)
    with lookalike.expect_popup() as info:
        lookalike.click("#leAppButton")
    popup = info.value
    clicked = results(lookalike, 2)[1]
    assert clicked["error"] == "origin_not_allowed"
    no_tokens(clicked)
    if not popup.is_closed():
        popup.wait_for_event("close")
    no_token_in_messages(lookalike)


SANDBOXED = (
    '<iframe id="box" sandbox="allow-scripts allow-popups allow-forms" src="/{name}"'
    ' width="400" height="200"></iframe>'
)


def capture_authorize(site: Site, context: BrowserContext) -> list[str]:
    """Every answer of the provider's popup endpoint, as the browser received it."""
    served: list[str] = []

    def keep(route: Route) -> None:
        response = route.fetch()
        served.append(response.text())
        route.fulfill(response=response)

    context.route(lambda url: url.startswith(site.idp + "/signin/authorize?"), keep)
    return served


def settle(host: Page, served: list[str]) -> None:
    """Until the popup's answer has reached the browser (a popup born in a sandbox inherits
    it, and may close itself at once or not at all)."""
    for _ in range(100):
        if served:
            break
        host.wait_for_timeout(100)
    assert served, "the popup never loaded"
    host.wait_for_timeout(300)  # time for a message, had one been sent


def inner_frame(host: Page) -> Any:
    handle = host.query_selector("#box")
    assert handle is not None
    return handle.content_frame()


def test_a_sandboxed_iframe_with_a_null_origin_gets_nothing(
    site: Site,
    context: BrowserContext,
    page: Page,
    hostile: Hostile,
    partner_page: Callable[[str, str], None],
) -> None:
    """A sandboxed frame's origin is opaque (``null``): the SDK inside it gets no token, and a
    popup opened from it saying ``origin=null`` is refused with nothing posted."""
    grant_app_b(site, page, partner_page)
    null_popup = f"{site.idp}/signin/authorize?btnId={site.btn_b}&origin=null&state=n"
    extra = f"""<button id="null-popup" type="button">origin=null</button>
<script>document.getElementById("null-popup").addEventListener("click", function () {{
  window.open("{null_popup}", "", "popup=yes,width=500,height=600"); }});</script>"""
    hostile.pages["sandboxed"] = button_page(site, site.btn_b, extra)
    hostile.pages["sandbox"] = pages.page("Sandbox", LISTENER, SANDBOXED.format(name="sandboxed"))
    served = capture_authorize(site, context)
    host = context.new_page()
    host.goto(hostile.url + "/sandbox")
    frame = host.frame_locator("#box")
    frame.locator("#leAppButton").wait_for()
    box = inner_frame(host)
    assert box.evaluate("self.origin") == "null"
    # The SDK's own flow: it knows a null origin can never hear an answer, so the silent
    # check fails and a click is refused at once, without a popup or a request.
    box.wait_for_function("window.__results.length >= 1")
    frame.locator("#leAppButton").click()
    box.wait_for_function("window.__results.length >= 2")
    first_two = box.evaluate("window.__results.slice(0, 2).map(r => r.error)")
    assert first_two == ["immediate_failed", "origin_not_allowed"]
    assert served == []
    # A hand-made popup saying origin=null: nowhere safe to post, so nothing is posted.
    with host.expect_popup() as info:
        frame.locator("#null-popup").click()
    popup = info.value
    popup.wait_for_load_state()
    assert popup.locator("#le-result").count() == 0
    assert "invalid_request" in popup.content() and "ler_" not in popup.content()
    popup.close()
    for result in box.evaluate("window.__results"):
        no_tokens(result)
    no_token_in_messages(box)
    no_token_in_messages(host)


def test_a_sandboxed_iframe_lying_about_its_origin_hears_nothing(
    site: Site,
    context: BrowserContext,
    page: Page,
    hostile: Hostile,
    partner_page: Callable[[str, str], None],
) -> None:
    """The frame opens the popup claiming the partner's origin: the provider answers with
    tokens (it cannot see who opened the window) but posts them to the partner's origin only,
    and the browser drops the message for the opaque origin that actually opened it."""
    grant_app_b(site, page, partner_page)
    lie = f"{site.idp}/signin/authorize?btnId={site.btn_b}&origin={site.partner}&state=lie"
    hostile.pages["liar"] = pages.page(
        "Liar",
        LISTENER,
        f"""<button id="lie" type="button">open</button>
<script>document.getElementById("lie").addEventListener("click", function () {{
  window.open("{lie}", "", "popup=yes,width=500,height=600"); }});</script>""",
    )
    hostile.pages["liar-host"] = pages.page("Host", LISTENER, SANDBOXED.format(name="liar"))
    served = capture_authorize(site, context)
    host = context.new_page()
    host.goto(hostile.url + "/liar-host")
    with host.expect_popup() as info:
        host.frame_locator("#box").locator("#lie").click()
    popup = info.value
    settle(host, served)
    assert '"refreshToken": "ler_' in served[-1]  # the provider did answer
    if not popup.is_closed():
        popup.close()
    assert inner_frame(host).evaluate("window.__messages") == []
    no_token_in_messages(host)


def test_partner_markup_stays_text_in_the_sdks_button(
    site: Site, page: Page, partner_page: Callable[[str, str], None]
) -> None:
    services = site.services
    app, _ = services.registry.register(
        name="<img src=x onerror=window.__pwned=1>", origins=[site.partner], scopes="profile"
    )
    services.operator.set_app_status(app.id, "approved")
    marked = "<img src=x onerror=window.__pwned=2>"
    button = services.registry.create_button(app_id=app.id, scopes="profile", text=marked)
    partner_page("sec-markup", button_page(site, button.id))
    page.goto(site.partner + "/t/sec-markup")
    results(page, 1)
    page.wait_for_function(
        "t => document.getElementById('leAppButton').textContent.trim() === t", arg=marked
    )
    assert page.locator("#leAppButton img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []  # type: ignore[attr-defined]
