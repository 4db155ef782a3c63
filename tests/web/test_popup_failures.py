"""Every outcome inside the popup reaches the partner's callback, failures included, and each
sign-in is at most two transactions (open the popup; answer the dialog)."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from conftest import PARTNER, authorize, decide, open_popup, result_of, sign_in


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
