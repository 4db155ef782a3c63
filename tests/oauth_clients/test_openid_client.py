"""openid-client (Node) against the live provider, one run per client authentication method.

``js/drive.mjs`` runs the partner example ``js/leadexec.mjs`` (the one docs/oauth.md shows):
discovery, the authorization URL with PKCE, state and nonce; Chromium signs in and allows; the
URL the browser comes back to goes to the library, which checks iss, state and the ID token
(signature against the JWKS, nonce) and redeems the code; then a refresh, UserInfo and
revocation, whose results come back as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Route

from leadexec_signin.core.apps import Application
from leadexec_signin.core.clients import ClientRegistration
from support.live import Site
from support.node import JS, NODE, new_user, node_env
from support.node_driver import NodeDriver
from support.signin import PASSWORD

pytestmark = pytest.mark.browser

SCOPE = "openid profile email offline_access"


def flow_driver(options: dict[str, Any]) -> NodeDriver:
    """``node drive.mjs flow``: a JSON line per step; killed if it hangs."""
    return NodeDriver("drive.mjs", options, command=("flow",))


def keygen() -> dict[str, Any]:
    done = subprocess.run(
        [NODE, "drive.mjs", "keygen"],
        cwd=JS,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def sign_in_and_decide(
    page: Page,
    url: str,
    email: str,
    redirect_uri: str,
    shot: Callable[..., Path],
    name: str,
    choice: str = "Allow",
) -> str:
    """A person at the authorization URL: signs in, presses Allow or Cancel; returns where the
    browser was sent (the partner's page is answered by the test: no partner server needed)."""

    def partner_page(route: Route) -> None:
        route.fulfill(content_type="text/html", body="<!doctype html><title>Partner</title>")

    def at_partner(url: str) -> bool:
        return url.startswith(redirect_uri + "?")

    page.route(at_partner, partner_page)
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    button = page.get_by_role("button", name=choice, exact=True)
    button.wait_for()
    shot(page, f"openid-client-consent-{name}")
    button.click()
    page.wait_for_url(at_partner)
    return page.url


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


CLIENTS = {
    # name: (auth method, secret, rotation registered)
    "client_secret_basic": ("client_secret_basic", True, False),
    "private_key_jwt": ("private_key_jwt", False, True),
    "public": ("none", False, False),
}


def register(site: Site, kind: str) -> tuple[Application, dict[str, Any]]:
    """An approved application of this kind, and the driver's options for it."""
    auth_method, with_secret, rotate = CLIENTS[kind]
    redirect_uri = f"{site.partner}/openid-client/{kind}/callback"
    keys = keygen() if auth_method == "private_key_jwt" else None
    services = site.services
    app, secret = services.registry.register(
        name=f"Node Partner ({kind})",
        origins=[],
        scopes="profile,email",
        with_secret=with_secret,
        client=ClientRegistration(
            redirect_uris=(redirect_uri,),
            post_logout_redirect_uris=(redirect_uri,),
            auth_method=auth_method,
            jwks=json.dumps(keys["publicJwks"]) if keys else None,
            rotate_refresh_tokens=rotate,
        ),
    )
    services.operator.set_app_status(app.id, "approved")
    options: dict[str, Any] = {
        "issuer": site.idp,
        "clientId": app.id,
        "redirectUri": redirect_uri,
        "retry": auth_method == "none",
    }
    if secret:
        options["clientSecret"] = secret
    if keys:
        options["privateJwk"] = keys["privateJwk"]
    return app, options


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_openid_client_signs_in_refreshes_and_revokes(
    kind: str, provider: Site, page: Page, shot: Callable[..., Path], node_modules: Path
) -> None:
    site, services = provider, provider.services
    auth_method, _, rotate = CLIENTS[kind]
    app, options = register(site, kind)
    redirect_uri = options["redirectUri"]
    user = new_user(site)
    driver = flow_driver(options)
    try:
        start = driver.read()
        pending = start["pending"]
        sent = urlsplit(start["authorizationUrl"])
        query = {k: v[0] for k, v in parse_qs(sent.query).items()}
        assert f"{sent.scheme}://{sent.netloc}{sent.path}" == f"{site.idp}/oauth2/authorize"
        assert query == {
            "client_id": app.id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "code_challenge": s256(pending["codeVerifier"]),
            "code_challenge_method": "S256",
            "state": pending["state"],
            "nonce": pending["nonce"],
        }

        back = sign_in_and_decide(
            page, start["authorizationUrl"], user.email, redirect_uri, shot, kind
        )
        answer = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
        assert answer.keys() == {"code", "state", "iss"}
        assert answer["state"] == pending["state"]
        assert answer["iss"] == site.idp  # RFC 9207

        driver.send(back)
        result = driver.read()
    finally:
        driver.close()

    assert result["metadata"]["issuer"] == site.idp
    sign_in = result["signIn"]
    claims = sign_in["claims"]
    assert {k: claims[k] for k in ("iss", "aud", "azp", "sub", "nonce", "email", "name")} == {
        "iss": site.idp,
        "aud": app.id,
        "azp": app.id,
        "sub": user.id,
        "nonce": pending["nonce"],
        "email": user.email,
        "name": "Olive Client",
    }
    assert claims["exp"] - claims["iat"] == services.settings.access_token_ttl_seconds
    assert isinstance(claims["auth_time"], int)
    jwks = services.keys.public_keys()
    assert sign_in["idTokenHeader"]["alg"] == "RS256"
    assert sign_in["idTokenHeader"]["kid"] in {k["kid"] for k in jwks}
    assert sign_in["tokenType"] == "bearer"
    assert sign_in["scope"] == "openid offline_access profile email"
    assert sign_in["expiresIn"] == services.settings.access_token_ttl_seconds
    assert sign_in["hasRefreshToken"] is True

    refresh = result["refresh"]
    # Public clients are always rotated; a confidential one when it registered rotation.
    assert refresh["rotated"] is (rotate or auth_method == "none")
    assert refresh["accessTokenChanged"] is True
    assert refresh["scope"] == "openid offline_access profile email"
    assert refresh["claims"]["sub"] == user.id
    assert refresh["claims"]["aud"] == app.id
    assert refresh["claims"]["auth_time"] == claims["auth_time"]
    if auth_method == "none":
        # Within the grace period the same old token gets the same successor.
        assert result["retry"] == {"sameSuccessor": True}

    assert result["userinfo"] == {
        "sub": user.id,
        "name": "Olive Client",
        "email": user.email,
        "email_verified": True,
        "amr": ["pwd"],  # how the user signed in, as the ID token says
        "acr": "urn:leadexec:acr:1fa",
    }
    logout = urlsplit(result["signOutUrl"])
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == f"{site.idp}/oauth2/logout"

    # Revoking the refresh token ended the grant: neither token works any more.
    assert result["refreshAfterRevoke"] == {
        "refused": True,
        "name": "ResponseBodyError",
        "code": "OAUTH_RESPONSE_BODY_ERROR",
        "error": "invalid_grant",
        "status": 400,
    }
    assert result["userinfoAfterRevoke"] == {
        "refused": True,
        "name": "WWWAuthenticateChallengeError",
        "code": "OAUTH_WWW_AUTHENTICATE_CHALLENGE",
        "status": 401,
        "challenge": {"scheme": "bearer", "error": "invalid_token"},
    }


def test_openid_client_reports_cancel_as_access_denied(
    provider: Site, page: Page, shot: Callable[..., Path], node_modules: Path
) -> None:
    _, options = register(provider, "client_secret_basic")
    user = new_user(provider)
    driver = flow_driver(options)
    try:
        start = driver.read()
        back = sign_in_and_decide(
            page,
            start["authorizationUrl"],
            user.email,
            options["redirectUri"],
            shot,
            "cancel",
            choice="Cancel",
        )
        answer = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
        assert {k: answer[k] for k in ("error", "state", "iss")} == {
            "error": "access_denied",
            "state": start["pending"]["state"],
            "iss": provider.idp,
        }
        driver.send(back)
        result = driver.read()
    finally:
        driver.close()
    assert result == {
        "signInRefused": {
            "refused": True,
            "name": "AuthorizationResponseError",
            "code": "OAUTH_AUTHORIZATION_RESPONSE_ERROR",
            "error": "access_denied",
        }
    }
