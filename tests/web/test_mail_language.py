"""Mail in the reader's language, delivered by SMTP to a real server (aiosmtpd): a person's own
request is answered in the language of that request, an operator's action in the owner's
LeadExec locale. Each message says which with ``Content-Language`` and its subject is the
catalog's translation; its link works whatever the language."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from leadexec_signin import i18n
from leadexec_signin.compose import Services
from leadexec_signin.settings import Settings
from smtp_server import SmtpServer, path_of
from support.signin import ISSUER, PASSWORD, csrf_of, sign_in


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.with_changes(smtp_url=smtp_server.url, mail_from="LeadExec <id@example.com>")


@pytest.mark.parametrize(
    ("accept", "language"), [("fr-CA,fr;q=0.9,en;q=0.5", "fr"), ("de", "de"), ("en-GB", "en")]
)
def test_the_verification_mail_speaks_the_sign_up_language(
    client: TestClient, smtp: SmtpServer, accept: str, language: str
) -> None:
    headers = {"Accept-Language": accept}
    form = client.get("/account/signup", headers=headers)
    assert form.headers["content-language"] == language
    r = client.post(
        "/account/signup",
        headers=headers,
        data={
            "csrf": csrf_of(form.text),
            "name": "Pat Partner",
            "email": "pat@example.com",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert r.status_code == 200 and r.headers["content-language"] == language
    [mail] = smtp.inbox.wait_for("pat@example.com")
    assert mail.mail["Content-Language"] == language
    english = "Confirm your email address for LeadExec"
    with i18n.using(language):
        assert mail.mail["Subject"] == i18n.gettext(english)
    assert (language == "en") == (mail.mail["Subject"] == english)
    assert mail.mail["From"] == "LeadExec <id@example.com>"
    # The link works, opened in any language (here the browser's, then English).
    page = client.get(path_of(mail.link, ISSUER), headers=headers)
    assert page.status_code == 200 and "pat@example.com" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = client.post(
        urlsplit(mail.link).path,
        data={"csrf": csrf_of(page.text), "token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    sign_in(client, "pat@example.com")
    assert client.get("/account/apps", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    ("locale", "language"), [("fr-FR", "fr"), ("es_MX", "es"), ("it-IT", "en")]
)
def test_an_owner_is_told_of_an_approval_in_their_own_locale(
    client: TestClient, services: Services, smtp: SmtpServer, locale: str, language: str
) -> None:
    owner = services.accounts.create_user(
        email="ann@acme.example", name="Ann", password=PASSWORD, locale=locale
    )
    app, _ = services.registry.register(
        name="Ann's CRM", origins=["https://crm.acme.example"], scopes="profile", owner_id=owner.id
    )
    services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    sign_in(client, "op@example.com")
    # The operator reads German; the owner's mail is in the owner's language all the same.
    headers = {"Accept-Language": "de"}
    page = client.get("/admin", headers=headers)
    assert page.status_code == 200
    r = client.post(
        f"/admin/apps/{app.id}/status",
        headers=headers,
        data={"csrf": csrf_of(page.text), "action": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    [mail] = smtp.inbox.wait_for("ann@acme.example")
    assert mail.mail["Content-Language"] == language
    with i18n.using(language):
        subject = i18n.gettext("%(app)s is approved for LeadExec Sign-In") % {"app": "Ann's CRM"}
    assert mail.mail["Subject"] == subject
    assert (language == "en") == (subject == "Ann's CRM is approved for LeadExec Sign-In")
    assert f"{ISSUER}/developers/apps/{app.id}" in mail.text
