"""A person's own account over HTTP: the profile, "download my data", and deleting the
account (the password or a recent proof, the address typed; the partner is told)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from support.people import NoticeReceiver, notice_bodies
from support.signin import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, sign_in


@pytest.fixture
def receiver() -> Iterator[NoticeReceiver]:
    found = NoticeReceiver()
    yield found
    found.close()


@pytest.fixture
def ann(
    settings: Settings, clock: FrozenClock, receiver: NoticeReceiver
) -> Iterator[tuple[TestClient, Services, dict[str, object], str]]:
    services = build(settings, clock)
    services.accounts.create_user(email="ann@example.com", name="Ann Example", password=PASSWORD)
    app, _ = services.registry.register(
        name="Acme CRM", origins=[PARTNER], scopes="profile,email", notice_url=receiver.url
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    with TestClient(create_app(services), base_url=ISSUER) as client:
        sign_in(client)
        yield client, services, authorize(client, button.id), app.id
    services.close()


def post_form(client: TestClient, path: str, data: dict[str, str]) -> object:
    page = client.get(path)
    return client.post(path, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False)


def test_the_profile_changes_and_partners_read_it(ann) -> None:
    client, services, tokens, _app = ann
    r = post_form(client, "/account/profile", {"name": "  Ann   Other ", "company": "Acme",
                  "timezone": "Europe/Berlin", "locale": "de-DE"})  # fmt: skip
    assert r.status_code == 303  # type: ignore[attr-defined]
    user = services.people.by_email("ann@example.com")
    assert (user.name, user.company, user.timezone, user.locale) == (
        "Ann Other", "Acme", "Europe/Berlin", "de-DE")  # fmt: skip
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['authToken']}"})
    assert me.json()["name"] == "Ann Other"
    # The page now speaks the user's own language.
    assert 'lang="de"' in client.get("/account/profile").text


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ""},
        {"name": "x" * 121},
        {"name": "Ann\x00"},
        {"company": "c" * 121},
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"locale": "<script>"},
        {"locale": "fr-FR-" + "x" * 40},
    ],
    ids=["an empty name", "an over-long name", "a NUL in the name", "an over-long company",
         "an unknown time zone", "a path as time zone", "markup as language",
         "an over-long language"],
)  # fmt: skip
def test_a_bad_profile_is_refused_and_nothing_is_written(ann, changes) -> None:
    client, services, _tokens, _app = ann
    data = {"name": "Ann", "company": "", "timezone": "UTC", "locale": "en-US", **changes}
    r = post_form(client, "/account/profile", data)
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert services.people.by_email("ann@example.com").name == "Ann Example"


def test_download_my_data_holds_everything_and_no_secret(ann) -> None:
    client, _services, tokens, app_id = ann
    page = client.get("/account/profile")
    r = client.post("/account/data", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "no-store"
    doc = r.json()
    assert doc["profile"]["email"] == "ann@example.com"
    assert doc["applications"] == [{
        "appId": app_id, "name": "Acme CRM", "scopes": ["email", "profile"],
        "grantedAt": doc["applications"][0]["grantedAt"],
        "lastUsedAt": doc["applications"][0]["lastUsedAt"]}]  # fmt: skip
    assert len(doc["browsers"]) == 1 and doc["secondFactors"] == []
    assert {"signin.ok", "consent.granted"} <= {e["event"] for e in doc["auditEvents"]}
    text = json.dumps(doc)
    for secret in ("argon2", str(tokens["refreshToken"]), str(tokens["authToken"]), "les_"):
        assert secret not in text
    # Without the form's CSRF token nothing is handed out.
    assert client.post("/account/data", data={}).status_code == 403


def test_deleting_the_account_tells_the_partner_and_leaves_an_opaque_trail(ann, receiver) -> None:
    client, services, tokens, app_id = ann
    user_id = services.people.by_email("ann@example.com").id
    wrong = post_form(client, "/account/delete", {"password": PASSWORD, "email": "other@x.com"})
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    bad = post_form(
        client, "/account/delete", {"password": "nope nope", "email": "ann@example.com"}
    )
    assert bad.status_code == 400  # type: ignore[attr-defined]
    r = post_form(client, "/account/delete", {"password": PASSWORD, "email": "Ann@Example.com "})
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert r.headers["location"] == "/account/login?done=deleted"  # type: ignore[attr-defined]
    assert "Your account was deleted" in client.get(r.headers["location"]).text  # type: ignore[attr-defined]
    assert [n["via"] for n in notice_bodies(services, app_id)] == ["account_deleted"]
    # The partner's endpoint receives it (the sender's pass, as the server runs it).
    assert receiver.deliver(services) == 1
    assert receiver.bodies[0]["via"] == "account_deleted"
    assert receiver.bodies[0]["userId"] == user_id and receiver.bodies[0]["appId"] == app_id
    bearer = {"Authorization": f"Bearer {tokens['authToken']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    with services.storage.engine.connect() as c:
        assert c.execute(select(tables.users).where(tables.users.c.id == user_id)).first() is None
        kept = c.execute(
            select(tables.audit_events).where(tables.audit_events.c.user_id == user_id)
        ).all()
    assert kept and {e.event for e in kept} >= {"signin.ok", "user.deleted"}
    assert all(e.ip is None and e.user_agent is None for e in kept)
    assert "ann@example.com" not in json.dumps([dict(e._mapping) for e in kept], default=str)


def test_without_the_password_a_recent_proof_is_needed(ann, clock: FrozenClock) -> None:
    client, services, _tokens, _app = ann
    clock.advance(minutes=6)  # signed in more than 5 minutes ago, never confirmed since
    page = client.get("/account/delete")
    assert "No password?" in page.text
    r = post_form(client, "/account/delete", {"password": "", "email": "ann@example.com"})
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert services.people.by_email("ann@example.com")


def test_the_last_operator_cannot_delete_their_own_account(settings, clock) -> None:
    services = build(settings, clock)
    services.accounts.create_user(email="op@example.com", name="Op", password=PASSWORD,
                                  operator=True)  # fmt: skip
    with TestClient(create_app(services), base_url=ISSUER) as client:
        sign_in(client, "op@example.com")
        r = post_form(client, "/account/delete", {"password": PASSWORD, "email": "op@example.com"})
        assert r.status_code == 409 and "last operator" in r.text  # type: ignore[attr-defined]
    assert services.people.by_email("op@example.com").is_operator
    services.close()
