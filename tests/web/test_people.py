"""People management over HTTP: an operator finds a user, disables them, and the partner's
tokens stop everywhere; enabling, the other acts, and the rule that never locks everyone out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.people import query_of
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from support.people import act, notice_bodies, user_link
from support.signin import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, sign_in


@pytest.fixture
def provider(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    services = build(settings.with_changes(dev_outbox=True), clock)
    yield services
    services.close()


@pytest.fixture
def ann(provider: Services) -> Iterator[tuple[TestClient, dict[str, object], str]]:
    """Ann, signed in, who allowed an application that registered a notice URL: her browser,
    her authorization object, and the application's id."""
    services = provider
    services.accounts.create_user(email="ann@example.com", name="Ann Example", password=PASSWORD)
    app, _ = services.registry.register(
        name="Acme CRM", origins=[PARTNER], scopes="profile,email",
        notice_url="https://crm.example.com/notices",
    )  # fmt: skip
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    with TestClient(create_app(services), base_url=ISSUER) as client:
        sign_in(client)
        yield client, authorize(client, button.id), app.id


@pytest.fixture
def op(provider: Services) -> Iterator[TestClient]:
    provider.accounts.create_user(
        email="op@example.com", name="Olive Operator", password=PASSWORD, operator=True
    )
    with TestClient(create_app(provider), base_url=ISSUER) as client:
        sign_in(client, "op@example.com")
        yield client


def test_an_operator_finds_a_user_disables_them_and_their_tokens_stop(
    provider: Services, ann, op: TestClient
) -> None:
    browser, tokens, app_id = ann
    bearer = {"Authorization": f"Bearer {tokens['authToken']}"}
    assert browser.get("/api/v1/me", headers=bearer).status_code == 200
    listed = op.get("/admin/users", params={"q": "ANN"})
    assert listed.status_code == 200 and "Olive Operator" not in listed.text
    user_id = user_link(listed.text, "ann@example.com")
    page = op.get(f"/admin/users/{user_id}")
    assert "Acme CRM" in page.text and "Signed-in browsers (1)" in page.text

    done = act(op, user_id, "disable")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "Account disabled" in op.get(done.headers["location"]).text  # type: ignore[attr-defined]

    # Every surface refuses what was already issued.
    assert browser.get("/api/v1/me", headers=bearer).status_code == 401
    assert browser.get("/oauth2/userinfo", headers=bearer).status_code == 401
    r = browser.get("/api/token", params={"appId": app_id, "refreshToken": tokens["refreshToken"]})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # Her browser is signed out, and signing in says why, in her language.
    assert browser.get("/account/apps", follow_redirects=False).status_code == 303
    form = browser.get("/account/login", headers={"Accept-Language": "fr"})
    r = browser.post("/account/login", headers={"Accept-Language": "fr"}, data={
        "csrf": csrf_of(form.text), "email": "ann@example.com", "password": PASSWORD})  # fmt: skip
    assert r.status_code == 403 and "Ce compte est désactivé" in r.text
    # The partner is told, and the trail names the operator.
    assert [n["via"] for n in notice_bodies(provider, app_id)] == ["account_disabled"]
    found = op.get("/admin/audit", params={"user": user_id, "kind": "user.disabled"})
    assert "op@example.com" in found.text


def test_enabling_lets_the_person_sign_in_again(provider: Services, ann, op) -> None:
    user_id = provider.people.by_email("ann@example.com").id
    act(op, user_id, "disable")
    act(op, user_id, "enable")
    with TestClient(create_app(provider), base_url=ISSUER) as fresh:
        sign_in(fresh)  # 303: signed in


@pytest.mark.parametrize(
    "action", ["disable", "delete", "unmake-operator"], ids=lambda a: f"{a} the last operator"
)
def test_the_last_operator_is_never_locked_out(provider: Services, op, action) -> None:
    me = provider.people.by_email("op@example.com")
    r = act(op, me.id, action)
    assert r.status_code == 409  # type: ignore[attr-defined]
    assert "last operator" in r.text or "your own account" in r.text  # type: ignore[attr-defined]
    assert provider.people.find(me.id).is_operator and not provider.people.find(me.id).disabled


def test_an_operator_cannot_disable_themselves_even_with_another(provider: Services, op) -> None:
    other = provider.accounts.create_user(
        email="second@example.com", name="Second", password=PASSWORD, operator=True
    )
    me = provider.people.by_email("op@example.com")
    r = act(op, me.id, "disable")
    assert r.status_code == 409 and "ask another operator" in r.text  # type: ignore[attr-defined]
    assert act(op, other.id, "unmake-operator").status_code == 303  # type: ignore[attr-defined]
    assert not provider.people.find(other.id).is_operator


