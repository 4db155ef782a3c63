"""The standard authorization endpoint's use case (OAuth 2.1 authorization code with PKCE,
OpenID Connect Core section 3.1.2): the same sign-in, consent and grant as the popup.

One call, one transaction, as for the popup: the checks, the session, the grant and, when
nothing needs asking, the code. The answer is "show the sign-in form", "ask for consent" or
"send the browser back to the client" (with a code or an error). The consent rule is the
popup's: a returning user whose grant covers the request is not asked again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials, jwts
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.issue import IssueTx, widen_grant
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.sessions import SessionsTx, public_sid, signed_in
from leadexec_signin.core.actions.signin import shown_scopes
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    AccessDenied,
    Conflict,
    ConsentRequired,
    InvalidRequest,
    LoginRequired,
    SigninError,
)
from leadexec_signin.core.factors import MFA, has_app, missing_second_factor, wants_mfa
from leadexec_signin.core.oauth_authorize import (
    OAuthContext,
    OAuthRequest,
    Target,
    check_request,
    check_target,
    check_user,
)
from leadexec_signin.core.ports import Apps, Factors, Store
from leadexec_signin.core.scopes import OPENID
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import AuthorizationCode
from leadexec_signin.settings import Settings


class AuthorizeTx(Apps, SessionsTx, IssueTx, Factors, Protocol):
    pass


@dataclass(frozen=True)
class ShowLogin:
    """Sign in (again): ``fresh`` when a session exists but the request wants a new sign-in
    (prompt=login or select_account, max_age, another account in id_token_hint)."""

    ctx: OAuthContext
    fresh: bool
    login_hint: str
    step: str = ""  # "mfa": sign in with a second factor (acr_values step-up)
    enrol: bool = False  # the application requires one and the user has none: add one first


@dataclass(frozen=True)
class AskConsent:
    ctx: OAuthContext
    user: User
    ask: frozenset[str]  # data scopes to ask for now; empty: only "who you are"
    had: frozenset[str]
    shown: str  # echoed by the dialog, so a change in between asks again


@dataclass(frozen=True)
class SendBack:
    """The browser goes back to the client with these parameters (code or error)."""

    target: Target
    params: dict[str, str]


Outcome = ShowLogin | AskConsent | SendBack


def issuer_params(target: Target, issuer: str, **extra: str) -> dict[str, str]:
    """Every response carries ``iss`` (RFC 9207: a client talking to several providers can
    tell whose answer it is, which defeats mix-up attacks) and the client's ``state``."""
    params = dict(extra)
    if target.state:
        params["state"] = target.state
    params["iss"] = issuer
    return params


def error_params(target: Target, issuer: str, error: SigninError) -> dict[str, str]:
    return issuer_params(target, issuer, error=error.code, error_description=error.description)


