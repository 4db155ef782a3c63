"""oauth4webapi (Node, strict) with RFC 8707 ``resource``, from the resource's URL alone:
``js/resource.mjs`` reads the MCP endpoint's RFC 9728 metadata, the provider's RFC 8414
metadata, sends the browser (Chromium signs in and allows) with PKCE and ``resource``,
exchanges the code naming the resource, and validates the RFC 9068 access token the way a
resource server does (signature, ``typ``, ``iss``, ``aud``); the test checks the audience is
``/mcp``, that validating it for the LeadExec API fails, that the API refuses it, and that a
refresh keeps the audience."""

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


def test_oauth4webapi_gets_a_token_whose_audience_is_the_resource(
    provider: Site, page: Page, shot: Callable[..., Path], node_modules: Path
) -> None:
    services = provider.services
    redirect_uri = "http://127.0.0.1:9/oauth4webapi/resource"
    app, _ = services.registry.register(
        name="Resource Agent", origins=[], scopes="profile,email",
        client=ClientRegistration(redirect_uris=(redirect_uri,), access_token_format="jwt"),
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    user = new_user(provider)
    mcp, api = provider.idp + "/mcp", provider.idp + "/api/v1"
    driver = NodeDriver(
        "resource.mjs",
        {"resource": mcp, "otherResource": api, "clientId": app.id, "redirectUri": redirect_uri},
    )
    try:
        start = driver.read()

        def client_page(route: Route) -> None:
            route.fulfill(content_type="text/html", body="<!doctype html><title>Agent</title>")

        page.route(lambda url: url.startswith(redirect_uri + "?"), client_page)
        page.goto(start["authorizationUrl"])
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        # The consent dialog names the resource the agent asked for.
        page.get_by_text("LeadExec for AI assistants (MCP)").first.wait_for()
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(lambda url: url.startswith(redirect_uri + "?"))
        driver.send(page.url)
        result = driver.read()
    finally:
        driver.close()

    assert start["prm"]["resource"] == mcp
    assert start["prm"]["authorization_servers"] == [provider.idp]
    claims = result["claims"]
    assert claims["aud"] == mcp and claims["sub"] == user.id and claims["client_id"] == app.id
    assert claims["iss"] == provider.idp
    assert (
        result["forOther"]["refused"]
        and result["forOther"]["code"] == "OAUTH_JWT_CLAIM_COMPARISON_FAILED"
    )
    assert result["atOther"]["status"] == 401
    assert 'error="invalid_token"' in result["atOther"]["challenge"]
    assert result["refreshed"] == {"aud": mcp, "rotated": True}