def test_the_other_acts_mail_sign_out_and_change_roles(provider: Services, ann, op) -> None:
    browser, _tokens, _app = ann
    user_id = provider.people.by_email("ann@example.com").id
    assert act(op, user_id, "sign-out").status_code == 303  # type: ignore[attr-defined]
    assert browser.get("/account/apps", follow_redirects=False).status_code == 303
    act(op, user_id, "reset-password")
    act(op, user_id, "reset-factors")
    assert provider.outbox is not None
    subjects = [
        s.message.subject for s in provider.outbox.messages() if s.message.to == "ann@example.com"
    ]
    assert any("reset" in s.lower() and "password" in s.lower() for s in subjects)
    assert "Your LeadExec sign-in methods were reset" in subjects
    act(op, user_id, "make-operator")
    assert provider.people.find(user_id).is_operator
    kinds = [e.event for e in provider.people.detail(user_id).events]
    assert {"user.signed_out", "account.reset_requested", "user.factors_reset",
            "user.operator"} <= set(kinds)  # fmt: skip
    assert all(e.actor != user_id for e in provider.people.detail(user_id).events[:4])


def test_the_list_filters_and_pages_by_keyset(provider: Services, op) -> None:
    for i in range(5):
        provider.accounts.create_user(email=f"u{i}@example.com", name=f"User {i}",
                                      password=PASSWORD)  # fmt: skip
    first = provider.people.search(query_of("example", limit=2))
    assert [u.email for u in first.users] == ["op@example.com", "u0@example.com"]
    second = provider.people.search(query_of("example", after=first.next_after, limit=2))
    assert [u.email for u in second.users] == ["u1@example.com", "u2@example.com"]
    assert "u3@example.com" in op.get("/admin/users", params={"q": "user"}).text
    only_ops = op.get("/admin/users", params={"operator": "1"}).text
    assert "Olive Operator" in only_ops and "u3@example.com" not in only_ops
    assert "No user matches." in op.get("/admin/users", params={"factor": "1"}).text
    assert "No user matches." in op.get("/admin/users", params={"disabled": "1"}).text


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/admin/users", {"q": "x" * 201}, 400),
        ("/admin/users", {"q": "a\x00b"}, 400),
        ("/admin/users", {"after": "\x07"}, 400),
        ("/admin/users/usr_nobody", {}, 404),
        ("/admin/users/not-an-id", {}, 404),
        ("/admin/users/usr_nobody/confirm", {"action": "explode"}, 400),
    ],
    ids=["an over-long search", "a NUL in the search", "a control character in the page marker",
         "an unknown user", "a malformed id", "an unknown action"],
)  # fmt: skip
def test_bad_input_on_the_users_pages_is_a_clear_4xx(op, path, params, status) -> None:
    assert op.get(path, params=params).status_code == status


def test_an_act_without_its_confirmation_is_refused(provider: Services, ann, op) -> None:
    user_id = provider.people.by_email("ann@example.com").id
    page = op.get(f"/admin/users/{user_id}")
    r = op.post(f"/admin/users/{user_id}/act",
                data={"csrf": csrf_of(page.text), "action": "disable"})  # fmt: skip
    assert r.status_code == 400
    assert not provider.people.find(user_id).disabled


def test_a_partner_who_is_not_an_operator_cannot_act(provider: Services, ann) -> None:
    browser, _tokens, _app = ann
    user_id = provider.people.by_email("ann@example.com").id
    assert browser.get("/admin/users").status_code == 403
    page = browser.get("/account/apps")
    form = {"csrf": csrf_of(page.text), "action": "delete", "confirm": "yes"}
    r = browser.post(f"/admin/users/{user_id}/act", data=form)
    assert r.status_code == 403
    with provider.storage.engine.connect() as c:
        assert c.execute(select(tables.users.c.id).where(tables.users.c.id == user_id)).first()


def test_an_operator_makes_a_token_sees_it_once_and_revokes_it(provider: Services, op) -> None:
    page = op.get("/admin/tokens")
    made = op.post("/admin/tokens", data={"csrf": csrf_of(page.text), "name": "HR sync",
                   "scope": ["users:read", "scim"], "expires": "30d"})  # fmt: skip
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    raw = re.search(r'id="new-token">(lxa_[A-Za-z0-9_-]+)<', made.text)
    assert raw is not None
    bearer = {"Authorization": f"Bearer {raw.group(1)}"}
    assert op.get("/admin/api/v1/users", headers=bearer).status_code == 200
    again = op.get("/admin/tokens")
    assert "HR sync" in again.text and raw.group(1) not in again.text  # shown once
    [token] = provider.admin_api.tokens()
    r = op.post(
        f"/admin/tokens/{token.id}/revoke",
        data={"csrf": csrf_of(again.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert op.get("/admin/api/v1/users", headers=bearer).status_code == 401
    for bad in ({"name": "", "scope": "users:read"}, {"name": "x", "scope": "root"},
                {"name": "x", "scope": "scim", "expires": "forever"}):  # fmt: skip
        r = op.post("/admin/tokens", data={"csrf": csrf_of(again.text), **bad})
        assert r.status_code == 400 and "lxa_" not in r.text