class AuthorizeCode:
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
        req: OAuthRequest,
        session: str | None,
        ip: str,
        *,
        decision: str | None = None,
        shown: str | None = None,
    ) -> Outcome:
        """``decision`` is None on the request itself, "allow" or "cancel" from the dialog.
        A refusal before the redirect URI is known is raised (shown to the user); after it,
        it is answered with :class:`SendBack`."""
        self.usage.flush()  # the grant's cap counts never-used tokens: mark used ones first
        try:
            return self._run(req, session, ip, decision, shown)
        except Conflict:
            # Two Allows at once: the other made the grant; finish on it (as the popup does).
            return self._run(req, session, ip, decision, shown)

    def _run(
        self,
        req: OAuthRequest,
        session: str | None,
        ip: str,
        decision: str | None,
        shown: str | None,
    ) -> Outcome:
        now = self.clock.now()
        issuer = self.settings.issuer
        denied: SendBack | None = None
        with self.store.transaction() as tx:
            target = check_target(tx, req)
            try:
                ctx = check_request(req, target)
                found = signed_in(tx, session, now, self.settings)
                login = self._login_needed(ctx, found, now)
                if (
                    login is not None
                    and found is not None
                    and missing_second_factor(ctx.app.require_mfa, found[0].amr)
                ):
                    user_id = found[1].id
                    if not (tx.passkeys_for_user(user_id) or has_app(tx.totp_secret(user_id))):
                        login = replace(login, enrol=True)
                if login is not None:
                    return login
                assert found is not None
                session_row, user = found
                check_user(ctx, user)
                if decision == "cancel":
                    audit.record(
                        tx, now, audit.CONSENT_DENIED, user_id=user.id, app_id=ctx.app.id, ip=ip
                    )
                    denied = SendBack(target, error_params(target, issuer, AccessDenied()))
                else:
                    return self._consent_or_code(
                        tx, ctx, session_row, user, ip, now, decision, shown
                    )
            except (LoginRequired, ConsentRequired) as exc:
                return SendBack(target, error_params(target, issuer, exc))
            except SigninError as exc:
                if exc.status >= 500:
                    raise
                return SendBack(target, error_params(target, issuer, exc))
        assert denied is not None
        return denied  # after the commit: the refusal stays in the audit trail

    def _login_needed(
        self, ctx: OAuthContext, found: tuple[Session, User] | None, now: datetime
    ) -> ShowLogin | None:
        req = ctx.request
        silent = "none" in ctx.prompts
        hint = req.login_hint
        if found is None:
            if silent:
                raise LoginRequired("")
            return ShowLogin(ctx, fresh=False, login_hint=hint)
        session, user = found
        again = self._signed_in_again(req, session)
        if req.id_token_hint:
            claims = jwts.read_own(
                req.id_token_hint,
                self.keys.published(),
                audience=ctx.app.id,
                issuer=self.settings.issuer,
                verify_exp=False,
            )
            if claims is None:
                raise InvalidRequest("id_token_hint is not an ID token this provider issued.")
            if claims.get("sub") != user.id and not again:
                if silent:
                    raise LoginRequired("")
                return ShowLogin(ctx, fresh=True, login_hint=hint)
        if ctx.max_age is not None and not again:
            if now - session.created_at > timedelta(seconds=ctx.max_age):
                if silent:
                    raise LoginRequired("")
                return ShowLogin(ctx, fresh=True, login_hint=hint or user.email)
        required = missing_second_factor(ctx.app.require_mfa, session.amr)
        if required and again:
            # Back from signing in, still without a second factor: refused, never issued.
            raise AccessDenied(
                "This application requires two-step sign-in. Add a passkey or an authenticator "
                "app on your LeadExec security page, then try again."
            )
        if required:
            # The application requires two-step sign-in: with a factor, sign in with it; without
            # one, add one first.
            if silent:
                raise LoginRequired("")
            return ShowLogin(ctx, fresh=True, login_hint=hint or user.email, step="mfa")
        if wants_mfa(req.acr_values, req.claims) and MFA not in session.amr and not again:
            # Step-up: the client asked for more than the session proved (acr_values, or an
            # essential acr in claims); a password-only sign-in that came back stays as is.
            if silent:
                raise LoginRequired("")
            return ShowLogin(ctx, fresh=True, login_hint=hint or user.email, step="mfa")
        if ctx.prompts & {"login", "select_account"} and not again:
            # No account chooser: a session holds one account, so choosing one is signing in.
            return ShowLogin(ctx, fresh=True, login_hint=hint)
        return None

    @staticmethod
    def _signed_in_again(req: OAuthRequest, session: Session) -> bool:
        """Whether this session began after we sent the user to sign in again: that is what
        the ``le_auth_after`` parameter of the return address says (it can only relax a
        re-authentication the client itself asked for, so it needs no signature)."""
        raw = req.le_auth_after
        if not raw.isdigit() or len(raw) > 12:
            return False
        return session.created_at.timestamp() >= int(raw)

    def _consent_or_code(
        self,
        tx: AuthorizeTx,
        ctx: OAuthContext,
        session: Session,
        user: User,
        ip: str,
        now: datetime,
        decision: str | None,
        shown: str | None,
    ) -> Outcome:
        app = ctx.app
        grant = tx.active_grant(user.id, app.id)
        had = grant.scopes if grant else frozenset()
        always_ask = "consent" in ctx.prompts
        ask = ctx.scopes if always_ask else ctx.scopes - had
        needs_dialog = bool(ask) or grant is None or always_ask
        expected = shown_scopes(ask) or OPENID
        if needs_dialog and (decision != "allow" or shown != expected):
            if "none" in ctx.prompts:
                raise ConsentRequired()
            return AskConsent(ctx, user, ask, had & ctx.scopes, expected)
        if needs_dialog:
            grant = widen_grant(tx, grant, user.id, app.id, ctx.scopes, now)
            audit.record(
                tx,
                now,
                audit.CONSENT,
                user_id=user.id,
                app_id=app.id,
                ip=ip,
                detail={"scopes": sorted(grant.scopes), "via": "oauth2"},
            )
        assert grant is not None
        tx.touch_grant(grant.id, now)
        code = credentials.new_token(credentials.CODE)
        req = ctx.request
        tx.add_code(
            AuthorizationCode(
                code_hash=credentials.token_hash(code),
                grant_id=grant.id,
                app_id=app.id,
                expires_at=now + timedelta(seconds=self.settings.code_ttl_seconds),
                redirect_uri=req.redirect_uri,
                code_challenge=req.code_challenge,
                code_challenge_method=req.code_challenge_method,
                nonce=req.nonce,
                scopes=ctx.scopes | ctx.protocol,
                created_at=now,
                auth_time=session.created_at,
                sid=public_sid(session),
            )
        )
        tx.remember_signin(public_sid(session), session.amr, now)
        return SendBack(ctx.target, issuer_params(ctx.target, self.settings.issuer, code=code))
