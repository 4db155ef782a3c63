"""A sign-in that continues to an OAuth client reaches its redirect URI in Chromium.

Browsers hold every redirect that follows a form post to the posting page's ``form-action``
('self' on the sign-in page), so a sign-in whose next answer is the redirect to the client
(no consent dialog in between: the user consented before) used to stay on the sign-in form.
It now finishes through a page of our own that navigates on (``/account/continue``); the
sign-in page's policy stays ``form-action 'self'``. One test per path that reaches it:
``prompt=login``, ``max_age``, and a user who consented signing in from a fresh browser.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from leadexec_signin.core.clients import ClientRegistration
from support.live import Site
from support.signin import PASSWORD

pytestmark = pytest.mark.browser


def authorization_url(site: Site, client_id: str, redirect_uri: str, **extra: str) -> str:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": "openid profile", "state": secrets.token_urlsafe(8),
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
        **extra,
    }  # fmt: skip
    return f"{site.idp}/oauth2/authorize?" + urlencode(query)


@pytest.fixture(scope="module")
def client(site: Site) -> tuple[str, str]:
    redirect_uri = f"{site.partner}/continues/callback"
    app, _ = site.services.registry.register(
        name="Continues Ltd", origins=[], scopes="profile", with_secret=True,
        client=ClientRegistration(redirect_uris=(redirect_uri,)),
    )  # fmt: skip
    site.services.operator.set_app_status(app.id, "approved")
    return app.id, redirect_uri


def at_client(page: Page, redirect_uri: str) -> None:
    """The partner's callback is answered by the test: no partner server is needed, and
    the browser must still have been allowed to go there."""

    def answer(route: Route) -> None:
        route.fulfill(content_type="text/html", body="<!doctype html><title>Partner</title>")

    page.route(lambda url: url.startswith(redirect_uri + "?"), answer)


def sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def code_at_client(page: Page, redirect_uri: str) -> str:
    page.wait_for_url(lambda url: url.startswith(redirect_uri + "?"))
    answer = parse_qs(urlsplit(page.url).query)
    assert "error" not in answer, answer
    return answer["code"][0]


def consented(page: Page, site: Site, client: tuple[str, str]) -> str:
    """A new user who signed in and allowed the client once, in this page's browser."""
    client_id, redirect_uri = client
    email = site.new_user()
    at_client(page, redirect_uri)
    page.goto(authorization_url(site, client_id, redirect_uri))
    sign_in(page, email)
    page.get_by_role("button", name="Allow", exact=True).click()
    code_at_client(page, redirect_uri)
    return email


@pytest.mark.parametrize(
    "extra", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt=login", "max_age"]
)
def test_signing_in_again_reaches_the_client(
    site: Site, client: tuple[str, str], page: Page, extra: dict[str, str]
) -> None:
    client_id, redirect_uri = client
    email = consented(page, site, client)
    login = page.goto(authorization_url(site, client_id, redirect_uri, **extra))
    assert login is not None and urlsplit(page.url).path == "/account/login"
    # The sign-in page's policy is not widened for anyone.
    assert "form-action 'self';" in login.headers["content-security-policy"] + ";"
    sign_in(page, email)
    assert code_at_client(page, redirect_uri)


def test_a_user_who_consented_signs_in_from_a_fresh_browser_and_reaches_the_client(
    site: Site, client: tuple[str, str], page: Page, browser: Browser
) -> None:
    client_id, redirect_uri = client
    email = consented(page, site, client)
    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        at_client(other, redirect_uri)
        other.goto(authorization_url(site, client_id, redirect_uri))
        sign_in(other, email)
        assert code_at_client(other, redirect_uri)
    finally:
        fresh.close()
