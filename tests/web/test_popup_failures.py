"""Every outcome inside the popup reaches the partner's callback, failures included, and each
sign-in is at most two transactions (open the popup; answer the dialog)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from leadexec_signin.storage.sql import tables
from support.signin import PARTNER, authorize, decide, open_popup, result_of, sign_in


def consent_dialog(client: TestClient, btn_id: str) -> str:
    r = open_popup(client, btn_id)
    assert r.status_code == 200 and 'value="allow"' in r.text  # type: ignore[attr-defined]
    return r.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_failure_after_the_dialog_is_posted_as_server_error(
    client: TestClient, world
) -> None:
    """Before, this rendered an HTML error page: the popup stayed open and the partner only
    ever heard popup_closed."""
    sign_in(client)
    html = consent_dialog(client, world.btn_id)
    with world.services.storage.engine.begin() as c:  # the database loses a table
        c.exec_driver_sql("ALTER TABLE grants RENAME TO grants_gone")
    r = decide(client, html, "allow", world.btn_id)
    assert r.status_code == 503  # type: ignore[attr-defined]
    message = result_of(r.text)  # type: ignore[attr-defined]
    assert f'data-target="{PARTNER}"' in r.text  # type: ignore[attr-defined]
    result = message["result"]
    assert (result["valid"], result["error"], result["refreshToken"]) == (  # type: ignore[index]
        False,
        "server_error",
        None,
    )
    assert result["errorMessage"].endswith("(temporarily_unavailable)")  # type: ignore[index]


def test_a_suspension_between_the_dialog_and_allow_is_posted(client: TestClient, world) -> None:
    sign_in(client)
    html = consent_dialog(client, world.btn_id)
    world.services.operator.set_app_status(world.app_id, "suspended")
    r = decide(client, html, "allow", world.btn_id)
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert result_of(r.text)["result"]["error"] == "app_not_approved"  # type: ignore[index,attr-defined]
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_a_returning_user_asked_for_more_scopes_takes_two_transactions(
    client: TestClient, world
) -> None:
    sign_in(client)
    authorize(client, world.btn_id)  # consented to profile and email
    wider = world.button("profile,email,account")
    begun = []

    @event.listens_for(world.services.storage.engine, "begin")
    def count(_conn: object) -> None:
        begun.append(1)

    html = consent_dialog(client, wider)
    assert "account" in html and len(begun) == 1  # the checks, session and grant: one
    r = decide(client, html, "allow", wider)
    assert result_of(r.text)["result"]["scopes"] == ["profile", "email", "account"]  # type: ignore[attr-defined]
    assert len(begun) == 2  # the checks again, the consent and the tokens: one more


def test_the_silent_check_answers_only_a_frame(client: TestClient, world) -> None:
    """Loaded as an image or an object by any page, the silent check would tell "signed in
    and granted" from "not" by its status and mint a refresh token each time: anything a
    browser says is not a frame gets one constant answer, before any lookup."""
    sign_in(client)
    authorize(client, world.btn_id)
    params = {"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    grant_id = world.services.accounts.connected_apps(world.user_id)[0].grant.id
    with world.services.storage.engine.connect() as c:
        before = c.execute(
            select(func.count()).where(tables.refresh_tokens.c.grant_id == grant_id)
        ).scalar_one()
    answers = set()
    for dest in ("image", "object", "embed", "script", "empty", "document"):
        r = client.get("/signin/immediate", params=params, headers={"Sec-Fetch-Dest": dest})
        answers.add((r.status_code, r.text.count("le-result")))
    client.cookies.clear()  # signed out: the answer is the same
    r = client.get("/signin/immediate", params=params, headers={"Sec-Fetch-Dest": "image"})
    answers.add((r.status_code, r.text.count("le-result")))
    assert answers == {(400, 0)}
    with world.services.storage.engine.connect() as c:
        after = c.execute(
            select(func.count()).where(tables.refresh_tokens.c.grant_id == grant_id)
        ).scalar_one()
    assert after == before
    sign_in(client)
    framed = client.get("/signin/immediate", params=params, headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.status_code == 200 and result_of(framed.text)["result"]["valid"] is True  # type: ignore[index]
