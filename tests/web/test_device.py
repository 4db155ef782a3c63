"""The device authorization grant (RFC 8628) over HTTP: codes for a device, the /device page
(code entry, the confirmation a person reads, allow or cancel), polling with its four
refusals, single use, expiry, throttling, and another person's code."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.core.actions.grant_handlers.device_code import GRANT_TYPE
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in
from web.oauth_flow import register

CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


def start(client, c, scope: str = "openid profile email offline_access"):
    data = {"scope": scope}
    if c.secret is None:
        data["client_id"] = c.id
    return client.post("/oauth2/device_authorization", data=data, auth=c.auth)


def poll(client, c, device_code: str):
    data = {"grant_type": GRANT_TYPE, "device_code": device_code}
    if c.secret is None:
        data["client_id"] = c.id
    return client.post("/oauth2/token", data=data, auth=c.auth)


def enter(client, typed: str):
    page = client.get("/device")
    return client.post(
        "/device", data={"csrf": csrf_of(page.text), "user_code": typed}, headers={"Origin": ISSUER}
    )


def decide(client, page_text: str, decision: str):
    shown = re.search(r'name="user_code" value="([^"]+)"', page_text)
    assert shown, page_text
    return client.post(
        "/device",
        data={"csrf": csrf_of(page_text), "user_code": shown.group(1), "decision": decision},
        headers={"Origin": ISSUER},
    )


def device_client(world, **options):
    return register(world.services, secret=False, device_grant=True, **options)


def test_a_device_is_signed_in_by_a_code_typed_at_the_device_page(client, world) -> None:
    c = device_client(world)
    started = start(client, c)
    assert started.status_code == 200, started.text
    got = started.json()
    assert CODE.match(got["user_code"]) and got["device_code"].startswith("led_")
    assert got["verification_uri"] == ISSUER + "/device"
    assert got["verification_uri_complete"] == f"{ISSUER}/device?user_code={got['user_code']}"
    assert (got["expires_in"], got["interval"]) == (600, 5)
    assert started.headers["Cache-Control"] == "no-store"
    pending = poll(client, c, got["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    sign_in(client)
    # Typed sloppily: lower case, a space instead of the dash.
    confirm = enter(client, got["user_code"].lower().replace("-", " "))
    assert confirm.status_code == 200
    assert "Standard RP" in confirm.text and got["user_code"] in confirm.text
    assert "If someone sent you this code" in confirm.text
    assert "See your email address" in confirm.text
    done = decide(client, confirm.text, "allow")
    assert done.status_code == 200 and "Your device is connected" in done.text
    world.services.clock.advance(seconds=5)
    issued = poll(client, c, got["device_code"])
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer" and tokens["id_token"] and tokens["refresh_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"
    # Single use: the device code is spent.
    world.services.clock.advance(seconds=5)
    again = poll(client, c, got["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "expired_token"
    # The application is now among the person's connected applications.
    assert "Standard RP" in client.get("/account/apps").text


def test_polling_too_fast_slows_the_device_down(client, world) -> None:
    c = device_client(world)
    got = start(client, c).json()
    assert poll(client, c, got["device_code"]).json()["error"] == "authorization_pending"
    fast = poll(client, c, got["device_code"])
    assert fast.status_code == 400 and fast.json()["error"] == "slow_down"
    world.services.clock.advance(seconds=6)  # the old interval is not enough any more
    assert poll(client, c, got["device_code"]).json()["error"] == "slow_down"
    world.services.clock.advance(seconds=15)
    assert poll(client, c, got["device_code"]).json()["error"] == "authorization_pending"


def test_cancel_answers_access_denied(client, world) -> None:
    c = device_client(world)
    got = start(client, c).json()
    sign_in(client)
    page = client.get("/device", params={"user_code": got["user_code"]})
    denied_page = decide(client, page.text, "cancel")
    assert "Nothing was connected" in denied_page.text
    r = poll(client, c, got["device_code"])
    assert r.status_code == 400 and r.json()["error"] == "access_denied"


def test_a_code_expires_after_ten_minutes(client, world) -> None:
    c = device_client(world)
    got = start(client, c).json()
    world.services.clock.advance(minutes=10, seconds=1)
    r = poll(client, c, got["device_code"])
    assert r.status_code == 400 and r.json()["error"] == "expired_token"
    sign_in(client)
    page = client.get("/device", params={"user_code": got["user_code"]})
    assert page.status_code == 400 and "That code is not valid" in page.text


def test_another_persons_code_cannot_be_taken_over(client, world) -> None:
    """Ann approves her TV; Bob, who saw the code, gets nothing: not the page, not a say."""
    c = device_client(world)
    got = start(client, c).json()
    sign_in(client)
    page = client.get("/device", params={"user_code": got["user_code"]})
    assert decide(client, page.text, "allow").status_code == 200
    world.services.accounts.create_user(email="bob@example.com", name="Bob", password=PASSWORD)
    with TestClient(client.app, base_url=ISSUER) as bob:
        sign_in(bob, "bob@example.com")
        seen = bob.get("/device", params={"user_code": got["user_code"]})
        assert seen.status_code == 400 and "That code is not valid" in seen.text
        form = {"csrf": csrf_of(seen.text), "user_code": got["user_code"], "decision": "cancel"}
        forced = bob.post("/device", headers={"Origin": ISSUER}, data=form)
        assert forced.status_code == 400
    world.services.clock.advance(seconds=5)
    tokens = poll(client, c, got["device_code"]).json()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email"] == "ann@example.com"
    # Another client cannot redeem it either.
    other = device_client(world)
    assert poll(client, other, got["device_code"]).json()["error"] == "invalid_grant"


def test_signed_out_the_page_sends_to_sign_in_and_back_with_the_code(client, world) -> None:
    c = device_client(world)
    got = start(client, c).json()
    r = client.get("/device", params={"user_code": got["user_code"]}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/login?next=/device%3Fuser_code%3D")


@pytest.mark.parametrize(
    ("case", "options", "scope", "status", "error"),
    [
        ("not enabled", {"device_grant": False}, "profile", 400, "unauthorized_client"),
        ("unknown scope", {}, "profile admin", 400, "invalid_scope"),
        ("scope not allowed", {"scopes": "profile"}, "email", 400, "invalid_scope"),
    ],
)
def test_device_authorization_refusals(client, world, case, options, scope, status, error) -> None:
    c = register(world.services, secret=False, **{"device_grant": True, **options})
    r = start(client, c, scope)
    assert (r.status_code, r.json()["error"]) == (status, error), case


def test_device_authorization_needs_a_known_client(client) -> None:
    r = client.post("/oauth2/device_authorization", data={"scope": "profile"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post("/oauth2/device_authorization", data={"client_id": "app_" + "x" * 22})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post(
        "/oauth2/device_authorization", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_a_malformed_code_at_the_page_is_a_clear_refusal(client, world) -> None:
    sign_in(client)
    for typed in ("0000-1111", "AEIO-UUUU", "x" * 64, "<script>", "BCDF-GHJ"):
        r = enter(client, typed)
        assert r.status_code == 400 and "That code is not valid" in r.text, typed
        assert "<script>" not in r.text.split("</header>")[-1].replace("&lt;script&gt;", "")


def test_guessing_user_codes_is_throttled(settings, clock, world) -> None:
    services = build(settings.with_changes(user_code_limit="5/10 minutes"), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            c = register(services, secret=False, device_grant=True)
            real = start(client, c).json()["user_code"]
            sign_in(client)
            for guess in ("BCDF-GHJK", "BBBB-CCCC", "DDDD-FFFF", "GGGG-HHHH", "JJJJ-KKKK"):
                assert enter(client, guess).status_code == 400
            throttled = enter(client, real)  # even the right code, once over the limit
            assert throttled.status_code == 429
    finally:
        services.close()


def test_device_authorizations_are_throttled_per_client(settings, clock, world) -> None:
    services = build(settings.with_changes(device_limit_per_app="2/minute"), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            c = register(services, secret=False, device_grant=True)
            assert start(client, c).status_code == 200
            assert start(client, c).status_code == 200
            third = start(client, c)
            assert third.status_code == 429 and third.json()["error"] == "rate_limited"
    finally:
        services.close()


def test_discovery_lists_the_device_grant(client) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["device_authorization_endpoint"] == ISSUER + "/oauth2/device_authorization"
    assert GRANT_TYPE in meta["grant_types_supported"]


def test_a_device_only_client_needs_no_origin_or_redirect_uri(client, world) -> None:
    from leadexec_signin.core.clients import ClientRegistration
    from leadexec_signin.core.errors import InvalidRequest

    services = world.services
    app, _ = services.registry.register(
        name="Acme TV", origins=[], scopes="profile", client=ClientRegistration(device_grant=True)
    )
    assert app.device_grant and not app.redirect_uris and not app.origins
    with pytest.raises(InvalidRequest):  # turning the device flow off would leave it unreachable
        services.registry.set_client(app.id, ClientRegistration())


def test_an_application_that_requires_two_step_sign_in_is_never_approved_by_a_password(
    client, world
) -> None:
    c = device_client(world, require_mfa=True)
    got = start(client, c).json()
    sign_in(client)  # a password only
    page = client.get("/device", params={"user_code": got["user_code"]})
    assert page.status_code == 403 and "requires two-step sign-in" in page.text
    forced = client.post(
        "/device",
        headers={"Origin": ISSUER},
        data={"csrf": csrf_of(page.text), "user_code": got["user_code"], "decision": "allow"},
    )
    assert forced.status_code == 403
    assert poll(client, c, got["device_code"]).json()["error"] == "authorization_pending"


def approved(client, world, c, **extra: str) -> str:
    """A device code asked for (with ``extra``) and allowed at /device; its device code."""
    data = {"scope": "openid profile offline_access", **extra}
    if c.secret is None:
        data["client_id"] = c.id
    started = client.post("/oauth2/device_authorization", data=data, auth=c.auth)
    assert started.status_code == 200, started.text
    got = started.json()
    sign_in(client)
    decide(client, enter(client, got["user_code"]).text, "allow")
    world.services.clock.advance(seconds=5)
    return got["device_code"]


def test_a_device_names_the_resource_its_tokens_are_for(client, world) -> None:
    """RFC 8707 with RFC 8628: the resource named at /oauth2/device_authorization is the
    access token's audience, the refresh token's too, and a poll cannot change it."""
    c = register(world.services, device_grant=True)  # confidential: it may introspect
    mcp = ISSUER + "/mcp"
    device_code = approved(client, world, c, resource=mcp)
    other = poll_with(client, c, device_code, resource=ISSUER + "/api/v1")
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
    world.services.clock.advance(seconds=5)
    issued = poll_with(client, c, device_code, resource=mcp)
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    seen = client.post("/oauth2/introspect", data={"token": tokens["access_token"]}, auth=c.auth)
    assert seen.json()["aud"] == mcp
    refused = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert refused.status_code == 401
    grant = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    again = client.post("/oauth2/token", data=grant, auth=c.auth)
    assert again.status_code == 200, again.text
    token = again.json()["access_token"]
    seen = client.post("/oauth2/introspect", data={"token": token}, auth=c.auth)
    assert seen.json()["aud"] == mcp


def poll_with(client, c, device_code: str, **extra: str):
    data = {"grant_type": GRANT_TYPE, "device_code": device_code, **extra}
    if c.secret is None:
        data["client_id"] = c.id
    return client.post("/oauth2/token", data=data, auth=c.auth)


@pytest.mark.parametrize(
    "resource",
    ["https://elsewhere.example/api", ISSUER + "/api/v1#frag", "/api/v1"],
    ids=["another server's", "with a fragment", "not absolute"],
)
def test_an_unknown_resource_is_invalid_target_and_no_code_is_made(client, world, resource) -> None:
    c = device_client(world)
    r = client.post("/oauth2/device_authorization",
                    data={"scope": "openid", "client_id": c.id, "resource": resource})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"
    assert "device_code" not in r.json()


def test_two_resources_at_the_device_endpoint_are_invalid_target(client, world) -> None:
    c = device_client(world)
    body = f"scope=openid&client_id={c.id}&resource={ISSUER}/mcp&resource={ISSUER}/api/v1"
    r = client.post("/oauth2/device_authorization", content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"


def test_without_a_resource_the_token_is_the_apis_as_before(client, world) -> None:
    c = device_client(world)
    issued = poll_with(client, c, approved(client, world, c))
    assert issued.status_code == 200, issued.text
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
    )
    assert me.status_code == 200
