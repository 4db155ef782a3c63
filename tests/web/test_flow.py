"""The whole seed flow over HTTP, seeded through the command line's ``main()``."""

from __future__ import annotations

import json
import os

from starlette.testclient import TestClient

from leadexec_signin.settings import Settings
from support.command_line import run_in_process
from support.signin import (
    OTHER_PARTNER,
    PARTNER,
    RESULT_FIELDS,
    authorize,
    decide,
    open_popup,
    result_of,
    sign_in,
)


def cli(settings: Settings, *args: str, stdin: str = "") -> dict[str, object]:
    env = {
        **os.environ,
        "LEADEXEC_DATABASE_URL": settings.database_url,
        "LEADEXEC_DATA_DIR": str(settings.data_dir),
        "LEADEXEC_LOG_LEVEL": "WARNING",
    }
    # In this process (tests/cli/ runs the command line as a real process too).
    done = run_in_process([*args, "--json"], env, stdin)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_full_flow_seeded_by_the_command_line(settings: Settings, client: TestClient) -> None:
    user = cli(
        settings,
        "users",
        "create",
        "--email",
        "Flow@Example.com",
        "--name",
        "Flo Flow",
        "--company",
        "Flow Inc",
        "--plan",
        "Pro",
        stdin="a long enough password\n",
    )
    app = cli(
        settings, "apps", "create", "--name", "Flow App", "--origin", PARTNER, "--scopes",
        "profile,email,account",
    )  # fmt: skip
    assert app["status"] == "pending" and app["appSecret"] is None
    assert cli(settings, "apps", "approve", str(app["appId"]))["status"] == "approved"
    button = cli(
        settings, "buttons", "create", "--app", str(app["appId"]), "--scopes", "profile,email"
    )

    # The popup asks for sign-in first, then consent, then hands over the authorization object.
    first = open_popup(client, str(button["btnId"]), state="xyz")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/account/login?next=%2Fsignin%2Fauthorize")
    sign_in(client, "flow@example.com", "a long enough password")
    consent = open_popup(client, str(button["btnId"]), state="xyz")
    assert consent.status_code == 200
    assert "Flow App" in consent.text and ">Allow<" in consent.text and ">Cancel<" in consent.text
    assert "See your name and LeadExec user ID" in consent.text
    done = decide(client, consent.text, "allow", str(button["btnId"]))
    message = result_of(done.text)
    assert message["source"] == "leadexec-signin" and message["state"] == "xyz"
    assert f'data-target="{PARTNER}"' in done.text
    result = message["result"]
    assert RESULT_FIELDS <= set(result)
    assert result["valid"] is True and result["immediate"] is False and result["error"] is None
    assert result["appId"] == app["appId"] and result["btnId"] == button["btnId"]
    assert result["scopes"] == ["profile", "email"]
    assert result["user"] == {"id": user["id"], "name": "Flo Flow", "email": "flow@example.com"}
    assert str(result["expireDate"]).endswith("Z")

    # The partner's backend trades the refresh token and calls the API.
    r = client.get(
        "/api/token", params={"appId": app["appId"], "refreshToken": result["refreshToken"]}
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    token = r.json()
    assert token["valid"] is True and token["refreshToken"] == result["refreshToken"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['authToken']}"})
    assert me.status_code == 200
    assert me.json() == {"id": user["id"], "name": "Flo Flow", "email": "flow@example.com"}

    # Disconnect through JSONP; both tokens die and the next sign-in asks again.
    r = client.get("/api/revoke", params={"token": result["refreshToken"], "callback": "done"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert 'done({"valid": true, "errorMessage": null, "error": null})' in r.text
    again = client.get(
        "/api/token", params={"appId": app["appId"], "refreshToken": result["refreshToken"]}
    )
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    for access in (result["authToken"], token["authToken"]):
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith(
            'Bearer realm="LeadExec", error="invalid_token"'
        )
    asks_again = open_popup(client, str(button["btnId"]))
    assert asks_again.status_code == 200 and 'value="allow"' in asks_again.text


def test_returning_user_is_not_asked_again(client: TestClient, world) -> None:
    sign_in(client)
    first = authorize(client, world.btn_id)
    second = open_popup(client, world.btn_id)
    assert 'value="allow"' not in second.text
    result = result_of(second.text)["result"]
    assert result["valid"] is True and result["refreshToken"] != first["refreshToken"]


def test_cancel_gives_access_denied_and_no_token(client: TestClient, world) -> None:
    sign_in(client)
    consent = open_popup(client, world.btn_id)
    result = result_of(decide(client, consent.text, "cancel", world.btn_id).text)["result"]
    assert result["valid"] is False and result["error"] == "access_denied"
    assert result["refreshToken"] is None and result["authToken"] is None and result["user"] is None
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_incremental_consent_asks_only_for_new_scopes(client: TestClient, world) -> None:
    sign_in(client)
    authorize(client, world.btn_id)  # profile, email
    wider = world.button("profile,email,settings")
    consent = open_popup(client, wider)
    assert consent.status_code == 200
    assert "See your time zone, language and preferences" in consent.text
    asked = consent.text.split("This will allow")[1].split("</ul>")[0]
    assert "See your email address" not in asked and "See your name" not in asked
    already = "Acme CRM can already: See your name and LeadExec user ID; See your email"
    assert already in consent.text
    result = result_of(decide(client, consent.text, "allow", wider).text)["result"]
    assert result["scopes"] == ["profile", "email", "settings"]
    # The narrower button is still covered: no prompt.
    assert 'value="allow"' not in open_popup(client, world.btn_id).text


def test_consent_for_changed_scopes_is_shown_again(client: TestClient, world) -> None:
    """The user agrees only to what the dialog showed; a different scope list asks again."""
    sign_in(client)
    consent = open_popup(client, world.btn_id)
    tampered = consent.text.replace('value="profile email"', 'value="profile"')
    r = decide(client, tampered, "allow", world.btn_id)
    assert r.status_code == 200 and 'value="allow"' in r.text
    assert world.services.accounts.connected_apps(world.user_id) == []


# A refusal still posts its result to the page, under the error's own status.
POPUP_STATUS = {"origin_not_allowed": 400, "invalid_button": 400, "app_not_approved": 403}


def popup_error(client: TestClient, btn_id: str, origin: str = PARTNER) -> dict[str, object]:
    r = open_popup(client, btn_id, origin)
    message = result_of(r.text)
    assert f'data-target="{origin}"' in r.text
    assert r.status_code == POPUP_STATUS[message["result"]["error"]]  # type: ignore[index]
    return message["result"]  # type: ignore[return-value]


def test_unregistered_origin_gets_origin_not_allowed(client: TestClient, world) -> None:
    sign_in(client)
    authorize(client, world.btn_id)
    result = popup_error(client, world.btn_id, OTHER_PARTNER)
    assert (result["valid"], result["error"]) == (False, "origin_not_allowed")
    assert result["refreshToken"] is None and result["authToken"] is None


def test_unknown_button_gets_invalid_button(client: TestClient, world) -> None:
    sign_in(client)
    result = popup_error(client, "btn_" + "x" * 22)
    assert (result["valid"], result["error"]) == (False, "invalid_button")


def test_pending_app_gets_app_not_approved(client: TestClient, world) -> None:
    sign_in(client)
    app_id, _ = world.app(status="pending")
    result = popup_error(client, world.button("profile", app_id))
    assert (result["error"], result["refreshToken"]) == ("app_not_approved", None)


def test_suspended_app_gets_app_not_approved_and_its_tokens_die(client: TestClient, world) -> None:
    sign_in(client)
    result = authorize(client, world.btn_id)
    world.services.operator.set_app_status(world.app_id, "suspended")
    assert popup_error(client, world.btn_id)["error"] == "app_not_approved"
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {result['authToken']}"})
    assert r.status_code == 401
    r = client.post(
        "/api/token", data={"appId": world.app_id, "refreshToken": result["refreshToken"]}
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    world.services.operator.set_app_status(world.app_id, "approved")
    r = client.post(
        "/api/token", json={"appId": world.app_id, "refreshToken": result["refreshToken"]}
    )
    assert r.status_code == 200  # reinstating restores the grants that were never revoked


def test_immediate_gives_tokens_only_to_a_covered_grant(client: TestClient, world) -> None:
    params = {"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    r = client.get("/signin/immediate", params=params)
    assert r.status_code == 200  # the everyday answer: its meaning is in the result (docs/sdk.md)
    assert result_of(r.text)["result"]["error"] == "immediate_failed"
    assert f"frame-ancestors {PARTNER}" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    sign_in(client)
    assert result_of(client.get("/signin/immediate", params=params).text)["result"]["error"] == (
        "immediate_failed"
    )
    authorize(client, world.btn_id)
    result = result_of(client.get("/signin/immediate", params=params).text)["result"]
    assert result["valid"] is True and result["immediate"] is True and result["refreshToken"]
    other = {**params, "origin": OTHER_PARTNER}
    r = client.get("/signin/immediate", params=other)
    assert result_of(r.text)["result"]["error"] == "immediate_failed"
    assert result_of(r.text)["result"]["refreshToken"] is None


def test_hardened_delivery_hands_a_single_use_code(client: TestClient, world) -> None:
    app_id, secret = world.app(with_secret=True, hardened=True, name="Hardened")
    btn = world.button("profile", app_id)
    sign_in(client)
    result = authorize(client, btn)
    assert result["refreshToken"] is None and result["authToken"] is None and result["code"]
    no_secret = client.post("/api/token", data={"appId": app_id, "code": result["code"]})
    assert (no_secret.status_code, no_secret.json()["error"]) == (401, "invalid_client")
    r = client.post(
        "/api/token", data={"appId": app_id, "code": result["code"], "appSecret": secret}
    )
    assert r.status_code == 200 and r.json()["refreshToken"].startswith("ler_")
    replay = client.post(
        "/api/token", data={"appId": app_id, "code": result["code"], "appSecret": secret}
    )
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
