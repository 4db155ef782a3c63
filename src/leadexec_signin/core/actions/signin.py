"""Signing in through the popup and the silent check: the seed's surface of the one authorize
pipeline (``authorize_pipeline.py``).

What is the popup's own is said here: a request names a button and the page's origin, and is
checked by ``core/authorize.py`` (an unregistered origin learns nothing more); a development
mode application refuses other users with ``app_not_approved``; what it delivers is an
authorization object (tokens, or a code for hardened delivery) that the result page posts to
the partner's page. The silent check is the same request with no dialog: anything that would
need one is ``immediate_failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.authorize_pipeline import AuthorizePipeline
from leadexec_signin.core.actions.authorize_step import (
    Admitted,
    AuthorizeTx,
    Delivered,
    Refused,
    shown_scopes,
)
from leadexec_signin.core.actions.authorize_step import ConsentNeeded as Consent
from leadexec_signin.core.actions.authorize_step import LoginNeeded as Login
from leadexec_signin.core.actions.issue import issue_code, issue_tokens
from leadexec_signin.core.authorize import (
    AuthorizeContext,
    AuthorizeRequest,
    check_request,
    check_user,
)
from leadexec_signin.core.errors import ImmediateFailed, SigninError
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.scopes import user_claims
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.settings import Settings

__all__ = ["shown_scopes"]  # the dialog's echo, re-exported for callers of the popup


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
    shown: str = ""  # what the dialog echoes (``authorize_step.shown_scopes``)


@dataclass(frozen=True)
class Done:
    authorization: Authorization


Outcome = LoginNeeded | ConsentNeeded | Done


def as_immediate_failure(exc: SigninError) -> SigninError:
    """The silent check's answer to a refusal: the server's own failures stay what they are."""
    if exc.status >= 500 or isinstance(exc, ImmediateFailed):
        return exc
    return ImmediateFailed(f"{exc.description} ({exc.code})")


class PopupSurface:
    """The popup's and the silent check's request, as the pipeline's surface."""

    def __init__(
        self,
        req: AuthorizeRequest,
        settings: Settings,
        minter: AccessTokens,
        disclosed: frozenset[str],
    ) -> None:
        self.req = req
        self.settings = settings
        self.minter = minter
        self.disclosed = disclosed

    def locate(self, tx: AuthorizeTx) -> AuthorizeContext:
        # Every refusal of the popup is a result page posted to the claimed origin: the
        # request's own checks are where it is located.
        return check_request(tx, self.req)

    def admit(self, tx: AuthorizeTx, target: AuthorizeContext) -> Admitted[AuthorizeContext]:
        return Admitted(target, target.app, target.scopes, disclosed=self.disclosed)

    def check_user(self, admitted: Admitted[AuthorizeContext], user: User) -> None:
        check_user(admitted.context, user)

    def deliver(
        self,
        tx: AuthorizeTx,
        admitted: Admitted[AuthorizeContext],
        session: Session,
        user: User,
        grant: Grant,
        now: datetime,
        ip: str,
    ) -> Authorization:
        ctx = admitted.context
        claims = user_claims(user, grant.scopes)
        if ctx.app.hardened:
            code = issue_code(tx, grant, now, self.settings)
            return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, None, code)
        tokens = issue_tokens(tx, grant, now, self.settings, self.minter, refresh=True)
        audit.record(tx, now, audit.TOKEN_ISSUED, user_id=user.id, app_id=ctx.app.id, ip=ip)
        return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, tokens, None)


class SignIn:
    def __init__(
        self, pipeline: AuthorizePipeline, settings: Settings, minter: AccessTokens
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.minter = minter

    def popup(
        self,
        req: AuthorizeRequest,
        session: str | None,
        ip: str,
        *,
        decision: str | None = None,
        shown: str | None = None,
        disclosed: frozenset[str] = frozenset(),
    ) -> Outcome:
        """``decision`` is None when the popup opens, "allow" or "cancel" from the dialog;
        ``shown`` is the scopes the dialog showed; ``disclosed`` what FedCM's own dialog
        showed (consent to it needs none of ours)."""
        self.minter.ready()  # outside the transaction: the access-token key exists
        surface = PopupSurface(req, self.settings, self.minter, disclosed)
        out = self.pipeline.run(surface, session, ip, decision=decision, shown=shown)
        if isinstance(out, Login):
            return LoginNeeded(req, step=out.step, enrol=out.enrol)
        if isinstance(out, Consent):
            ctx = out.admitted.context
            return ConsentNeeded(ctx, out.user, out.ask, out.had, out.shown)
        if isinstance(out, Refused):
            raise out.error
        return Done(out.result)

    def silent(self, req: AuthorizeRequest, session: str | None, ip: str) -> Authorization:
        """The silent check never shows anything: any refusal that is not the server's fault
        becomes immediate_failed (naming the real reason), so a partner page learns nothing
        more than "a click is needed"."""
        self.minter.ready()
        surface = PopupSurface(req, self.settings, self.minter, frozenset())
        try:
            out = self.pipeline.run(surface, session, ip)
        except SigninError as exc:
            failure = as_immediate_failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        if isinstance(out, Delivered):
            return out.result
        if isinstance(out, Refused):
            raise as_immediate_failure(out.error) from out.error
        raise ImmediateFailed()  # a sign-in or a dialog would be needed
