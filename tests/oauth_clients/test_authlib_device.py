"""The device authorization grant with Authlib (Python) against the live provider, the person's
step done in Chromium: a command-line tool asks for codes, polls with Authlib's
``fetch_token`` (``authorization_pending`` first), a person opens the
``verification_uri_complete``, signs in, reads the consent page and allows, and the next poll
gets tokens that work on the LeadExec API and UserInfo."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Page

from leadexec_signin.core.clients import ClientRegistration
from support.live import Site
from support.node import new_user
from support.signin import PASSWORD

pytestmark = pytest.mark.browser

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def test_authlib_signs_a_device_in_with_a_code_typed_in_chromium(
    provider: Site, page: Page, shot: Callable[..., Path]
) -> None:
    services = provider.services
    app, _ = services.registry.register(
        name="Acme TV", origins=[], scopes="profile,email",
        client=ClientRegistration(device_grant=True),
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    user = new_user(provider)
    client = OAuth2Client(app.id, token_endpoint_auth_method="none", scope="openid profile email")
    discovery = f"{provider.idp}/.well-known/openid-configuration"
    meta = client.request("GET", discovery, withhold_token=True).json()
    assert DEVICE_CODE in meta["grant_types_supported"]
    started = client.request(
        "POST",
        meta["device_authorization_endpoint"],
        data={"client_id": app.id, "scope": "openid profile email offline_access"},
        withhold_token=True,
    ).json()
    first_poll = time.monotonic()
    with pytest.raises(OAuthError) as pending:
        client.fetch_token(meta["token_endpoint"], grant_type=DEVICE_CODE,
                           device_code=started["device_code"])  # fmt: skip
    assert pending.value.error == "authorization_pending"

    # The person, on another screen: types the code by hand at /device, signs in first.
    page.goto(started["verification_uri"])
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    code_box = page.get_by_label("Code")
    code_box.wait_for()
    shot(page, "device-enter-code")
    code_box.fill(started["user_code"].lower().replace("-", " "))
    page.get_by_role("button", name="Continue", exact=True).click()
    allow = page.get_by_role("button", name="Allow", exact=True)
    allow.wait_for()
    assert page.locator("#shown-code").inner_text() == started["user_code"]
    shot(page, "device-consent")
    allow.click()
    page.get_by_role("heading", name="Your device is connected").wait_for()
    shot(page, "device-connected")

    time.sleep(max(0.0, started["interval"] + 0.2 - (time.monotonic() - first_poll)))
    token = client.fetch_token(meta["token_endpoint"], grant_type=DEVICE_CODE,
                               device_code=started["device_code"])  # fmt: skip
    assert token["token_type"] == "Bearer" and token["refresh_token"] and token["id_token"]
    me = client.get(f"{provider.idp}/api/v1/me").json()
    assert me == {"id": user.id, "name": "Olive Client", "email": user.email}
    info = client.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == user.id and info["email"] == user.email
    # The device code is spent.
    time.sleep(started["interval"] + 0.2)
    with pytest.raises(OAuthError) as spent:
        client.fetch_token(meta["token_endpoint"], grant_type=DEVICE_CODE,
                           device_code=started["device_code"])  # fmt: skip
    assert spent.value.error == "expired_token"
