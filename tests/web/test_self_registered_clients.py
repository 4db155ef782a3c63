"""How a self-registered client appears, over HTTP: the consent dialog says it was not reviewed
and names its domain (in the page's language); operators list such clients at /admin/agents
and block a domain, which stops its clients at authorize and token at once and refuses new
registrations, audited; the connected-apps page removes an agent's access like any other's;
the sweep deletes clients unused for 30 days."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in
from web.oauth_flow import Client, Pkce, auth_params, authorize, exchange, query_of, refresh

REDIRECT = "https://desk.agent.example/callback"
AGENT = {"client_name": "Desk Agent", "redirect_uris": [REDIRECT]}
NOT_REVIEWED = "This application has not been reviewed by LeadExec."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(client_registration="open")


def registered(client: TestClient, body: dict | None = None) -> Client:
    r = client.post("/oauth2/register", json=body or AGENT)
    assert r.status_code == 201, r.text
    return Client(r.json()["client_id"], None, (body or AGENT)["redirect_uris"][0])


def signed_in_tokens(client: TestClient, agent: Client) -> dict:
    pkce = Pkce()
    got = authorize(client, auth_params(agent, pkce, "openid profile offline_access"))
    answer = exchange(client, agent, got["code"], pkce)
    assert answer.status_code == 200, answer.text
    return answer.json()


def operator_signed_in(client: TestClient, world) -> None:
    world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "op@example.com")


def test_consent_says_the_agent_was_not_reviewed_and_names_its_domain(
    client: TestClient, world
) -> None:
    agent = registered(client)
    sign_in(client)
    page = client.get("/oauth2/authorize", params=auth_params(agent, Pkce(), "openid profile"))
    assert page.status_code == 200 and 'value="allow"' in page.text
    assert NOT_REVIEWED in page.text
    assert '<strong class="client-domain">desk.agent.example</strong>' in page.text
    assert 'data-kind="dynamic"' in page.text
    french = client.get(
        "/oauth2/authorize", params=auth_params(agent, Pkce(), "openid profile", ui_locales="fr")
    )
    assert "Cette application n\u2019a pas été examinée par LeadExec." in french.text
    assert "desk.agent.example" in french.text and NOT_REVIEWED not in french.text


def test_an_application_a_person_registered_is_not_marked(client: TestClient, world) -> None:
    from web.oauth_flow import register

    reviewed = register(world.services, secret=False)
    sign_in(client)
    page = client.get("/oauth2/authorize", params=auth_params(reviewed, Pkce(), "openid profile"))
    assert page.status_code == 200 and 'value="allow"' in page.text
    assert NOT_REVIEWED not in page.text and "client-domain" not in page.text


def test_an_agent_on_loopback_is_from_localhost(client: TestClient, world) -> None:
    agent = registered(client, {"redirect_uris": ["http://127.0.0.1:33418/cb"]})
    sign_in(client)
    page = client.get("/oauth2/authorize", params=auth_params(agent, Pkce(), "openid profile"))
    assert '<strong class="client-domain">localhost</strong>' in page.text


def test_the_agents_page_lists_them_and_a_block_stops_them_at_once(
    client: TestClient, world
) -> None:
    agent = registered(client)
    other = registered(client, {"client_name": "Other", "redirect_uris": ["https://o.example/cb"]})
    sign_in(client)
    tokens = signed_in_tokens(client, agent)
    other_tokens = signed_in_tokens(client, other)
    client.post("/account/logout", data={"csrf": csrf_of(client.get("/account/apps").text)})
    operator_signed_in(client, world)
    page = client.get("/admin/agents")
    assert page.status_code == 200
    row = re.search(rf'<tr data-client="{agent.id}">.*?</tr>', page.text, re.S)
    assert row is not None
    assert "Desk Agent" in row.group() and "desk.agent.example" in row.group()
    assert "dynamic registration" in row.group() and "approved" in row.group()
    assert "never" not in row.group()  # used: its last use is shown as a time
    blocked = client.post(
        "/admin/agents/block",
        data={"csrf": csrf_of(page.text), "domain": "agent.example"},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert blocked.status_code == 303 and blocked.headers["location"].endswith("done=blocked")
    after = client.get(blocked.headers["location"])
    assert (
        "Domain blocked" in after.text and '<code class="domain">agent.example</code>' in after.text
    )
    # Its tokens, refresh and authorization requests stop; another domain's client works on.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401
    assert refresh(client, agent, tokens["refresh_token"]).status_code in (400, 401)
    assert refresh(client, other, other_tokens["refresh_token"]).status_code == 200
    r = client.get(
        "/oauth2/authorize", params=auth_params(agent, Pkce(), "openid profile"),
        follow_redirects=False,
    )  # fmt: skip
    assert query_of(r.headers["location"])["error"] == "unauthorized_client"
    again = client.post("/oauth2/register", json={"redirect_uris": ["https://eu.agent.example/c"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_client_metadata"
    assert "agent.example" in again.json()["error_description"]
    with world.services.storage.engine.connect() as c:
        event = c.execute(
            select(tables.audit_events).where(tables.audit_events.c.event == "domain.blocked")
        ).one()
    assert event.subject == "agent.example" and event.actor.startswith("usr_")
    assert event.detail["clients"] == [agent.id]
    # Unblocked, the client works again (its grant was never revoked).
    unblocked = client.post(
        "/admin/agents/unblock",
        data={"csrf": csrf_of(after.text), "domain": "agent.example"},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert unblocked.status_code == 303
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200


@pytest.mark.parametrize("domain", ["", "not a domain", "x" * 300])
def test_blocking_something_that_is_not_a_domain_is_refused(
    client: TestClient, world, domain: str
) -> None:
    operator_signed_in(client, world)
    page = client.get("/admin/agents")
    r = client.post(
        "/admin/agents/block",
        data={"csrf": csrf_of(page.text), "domain": domain},
        headers={"Origin": ISSUER},
    )
    assert r.status_code == 400 and 'role="alert"' in r.text


def test_the_agents_page_is_for_operators(client: TestClient, world) -> None:
    sign_in(client)
    assert client.get("/admin/agents").status_code == 403
    page = client.get("/account/apps")
    r = client.post(
        "/admin/agents/block",
        data={"csrf": csrf_of(page.text), "domain": "agent.example"},
        headers={"Origin": ISSUER},
    )
    assert r.status_code == 403
    assert world.services.self_registration.clients()[1] == []


def test_connected_apps_removes_an_agents_access(client: TestClient, world) -> None:
    agent = registered(client)
    sign_in(client)
    tokens = signed_in_tokens(client, agent)
    page = client.get("/account/apps")
    assert "Desk Agent" in page.text and "Remove access" in page.text
    grant = next(
        g
        for g in world.services.accounts.connected_apps(world.user_id)
        if g.grant.app_id == agent.id
    )
    r = client.post(
        f"/account/apps/{grant.grant.id}/remove",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Desk Agent" not in client.get("/account/apps").text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401
    gone = refresh(client, agent, tokens["refresh_token"])
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"


def test_the_sweep_deletes_agents_unused_for_30_days(
    client: TestClient, world, clock: FrozenClock
) -> None:
    idle = registered(client)
    used = registered(client, {"client_name": "Used", "redirect_uris": ["https://u.example/cb"]})
    sign_in(client)
    tokens = signed_in_tokens(client, used)
    clock.advance(days=20)
    tokens = refresh(client, used, tokens["refresh_token"]).json()  # a use 20 days in
    clock.advance(days=11)
    assert world.services.housekeeping.delete_expired() >= 1
    assert world.services.registry.app(idle.id) is None
    assert world.services.registry.app(used.id) is not None
    assert world.services.registry.app(world.app_id) is not None  # a person's app never expires
    r = client.get("/oauth2/authorize", params=auth_params(idle, Pkce(), "openid"))
    assert r.status_code == 400 and "not registered" in r.text
    clock.advance(days=31)
    world.services.housekeeping.delete_expired()
    assert world.services.registry.app(used.id) is None
    assert refresh(client, used, tokens["refresh_token"]).status_code in (400, 401)
