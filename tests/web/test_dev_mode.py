"""Development mode over HTTP: before approval an application works for its owner's own
account on loopback origins, and for no one else and nowhere else; after approval, everyone.

The popup, the silent check, the sign-in API's token exchange and the LeadExec API follow the
one rule (``core.apps.serves_user``), and so does the standard OAuth surface.
"""

from __future__ import annotations

import pytest
from oauth_flow import Client, Pkce, auth_params, exchange, refresh
from oauth_flow import authorize as oauth_authorize
from starlette.testclient import TestClient

from leadexec_signin.core.clients import ClientRegistration
from support.signin import (
    ISSUER,
    PASSWORD,
    authorize,
    csrf_of,
    decide,
    open_popup,
    result_of,
    sign_in,
)

PRODUCTION = "https://crm.example.com"
LOOPBACKS = ["http://localhost:3000", "http://127.0.0.1:9000", "http://[::1]:8080"]
DEV_MODE = "Development mode: only you, on localhost."


def owner_app(world, *, status: str = "pending", **options: object) -> tuple[str, str, str | None]:
    """A partner's application (owned by Ann, the world's user) with one button."""
    app, secret = world.services.registry.register(
        name="Ann's CRM",
        origins=[*LOOPBACKS, PRODUCTION],
        scopes="profile,email",
        owner_id=world.user_id,
        **options,
    )
    if status != "pending":
        world.services.operator.set_app_status(app.id, status)
    button = world.services.registry.create_button(app_id=app.id, scopes="profile,email")
    return app.id, button.id, secret


def other_user(world, client: TestClient) -> TestClient:
    world.services.accounts.create_user(email="bob@example.com", name="Bob", password=PASSWORD)
    bob = TestClient(client.app, base_url=ISSUER)
    sign_in(bob, "bob@example.com")
    return bob


def allow(client: TestClient, btn_id: str, origin: str) -> dict[str, object]:
    r = open_popup(client, btn_id, origin)
    assert r.status_code == 200, r.text
    assert DEV_MODE in r.text  # the consent dialog says which mode the application is in
    r = decide(client, r.text, "allow", btn_id, origin)
    assert r.status_code == 200, r.text
    return result_of(r.text)["result"]


def refusal(r) -> tuple[int, str]:
    return r.status_code, result_of(r.text)["result"]["error"]


@pytest.mark.parametrize("origin", LOOPBACKS, ids=["localhost", "127.0.0.1", "[::1]"])
def test_the_owner_signs_in_on_a_loopback_origin_before_approval(
    client: TestClient, world, origin: str
) -> None:
    app_id, btn_id, _ = owner_app(world)
    sign_in(client)
    result = allow(client, btn_id, origin)
    assert result["valid"] is True and result["appId"] == app_id
    # The owner's tokens work at the token exchange and the API.
    r = client.post("/api/token", data={"appId": app_id, "refreshToken": result["refreshToken"]})
    assert r.status_code == 200 and r.json()["valid"] is True
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['authToken']}"})
    assert me.status_code == 200 and me.json()["email"] == world.email
    # The silent check answers the owner too, once the grant exists.
    r = client.get("/signin/immediate", params={"btnId": btn_id, "origin": origin, "state": "s"})
    assert result_of(r.text)["result"]["valid"] is True


def test_the_owner_on_a_production_origin_is_refused(client: TestClient, world) -> None:
    _, btn_id, _ = owner_app(world)
    sign_in(client)
    r = open_popup(client, btn_id, PRODUCTION)
    assert refusal(r) == (403, "app_not_approved")
    assert "localhost" in result_of(r.text)["result"]["errorMessage"]


def test_another_user_on_a_loopback_origin_is_refused(client: TestClient, world) -> None:
    _, btn_id, _ = owner_app(world)
    bob = other_user(world, client)
    r = open_popup(bob, btn_id, LOOPBACKS[0])
    assert refusal(r) == (403, "app_not_approved")
    r = bob.get("/signin/immediate", params={"btnId": btn_id, "origin": LOOPBACKS[0], "state": "s"})
    assert result_of(r.text)["result"]["error"] == "immediate_failed"


def test_after_approval_everyone_signs_in_everywhere(client: TestClient, world) -> None:
    app_id, btn_id, _ = owner_app(world)
    world.services.operator.set_app_status(app_id, "approved")
    bob = other_user(world, client)
    r = open_popup(bob, btn_id, PRODUCTION)
    assert r.status_code == 200 and DEV_MODE not in r.text and 'value="allow"' in r.text
    assert result_of(decide(bob, r.text, "allow", btn_id, PRODUCTION).text)["result"]["valid"]
    assert authorize(bob, btn_id, LOOPBACKS[1])["valid"] is True


