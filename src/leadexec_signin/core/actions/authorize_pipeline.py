"""The one authorize pipeline, behind the popup, the silent check, FedCM and
``/oauth2/authorize``: every request takes the same steps, in this order, in one transaction
(nothing can change between what was checked and what is issued):

1. locate: where answers go (the surface; a refusal here is shown, never sent on);
2. admit: the surface's own parameters, into :class:`Admitted`;
3. the browser's session and its user;
4. a new sign-in, when the request or the application wants one (``prompt=login``,
   ``max_age``, another account in ``id_token_hint``, a second factor, ``acr`` step-up);
5. the application serves this user (development mode: its owner alone; the surface's
   refusal);
6. the user's answer to the dialog: Cancel is recorded and refused;
7. the consent rule (:func:`consent_rule`): ask for what the grant does not cover yet;
8. the grant widened, and the surface delivers (an authorization object, a code).

A refusal from step 2 on is an outcome (:class:`Refused`), so each surface answers it its
own way; what differs between surfaces is their :class:`AuthorizeSurface`, never a branch here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from leadexec_signin.core import audit, jwts
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.authorize_step import (
    Admitted,
    AuthorizeSurface,
    AuthorizeTx,
    ConsentNeeded,
    Delivered,
    LoginNeeded,
    Refused,
    shown_scopes,
)
from leadexec_signin.core.actions.issue import widen_grant
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.sessions import signed_in
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import AccessDenied, Conflict, InvalidRequest, SigninError
from leadexec_signin.core.factors import MFA, has_app, missing_second_factor, wants_mfa
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Store
from leadexec_signin.core.scopes import OPENID
from leadexec_signin.core.sessions import Session
from leadexec_signin.settings import Settings

T = TypeVar("T")
C = TypeVar("C")
R = TypeVar("R")

Outcome = LoginNeeded[C] | ConsentNeeded[C] | Delivered[R] | Refused[T]


def consent_rule(
    admitted: Admitted[C],
    user: User,
    grant: Grant | None,
    decision: str | None,
    shown: str | None,
) -> ConsentNeeded[C] | None:
    """The one consent rule: ask for what the user has not granted yet (everything with
    ``prompt=consent``; "who you are" on a first visit that wants no data scope), and ask
    again when what the dialog showed is not what is wanted now. None: go ahead."""
    had = grant.scopes if grant else frozenset()
    always = "consent" in admitted.prompts
    ask = admitted.scopes if always else admitted.scopes - had
    if not (ask or grant is None or always):
        return None
    expected = shown_scopes(ask) or OPENID
    if admitted.disclosed and ask and ask <= admitted.disclosed and not always:
        return None  # the surface's own dialog showed it and the user went on
    if decision == "allow" and shown == expected:
        return None
    return ConsentNeeded(admitted, user, ask, had & admitted.scopes, expected)


def signed_in_again(admitted: Admitted[C], session: Session) -> bool:
    """Whether this session began after the user was sent to sign in again (the
    ``auth_after`` time on the way back: it can only relax a re-authentication the request
    itself asked for, so it needs no signature)."""
    raw = admitted.auth_after
    if not raw.isdigit() or len(raw) > 12:
        return False
    return session.created_at.timestamp() >= int(raw)


class AuthorizePipeline:
    def __init__(
        self,
        store: Store[AuthorizeTx],
        clock: Clock,
        settings: Settings,
        keys: SigningKeys,
        usage: UsageLog,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.keys = keys
        self.usage = usage

    def run(
        self,
        surface: AuthorizeSurface[T, C, R],
        session: str | None,
        ip: str,
        *,
        decision: str | None = None,
        shown: str | None = None,
    ) -> Outcome[C, R, T]:
        """``decision`` is None on the request itself, "allow" or "cancel" from the dialog;
        ``shown`` is what the dialog showed."""
        self.usage.flush()  # the grant's cap counts never-used tokens: mark used ones first
        try:
            return self._run(surface, session, ip, decision, shown)
        except Conflict:
            # Two Allows at once (two tabs, a double click): the other one made the grant
            # first (one live grant per user and application is a unique index). Once more,
            # this one finds that grant and finishes on it.
            return self._run(surface, session, ip, decision, shown)

    def _run(
        self,
        surface: AuthorizeSurface[T, C, R],
        session: str | None,
        ip: str,
        decision: str | None,
        shown: str | None,
    ) -> Outcome[C, R, T]:
        now = self.clock.now()
        with self.store.transaction() as tx:
            target = surface.locate(tx)
            try:
                admitted = surface.admit(tx, target)
                found = signed_in(tx, session, now, self.settings)
                login = self.login_needed(tx, admitted, found, now)
                if login is not None:
                    return login
                assert found is not None
                session_row, user = found
                surface.check_user(admitted, user)
                if decision == "cancel":
                    audit.record(
                        tx, now, audit.CONSENT_DENIED, user_id=user.id, app_id=admitted.app.id,
                        ip=ip,
                    )  # fmt: skip
                    denied = True
                else:
                    denied = False
                    grant = tx.active_grant(user.id, admitted.app.id)
                    asked = consent_rule(admitted, user, grant, decision, shown)
                    if asked is not None:
                        return asked
            except SigninError as exc:
                if exc.status >= 500:
                    raise
                return Refused(target, exc)
            if not denied:
                grant = self.grant(tx, admitted, user, grant, ip, now)
                tx.touch_grant(grant.id, now)
                return Delivered(surface.deliver(tx, admitted, session_row, user, grant, now, ip))
        # After the commit, so the refusal stays in the audit trail.
        return Refused(target, AccessDenied())

    def login_needed(
        self,
        tx: AuthorizeTx,
        admitted: Admitted[C],
        found: tuple[Session, User] | None,
        now: datetime,
    ) -> LoginNeeded[C] | None:
        login = self._login_needed(admitted, found, now)
        if login is not None and found is not None:
            session, user = found
            if missing_second_factor(admitted.app.require_mfa, session.amr):
                has = tx.passkeys_for_user(user.id) or has_app(tx.totp_secret(user.id))
                login = replace(login, enrol=not has)
        return login

    def _login_needed(
        self, admitted: Admitted[C], found: tuple[Session, User] | None, now: datetime
    ) -> LoginNeeded[C] | None:
        hint = admitted.login_hint
        if found is None:
            return LoginNeeded(admitted, fresh=False, login_hint=hint)
        session, user = found
        again = signed_in_again(admitted, session)
        if admitted.id_token_hint:
            claims = jwts.read_own(
                admitted.id_token_hint,
                self.keys.published(),
                audience=admitted.app.id,
                issuer=self.settings.issuer,
                verify_exp=False,
            )
            if claims is None:
                raise InvalidRequest("id_token_hint is not an ID token this provider issued.")
            if claims.get("sub") != user.id and not again:
                return LoginNeeded(admitted, fresh=True, login_hint=hint)
        if admitted.sub and admitted.sub != user.id:
            if again:
                raise AccessDenied("The account signed in is not the one the request names.")
            return LoginNeeded(admitted, fresh=True, login_hint=hint)
        if admitted.max_age is not None and not again:
            if now - session.created_at > timedelta(seconds=admitted.max_age):
                return LoginNeeded(admitted, fresh=True, login_hint=hint or user.email)
        required = missing_second_factor(admitted.app.require_mfa, session.amr)
        if required and again:
            # Back from signing in, still without a second factor: refused, never issued.
            raise AccessDenied(
                "This application requires two-step sign-in. Add a passkey or an authenticator "
                "app on your LeadExec security page, then try again."
            )
        if required:
            # With a factor, sign in with it; without one, add one first (login_needed).
            return LoginNeeded(admitted, fresh=True, login_hint=hint or user.email, step="mfa")
        if wants_mfa(admitted.acr_values, admitted.claims) and MFA not in session.amr:
            if not again:
                # Step-up: the request asked for more than the session proved (acr_values,
                # or an essential acr in claims); a password-only sign-in that came back
                # stays as is.
                return LoginNeeded(admitted, fresh=True, login_hint=hint or user.email, step="mfa")
        if admitted.prompts & {"login", "select_account"} and not again:
            # No account chooser: a session holds one account, so choosing one is signing in.
            return LoginNeeded(admitted, fresh=True, login_hint=hint)
        return None

    @staticmethod
    def grant(
        tx: AuthorizeTx, admitted: Admitted[C], user: User, grant: Grant | None, ip: str,
        now: datetime,
    ) -> Grant:  # fmt: skip
        """Step 8: the consent becomes the grant, widened to what is wanted now, audited."""
        app_id = admitted.app.id
        if grant is not None and admitted.scopes <= grant.scopes:
            if "consent" not in admitted.prompts:
                return grant
        grant = widen_grant(tx, grant, user.id, app_id, admitted.scopes, now)
        detail: dict[str, object] = {"scopes": sorted(grant.scopes)}
        if admitted.via:
            detail["via"] = admitted.via
        audit.record(tx, now, audit.CONSENT, user_id=user.id, app_id=app_id, ip=ip, detail=detail)
        return grant
