"""The operators' page over HTTP: who may see it, the queue of pending applications with
owner, origins and scopes, search, the owner's email when the status changes, rejecting with
a reason mailed to the owner, and the operators' email when a partner registers one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in


@pytest.fixture
def outboxed(settings: Settings, clock: FrozenClock) -> Iterator[tuple[TestClient, Services]]:
    """A provider whose mail goes to the development outbox, where the test reads it."""
    services = build(settings.with_changes(dev_outbox=True), clock)
    with TestClient(create_app(services), base_url=ISSUER) as client:
        yield client, services
    services.close()


def partner_app(services: Services, email: str, name: str, origin: str) -> str:
    owner = services.accounts.create_user(email=email, name=name, password=PASSWORD)
    app, _ = services.registry.register(
        name=f"{name}'s CRM", origins=[origin], scopes="profile,email", owner_id=owner.id
    )
    return app.id


@pytest.fixture
def operator(outboxed: tuple[TestClient, Services]) -> tuple[TestClient, Services]:
    client, services = outboxed
    services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "op@example.com")
    return client, services


def test_a_partner_who_is_not_an_operator_is_told_so(outboxed) -> None:
    client, services = outboxed
    services.accounts.create_user(email="pat@example.com", name="Pat", password=PASSWORD)
    r = client.get("/admin", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/account/login?next=/admin")
    sign_in(client, "pat@example.com")
    r = client.get("/admin")
    assert r.status_code == 403
    assert "This page is for LeadExec operators, and pat@example.com is not one." in r.text
    assert "/developers" in r.text


def test_the_queue_shows_owner_origins_and_scopes(operator) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    approved = partner_app(services, "bo@beta.example", "Bo", "http://localhost:4000")
    services.operator.set_app_status(approved, "approved")
    page = client.get("/admin")
    assert page.status_code == 200
    queue = page.text[page.text.index('id="pending-queue"') : page.text.index('id="other-apps"')]
    assert app_id in queue and approved not in queue
    assert "ann@acme.example" in queue and "https://crm.acme.example" in queue
    assert ">email</code>" in queue and ">profile</code>" in queue
    assert "Waiting for approval (1)" in page.text


@pytest.mark.parametrize(
    ("query", "found"),
    [("acme", "ann"), ("ANN'S", "ann"), ("bo@beta", "bo"), ("APP_ID", "ann"), ("nothing", None)],
    ids=["by name", "by name in any case", "by owner email", "by id", "nothing matches"],
)
def test_search_by_name_id_or_owner_email(operator, query: str, found: str | None) -> None:
    client, services = operator
    ids = {
        "ann": partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example"),
        "bo": partner_app(services, "bo@beta.example", "Bo", "https://books.beta.example"),
    }
    query = ids["ann"][4:14] if query == "APP_ID" else query
    page = client.get("/admin", params={"q": query})
    assert page.status_code == 200
    shown = {who for who, app_id in ids.items() if app_id in page.text}
    assert shown == ({found} if found else set())
    if found is None:
        assert "No pending application matches" in page.text


def test_approving_and_suspending_email_the_owner(operator) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    for action, subject in [("approve", "is approved"), ("suspend", "is suspended"),
                            ("reinstate", "is reinstated")]:  # fmt: skip
        page = client.get("/admin")
        r = client.post(
            f"/admin/apps/{app_id}/status",
            data={"csrf": csrf_of(page.text), "action": action},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == f"/admin?done={action}"
        latest = services.outbox.messages()[0].message
        assert latest.to == "ann@acme.example" and subject in latest.subject
        assert f"{ISSUER}/developers/apps/{app_id}" in latest.text
    # Three to the owner, after the operators' "waiting for approval" when it was registered.
    assert [m.message.to for m in services.outbox.messages()] == ["ann@acme.example"] * 3 + [
        "op@example.com"
    ]


def test_an_application_without_owner_is_approved_without_mail(operator) -> None:
    client, services = operator
    app, _ = services.registry.register(
        name="CLI App", origins=["https://a.example"], scopes="profile"
    )
    page = client.get("/admin")
    assert "none (command line)" in page.text
    client.post(
        f"/admin/apps/{app.id}/status", data={"csrf": csrf_of(page.text), "action": "approve"}
    )
    assert services.registry.app(app.id).status == "approved"
    assert services.outbox.messages() == []


def test_status_changes_need_csrf_and_a_known_application(operator) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    r = client.post(f"/admin/apps/{app_id}/status", data={"action": "approve"})
    assert r.status_code == 403
    page = client.get("/admin")
    csrf = csrf_of(page.text)
    r = client.post(
        "/admin/apps/app_" + "x" * 22 + "/status", data={"csrf": csrf, "action": "approve"}
    )
    assert r.status_code == 404
    assert services.registry.app(app_id).status == "pending"
    assert re.search(r"Error code: <code>not_found</code>", r.text)


def reject_form(client: TestClient, app_id: str) -> str:
    page = client.get(f"/admin/apps/{app_id}/reject")
    assert page.status_code == 200 and 'name="reason"' in page.text
    return csrf_of(page.text)


def test_rejecting_stops_the_application_and_mails_the_owner_the_reason(operator) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    assert f'href="/admin/apps/{app_id}/reject"' in client.get("/admin").text
    reason = "The privacy policy link answers 404.\nAdd a working one, then write to us."
    r = client.post(
        f"/admin/apps/{app_id}/reject",
        data={"csrf": reject_form(client, app_id), "reason": reason},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin?done=reject")
    assert "Its owner was emailed your reason." in client.get(r.headers["location"]).text
    assert services.registry.app(app_id).status == "suspended"  # type: ignore[union-attr]
    mail = services.outbox.messages()[0].message
    assert mail.to == "ann@acme.example" and "was not approved" in mail.subject
    assert reason in mail.text and f"{ISSUER}/developers/apps/{app_id}" in mail.text
    # The audit trail keeps the reason (the command line's export reads the same rows).
    from sqlalchemy import select

    from leadexec_signin.storage.sql import tables

    with services.storage.transaction() as tx:
        detail = tx.c.execute(
            select(tables.audit_events.c.detail).where(
                tables.audit_events.c.app_id == app_id,
                tables.audit_events.c.event == "app.status",
            )
        ).scalar_one()
    assert detail == {"status": "suspended", "was": "pending", "rejected": reason}


@pytest.mark.parametrize(
    ("reason", "status", "says"),
    [
        ("", 400, "Write the reason the owner will read."),
        ("   ", 400, "Write the reason the owner will read."),
        ("x" * 1001, 400, "The reason is at most 1000 characters."),
        ("bad\x00byte", 400, "The reason must be plain text."),
        (None, 400, "Write the reason the owner will read."),
    ],
    ids=["empty", "blank", "over 1000 characters", "a NUL byte", "missing"],
)
def test_a_rejection_without_a_good_reason_changes_nothing(
    operator, reason: str | None, status: int, says: str
) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    before = len(services.outbox.messages())
    data = {"csrf": reject_form(client, app_id)}
    if reason is not None:
        data["reason"] = reason
    r = client.post(f"/admin/apps/{app_id}/reject", data=data)
    assert r.status_code == status and says in r.text
    assert services.registry.app(app_id).status == "pending"  # type: ignore[union-attr]
    assert len(services.outbox.messages()) == before


def test_only_a_pending_application_can_be_rejected(operator) -> None:
    client, services = operator
    app_id = partner_app(services, "ann@acme.example", "Ann", "https://crm.acme.example")
    services.operator.set_app_status(app_id, "approved")
    page = client.get(f"/admin/apps/{app_id}/reject")
    assert page.status_code == 200 and 'name="reason"' not in page.text
    r = client.post(
        f"/admin/apps/{app_id}/reject", data={"csrf": csrf_of(page.text), "reason": "No."}
    )
    assert r.status_code == 409 and "suspend an approved one" in r.text
    assert services.registry.app(app_id).status == "approved"  # type: ignore[union-attr]
    # No CSRF token, an unknown application, a partner who is not an operator: refused.
    assert client.post(f"/admin/apps/{app_id}/reject", data={"reason": "x"}).status_code == 403
    unknown = "app_" + "x" * 22
    assert client.get(f"/admin/apps/{unknown}/reject").status_code == 404
    services.accounts.create_user(email="pat@example.com", name="Pat", password=PASSWORD)
    sign_in(client, "pat@example.com")
    assert client.get(f"/admin/apps/{app_id}/reject").status_code == 403


def test_operators_are_mailed_when_a_partner_registers_an_application(operator) -> None:
    client, services = operator
    services.accounts.create_user(
        email="op2@example.com", name="Op Two", password=PASSWORD, operator=True, locale="fr-FR"
    )
    gone = services.accounts.create_user(
        email="gone@example.com", name="Gone", password=PASSWORD, operator=True
    )
    with services.storage.transaction() as tx:  # a disabled operator is told nothing
        tx.set_user_disabled(gone.id, services.clock.now())
    partner = services.accounts.create_user(email="pat@p.example", name="Pat", password=PASSWORD)
    client.cookies.clear()
    sign_in(client, "pat@p.example")
    page = client.get("/developers")
    r = client.post(
        "/developers/apps",
        data={"csrf": csrf_of(page.text), "name": "Pat's Leads", "origins": "https://p.example",
              "scopes": ["profile"]},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    [app] = services.console.apps_for_owner(partner)
    mails = {m.message.to: m.message for m in services.outbox.messages()}
    assert set(mails) == {"op@example.com", "op2@example.com"}  # every operator, no one else
    en, fr = mails["op@example.com"], mails["op2@example.com"]
    assert en.subject == "Pat's Leads is waiting for approval on LeadExec Sign-In"
    assert "pat@p.example" in en.text and f"{ISSUER}/admin?q={app.id}" in en.text
    assert fr.language == "fr" and fr.subject != en.subject  # in the operator's language
    # An operator's own registration at the command line announces nothing.
    services.registry.register(name="CLI", origins=["https://c.example"], scopes="profile")
    assert len(services.outbox.messages()) == 2
