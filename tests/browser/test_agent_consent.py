"""An agent that registered itself (RFC 7591, over HTTP) asks a person in Chromium: the consent
dialog shows, visibly, that LeadExec did not review it and the domain it is from, in English
and in French; Allow reaches the agent's loopback redirect URI with a code. An operator sees
the agents at /admin/agents and blocks one's domain. Screenshots:
``artifacts/screenshots/agent-consent-<language>.png``, ``admin-agents.png``."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from leadexec_signin.compose import Services, build
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from support.live import LiveServer
from support.signin import PASSWORD

pytestmark = pytest.mark.browser
REDIRECT = "http://127.0.0.1:33418/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Services]]:
    """A provider of its own, with self-registration open (the shared one keeps it off)."""
    data = tmp_path_factory.mktemp("agent-idp")
    database = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database)
    idp = LiveServer()
    settings = Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
            "LEADEXEC_DATA_DIR": str(data),
            "LEADEXEC_DATABASE_URL": database,
            "LEADEXEC_ISSUER": idp.url,
            "LEADEXEC_CLIENT_REGISTRATION": "open",
            # The operator page's own test below; the second factor is tested elsewhere.
            "LEADEXEC_OPERATOR_MFA": "off",
        }
    )
    services = build(settings)
    services.prepare()
    idp.start(create_app(services))
    yield idp.url, services
    idp.stop()
    services.close()


def register_agent(issuer: str, https: bool) -> str:
    """Over HTTP, found through discovery; with an https redirect URI beside the loopback one,
    the agent is from that URI's domain, else from localhost."""
    discovered = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    answer = httpx.post(
        discovered["registration_endpoint"],
        json={
            "client_name": "Desk Agent",
            "redirect_uris": [REDIRECT, *(["https://desk.agent.example/cb"] if https else [])],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "client_uri": "https://desk.agent.example",
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["client_id"])


def authorization_url(issuer: str, client_id: str, **extra: str) -> str:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile email", "state": "agent-state",
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
        **extra,
    }  # fmt: skip
    return f"{issuer}/oauth2/authorize?" + urlencode(query)


@pytest.mark.parametrize(
    ("language", "https", "domain", "not_reviewed", "allow"),
    [
        ("en", True, "desk.agent.example", "This application has not been reviewed by LeadExec.",
         "Allow"),
        ("fr", False, "localhost", "Cette application n\u2019a pas été examinée par LeadExec.",
         "Autoriser"),
    ],
)  # fmt: skip
def test_the_consent_of_a_self_registered_agent_says_it_was_not_reviewed(
    page: Page,
    provider: tuple[str, Services],
    shot: Callable[..., Path],
    language: str,
    https: bool,
    domain: str,
    not_reviewed: str,
    allow: str,
) -> None:
    issuer, services = provider
    email = f"agent-{language}@example.com"
    services.accounts.create_user(email=email, name="Ann Agent", password=PASSWORD)
    client_id = register_agent(issuer, https)

    def at_agent(route: Route) -> None:  # the agent's loopback listener, played by the test
        route.fulfill(content_type="text/html", body="<!doctype html><title>Agent</title>")

    page.route(lambda url: url.startswith(REDIRECT + "?"), at_agent)
    page.goto(authorization_url(issuer, client_id, ui_locales=language))
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    note = page.locator("p.unreviewed")
    expect(note).to_be_visible()
    expect(note).to_contain_text(not_reviewed)
    expect(note.locator(".client-domain")).to_have_text(domain)
    expect(page.locator("h1")).to_contain_text("Desk Agent")
    path = shot(page, f"agent-consent-{language}", full_page=True)
    assert path.stat().st_size > 10_000
    page.get_by_role("button", name=allow, exact=True).click()
    page.wait_for_url(lambda url: url.startswith(REDIRECT + "?"))
    answer = parse_qs(urlsplit(page.url).query)
    assert answer["state"] == ["agent-state"] and answer["code"][0].startswith("lec_")


def test_an_operator_sees_the_agents_and_blocks_a_domain(
    page: Page, provider: tuple[str, Services], shot: Callable[..., Path]
) -> None:
    issuer, services = provider
    services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    client_id = register_agent(issuer, True)
    page.goto(f"{issuer}/account/login?next=/admin/agents")
    page.locator("#email").fill("op@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    row = page.locator(f'tr[data-client="{client_id}"]')
    expect(row).to_contain_text("desk.agent.example")
    expect(row).to_contain_text("dynamic registration")
    page.locator("#block-domain").fill("agent.example")
    page.locator("#block-form button[type=submit]").click()
    expect(page.locator("p.notice")).to_contain_text("Domain blocked")
    expect(row.locator(".status")).to_have_text("suspended")
    shot(page, "admin-agents", full_page=True)
    assert services.registry.app(client_id).status == "suspended"
    page.get_by_role("button", name="Unblock agent.example").click()
    expect(row.locator(".status")).to_have_text("approved")