def test_a_suspended_application_works_for_no_one(client: TestClient, world) -> None:
    app_id, btn_id, _ = owner_app(world)
    sign_in(client)
    tokens = allow(client, btn_id, LOOPBACKS[0])
    world.services.operator.set_app_status(app_id, "suspended")
    assert refusal(open_popup(client, btn_id, LOOPBACKS[0])) == (403, "app_not_approved")
    r = client.post("/api/token", data={"appId": app_id, "refreshToken": tokens["refreshToken"]})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_an_application_without_an_owner_has_no_development_mode(client: TestClient, world) -> None:
    # Made from the command line: nobody owns it, so a loopback origin changes nothing.
    app_id, _ = world.app(status="pending", origins=(LOOPBACKS[0],))
    btn_id = world.button("profile", app_id)
    sign_in(client)
    assert refusal(open_popup(client, btn_id, LOOPBACKS[0])) == (403, "app_not_approved")


def test_the_exchange_refuses_another_users_token_of_a_pending_application(
    client: TestClient, world
) -> None:
    """A grant of someone else can exist only from before the application went back to
    pending (an operator's command); its tokens stop at the exchange and the API."""
    app_id, btn_id, _ = owner_app(world, status="approved")
    bob = other_user(world, client)
    r = open_popup(bob, btn_id, PRODUCTION)
    result = result_of(decide(bob, r.text, "allow", btn_id, PRODUCTION).text)["result"]
    world.services.operator.set_app_status(app_id, "pending")
    r = bob.post("/api/token", data={"appId": app_id, "refreshToken": result["refreshToken"]})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    me = bob.get("/api/v1/me", headers={"Authorization": f"Bearer {result['authToken']}"})
    assert me.status_code == 401


# -- the standard OAuth 2.1 / OpenID Connect surface follows the same rule -------------------

LOOPBACK_REDIRECT = "http://127.0.0.1:7000/callback"


def oauth_client(world, redirect: str) -> Client:
    reg = ClientRegistration(redirect_uris=(redirect, "https://rp.example/cb"))
    app, secret = world.services.registry.register(
        name="Ann's RP", origins=[], scopes="profile,email", with_secret=True,
        owner_id=world.user_id, client=reg,
    )  # fmt: skip
    return Client(app.id, secret, redirect)


def test_the_owner_gets_a_code_and_tokens_on_a_loopback_redirect(client: TestClient, world) -> None:
    c = oauth_client(world, LOOPBACK_REDIRECT)
    sign_in(client)
    pkce = Pkce()
    got = oauth_authorize(client, auth_params(c, pkce))
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text
    assert refresh(client, c, r.json()["refresh_token"]).status_code == 200


def test_oauth_refuses_another_user_and_a_production_redirect(client: TestClient, world) -> None:
    c = oauth_client(world, LOOPBACK_REDIRECT)
    bob = other_user(world, client)
    got = oauth_authorize(bob, auth_params(c, Pkce()))
    assert got["error"] == "unauthorized_client"
    sign_in(client)
    production = Client(c.id, c.secret, "https://rp.example/cb")
    got = oauth_authorize(client, auth_params(production, Pkce()))
    assert got["error"] == "unauthorized_client"


def test_the_console_says_which_mode_the_application_is_in(client: TestClient, world) -> None:
    app_id, _, _ = owner_app(world)
    sign_in(client)
    page = client.get(f"/developers/apps/{app_id}")
    assert "Development mode, waiting for approval" in page.text
    assert "http://[::1]:PORT" in page.text
    world.services.operator.set_app_status(app_id, "approved")
    page = client.get(f"/developers/apps/{app_id}")
    assert "Approved: the buttons sign in every LeadExec user" in page.text
    assert csrf_of(page.text)


def test_the_browsers_fedcm_dialog_may_name_an_application_in_development_mode(
    client: TestClient, world
) -> None:
    """Chromium's own dialog fetches the client metadata first: a partner's pending
    application answers it (the assertion then follows the popup's rule), an ownerless or
    suspended one does not."""
    app_id, _, _ = owner_app(world)
    webidentity = {"Sec-Fetch-Dest": "webidentity"}
    r = client.get(f"/fedcm/client_metadata?client_id={app_id}", headers=webidentity)
    assert r.status_code == 200
    world.services.operator.set_app_status(app_id, "suspended")
    r = client.get(f"/fedcm/client_metadata?client_id={app_id}", headers=webidentity)
    assert r.status_code == 404


def test_the_standard_surfaces_exchanges_count_in_the_usage_chart(
    client: TestClient, world
) -> None:
    c = oauth_client(world, LOOPBACK_REDIRECT)
    sign_in(client)
    pkce = Pkce()
    got = oauth_authorize(client, auth_params(c, pkce))
    assert exchange(client, c, got["code"], pkce).status_code == 200
    usage = world.services.console.usage(
        c.id, world.services.accounts.sign_in(world.email, PASSWORD, "t")
    )
    assert usage.exchanges[-1] == 1 and usage.signins[-1] == 1 and usage.grants[-1] == 1
