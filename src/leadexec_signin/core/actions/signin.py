"""Signing in through the popup and the silent check: the seed's authorization flow.

One call, one transaction: the ordered checks of ``core/authorize.py``, the session, the grant
and, when nothing needs asking, the tokens, all read and written together, so nothing can change
between what was checked and what is issued. The answer is one of "login needed", "consent
needed (these scopes)" or "done (this authorization)". The consent rule lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.issue import IssueTx, issue_code, issue_tokens, widen_grant
from leadexec_signin.core.actions.sessions import SessionsTx, signed_in
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.authorize import (
    AuthorizeContext,
    AuthorizeRequest,
    check_request,
    check_user,
)
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import AccessDenied, Conflict, ImmediateFailed, SigninError
from leadexec_signin.core.factors import has_app, missing_second_factor
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Apps, Factors, Store
from leadexec_signin.core.scopes import ordered, user_claims
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.settings import Settings


class SignInTx(Apps, SessionsTx, IssueTx, Factors, Protocol):
    pass


@dataclass(frozen=True)
class Authorization:
    """What a completed sign-in hands to the partner page."""

    app_id: str
    btn_id: str
    scopes: frozenset[str]
    user: dict[str, object]
    tokens: IssuedTokens | None
    code: str | None


@dataclass(frozen=True)
class LoginNeeded:
    request: AuthorizeRequest
    # "mfa": the application requires two-step sign-in; ``enrol``: the user has no second
    # factor yet, so adds one first (core/factors.py).
    step: str = ""
    enrol: bool = False


@dataclass(frozen=True)
class ConsentNeeded:
    ctx: AuthorizeContext
    user: User
    ask: frozenset[str]  # what the dialog asks for now
    had: frozenset[str]  # what the user already granted of this button's scopes


@dataclass(frozen=True)
class Done:
    authorization: Authorization


Outcome = LoginNeeded | ConsentNeeded | Done


def shown_scopes(scopes: frozenset[str]) -> str:
    """How the dialog echoes what it showed, so a change in between asks again."""
    return " ".join(ordered(scopes))


def as_immediate_failure(exc: SigninError) -> SigninError:
    """The silent check's answer to a refusal: the server's own failures stay what they are."""
    if exc.status >= 500 or isinstance(exc, ImmediateFailed):
        return exc
    return ImmediateFailed(f"{exc.description} ({exc.code})")


class SignIn:
    def __init__(
        self,
        store: Store[SignInTx],
        clock: Clock,
        settings: Settings,
        minter: AccessTokens,
        usage: UsageLog,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.minter = minter
        self.usage = usage

    def _before(self) -> None:
        """Outside the transaction: the access-token key exists, and the tokens this process
        saw used are marked so before the per-grant cap counts unused ones."""
        self.minter.ready()
        self.usage.flush()

    def popup(
        self,
        req: AuthorizeRequest,
        session: str | None,
        ip: str,
        *,
        decision: str | None = None,
        shown: str | None = None,
    ) -> Outcome:
        """``decision`` is None when the popup opens, "allow" or "cancel" from the dialog;
        ``shown`` is the scopes the dialog showed."""
        self._before()
        try:
            return self._popup(req, session, ip, decision, shown)
        except Conflict:
            # Two Allows at once (two tabs, a double click): the other one made the grant
            # first (one live grant per user and application is a unique index). Once more,
            # this one finds that grant and finishes on it.
            return self._popup(req, session, ip, decision, shown)

    def _popup(
        self,
        req: AuthorizeRequest,
        session: str | None,
        ip: str,
        decision: str | None,
        shown: str | None,
    ) -> Outcome:
        now = self.clock.now()
        with self.store.transaction() as tx:
            ctx = check_request(tx, req)
            found = signed_in(tx, session, now, self.settings)
            if found is None:
                return LoginNeeded(req)
            user = found[1]
            check_user(ctx, user)
            if missing_second_factor(ctx.app.require_mfa, found[0].amr):
                has = tx.passkeys_for_user(user.id) or has_app(tx.totp_secret(user.id))
                return LoginNeeded(req, step="mfa", enrol=not has)
            if decision == "cancel":
                audit.record(
                    tx, now, audit.CONSENT_DENIED, user_id=user.id, app_id=ctx.app.id, ip=ip
                )
                denied = True
            else:
                denied = False
                grant = tx.active_grant(user.id, ctx.app.id)
                had = grant.scopes if grant else frozenset()
                ask = ctx.scopes - had
                if ask and (decision != "allow" or shown != shown_scopes(ask)):
                    # Ask, or ask again if what the user saw is not what the button wants now.
                    return ConsentNeeded(ctx, user, ask, had & ctx.scopes)
                if ask:
                    grant = widen_grant(tx, grant, user.id, ctx.app.id, ctx.scopes, now)
                    audit.record(
                        tx,
                        now,
                        audit.CONSENT,
                        user_id=user.id,
                        app_id=ctx.app.id,
                        ip=ip,
                        detail={"scopes": sorted(grant.scopes)},
                    )
                assert grant is not None
                return Done(self._finish(tx, ctx, user, grant, ip))
        # Raised after the commit, so the refusal stays in the audit trail.
        assert denied
        raise AccessDenied()

    def silent(self, req: AuthorizeRequest, session: str | None, ip: str) -> Authorization:
        """The silent check never shows anything: any refusal that is not the server's fault
        becomes immediate_failed (naming the real reason), so a partner page learns nothing
        more than "a click is needed"."""
        now = self.clock.now()
        self._before()
        try:
            with self.store.transaction() as tx:
                ctx = check_request(tx, req)
                found = signed_in(tx, session, now, self.settings)
                user = found[1] if found else None
                if found is not None:
                    check_user(ctx, found[1])
                    if missing_second_factor(ctx.app.require_mfa, found[0].amr):
                        raise ImmediateFailed()
                grant = tx.active_grant(user.id, ctx.app.id) if user else None
                if user is None or grant is None or not ctx.scopes <= grant.scopes:
                    raise ImmediateFailed()
                return self._finish(tx, ctx, user, grant, ip)
        except SigninError as exc:
            failure = as_immediate_failure(exc)
            if failure is exc:
                raise
            raise failure from exc

    def _finish(
        self, tx: SignInTx, ctx: AuthorizeContext, user: User, grant: Grant, ip: str
    ) -> Authorization:
        now = self.clock.now()
        tx.touch_grant(grant.id, now)
        claims = user_claims(user, grant.scopes)
        if ctx.app.hardened:
            code = issue_code(tx, grant, now, self.settings)
            return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, None, code)
        tokens = issue_tokens(tx, grant, now, self.settings, self.minter, refresh=True)
        audit.record(tx, now, audit.TOKEN_ISSUED, user_id=user.id, app_id=ctx.app.id, ip=ip)
        return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, tokens, None)
