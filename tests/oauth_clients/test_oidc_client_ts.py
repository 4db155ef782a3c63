"""oidc-client-ts in Chromium: the single-page app of docs/oauth.md (``spa/``) on its own site.

The app is served from ``http://localhost:PORT``, another site than the provider's
``127.0.0.1``, under a CSP that allows only its own scripts and connections to the provider;
it loads the library's browser bundle from node_modules. A person signs in through the
redirect (PKCE), the page shows their profile, the refresh token renews the session with no
iframe (``signinSilent``), and signing out revokes the tokens and ends the provider's session.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from leadexec_signin.core.clients import ClientRegistration
from support.live import LiveServer, Site
from support.node import new_user
from support.signin import PASSWORD

pytestmark = pytest.mark.browser

SPA = Path(__file__).resolve().parent / "spa"
PLACEHOLDERS = {
    "authority": 'const LEADEXEC = "https://signin.leadexec.com";',
    "client_id": 'const CLIENT_ID = "YOUR_CLIENT_ID";',
}


def app_js(idp: str, client_id: str) -> str:
    """The example exactly as documented, with its two settings filled in."""
    text = (SPA / "app.js").read_text()
    for line in PLACEHOLDERS.values():
        assert text.count(line) == 1, f"spa/app.js no longer has the line {line!r}"
    text = text.replace(PLACEHOLDERS["authority"], f"const LEADEXEC = {json.dumps(idp)};")
    return text.replace(PLACEHOLDERS["client_id"], f"const CLIENT_ID = {json.dumps(client_id)};")


def spa_app(idp: str, client_id: str, node_modules: Path) -> Starlette:
    csp = (
        "default-src 'none'; script-src 'self'; "
        f"connect-src {idp}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    headers = {"Content-Security-Policy": csp, "Cache-Control": "no-store"}
    script = app_js(idp, client_id)
    bundle = node_modules / "oidc-client-ts" / "dist" / "browser" / "oidc-client-ts.min.js"

    async def index(request: Request) -> Response:
        return FileResponse(SPA / "index.html", headers=headers)

    async def app(request: Request) -> Response:
        return Response(script, media_type="text/javascript", headers=headers)

    async def library(request: Request) -> Response:
        return FileResponse(bundle, media_type="text/javascript", headers=headers)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/app.js", app),
            Route("/oidc-client-ts.min.js", library),
        ]
    )


@dataclass
class SinglePageApp:
    url: str
    client_id: str


@pytest.fixture(scope="module")
def spa(provider: Site, node_modules: Path) -> Iterator[SinglePageApp]:
    server = LiveServer()
    url = f"http://localhost:{server.port}"
    services = provider.services
    app, secret = services.registry.register(
        name="Single Page Partner",
        origins=[url],
        scopes="profile,email",
        with_secret=False,
        client=ClientRegistration(
            redirect_uris=(f"{url}/",),
            post_logout_redirect_uris=(f"{url}/",),
            auth_method="none",
        ),
    )
    assert secret is None
    services.operator.set_app_status(app.id, "approved")
    server.start(spa_app(provider.idp, app.id, node_modules))
    yield SinglePageApp(url, app.id)
    server.stop()


def stored_user(page: Page, spa: SinglePageApp, idp: str) -> dict[str, Any]:
    """What oidc-client-ts keeps in sessionStorage for the signed-in user."""
    raw = page.evaluate("key => sessionStorage.getItem(key)", f"oidc.user:{idp}:{spa.client_id}")
    assert raw, "no user in sessionStorage"
    found: dict[str, Any] = json.loads(raw)
    return found


def refresh_with(idp: str, client_id: str, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{idp}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


def test_oidc_client_ts_signs_in_renews_silently_and_signs_out(
    provider: Site, spa: SinglePageApp, page: Page, shot: Callable[..., Path]
) -> None:
    idp = provider.idp
    user = new_user(provider, "Sam Single")
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.method} {r.url.split('?')[0]}"))

    page.goto(spa.url + "/")
    page.get_by_role("button", name="Sign in with LeadExec").click()
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Allow", exact=True).click()

    page.wait_for_url(spa.url + "/")  # the callback's code and state are gone from the address
    assert page.locator("#email").inner_text() == user.email
    assert page.locator("#name").inner_text() == "Sam Single"
    shot(page, "oidc-client-ts-signed-in")
    first = stored_user(page, spa, idp)
    assert first["profile"]["sub"] == user.id
    assert first["profile"]["email"] == user.email  # from the ID token and UserInfo
    assert first["scope"] == "openid offline_access profile email"
    assert first["token_type"] == "Bearer"
    assert first["refresh_token"]
    assert page.evaluate("accessToken()") == first["access_token"]
    assert seen.count(f"POST {idp}/oauth2/token") == 1
    before_renewal = len(seen)

    page.get_by_role("button", name="Renew session").click()
    page.wait_for_function(
        "([key, before]) => JSON.parse(sessionStorage.getItem(key)).access_token !== before",
        arg=[f"oidc.user:{idp}:{spa.client_id}", first["access_token"]],
    )
    renewed = stored_user(page, spa, idp)
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]  # a public client: rotated
    assert renewed["profile"]["sub"] == user.id
    assert page.locator("#email").inner_text() == user.email
    assert page.locator("#error").inner_text() == ""
    # The renewal was one refresh-token request (and UserInfo), not a hidden iframe at the
    # authorization endpoint, which would need the provider's cookie in a third-party context.
    assert seen[before_renewal:] == [
        f"POST {idp}/oauth2/token",
        f"GET {idp}/oauth2/userinfo",
    ]

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign out of LeadExec?").wait_for()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(spa.url + "/")
    page.get_by_role("button", name="Sign in with LeadExec").wait_for()
    assert page.locator("#error").inner_text() == ""
    assert f"POST {idp}/oauth2/revoke" in seen
    refused = refresh_with(idp, spa.client_id, renewed["refresh_token"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert page.errors == []  # type: ignore[attr-defined]
