"""Chromium's virtual WebAuthn authenticator (DevTools protocol), and a provider served at
``http://localhost:PORT``: an IP literal is not a valid RP ID, so passkeys need a host name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import BrowserContext, CDPSession, Page

from leadexec_signin.compose import Services, build
from leadexec_signin.demo_partner import PartnerConfig, create_partner_app
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from support.live import LiveServer
from support.signin import PASSWORD

OPTIONS = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@dataclass
class Authenticator:
    cdp: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.id}
        )["credentials"]
        return found

    def add(self, credential: dict[str, Any]) -> None:
        self.cdp.send(
            "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
        )

    def user_verified(self, verified: bool) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": verified}
        )


def attach(context: BrowserContext, page: Page, **changes: object) -> Authenticator:
    """A platform authenticator for this tab (each tab, popups too, has its own)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {**OPTIONS, **changes}})
    return Authenticator(cdp, found["authenticatorId"])


@dataclass
class LocalIdp:
    url: str
    services: Services
    server: LiveServer
    partner: str = ""  # the demo partner site, registered for app_id / btn_id
    app_id: str = ""
    btn_id: str = ""

    def new_user(self, email: str, *, operator: bool = False) -> str:
        self.services.accounts.create_user(
            email=email, name="Pat Passkey", password=PASSWORD, operator=operator
        )
        return email

    def user_id(self, email: str) -> str:
        with self.services.storage.transaction() as tx:
            user = tx.user_by_email(email)
        assert user is not None
        return user.id


def local_idp(tmp: os.PathLike[str], **env: str) -> Iterator[LocalIdp]:
    database = f"sqlite:///{os.fspath(tmp)}/idp.sqlite3"
    upgrade(database)
    server = LiveServer()
    url = f"http://localhost:{server.port}"
    settings = Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
            "LEADEXEC_DATA_DIR": os.fspath(tmp),
            "LEADEXEC_DATABASE_URL": database,
            "LEADEXEC_ISSUER": url,
            "LEADEXEC_NOTICE_INTERVAL": "0",
            **env,
        }
    )
    services = build(settings)
    services.prepare()  # signing keys (the live server runs without its lifespan)
    partner = LiveServer()
    app, _ = services.registry.register(
        name="Acme CRM", origins=[partner.url], scopes="profile,email"
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    server.start(create_app(services))
    partner.start(create_partner_app(PartnerConfig(url, app.id, button.id)))
    try:
        yield LocalIdp(url, services, server, partner.url, app.id, button.id)
    finally:
        partner.stop()
        server.stop()
        services.close()


# Chromium's virtual authenticator answers a conditional (autofill) request at once; a test of
# the button takes autofill away, as a browser without it would.
NO_AUTOFILL = (
    "if (window.PublicKeyCredential) delete PublicKeyCredential.isConditionalMediationAvailable;"
)


def sign_in_with_password(page: Page, idp: str, email: str, next_path: str = "") -> None:
    page.goto(f"{idp}/account/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def add_passkey(page: Page, idp: str, name: str = "Work laptop") -> None:
    """On the security page, just signed in (no re-authentication needed)."""
    page.goto(f"{idp}/account/security")
    page.get_by_label("Name of the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Passkey added.").wait_for()
