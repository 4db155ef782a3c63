"""oauth4webapi (Node, strict) with DPoP + PAR + refresh against the live provider:
``js/dpop.mjs`` pushes the authorization request (PAR, with a DPoP proof), Chromium signs in and
allows, then the library exchanges the code with a DPoP proof (retrying with the server's
nonce), calls UserInfo and the LeadExec API with DPoP, refreshes with the same key; the test
checks what came back, and that the token sent as Bearer and a refresh with another key are
refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from leadexec_signin.core.clients import ClientRegistration
from support.live import Site
from support.node import new_user
from support.node_driver import NodeDriver
from support.signin import PASSWORD

pytestmark = pytest.mark.browser


def test_oauth4webapi_completes_dpop_and_refresh(
    provider: Site, page: Page, shot: Callable[..., Path], node_modules: Path
) -> None:
    services = provider.services
    redirect_uri = f"{provider.partner}/oauth4webapi/callback"
    app, _ = services.registry.register(
        name="DPoP SPA", origins=[], scopes="profile,email",
        client=ClientRegistration(redirect_uris=(redirect_uri,), dpop_bound_access_tokens=True),
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    user = new_user(provider)
    driver = NodeDriver(
        "dpop.mjs",
        {"issuer": provider.idp, "clientId": app.id, "redirectUri": redirect_uri, "par": True},
    )
    try:
        start = driver.read()

        def partner_page(route: Route) -> None:
            route.fulfill(content_type="text/html", body="<!doctype html><title>SPA</title>")

        page.route(lambda url: url.startswith(redirect_uri + "?"), partner_page)
        page.goto(start["authorizationUrl"])
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(lambda url: url.startswith(redirect_uri + "?"))
        driver.send(page.url)
        result = driver.read()
    finally:
        driver.close()

    assert result["metadata"]["dpop_signing_alg_values_supported"] == [
        "ES256", "RS256", "PS256", "EdDSA",
    ]  # fmt: skip
    # DPoP + PAR + refresh in one flow: the authorization request was pushed (RFC 9126).
    assert start["pushed"] is True
    assert result["metadata"]["pushed_authorization_request_endpoint"].endswith("/oauth2/par")
    assert result["nonceRetries"] >= 1  # the server's nonce was asked for and used
    assert result["tokenType"] == "dpop" and result["hasRefreshToken"]
    assert result["sub"] == user.id and result["userinfo"]["email"] == user.email
    assert result["me"] == {"status": 200, "body": {"id": user.id, "name": "Olive Client",
                                                    "email": user.email}}  # fmt: skip
    assert result["asBearer"]["status"] == 401
    assert result["asBearer"]["challenge"].startswith('DPoP algs="ES256')
    assert result["refreshed"] == {"tokenType": "dpop", "rotated": True}
    assert result["meAgain"]["status"] == 200
    assert result["stolen"]["refused"] and result["stolen"]["error"] == "invalid_grant"
