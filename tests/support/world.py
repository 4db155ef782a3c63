"""The seeded world most tests start from, and the sign-in use case through its real
interface (a session, then the dialog's answer)."""

from __future__ import annotations

from dataclasses import dataclass

from leadexec_signin.compose import Services
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.signin import (
    Authorization,
    ConsentNeeded,
    Done,
    shown_scopes,
)
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.errors import ImmediateFailed
from support.signin import PARTNER


def allow(services: Services, req: AuthorizeRequest, user: User, ip: str) -> Authorization:
    """A signed-in user opens the popup and, if asked, clicks Allow (the sign-in use case
    through its real interface: a session, then the dialog's answer)."""
    session = services.sessions.start(user)
    outcome = services.signin.popup(req, session, ip)
    if isinstance(outcome, ConsentNeeded):
        outcome = services.signin.popup(
            req, session, ip, decision="allow", shown=shown_scopes(outcome.ask)
        )
    assert isinstance(outcome, Done), outcome
    return outcome.authorization


def silently(
    services: Services, req: AuthorizeRequest, user: User, ip: str
) -> Authorization | None:
    """The silent check for a signed-in user: the authorization, or None if a click is needed."""
    try:
        return services.signin.silent(req, services.sessions.start(user), ip)
    except ImmediateFailed:
        return None


@dataclass
class World:
    """A user, an approved application with a button, as most tests need them."""

    services: Services
    user_id: str
    email: str
    app_id: str
    btn_id: str
    app_secret: str | None = None

    def button(self, scopes: str, app_id: str | None = None) -> str:
        return self.services.registry.create_button(app_id=app_id or self.app_id, scopes=scopes).id

    def app(
        self,
        *,
        origins: tuple[str, ...] = (PARTNER,),
        scopes: str = "profile,email,account,settings",
        status: str = "approved",
        with_secret: bool = False,
        hardened: bool = False,
        name: str = "Second App",
        notice_url: str = "",
    ) -> tuple[str, str | None]:
        app, secret = self.services.registry.register(
            name=name,
            notice_url=notice_url,
            origins=list(origins),
            scopes=scopes,
            with_secret=with_secret,
            hardened=hardened,
        )
        if status != "pending":
            self.services.operator.set_app_status(app.id, status)
        return app.id, secret
