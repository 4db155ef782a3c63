"""Sign-up, email verification, "forgot password" and change of email over HTTP, with the mail
delivered by SMTP to a real server (aiosmtpd) whose messages the tests read and whose links
they follow."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services, build
from leadexec_signin.core import audit, credentials
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from smtp_server import SmtpServer, path_of
from support.refusals import page_code, refused_page
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.with_changes(smtp_url=smtp_server.url, mail_from="LeadExec <id@example.com>")


def post_form(client: TestClient, path: str, data: dict[str, str], **kwargs: object):
    """Open the page for its CSRF token, then post the form (a browser's two steps)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False)


def sign_up(client: TestClient, email: str, password: str = PASSWORD, name: str = "Pat Partner"):
    return post_form(
        client, "/account/signup", {"name": name, "email": email, "password": password}
    )


def follow(client: TestClient, link: str):
    """Open a mailed link and press its button (the link's page never acts on GET)."""
    page = client.get(path_of(link, ISSUER))
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    return client.post(
        urlsplit(link).path,
        data={"csrf": csrf_of(page.text), "token": token.group(1)},
        follow_redirects=False,
    )


def try_sign_in(client: TestClient, email: str, password: str):
    return post_form(client, "/account/login", {"email": email, "password": password})


def assert_signed_in(client: TestClient) -> None:
    assert client.get("/account/apps", follow_redirects=False).status_code == 200


# -- sign up ---------------------------------------------------------------------------------


def test_sign_up_verify_then_sign_in(client: TestClient, smtp: SmtpServer) -> None:
    r = sign_up(client, "Pat@Example.com")
    assert r.status_code == 200 and "Check your email" in r.text
    assert "pat@example.com" in r.text
    [mail] = smtp.inbox.wait_for("pat@example.com")
    assert mail.subject == "Confirm your email address for LeadExec"
    assert mail.mail["From"] == "LeadExec <id@example.com>"
    # Before the link is followed, the right password is not enough.
    refused = try_sign_in(client, "pat@example.com", PASSWORD)
    assert refused.status_code == 403 and "Confirm your email address first" in refused.text
    assert "le_session" not in refused.headers.get("set-cookie", "")
    page = client.get(path_of(mail.link, ISSUER))
    assert page.status_code == 200 and "pat@example.com" in page.text
    done = follow(client, mail.link)
    assert done.status_code == 303
    landing = client.get(done.headers["location"])
    assert "Your email address is confirmed" in landing.text
    assert 'value="pat@example.com"' in landing.text  # the form is filled in
    assert try_sign_in(client, "pat@example.com", PASSWORD).status_code == 303
    assert_signed_in(client)
    # The link is spent.
    refused_page(client.get(path_of(mail.link, ISSUER)), 400, "invalid_link")


def test_the_sign_up_page_is_linked_from_sign_in_and_from_the_console(client: TestClient) -> None:
    console = client.get("/developers")  # signed out: the sign-in form, for partners
    assert console.status_code == 200 and console.url.path == "/account/login"
    assert 'href="/account/signup"' in console.text and "New partner?" in console.text
    login = client.get("/account/login")
    assert 'href="/account/signup"' in login.text and 'href="/account/forgot"' in login.text


def test_a_known_address_gets_the_same_page_and_a_mail_saying_so(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    new = sign_up(client, "someone.new@example.com")
    known = sign_up(client, world.email)
    assert (known.status_code, known.text.replace(world.email, "X")) == (
        new.status_code,
        new.text.replace("someone.new@example.com", "X"),
    )
    [mail] = smtp.inbox.wait_for(world.email)
    assert mail.subject == "You already have a LeadExec account"
    assert "token=" not in mail.text
    # The account is untouched: the old password still signs in.
    assert try_sign_in(client, world.email, PASSWORD).status_code == 303


def test_unknown_and_known_addresses_each_cost_one_password_hash(
    services: Services,
    world,
    smtp: SmtpServer,
) -> None:
    """The timing of a sign-up is the argon2 run: both kinds of address pay exactly one."""
    hashed: list[str] = []
    passwords = services.recovery.passwords
    real = passwords.hash
    passwords.hash = lambda pw: hashed.append(pw) or real(pw)  # type: ignore[method-assign]
    services.recovery.sign_up(email=world.email, name="X", password="whatever 123", ip="1")
    services.recovery.sign_up(email="fresh@example.com", name="X", password="whatever 123", ip="1")
    assert hashed == ["whatever 123", "whatever 123"]


def test_a_failed_delivery_leaves_an_account_that_signing_up_again_recovers(
    client: TestClient,
    services: Services,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.inbox.refuse = True
    with caplog.at_level(logging.WARNING, logger="leadexec_signin.mail"):
        assert sign_up(client, "lost@example.com", "first password").status_code == 200
        assert services.mail_queue is not None
        services.mail_queue.close()  # the queue is drained: the refusal has happened
    assert "mail to a @example.com address not sent: SMTPDataError" in caplog.text
    assert "leo_" not in caplog.text
    assert smtp.inbox.to("lost@example.com") == []
    smtp.inbox.refuse = False
    # Asking again sends a fresh link; its sign-up's password is the one that counts.
    assert sign_up(client, "lost@example.com", "second password").status_code == 200
    [mail] = smtp.inbox.wait_for("lost@example.com")
    assert follow(client, mail.link).status_code == 303
    assert try_sign_in(client, "lost@example.com", "first password").status_code == 400
    assert try_sign_in(client, "lost@example.com", "second password").status_code == 303


def test_someone_who_signed_up_first_with_your_address_gains_nothing(
    client: TestClient,
    smtp: SmtpServer,
) -> None:
    """Each link carries the password of the sign-up that sent it; only the mailbox's owner
    can follow one, and theirs replaces the squatter's."""
    assert sign_up(client, "victim@example.com", "squatter password").status_code == 200
    assert sign_up(client, "victim@example.com", "victim password").status_code == 200
    squatters, victims = smtp.inbox.wait_for("victim@example.com", 2)
    assert follow(client, victims.link).status_code == 303
    assert try_sign_in(client, "victim@example.com", "squatter password").status_code == 400
    # The other link died with the first confirmation.
    refused_page(client.get(path_of(squatters.link, ISSUER)), 400, "invalid_link")


def test_links_are_stored_only_as_hashes(
    client: TestClient,
    services: Services,
    smtp: SmtpServer,
) -> None:
    sign_up(client, "hash@example.com")
    [mail] = smtp.inbox.wait_for("hash@example.com")
    raw = urlsplit(mail.link).query.removeprefix("token=")
    with services.storage.engine.connect() as c:
        rows = c.execute(select(tables.account_tokens)).all()
    assert [r.token_hash for r in rows] == [credentials.token_hash(raw)]
    assert raw not in repr(rows)
    assert rows[0].purpose == "verify" and rows[0].used_at is None


# -- forgot password -------------------------------------------------------------------------


def test_forgot_reset_ends_other_sessions_and_the_link_works_once(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    with TestClient(client.app, base_url=ISSUER) as other_device:
        sign_in(other_device)
        assert_signed_in(other_device)
        r = post_form(client, "/account/forgot", {"email": world.email.upper()})
        assert r.status_code == 200 and "we sent it a link" in r.text
        [mail] = smtp.inbox.wait_for(world.email)
        assert mail.subject == "Reset your LeadExec password"
        page = client.get(path_of(mail.link, ISSUER))
        assert page.status_code == 200 and world.email in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        form = {"csrf": csrf_of(page.text), "token": token, "password": NEW_PASSWORD}
        done = client.post("/account/reset", data=form, follow_redirects=False)
        assert done.status_code == 303
        assert "Your password was changed" in client.get(done.headers["location"]).text
        # The device that was signed in is signed out.
        assert other_device.get("/account/apps", follow_redirects=False).status_code == 303
    assert try_sign_in(client, world.email, PASSWORD).status_code == 400
    assert try_sign_in(client, world.email, NEW_PASSWORD).status_code == 303
    # Used once: neither the page nor the form takes it again.
    refused_page(client.get(path_of(mail.link, ISSUER)), 400, "invalid_link")
    again = client.post("/account/reset", data={**form, "password": "third password!"})
    refused_page(again, 400, "invalid_link")
    assert try_sign_in(client, world.email, NEW_PASSWORD).status_code == 303
    [_, notice] = smtp.inbox.wait_for(world.email, 2)
    assert notice.subject == "Your LeadExec password was changed"


def test_an_expired_reset_link_is_refused(
    client: TestClient,
    world,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    post_form(client, "/account/forgot", {"email": world.email})
    [mail] = smtp.inbox.wait_for(world.email)
    page = client.get(path_of(mail.link, ISSUER))
    assert page.status_code == 200
    clock.advance(seconds=3600)  # LEADEXEC_RESET_LINK_TTL: one hour
    refused_page(client.get(path_of(mail.link, ISSUER)), 400, "invalid_link")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/account/reset",
        data={"csrf": csrf_of(page.text), "token": token, "password": NEW_PASSWORD},
    )
    refused_page(r, 400, "invalid_link")
    assert try_sign_in(client, world.email, PASSWORD).status_code == 303


def test_a_second_reset_link_spends_the_first(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    post_form(client, "/account/forgot", {"email": world.email})
    post_form(client, "/account/forgot", {"email": world.email})
    first, second = smtp.inbox.wait_for(world.email, 2)
    assert first.link != second.link
    page = client.get(path_of(second.link, ISSUER))
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/account/reset",
        data={"csrf": csrf_of(page.text), "token": token, "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303
    refused_page(client.get(path_of(first.link, ISSUER)), 400, "invalid_link")


def test_a_short_new_password_shows_the_form_again(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    post_form(client, "/account/forgot", {"email": world.email})
    [mail] = smtp.inbox.wait_for(world.email)
    page = client.get(path_of(mail.link, ISSUER))
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/account/reset", data={"csrf": csrf_of(page.text), "token": token, "password": "short"}
    )
    assert r.status_code == 400 and "at least 8 characters" in r.text
    assert f'name="token" value="{token}"' in r.text  # the link still works
    assert client.get(path_of(mail.link, ISSUER)).status_code == 200


def test_an_unknown_address_gets_the_identical_answer_and_no_mail(
    client: TestClient,
    services: Services,
    world,
    smtp: SmtpServer,
) -> None:
    known = post_form(client, "/account/forgot", {"email": world.email})
    unknown = post_form(client, "/account/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(world.email, "X") == unknown.text.replace("nobody@example.com", "X")
    assert set(known.headers) == set(unknown.headers)
    assert services.mail_queue is not None
    services.mail_queue.close()  # everything queued has been delivered
    assert len(smtp.inbox.to(world.email)) == 1
    assert smtp.inbox.to("nobody@example.com") == []


# -- change of email -------------------------------------------------------------------------


def test_an_email_change_takes_effect_when_confirmed_from_the_new_address(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    sign_in(client)
    r = post_form(
        client, "/account/email", {"new_email": "ann.new@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200 and "ann.new@example.com" in r.text
    [mail] = smtp.inbox.wait_for("ann.new@example.com")
    assert mail.subject == "Confirm your new email address for LeadExec"
    # Nothing changed yet: the old address still signs in.
    with TestClient(client.app, base_url=ISSUER) as meanwhile:
        assert try_sign_in(meanwhile, world.email, PASSWORD).status_code == 303
    page = client.get(path_of(mail.link, ISSUER))
    assert "ann.new@example.com" in page.text and world.email in page.text
    done = follow(client, mail.link)
    assert (done.status_code, done.headers["location"]) == (303, "/account/email?done=changed")
    shown = client.get(done.headers["location"])
    assert "ann.new@example.com" in shown.text and "was changed" in shown.text
    [notice] = smtp.inbox.wait_for(world.email)
    assert notice.subject == "Your LeadExec email address was changed"
    assert "ann.new@example.com" in notice.text
    with TestClient(client.app, base_url=ISSUER) as later:
        assert try_sign_in(later, world.email, PASSWORD).status_code == 400
        assert try_sign_in(later, "ann.new@example.com", PASSWORD).status_code == 303
    refused_page(client.get(path_of(mail.link, ISSUER)), 400, "invalid_link")


def test_a_confirmation_followed_while_signed_out_leads_to_sign_in(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    sign_in(client)
    post_form(
        client, "/account/email", {"new_email": "elsewhere@example.com", "password": PASSWORD}
    )
    [mail] = smtp.inbox.wait_for("elsewhere@example.com")
    with TestClient(client.app, base_url=ISSUER) as phone:
        done = follow(phone, mail.link)
        assert done.status_code == 303
        assert "Sign in with the new address" in phone.get(done.headers["location"]).text


def test_moving_to_an_address_that_has_an_account_looks_the_same_and_changes_nothing(
    client: TestClient,
    services: Services,
    world,
    smtp: SmtpServer,
) -> None:
    services.accounts.create_user(email="taken@example.com", name="T", password=PASSWORD)
    sign_in(client)
    free = post_form(
        client, "/account/email", {"new_email": "free@example.com", "password": PASSWORD}
    )
    taken = post_form(
        client, "/account/email", {"new_email": "taken@example.com", "password": PASSWORD}
    )
    assert free.status_code == taken.status_code == 200
    assert free.text.replace("free@", "X@") == taken.text.replace("taken@", "X@")
    [mail] = smtp.inbox.wait_for("taken@example.com")
    assert "token=" not in mail.text and "nothing was changed" in mail.text


def test_an_email_change_needs_the_current_password(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    sign_in(client)
    r = post_form(client, "/account/email", {"new_email": "x@example.com", "password": "wrong one"})
    assert r.status_code == 400 and "The password is not correct." in r.text
    same = post_form(client, "/account/email", {"new_email": world.email, "password": PASSWORD})
    assert same.status_code == 400 and "already your email address" in same.text
    assert client.get("/account/email", follow_redirects=False).status_code == 200
    with TestClient(client.app, base_url=ISSUER) as anonymous:
        r = anonymous.get("/account/email", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/account/login")


# -- limits ----------------------------------------------------------------------------------


@pytest.fixture
def limited(make_client, smtp: SmtpServer) -> Iterator[TestClient]:
    client, _ = make_client(mail_limit_per_address="2/hour", mail_limit_per_ip="5/hour")
    yield client


@pytest.mark.parametrize("known", [True, False], ids=["a known address", "an unknown address"])
def test_mail_is_rate_limited_per_address_whether_or_not_it_is_known(
    limited: TestClient, known: bool
) -> None:
    email = "ann@example.com" if known else "ghost@example.com"
    if known:
        limited.app.state.services.accounts.create_user(email=email, name="Ann", password=PASSWORD)
    for _ in range(2):
        assert post_form(limited, "/account/forgot", {"email": email}).status_code == 200
    r = post_form(limited, "/account/forgot", {"email": email})
    assert r.status_code == 429 and "Too many requests" in r.text
    assert int(r.headers["retry-after"]) > 0
    # Another address is still served until the per-IP limit.
    assert sign_up(limited, "other@example.com").status_code == 200
    assert sign_up(limited, "third@example.com").status_code == 200
    assert sign_up(limited, "fourth@example.com").status_code == 429


def test_wrong_passwords_at_the_email_change_are_limited_like_sign_in(
    make_client,
    smtp: SmtpServer,
) -> None:
    client, services = make_client(login_limit_per_account="3/15 minutes")
    services.accounts.create_user(email="ann@example.com", name="Ann", password=PASSWORD)
    sign_in(client)
    for _ in range(3):
        r = post_form(client, "/account/email", {"new_email": "n@example.com", "password": "nope"})
        assert r.status_code == 400
    r = post_form(client, "/account/email", {"new_email": "n@example.com", "password": PASSWORD})
    assert r.status_code == 429 and "Too many wrong passwords" in r.text


# -- hostile input ---------------------------------------------------------------------------

FORM_PAGES = ["/account/signup", "/account/forgot"]


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/account/signup", {}, "Enter your name, email address and a password."),
        ("/account/signup", {"name": "A", "email": "a@example.com"}, "Enter your name"),
        ("/account/signup", {"name": "A", "email": "not-an-email", "password": PASSWORD},
         "Enter a valid email address."),
        ("/account/signup", {"name": "A", "email": "a@b@example.com", "password": PASSWORD},
         "Enter a valid email address."),
        ("/account/signup", {"name": "A", "email": "a\x00@example.com", "password": PASSWORD},
         "Enter a valid email address."),
        ("/account/signup", {"name": "A", "email": "x" * 400 + "@example.com",
                             "password": PASSWORD}, "The field email is too long."),
        ("/account/signup", {"name": "A", "email": "a@example.com", "password": "short"},
         "at least 8 characters"),
        ("/account/signup", {"name": "\x07", "email": "a@example.com", "password": PASSWORD},
         "Enter your name"),
        ("/account/signup", {"name": "A", "email": "a@example.com", "password": "p" * 2000},
         "The field password is too long."),
        ("/account/forgot", {}, "Enter the email address of your account."),
        ("/account/forgot", {"email": "@"}, "Enter a valid email address."),
        ("/account/forgot", {"email": "a@example.com\r\nBcc: x@evil.example"},
         "Enter a valid email address."),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)  # fmt: skip
def test_bad_form_input_shows_the_form_again_with_the_reason(
    client: TestClient,
    smtp: SmtpServer,
    path: str,
    data: dict[str, str],
    message: str,
) -> None:
    page = client.get(path)
    r = client.post(path, data={"csrf": csrf_of(page.text), **data})
    assert r.status_code == 400, r.text
    assert message in r.text and 'role="alert"' in r.text
    assert r.headers["content-type"].startswith("text/html")


BAD_TOKENS = {
    "no token": None,
    "an empty token": "",
    "a made-up token": "leo_" + "A" * 43,
    "a token of another kind": "les_" + "A" * 43,
    "an over-long token": "leo_" + "A" * 300,
    "a token with a NUL byte": "leo_" + "A" * 20 + "\x00" + "A" * 20,
    "a token with non-ASCII text": "leo_" + "é" * 43,
}


@pytest.mark.parametrize("path", ["/account/verify", "/account/reset", "/account/email/confirm"])
@pytest.mark.parametrize("token_name", BAD_TOKENS.keys())
def test_a_bad_link_gets_a_clear_refusal_page(
    client: TestClient, path: str, token_name: str
) -> None:
    token = BAD_TOKENS[token_name]
    params = {} if token is None else {"token": token}
    refused_page(client.get(path, params=params), 400, "invalid_link")
    csrf = csrf_of(client.get("/account/forgot").text)
    data = {"csrf": csrf, "password": NEW_PASSWORD} | ({} if token is None else {"token": token})
    r = client.post(path, data=data)
    assert r.status_code == 400, r.text
    assert page_code(r.text) in ("invalid_link", "invalid_request")


def test_a_link_of_one_kind_does_not_open_another(
    client: TestClient,
    world,
    smtp: SmtpServer,
) -> None:
    post_form(client, "/account/forgot", {"email": world.email})
    [mail] = smtp.inbox.wait_for(world.email)
    query = urlsplit(mail.link).query
    refused_page(client.get("/account/verify?" + query), 400, "invalid_link")
    refused_page(client.get("/account/email/confirm?" + query), 400, "invalid_link")
    assert client.get("/account/reset?" + query).status_code == 200


def test_an_oversized_body_and_a_file_upload_are_refused(client: TestClient) -> None:
    csrf = csrf_of(client.get("/account/signup").text)
    big = client.post("/account/signup", data={"csrf": csrf, "name": "x" * 70_000})
    refused_page(big, 413, "invalid_request")
    upload = client.post(
        "/account/signup", data={"csrf": csrf}, files={"name": ("a.txt", b"x", "text/plain")}
    )
    assert upload.status_code == 400 and upload.status_code < 500


# -- without SMTP: the log, and the development outbox --------------------------------------


def test_without_smtp_mail_goes_to_the_log_and_the_outbox_page_is_off(
    settings: Settings, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    services = build(settings.with_changes(smtp_url=""), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            with caplog.at_level(logging.INFO):
                assert sign_up(client, "logged@example.com").status_code == 200
            mailed = [r for r in caplog.records if r.name == "leadexec_signin.mail"]
            assert len(mailed) == 1 and "token=leo_" in mailed[0].getMessage()
            others = [r.getMessage() for r in caplog.records if r.name != "leadexec_signin.mail"]
            assert not any("leo_" in line for line in others)
            refused_page(client.get("/dev/outbox"), 404, "not_found")
    finally:
        services.close()


def test_the_development_outbox_shows_messages_with_working_links(
    settings: Settings, clock: FrozenClock
) -> None:
    services = build(settings.with_changes(smtp_url="", dev_outbox=True), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            empty = client.get("/dev/outbox")
            assert empty.status_code == 200 and "No message yet" in empty.text
            sign_up(client, "outbox@example.com")
            page = client.get("/dev/outbox")
            assert "Confirm your email address for LeadExec" in page.text
            link = re.search(
                r'<a href="(http://127\.0\.0\.1:8000/account/verify\?token=[^"]+)"', page.text
            )
            assert link
            assert follow(client, link.group(1).replace("&amp;", "&")).status_code == 303
            assert try_sign_in(client, "outbox@example.com", PASSWORD).status_code == 303
    finally:
        services.close()


def test_an_smtp_url_is_checked_at_start_up() -> None:
    from leadexec_signin.mailers import SmtpTarget

    with pytest.raises(SystemExit, match="LEADEXEC_SMTP_URL must look like"):
        Settings.from_env({"LEADEXEC_SMTP_URL": "http://mail.example.com"})
    with pytest.raises(SystemExit, match="port that is not a number"):
        Settings.from_env({"LEADEXEC_SMTP_URL": "smtp://mail.example.com:x"})
    ok = Settings.from_env({"LEADEXEC_SMTP_URL": "smtps://u%40x:p%3Aw@mail.example.com"})
    target = SmtpTarget.parse(ok.smtp_url)
    assert (target.scheme, target.host, target.port) == ("smtps", "mail.example.com", 465)
    assert (target.username, target.password) == ("u@x", "p:w")
    assert SmtpTarget.parse("smtp+starttls://mail.example.com").port == 587
    assert SmtpTarget.parse("smtp://127.0.0.1:2525").port == 2525
    assert Settings.from_env({}).mail_sender == "LeadExec <no-reply@127.0.0.1>"


def test_mail_still_queued_at_shutdown_is_sent_before_the_process_exits(
    settings: Settings, clock: FrozenClock, smtp: SmtpServer
) -> None:
    services = build(settings, clock)
    queue = services.mail_queue
    assert queue is not None
    drained: list[bool] = []
    real_close = queue.close
    queue.close = lambda: drained.append(True) or real_close()  # type: ignore[method-assign]
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            assert sign_up(client, "late@example.com").status_code == 200
            assert drained == []
        # The lifespan has ended (what uvicorn does at SIGTERM) and drained the queue.
        assert drained == [True]
        assert [m.subject for m in smtp.inbox.to("late@example.com")] == [
            "Confirm your email address for LeadExec"
        ]
    finally:
        services.close()


def test_each_step_is_an_audit_event_that_names_no_address_or_link(
    client: TestClient, services: Services, smtp: SmtpServer
) -> None:
    sign_up(client, "audited@example.com")
    [verify] = smtp.inbox.wait_for("audited@example.com")
    follow(client, verify.link)
    post_form(client, "/account/forgot", {"email": "audited@example.com"})
    [_, reset] = smtp.inbox.wait_for("audited@example.com", 2)
    page = client.get(path_of(reset.link, ISSUER))
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    client.post(
        "/account/reset",
        data={"csrf": csrf_of(page.text), "token": token, "password": NEW_PASSWORD},
    )
    client.post("/account/verify", data={"csrf": csrf_of(page.text), "token": token})
    with services.storage.engine.connect() as c:
        rows = c.execute(select(tables.audit_events).order_by(tables.audit_events.c.id)).all()
    kinds = [r.event for r in rows]
    assert kinds == [
        audit.SIGNUP,
        audit.EMAIL_VERIFIED,
        audit.RESET_REQUESTED,
        audit.PASSWORD_RESET,
        audit.LINK_REFUSED,  # the reset link presented as a verification link
    ]
    assert set(kinds) <= set(audit.EVENTS)  # the operators' audit page can filter by each
    assert rows[3].detail["sessions_ended"] == 0
    assert not any("audited@" in repr(r) or "leo_" in repr(r) for r in rows)


def test_the_sweep_forgets_expired_links(
    client: TestClient, services: Services, world, clock: FrozenClock, smtp: SmtpServer
) -> None:
    post_form(client, "/account/forgot", {"email": world.email})
    [mail] = smtp.inbox.wait_for(world.email)
    services.housekeeping.delete_expired()
    with services.storage.engine.connect() as c:
        assert len(c.execute(select(tables.account_tokens)).all()) == 1  # still live
    clock.advance(seconds=3600)
    services.housekeeping.delete_expired()
    with services.storage.engine.connect() as c:
        assert c.execute(select(tables.account_tokens)).all() == []
    refused_page(client.get(path_of(mail.link, ISSUER)), 400, "invalid_link")
