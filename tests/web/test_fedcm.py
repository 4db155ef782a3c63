"""The FedCM identity provider over HTTP: what the browser fetches, what it is refused, and
that the answers are the popup's own grants and tokens (tests/browser/test_fedcm.py drives
the real dialog)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient
from tests.web.test_notices import notices_for_app

from support.signin import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, sign_in
from support.world import World

WEBIDENTITY = {"Sec-Fetch-Dest": "webidentity"}
EVIL = "http://127.0.0.1:9666"


def signed_in_raw(client: TestClient) -> str:
    """A session, sent afterwards only as the cross-site cookie, as the browser's FedCM
    requests carry it (the Lax one stays behind in a third-party context)."""
    sign_in(client)
    raw = client.cookies.get("le_session")
    assert raw is not None
    client.cookies.clear()
    return raw


def fedcm_headers(raw: str | None, origin: str | None = PARTNER) -> dict[str, str]:
    headers = dict(WEBIDENTITY)
    if raw is not None:
        headers["Cookie"] = f"le_session_x={raw}"
    if origin is not None:
        headers["Origin"] = origin
    return headers


def assertion_form(world: World, btn_id: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "client_id": world.app_id,
        "account_id": world.user_id,
        "disclosure_text_shown": "true",
        "is_auto_selected": "false",
        "params": json.dumps({"btnId": btn_id or world.btn_id}),
        **extra,
    }


def test_the_well_known_file_and_the_config_name_every_endpoint(client: TestClient) -> None:
    r = client.get("/.well-known/web-identity")
    assert r.status_code == 200
    assert r.json() == {
        "provider_urls": [f"{ISSUER}/fedcm/config.json"],
        "accounts_endpoint": f"{ISSUER}/fedcm/accounts",
        "login_url": f"{ISSUER}/account/login?next=%2Ffedcm%2Fsigned-in",
    }
    config = client.get("/fedcm/config.json", headers=WEBIDENTITY).json()
    assert {k: v for k, v in config.items() if k != "branding"} == {
        "accounts_endpoint": "/fedcm/accounts",
        "client_metadata_endpoint": "/fedcm/client_metadata",
        "id_assertion_endpoint": "/fedcm/assertion",
        "disconnect_endpoint": "/fedcm/disconnect",
        "login_url": "/account/login?next=%2Ffedcm%2Fsigned-in",
    }
    icon = client.get(config["branding"]["icons"][0]["url"].removeprefix(ISSUER))
    assert (icon.status_code, icon.content[:4]) == (200, b"\x89PNG")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fedcm/config.json"),
        ("GET", "/fedcm/accounts"),
        ("GET", "/fedcm/client_metadata"),
        ("POST", "/fedcm/assertion"),
        ("POST", "/fedcm/disconnect"),
    ],
    ids=["config", "accounts", "client metadata", "assertion", "disconnect"],
)
@pytest.mark.parametrize("dest", [None, "empty", "iframe"], ids=["no dest", "fetch", "frame"])
def test_a_request_the_browser_did_not_mark_webidentity_is_refused(
    client: TestClient, world: World, method: str, path: str, dest: str | None
) -> None:
    raw = signed_in_raw(client)
    headers = {"Cookie": f"le_session_x={raw}", "Origin": PARTNER}
    if dest is not None:
        headers["Sec-Fetch-Dest"] = dest
    r = client.request(
        method, path, headers=headers, data=assertion_form(world) if method == "POST" else None
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_request"
    assert "access-control-allow-origin" not in r.headers
    assert "token" not in r.text


def test_accounts_name_the_session_user_and_the_apps_with_a_grant(
    client: TestClient, world: World
) -> None:
    sign_in(client)
    authorize(client, world.btn_id)  # a grant through the popup
    raw = client.cookies.get("le_session")
    assert raw is not None
    client.cookies.clear()
    r = client.get("/fedcm/accounts", headers=fedcm_headers(raw, origin=None))
    assert r.status_code == 200
    assert r.json() == {
        "accounts": [
            {
                "id": world.user_id,
                "name": "Ann Example",
                "given_name": "Ann",
                "email": "ann@example.com",
                "login_hints": ["ann@example.com"],
                "approved_clients": [world.app_id],
            }
        ]
    }


def test_accounts_without_a_session_say_signed_out(client: TestClient) -> None:
    r = client.get("/fedcm/accounts", headers=fedcm_headers(None, origin=None))
    assert (r.status_code, r.headers["set-login"]) == (401, "logged-out")
    assert r.json()["error"]["code"] == "login_required"


def test_client_metadata_comes_from_the_registration(client: TestClient, world: World) -> None:
    app, _ = world.services.registry.register(
        name="Policy Co",
        origins=[PARTNER],
        scopes="profile",
        privacy_url="https://policy.example/privacy",
        terms_url="https://policy.example/terms",
    )
    world.services.operator.set_app_status(app.id, "approved")
    r = client.get(f"/fedcm/client_metadata?client_id={app.id}", headers=WEBIDENTITY)
    assert r.json() == {
        "privacy_policy_url": "https://policy.example/privacy",
        "terms_of_service_url": "https://policy.example/terms",
    }
    pending, _ = world.services.registry.register(
        name="Pending", origins=[PARTNER], scopes="profile"
    )
    r = client.get(f"/fedcm/client_metadata?client_id={pending.id}", headers=WEBIDENTITY)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


def test_the_disclosure_is_consent_to_profile_and_email_and_the_token_is_the_popups_object(
    client: TestClient, world: World
) -> None:
    raw = signed_in_raw(client)
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=assertion_form(world))
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == PARTNER
    assert r.headers["access-control-allow-credentials"] == "true"
    result = json.loads(r.json()["token"])
    assert (result["valid"], result["appId"], result["btnId"]) == (True, world.app_id, world.btn_id)
    assert result["scopes"] == ["profile", "email"]
    assert result["user"] == {"id": world.user_id, "name": "Ann Example", "email": world.email}
    assert result["refreshToken"].startswith("ler_")
    # The same grant the popup and the connected-applications page see.
    listed = world.services.accounts.connected_apps(world.user_id)
    assert [(g.grant.app_id, sorted(g.grant.scopes)) for g in listed] == [
        (world.app_id, ["email", "profile"])
    ]


def test_without_the_disclosure_a_new_user_is_sent_to_the_consent_dialog(
    client: TestClient, world: World
) -> None:
    raw = signed_in_raw(client)
    form = assertion_form(world, disclosure_text_shown="false")
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=form)
    assert r.json() == {
        "continue_on": f"{ISSUER}/signin/authorize?btnId={world.btn_id}"
        f"&origin=http%3A%2F%2F127.0.0.1%3A9000&state=fedcm"
    }
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_scopes_the_disclosure_does_not_name_go_to_the_consent_dialog(
    client: TestClient, world: World
) -> None:
    btn = world.button("profile,email,account")
    raw = signed_in_raw(client)
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=assertion_form(world, btn))
    assert list(r.json()) == ["continue_on"]
    # The continue_on page is the popup's: its consent dialog asks for what is missing.
    page = client.get(
        r.json()["continue_on"].removeprefix(ISSUER), headers={"Cookie": f"le_session={raw}"}
    )
    assert page.status_code == 200 and 'value="allow"' in page.text
    assert 'name="scopes" value="profile email account"' in page.text


def test_a_returning_user_is_answered_without_a_disclosure(
    client: TestClient, world: World
) -> None:
    sign_in(client)
    authorize(client, world.btn_id)
    raw = client.cookies.get("le_session")
    assert raw is not None
    client.cookies.clear()
    form = assertion_form(world, disclosure_text_shown="false", is_auto_selected="true")
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=form)
    result = json.loads(r.json()["token"])
    assert (result["valid"], result["immediate"]) == (True, True)


@pytest.mark.parametrize(
    ("origin", "status", "code"),
    [
        (EVIL, 400, "origin_not_allowed"),
        (None, 400, "invalid_request"),
        ("null", 400, "invalid_request"),
    ],
    ids=["an unregistered origin", "no origin", "an opaque origin"],
)
def test_an_unregistered_origin_gets_nothing_from_the_assertion_endpoint(
    client: TestClient, world: World, origin: str | None, status: int, code: str
) -> None:
    raw = signed_in_raw(client)
    r = client.post(
        "/fedcm/assertion", headers=fedcm_headers(raw, origin), data=assertion_form(world)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert "access-control-allow-origin" not in r.headers
    assert "token" not in r.json()
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_the_client_id_must_be_the_buttons_application(client: TestClient, world: World) -> None:
    other, _ = world.app(name="Other")
    raw = signed_in_raw(client)
    form = assertion_form(world, client_id=other)
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=form)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "origin_not_allowed")
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_an_account_that_is_not_the_sessions_is_refused(client: TestClient, world: World) -> None:
    raw = signed_in_raw(client)
    form = assertion_form(world, account_id="usr_someone_else_entirely")
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=form)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "access_denied")


def test_a_signed_out_browser_gets_no_assertion(client: TestClient, world: World) -> None:
    r = client.post("/fedcm/assertion", headers=fedcm_headers(None), data=assertion_form(world))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "login_required")


def test_disconnect_ends_the_grant_like_remove_access(client: TestClient, world: World) -> None:
    app_id, _ = world.app(name="Noticed", notice_url="https://partner.example/notices")
    btn = world.button("profile", app_id)
    sign_in(client)
    authorize(client, btn)
    raw = client.cookies.get("le_session")
    assert raw is not None
    client.cookies.clear()
    form = {"client_id": app_id, "account_hint": world.user_id}
    r = client.post("/fedcm/disconnect", headers=fedcm_headers(raw, EVIL), data=form)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers
    assert len(world.services.accounts.connected_apps(world.user_id)) == 1
    r = client.post("/fedcm/disconnect", headers=fedcm_headers(raw), data=form)
    assert r.json() == {"account_id": world.user_id}
    assert r.headers["access-control-allow-origin"] == PARTNER
    assert r.headers["access-control-allow-credentials"] == "true"
    assert world.services.accounts.connected_apps(world.user_id) == []
    (queued,) = notices_for_app(world.services, app_id)
    assert json.loads(queued.body)["via"] == "user"  # exactly as "Remove access"
    # Once more, with nothing left to end: still the account, so the browser forgets it.
    r = client.post("/fedcm/disconnect", headers=fedcm_headers(raw), data=form)
    assert r.json() == {"account_id": world.user_id}


def test_sign_in_and_sign_out_tell_the_browser_the_login_status(
    client: TestClient, world: World
) -> None:
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={
            "csrf": csrf_of(page.text),
            "email": world.email,
            "password": PASSWORD,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["set-login"] == "logged-in"
    cookies = r.headers.get_list("set-cookie")
    cross = [c for c in cookies if c.startswith("le_session_x=")]
    assert len(cross) == 1 and "SameSite=none" in cross[0] and "Secure" in cross[0]
    page = client.get("/account/logout")
    r = client.post("/account/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert (r.status_code, r.headers["set-login"]) == (303, "logged-out")


def test_the_cross_site_cookie_alone_signs_no_form_or_page_in(
    client: TestClient, world: World
) -> None:
    """The SameSite=None cookie is read only by the silent check and the FedCM endpoints:
    a cross-site form post carries it, but the pages and forms do not take it (the Lax
    cookie and the double-submit token still guard them)."""
    raw = signed_in_raw(client)
    r = client.get(
        "/account/apps", headers={"Cookie": f"le_session_x={raw}"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/login")
    page = client.get("/account/logout", headers={"Cookie": f"le_session={raw}"})
    r = client.post(
        "/account/logout",
        headers={"Cookie": f"le_session_x={raw}", "Origin": EVIL},
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert (r.status_code, "set-login" in r.headers) == (403, False)
    assert world.services.sessions.user(raw) is not None  # still signed in


def granted_raw(
    client: TestClient, world: World, btn_id: str, email: str = "ann@example.com"
) -> str:
    """A session whose user has a grant through the popup, then only the cross-site cookie."""
    sign_in(client, email)
    authorize(client, btn_id)
    raw = client.cookies.get("le_session")
    assert raw is not None
    client.cookies.clear()
    return raw


@pytest.mark.parametrize(
    "hint",
    ["the account id", "the email address", "the email address in capitals"],
)
def test_disconnect_ends_the_grant_of_the_hinted_account(
    client: TestClient, world: World, hint: str
) -> None:
    raw = granted_raw(client, world, world.btn_id)
    account_hint = {
        "the account id": world.user_id,
        "the email address": world.email,
        "the email address in capitals": world.email.upper(),
    }[hint]
    form = {"client_id": world.app_id, "account_hint": account_hint}
    r = client.post("/fedcm/disconnect", headers=fedcm_headers(raw), data=form)
    assert (r.status_code, r.json()) == (200, {"account_id": world.user_id})
    assert world.services.accounts.connected_apps(world.user_id) == []


@pytest.mark.parametrize(
    ("account_hint", "status", "code"),
    [
        ("*", 400, "invalid_request"),
        ("usr_nobody_has_this_id_at_all", 400, "invalid_request"),
        ("bob@example.com", 400, "invalid_request"),
        ("", 400, "invalid_request"),
        (None, 400, "invalid_request"),
        ("x" * 400, 400, "invalid_request"),
    ],
    ids=[
        "a wildcard",
        "an unknown id",
        "another user's email",
        "an empty hint",
        "no hint",
        "an over-long hint",
    ],
)
def test_a_hint_that_is_not_the_signed_in_account_ends_no_grant(
    client: TestClient, world: World, account_hint: str | None, status: int, code: str
) -> None:
    bob = world.services.accounts.create_user(
        email="bob@example.com", name="Bob Other", password=PASSWORD, company="B", plan="Pro"
    )
    granted_raw(client, world, world.btn_id, email="bob@example.com")
    raw = granted_raw(client, world, world.btn_id)
    form = {"client_id": world.app_id}
    if account_hint is not None:
        form["account_hint"] = account_hint
    r = client.post("/fedcm/disconnect", headers=fedcm_headers(raw), data=form)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert "account_hint" in r.json()["error"]["description"]
    # Readable by the partner's page, so its browser can say why.
    assert r.headers["access-control-allow-origin"] == PARTNER
    assert r.headers["access-control-allow-credentials"] == "true"
    # Neither the session's grant nor the other user's ended.
    for user_id in (world.user_id, bob.id):
        assert len(world.services.accounts.connected_apps(user_id)) == 1


@pytest.mark.parametrize(
    ("path", "form", "signed_in", "status", "code"),
    [
        ("/fedcm/assertion", {}, False, 401, "login_required"),
        ("/fedcm/assertion", {"account_id": "usr_someone_else_entirely"}, True, 403,
         "access_denied"),
        ("/fedcm/assertion", {"params": "not json"}, True, 400, "invalid_button"),
        ("/fedcm/disconnect", {}, False, 401, "login_required"),
    ],
    ids=[
        "an assertion for a signed-out browser",
        "an assertion for another account",
        "an assertion without a button",
        "a disconnect for a signed-out browser",
    ],
)  # fmt: skip
def test_a_refusal_is_readable_by_the_registered_origin(
    client: TestClient,
    world: World,
    path: str,
    form: dict[str, str],
    signed_in: bool,
    status: int,
    code: str,
) -> None:
    raw = signed_in_raw(client) if signed_in else None
    data = {**assertion_form(world), "account_hint": world.user_id, **form}
    r = client.post(path, headers=fedcm_headers(raw), data=data)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert r.headers["access-control-allow-origin"] == PARTNER
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["vary"] == "Origin"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/fedcm/assertion", "/fedcm/disconnect"])
@pytest.mark.parametrize(
    "case",
    [
        "an origin registered for nothing",
        "an origin registered for another application",
        "an unknown application",
        "no application",
    ],
)
def test_a_refusal_never_reflects_an_origin_not_registered_for_the_named_application(
    client: TestClient, world: World, path: str, case: str
) -> None:
    other, _ = world.app(name="Elsewhere", origins=("http://127.0.0.1:9777",))
    origin, client_id = {
        "an origin registered for nothing": (EVIL, world.app_id),
        "an origin registered for another application": ("http://127.0.0.1:9777", world.app_id),
        "an unknown application": (PARTNER, "app_unknownunknownunknown"),
        "no application": (PARTNER, ""),
    }[case]
    raw = signed_in_raw(client)
    data = {**assertion_form(world), "client_id": client_id, "account_hint": world.user_id}
    r = client.post(path, headers=fedcm_headers(raw, origin), data=data)
    assert r.status_code == 400
    assert r.json()["error"]["code"] in {"origin_not_allowed", "invalid_request"}
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-credentials" not in r.headers
    assert other  # registered, approved, and still not reflected for the wrong app


def test_a_suspended_applications_page_may_read_why_it_is_refused(
    client: TestClient, world: World
) -> None:
    raw = signed_in_raw(client)
    world.services.operator.set_app_status(world.app_id, "suspended")
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=assertion_form(world))
    assert r.status_code == 403
    assert r.headers["access-control-allow-origin"] == PARTNER
    assert "token" not in r.json()
