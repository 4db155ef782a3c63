"""An application can require two-step sign-in (console switch, ``apps create|client
--require-mfa``): its users without a second factor add one before they consent, users with
one sign in with it, and its silent check answers immediate_failed until they have."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from cli.test_cli import run
from leadexec_signin.compose import Services
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.errors import ImmediateFailed
from support.signin import PARTNER, PASSWORD, sign_in
from web.oauth_flow import Pkce, auth_params, register
from web.test_operator_mfa import a_passkey


def strict_app(services: Services) -> str:
    app, _ = services.registry.register(
        name="Strict CRM",
        origins=[PARTNER],
        scopes="profile,email",
        client=ClientRegistration(require_mfa=True),
    )
    services.operator.set_app_status(app.id, "approved")
    assert app.require_mfa
    return services.registry.create_button(app_id=app.id, scopes="profile").id


def popup(client: TestClient, btn: str) -> object:
    return client.get(
        "/signin/authorize",
        params={"btnId": btn, "origin": PARTNER, "state": "s"},
        follow_redirects=False,
    )


def test_a_user_without_a_factor_enrols_before_consenting(
    client: TestClient, services: Services
) -> None:
    services.accounts.create_user(email="n@example.com", name="N", password=PASSWORD)
    btn = strict_app(services)
    sign_in(client, "n@example.com")
    r = popup(client, btn)
    assert r.status_code == 303  # type: ignore[attr-defined]
    location = r.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/account/security?next=") and location.endswith("&step=mfa")


def test_a_user_with_a_factor_signs_in_with_it_then_consents(
    client: TestClient, services: Services
) -> None:
    user = services.accounts.create_user(email="y@example.com", name="Y", password=PASSWORD)
    btn = strict_app(services)
    client.cookies.set("le_session", services.sessions.start(user, ("pwd",)))
    a_passkey(services, user.id)
    r = popup(client, btn)
    assert r.headers["location"].startswith("/account/login?next=")  # type: ignore[attr-defined]
    assert r.headers["location"].endswith("&step=mfa")  # type: ignore[attr-defined]
    client.cookies.set("le_session", services.sessions.start(user, ("hwk", "user", "mfa")))
    r = popup(client, btn)
    assert r.status_code == 200 and 'value="allow"' in r.text  # type: ignore[attr-defined]


def test_the_silent_check_fails_until_the_user_has_a_second_factor(
    services: Services,
) -> None:
    user = services.accounts.create_user(email="s@example.com", name="S", password=PASSWORD)
    btn = strict_app(services)
    req = AuthorizeRequest(btn, PARTNER, "s", True)
    try:
        services.signin.silent(req, services.sessions.start(user, ("pwd",)), "::1")
    except ImmediateFailed:
        pass
    else:
        raise AssertionError("a password-only session passed the silent check")


@pytest.mark.slow  # a command-line process
def test_apps_create_and_client_take_require_mfa(tmp_path: Path) -> None:
    made = run(tmp_path, "apps", "create", "--name", "Strict", "--origin", PARTNER,
               "--scopes", "profile", "--require-mfa", "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["requireMfa"] is True


def test_the_oauth_flow_sends_a_user_without_a_factor_to_enrol_and_never_issues_without_one(
    client: TestClient, services: Services
) -> None:
    services.accounts.create_user(email="o@example.com", name="O", password=PASSWORD)
    c = register(services, require_mfa=True)
    sign_in(client, "o@example.com")
    r = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    location = r.headers["location"]
    assert location.startswith("/account/security?") and "step=mfa" in location
    # Signing in again with the password alone does not get a code.
    back = parse_qs(urlsplit(location).query)["next"][0]
    sign_in(client, "o@example.com")
    r = client.get(back, follow_redirects=False)
    assert r.status_code == 303 and "error=access_denied" in r.headers["location"]


def test_the_last_factor_stays_while_a_connected_application_requires_one(
    client: TestClient, services: Services
) -> None:
    """Removing it would lock the user out of that application: refused with the reason,
    until the user removes the application's access (then it goes)."""
    from support.signin import authorize as allow_popup
    from support.signin import csrf_of

    user = services.accounts.create_user(email="k@example.com", name="K", password=PASSWORD)
    btn = strict_app(services)
    passkey = a_passkey(services, user.id)
    client.cookies.set("le_session", services.sessions.start(user, ("hwk", "user", "mfa")))
    assert allow_popup(client, btn)["valid"] is True  # connected, with its second factor
    csrf = csrf_of(client.get("/account/security").text)
    r = client.post(f"/account/security/passkeys/{passkey.id}/remove", data={"csrf": csrf})
    assert r.status_code == 409
    assert "An application you use requires two-step sign-in." in r.text
    assert len(services.passkeys.list(user.id)) == 1
    [listing] = services.accounts.connected_apps(user.id)
    services.revocation.remove_access(user, listing.grant.id, "")
    r = client.post(f"/account/security/passkeys/{passkey.id}/remove", data={"csrf": csrf})
    assert r.status_code == 200 and services.passkeys.list(user.id) == []


def test_fedcm_issues_nothing_until_the_user_has_a_second_factor(client: TestClient, world) -> None:
    """The browser's dialog gets login_required (no token); the SDK then asks the silent
    check, which answers immediate_failed (above), so the page's callback says so."""
    from web.test_fedcm import assertion_form, fedcm_headers, signed_in_raw

    btn = strict_app(world.services)
    found = world.services.registry.button(btn)
    assert found is not None
    raw = signed_in_raw(client)  # a password only
    form = assertion_form(world, btn, client_id=found[1].id)
    r = client.post("/fedcm/assertion", headers=fedcm_headers(raw), data=form)
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"
    assert "token" not in r.json()
