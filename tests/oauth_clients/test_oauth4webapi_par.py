"""oauth4webapi (Node, strict) with pushed authorization requests against the live provider:
a confidential client registered to require PAR pushes its request (client_secret_basic),
Chromium brings only ``client_id`` and ``request_uri``, signs in and allows, and the library
exchanges the code (checking iss, state, the ID token's signature, nonce and at_hash), calls
UserInfo and refreshes (``js/par.mjs``). Then the same ``request_uri`` is refused, and the
client's unpushed request is sent back with ``invalid_request``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route

from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.pushed_requests import URN
from support.live import Site
from support.node import new_user
from support.node_driver import NodeDriver
from support.signin import PASSWORD

pytestmark = pytest.mark.browser


def test_oauth4webapi_completes_par_code_and_refresh(
    provider: Site, page: Page, shot: Callable[..., Path], node_modules: Path
) -> None:
    services = provider.services
    redirect_uri = f"{provider.partner}/oauth4webapi-par/callback"
    app, secret = services.registry.register(
        name="PAR Backend", origins=[], scopes="profile,email", with_secret=True,
        client=ClientRegistration(redirect_uris=(redirect_uri,), require_par=True),
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    user = new_user(provider)
    options = {"issuer": provider.idp, "clientId": app.id, "clientSecret": secret,
               "redirectUri": redirect_uri}  # fmt: skip
    driver = NodeDriver("par.mjs", options)
    try:
        start = driver.read()

        def partner_page(route: Route) -> None:
            route.fulfill(content_type="text/html", body="<!doctype html><title>RP</title>")

        page.route(lambda url: url.startswith(redirect_uri + "?"), partner_page)
        sent = parse_qs(urlsplit(start["authorizationUrl"]).query)
        assert sent.keys() == {"client_id", "request_uri"}  # nothing else in the address
        assert start["requestUri"].startswith(URN) and start["expiresIn"] == 60
        page.goto(start["authorizationUrl"])
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(lambda url: url.startswith(redirect_uri + "?"))
        shot(page, "oauth4webapi-par-callback")
        driver.send(page.url)
        result = driver.read()
    finally:
        driver.close()

    meta = result["metadata"]
    assert meta["pushed_authorization_request_endpoint"] == f"{provider.idp}/oauth2/par"
    assert meta["require_pushed_authorization_requests"] is False  # a per-client choice
    assert result["claims"]["sub"] == user.id and result["claims"]["aud"] == app.id
    assert result["tokenType"] == "bearer"
    assert result["userinfo"]["email"] == user.email
    assert result["userinfo"]["email_verified"] is True
    assert result["refreshed"]["newAccessToken"] and result["refreshed"]["sub"] == user.id

    # Hostile: the request_uri once more (answered already), and an unpushed request.
    again = page.goto(start["authorizationUrl"])
    assert again is not None and again.status == 400
    assert "invalid_request_uri" in page.content()
    challenge = "E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    plain = {"client_id": app.id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge,
             "code_challenge_method": "S256"}  # fmt: skip
    r = httpx.get(f"{provider.idp}/oauth2/authorize?" + urlencode(plain))
    assert r.status_code == 303
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["invalid_request"]
