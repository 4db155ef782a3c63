"""Signing in through the browser's own dialog (FedCM, W3C Federated Credential Management).

Not a second sign-in: every answer comes from the popup's surface of the one authorize
pipeline (``SignIn``), the session
lookup, the connected-applications list and "Remove access", so the accounts, grants, consent
and tokens are the same ones whichever way a user came. What is FedCM's own is said here once:
which scopes the browser's disclosure ("Continue as ... shares your name, email address and
profile picture") counts as consent for, that the account the browser chose is the session's,
and that anything the disclosure does not cover goes to the popup's consent dialog
(``continue_on``).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.accounts import Accounts
from leadexec_signin.core.actions.apps import Registry
from leadexec_signin.core.actions.revocation import Revocation
from leadexec_signin.core.actions.sessions import BrowserSessions
from leadexec_signin.core.actions.signin import (
    Authorization,
    ConsentNeeded,
    Done,
    LoginNeeded,
    SignIn,
)
from leadexec_signin.core.apps import APPROVED, PENDING, Application
from leadexec_signin.core.authorize import AuthorizeRequest, is_btn_id
from leadexec_signin.core.errors import (
    AccessDenied,
    InvalidRequest,
    LoginRequired,
    OriginNotAllowed,
)

# What Chromium's disclosure text names: name, email address, profile picture. LeadExec's
# ``account`` (company, plan) and ``settings`` are not in it, so they are asked for in the
# popup's own consent dialog.
DISCLOSED = frozenset({"profile", "email"})


@dataclass(frozen=True)
class SignedIn:
    """The accounts endpoint's answer: the session's user and the applications they use."""

    user: User
    approved_app_ids: tuple[str, ...]


@dataclass(frozen=True)
class ContinueNeeded:
    """The button asks for more than the disclosure covered: the popup's consent decides."""

    request: AuthorizeRequest


class FedCm:
    def __init__(
        self,
        signin: SignIn,
        sessions: BrowserSessions,
        accounts: Accounts,
        revocation: Revocation,
        registry: Registry,
    ) -> None:
        self.signin = signin
        self.sessions = sessions
        self.accounts = accounts
        self.revocation = revocation
        self.registry = registry

    def signed_in(self, session: str | None) -> SignedIn | None:
        user = self.sessions.user(session)
        if user is None:
            return None
        # The browser skips its disclosure for these (a returning user) and may sign them in
        # again by itself: exactly the applications with a live grant.
        granted = tuple(sorted({g.grant.app_id for g in self.accounts.connected_apps(user.id)}))
        return SignedIn(user, granted)

    def client(self, app_id: str) -> Application | None:
        """An application the browser may name in its dialog: approved ones, and a partner's
        pending one in development mode (the assertion then signs in its owner alone, on a
        loopback origin), so a suspended or ownerless pending one shows no privacy policy."""
        app = self.registry.app(app_id)
        if app is None:
            return None
        in_development = app.status == PENDING and app.owner_id is not None
        return app if app.status == APPROVED or in_development else None

    def registered(self, app_id: str, origin: str) -> bool:
        """Whether ``origin`` is one of the application's own pages, whatever its status: a
        suspended application's page may read why it is refused, no other page may."""
        app = self.registry.app(app_id)
        return app is not None and origin in app.origins

    def assertion(
        self,
        req: AuthorizeRequest,
        app_id: str,
        session: str | None,
        account_id: str,
        *,
        disclosed: bool,
        ip: str,
    ) -> Authorization | ContinueNeeded:
        """``req.origin`` is the browser's ``Origin`` header, so ``SignIn``'s own origin check
        is what refuses an unregistered page; ``app_id`` (FedCM's ``client_id``) must be the
        button's application, or the dialog showed one name and the grant would go to
        another."""
        user = self.sessions.user(session)
        if user is None:
            raise LoginRequired("/account/login")
        if account_id != user.id:
            # The browser chose an account this session is not (signed out and in as someone
            # else in between): nothing is issued for the wrong person.
            raise AccessDenied("The chosen account is not the one signed in to LeadExec.")
        found = self.registry.button(req.btn_id) if is_btn_id(req.btn_id) else None
        if found is not None and found[1].id != app_id:
            # Checked before anything is issued; an unknown button is SignIn's to refuse.
            raise OriginNotAllowed("The button belongs to another application.")
        # The browser showed its disclosure and the user chose to continue: consent to what
        # it named, recorded as the dialog's Allow would be (the pipeline's consent rule).
        shown = DISCLOSED if disclosed else frozenset()
        outcome = self.signin.popup(req, session, ip, disclosed=shown)
        if isinstance(outcome, ConsentNeeded):
            return ContinueNeeded(req)
        if isinstance(outcome, LoginNeeded):
            raise LoginRequired("/account/login")
        assert isinstance(outcome, Done)
        return outcome.authorization

    def disconnect(
        self, app_id: str, origin: str, session: str | None, account_hint: str, ip: str
    ) -> str:
        """``IdentityCredential.disconnect()``: ends the grant of the hinted account as "Remove
        access" does (its notice included) and names the account the browser should forget.
        Only the session's own account can be hinted: a session never ends someone else's
        grant, and a hint naming anyone else is refused rather than taken as "whoever is
        signed in". Answered even when there is no grant left (the page revoked by token
        first), so the browser forgets it too."""
        app = self.client(app_id)
        if app is None or origin not in app.origins:
            raise OriginNotAllowed()
        user = self.sessions.user(session)
        if user is None:
            raise LoginRequired("/account/login")
        if not hints_at(user, account_hint):
            raise InvalidRequest(
                "account_hint does not name the account signed in to LeadExec in this browser."
            )
        for listing in self.accounts.connected_apps(user.id):
            if listing.grant.app_id == app.id:
                self.revocation.remove_access(user, listing.grant.id, ip)
        return user.id


def hints_at(user: User, account_hint: str) -> bool:
    """The hints a page can know: the account id (``user.id`` with ``profile``) or the
    email address (``user.email`` with ``email``, also the accounts endpoint's login hint)."""
    return account_hint == user.id or account_hint.casefold() == user.email.casefold()
