"""The authenticator app (RFC 6238 with pyotp), recovery codes and two-step sign-in over HTTP:
enrol from the QR page's key, then the password is followed by a code; each code works once,
guessing is throttled and audited, recovery codes are single-use, and the session's amr says
pwd + otp + mfa."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pyotp
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core import audit
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in

_KEY = re.compile(r'<code class="totp-key">([A-Z2-7 ]+)</code>')
_CODES = re.compile(r"<li><code>([A-Z2-7]{5}-[A-Z2-7]{5})</code></li>")


@pytest.fixture
def world(settings: Settings, clock) -> Iterator[tuple[Services, TestClient]]:
    services = build(settings.with_changes(operator_mfa="required", dev_outbox=True), clock)
    with TestClient(create_app(services), base_url=ISSUER) as c:
        yield services, c
    services.close()


def enrol(client: TestClient) -> tuple[pyotp.TOTP, list[str]]:
    security = client.get("/account/security")
    made = client.post(
        "/account/security/app/new", data={"csrf": csrf_of(security.text)}, follow_redirects=False
    )
    assert (made.status_code, made.headers["location"]) == (303, "/account/security/app")
    page = client.get("/account/security/app")
    assert page.status_code == 200 and "<svg" in page.text  # the QR code, drawn on the server
    totp = pyotp.TOTP(_KEY.search(page.text).group(1).replace(" ", ""))  # type: ignore[union-attr]
    return totp, []


def confirm(client: TestClient, services: Services, totp: pyotp.TOTP) -> list[str]:
    page = client.get("/account/security")
    r = client.post(
        "/account/security/app",
        data={"csrf": csrf_of(page.text), "code": totp.at(services.clock.now())},
    )
    assert r.status_code == 200, r.text
    codes = _CODES.findall(r.text)
    assert len(codes) == 10
    return codes


def password_step(client: TestClient, email: str) -> None:
    client.cookies.clear()
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/account/second-step")
    assert client.get("/account/apps", follow_redirects=False).status_code == 303  # no session


def second(client: TestClient, **field: str) -> object:
    page = client.get("/account/second-step")
    return client.post(
        "/account/second-step", data={"csrf": csrf_of(page.text), **field}, follow_redirects=False
    )


def kinds(services: Services, user_id: str) -> list[str]:
    with services.storage.transaction() as tx:
        rows = tx.c.execute(
            select(tables.audit_events.c.event).where(tables.audit_events.c.user_id == user_id)
        ).all()
    return [r.event for r in rows]


def test_totp_enrolment_then_two_step_sign_in_with_a_code_that_works_once(
    world: tuple[Services, TestClient], clock
) -> None:
    services, client = world
    user = services.accounts.create_user(email="t@example.com", name="T", password=PASSWORD)
    sign_in(client, "t@example.com")
    totp, _ = enrol(client)
    confirm(client, services, totp)
    clock.advance(seconds=31)
    password_step(client, "t@example.com")
    code = totp.at(clock.now())
    r = second(client, code=code)
    assert r.status_code == 303  # type: ignore[attr-defined]
    session, _ = services.sessions.current(client.cookies.get("le_session"))  # type: ignore[misc]
    assert session.amr == ("pwd", "otp", "mfa")
    # The same code, in its window, a second time: refused.
    password_step(client, "t@example.com")
    again = second(client, code=code)
    assert again.status_code == 400 and "already used" in again.text  # type: ignore[attr-defined]
    # One step either side is accepted (the next step's code, a little early).
    clock.advance(seconds=1)
    r = second(client, code=totp.at(clock.now().timestamp() + 30))
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert audit.TOTP_ADDED in kinds(services, user.id)


def test_code_guessing_is_throttled_after_5_and_audited(
    world: tuple[Services, TestClient], clock
) -> None:
    services, client = world
    user = services.accounts.create_user(email="g@example.com", name="G", password=PASSWORD)
    sign_in(client, "g@example.com")
    totp, _ = enrol(client)
    confirm(client, services, totp)
    password_step(client, "g@example.com")
    wrong = f"{(int(totp.at(clock.now())) + 1) % 1_000_000:06d}"
    statuses = [second(client, code=wrong).status_code for _ in range(6)]  # type: ignore[attr-defined]
    assert statuses[:5] == [400] * 5 and statuses[5] == 429
    # Even the right code waits now.
    r = second(client, code=totp.at(clock.now()))
    assert r.status_code == 429 and "Retry-After" in r.headers  # type: ignore[attr-defined]
    assert audit.CODE_THROTTLED in kinds(services, user.id)


def test_a_recovery_code_signs_in_once(
    world: tuple[Services, TestClient],
) -> None:
    services, client = world
    user = services.accounts.create_user(email="r@example.com", name="R", password=PASSWORD)
    sign_in(client, "r@example.com")
    totp, _ = enrol(client)
    codes = confirm(client, services, totp)
    password_step(client, "r@example.com")
    assert second(client, recovery_code=codes[3].lower()).status_code == 303  # type: ignore[attr-defined]
    password_step(client, "r@example.com")
    again = second(client, recovery_code=codes[3])
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert services.codes.codes_left(user.id) == 9
    assert audit.RECOVERY_CODE_USED in kinds(services, user.id)
    # Making new codes ends the old ones.
    assert second(client, recovery_code=codes[5]).status_code == 303  # type: ignore[attr-defined]
    page = client.get("/account/security")
    made = client.post("/account/security/recovery-codes", data={"csrf": csrf_of(page.text)})
    assert len(_CODES.findall(made.text)) == 10
    password_step(client, "r@example.com")
    assert second(client, recovery_code=codes[4]).status_code == 400  # type: ignore[attr-defined]
    # The owner is told by mail of each change (a notice, never a code).
    assert services.outbox is not None
    subjects = [sent.message.subject for sent in services.outbox.messages()]
    assert "A sign-in method was added to your LeadExec account" in subjects
    assert "A recovery code was used on your LeadExec account" in subjects
    assert "New recovery codes for your LeadExec account" in subjects
    assert not any(c in sent.message.text for c in codes for sent in services.outbox.messages())


def test_an_operator_cannot_turn_off_the_last_factor(
    world: tuple[Services, TestClient],
) -> None:
    services, client = world
    user = services.accounts.create_user(
        email="o@example.com", name="O", password=PASSWORD, operator=True
    )
    sign_in(client, "o@example.com")
    totp, _ = enrol(client)
    confirm(client, services, totp)
    page = client.get("/account/security")
    r = client.post("/account/security/app/remove", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 409 and "Operators must keep a second factor" in r.text
    assert services.factors.count(user.id) == 1


def test_a_two_step_sign_in_that_continues_to_an_application_ends_on_our_continue_page(
    world: tuple[Services, TestClient], clock
) -> None:
    """Browsers hold a form post's redirects to its page's form-action ('self'): a second
    step whose next address may redirect to a client finishes through our own page, which
    navigates on (tests/browser/test_sign_in_continues.py has the browser's side)."""
    services, client = world
    services.accounts.create_user(email="c@example.com", name="C", password=PASSWORD)
    sign_in(client, "c@example.com")
    totp, _ = enrol(client)
    confirm(client, services, totp)
    clock.advance(seconds=31)
    client.cookies.clear()
    nxt = "/oauth2/authorize?client_id=app_x&scope=openid"
    page = client.get("/account/login")
    r = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": "c@example.com", "password": PASSWORD,
              "next": nxt},
        follow_redirects=False,
    )  # fmt: skip
    assert r.headers["location"] == "/account/second-step"
    r = second(client, code=totp.at(clock.now()))
    assert r.headers["location"] == "/account/continue?" + urlencode({"next": nxt})  # type: ignore[attr-defined]
    done = client.get(r.headers["location"])  # type: ignore[attr-defined]
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    assert 'href="/oauth2/authorize?client_id=app_x&amp;scope=openid"' in done.text
    assert '<script src="/static/account/continue.js">' in done.text
    # Only our own addresses are followed.
    away = client.get("/account/continue", params={"next": "//evil.example/x"})
    assert 'href="/account/apps"' in away.text


def test_the_app_setup_page_writes_nothing_on_a_get(world: tuple[Services, TestClient]) -> None:
    """Only the POST makes the secret to scan: a GET (a prefetch, a reload) stores none and
    never replaces the one being scanned; making it needs the CSRF token."""
    services, client = world
    user = services.accounts.create_user(email="g@example.com", name="G", password=PASSWORD)
    sign_in(client, "g@example.com")
    first = client.get("/account/security/app")
    assert first.status_code == 200 and "<svg" not in first.text
    assert 'action="/account/security/app/new"' in first.text
    assert services.codes.app(user.id) is None  # nothing stored by the GET
    refused = client.post("/account/security/app/new", data={"csrf": "wrong"})
    assert refused.status_code == 403 and services.codes.app(user.id) is None
    totp, _ = enrol(client)
    made = services.codes.app(user.id)
    assert made is not None and made.secret == totp.secret
    for _ in range(2):  # reloading shows the same secret, and stores nothing new
        again = client.get("/account/security/app")
        assert _KEY.search(again.text).group(1).replace(" ", "") == totp.secret  # type: ignore[union-attr]
    assert services.codes.app(user.id) == made


def test_the_app_and_recovery_codes_need_a_recent_proof_and_each_change_is_mailed(
    world: tuple[Services, TestClient], clock
) -> None:
    """Adding or removing the authenticator app and making recovery codes, like passkeys,
    ask for the password (or a factor) again once the last proof is over 5 minutes old; the
    owner is mailed when a factor is added or removed and when codes are made."""
    services, client = world
    user = services.accounts.create_user(email="p@example.com", name="P", password=PASSWORD)
    sign_in(client, "p@example.com")
    totp, _ = enrol(client)
    confirm(client, services, totp)
    clock.advance(minutes=5, seconds=1)
    csrf = csrf_of(client.get("/account/security").text)
    for path in ("/app/remove", "/recovery-codes", "/app/new"):
        r = client.post("/account/security" + path, data={"csrf": csrf})
        assert r.status_code == 403 and "confirm it is you" in r.text, path
    assert services.codes.app(user.id).confirmed_at is not None  # type: ignore[union-attr]
    assert services.codes.codes_left(user.id) == 10
    confirmed = client.post(
        "/account/security/confirm", data={"csrf": csrf, "password": PASSWORD},
        follow_redirects=False,
    )  # fmt: skip
    assert confirmed.status_code == 303
    assert client.post("/account/security/app/remove", data={"csrf": csrf}).status_code == 200
    assert services.codes.app(user.id) is None
    subjects = [sent.message.subject for sent in services.outbox.messages()]  # type: ignore[union-attr]
    assert subjects.count("A sign-in method was added to your LeadExec account") == 1
    assert subjects.count("A sign-in method was removed from your LeadExec account") == 1
    assert subjects.count("New recovery codes for your LeadExec account") == 1
    # A password change from the security page is mailed too.
    client.post(
        "/account/security/password",
        data={"csrf": csrf, "current_password": PASSWORD, "new_password": "another one 456"},
    )
    latest = services.outbox.messages()[0].message  # type: ignore[union-attr]
    assert latest.subject == "Your LeadExec password was changed" and latest.to == "p@example.com"
