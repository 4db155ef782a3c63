"""The standard authorization endpoint (OAuth 2.1 authorization code with PKCE, OpenID
Connect Core section 3.1.2): ``/oauth2/authorize``'s surface of the one authorize pipeline
(``authorize_pipeline.py``), so the sign-in, consent rule and grant are the popup's.

What is its own is said here: the client and its redirect URI are located first (until then a
refusal is shown to the user, never redirected), its parameters are ``oauth_authorize.py``'s
checks, a development mode application refuses others with ``unauthorized_client``, what it
delivers is a code bound to the request, and every other answer (an error, ``login_required``
or ``consent_required`` for ``prompt=none``) goes back to the client (:class:`SendBack`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadexec_signin.core import credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.authorize_pipeline import AuthorizePipeline
from leadexec_signin.core.actions.authorize_step import (
    Admitted,
    AuthorizeTx,
    ConsentNeeded,
    LoginNeeded,
    Refused,
)
from leadexec_signin.core.actions.client_documents import ClientDocuments
from leadexec_signin.core.actions.par import resolve_pushed
from leadexec_signin.core.actions.sessions import public_sid
from leadexec_signin.core.client_documents import DocumentRefused
from leadexec_signin.core.errors import (
    ConsentRequired,
    InvalidRequest,
    InvalidRequestUri,
    LoginRequired,
    SigninError,
)
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.oauth_authorize import (
    OAuthContext,
    OAuthRequest,
    Target,
    check_request,
    check_target,
    check_user,
)
from leadexec_signin.core.pushed_requests import request_uri_hash
from leadexec_signin.core.self_registered import check_scopes_allowed, needs_touch
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import AuthorizationCode
from leadexec_signin.settings import Settings


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


class OAuthSurface:
    """An authorization request of ``/oauth2/authorize``, as the pipeline's surface."""

    def __init__(self, req: OAuthRequest, settings: Settings, now: datetime) -> None:
        self.req = req
        self.settings = settings
        self.now = now

    def locate(self, tx: AuthorizeTx) -> Target:
        # A request_uri of ours stands for the request its client pushed (RFC 9126).
        self.req = resolve_pushed(tx, self.req, self.now)
        return check_target(tx, self.req, documents=self.settings.metadata_documents)

    def admit(self, tx: AuthorizeTx, target: Target) -> Admitted[OAuthContext]:
        ctx = check_request(self.req, target, self.settings.issuer)
        allowed = self.settings.self_registered_scopes
        check_scopes_allowed(ctx.app, ctx.scopes, ctx.protocol, allowed)
        req = self.req
        return Admitted(
            ctx, ctx.app, ctx.scopes, prompts=ctx.prompts, max_age=ctx.max_age,
            id_token_hint=req.id_token_hint, login_hint=req.login_hint,
            acr_values=req.acr_values, claims=req.claims, auth_after=req.le_auth_after,
            sub=ctx.claims.sub,
            via="oauth2",
        )  # fmt: skip

    def check_user(self, admitted: Admitted[OAuthContext], user: User) -> None:
        check_user(admitted.context, user)

    def deliver(
        self,
        tx: AuthorizeTx,
        admitted: Admitted[OAuthContext],
        session: Session,
        user: User,
        grant: Grant,
        now: datetime,
        ip: str,
    ) -> SendBack:
        """A code bound to this request: its redirect URI, PKCE challenge, nonce, scopes and
        the sign-in behind it (for the ID token)."""
        ctx, req = admitted.context, self.req
        hashed = request_uri_hash(req.request_uri) if req.pushed else None
        if hashed and not tx.use_pushed_request(hashed, now):
            raise InvalidRequestUri()  # answered meanwhile: one code per pushed request
        code = credentials.new_token(credentials.CODE)
        tx.add_code(
            AuthorizationCode(
                code_hash=credentials.token_hash(code),
                grant_id=grant.id,
                app_id=ctx.app.id,
                expires_at=now + timedelta(seconds=self.settings.code_ttl_seconds),
                redirect_uri=req.redirect_uri,
                code_challenge=req.code_challenge,
                code_challenge_method=req.code_challenge_method,
                nonce=req.nonce,
                scopes=ctx.scopes | ctx.protocol,
                created_at=now,
                auth_time=session.created_at,
                sid=public_sid(session),
                resource=ctx.resource,
                dpop_jkt=ctx.dpop_jkt,
            )
        )
        tx.remember_signin(public_sid(session), session.amr, now)
        if needs_touch(ctx.app, now):  # a self-registered client in use does not expire
            tx.touch_app(ctx.app.id, now)
        return SendBack(ctx.target, issuer_params(ctx.target, self.settings.issuer, code=code))


class AuthorizeCode:
    def __init__(
        self,
        pipeline: AuthorizePipeline,
        settings: Settings,
        documents: ClientDocuments | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.documents = documents

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
        it is answered with :class:`SendBack`, as is a prompt=none request that would need
        the user."""
        self.register_document(req, ip)
        surface = OAuthSurface(req, self.settings, self.pipeline.clock.now())
        try:
            answer = self._answer(surface, session, ip, decision, shown)
        except SigninError:
            self._consume_pushed(surface)
            raise
        if isinstance(answer, SendBack) and "error" in answer.params:
            self._consume_pushed(surface)
        return answer

    def _answer(
        self,
        surface: OAuthSurface,
        session: str | None,
        ip: str,
        decision: str | None,
        shown: str | None,
    ) -> Outcome:
        issuer = self.settings.issuer
        out = self.pipeline.run(surface, session, ip, decision=decision, shown=shown)
        if isinstance(out, Refused):
            return SendBack(out.target, error_params(out.target, issuer, out.error))
        if isinstance(out, LoginNeeded):
            ctx = out.admitted.context
            if out.admitted.silent:
                return SendBack(ctx.target, error_params(ctx.target, issuer, LoginRequired("")))
            return ShowLogin(ctx, out.fresh, out.login_hint, out.step, out.enrol)
        if isinstance(out, ConsentNeeded):
            ctx = out.admitted.context
            if out.admitted.silent:
                return SendBack(ctx.target, error_params(ctx.target, issuer, ConsentRequired()))
            return AskConsent(ctx, out.user, out.ask, out.had, out.shown)
        return out.result

    def _consume_pushed(self, surface: OAuthSurface) -> None:
        """RFC 9126 section 4: a pushed request is answered once, and a refusal is an answer:
        once an error went back to the client (or was shown), its request_uri is refused.
        Written in a unit of work of its own, since the refusal's rolled back or came after
        the commit. Only a request_uri that resolved to its own client's request is spent: one
        brought by another client, unknown or expired was never that request's use."""
        req = surface.req
        hashed = request_uri_hash(req.request_uri) if req.pushed else None
        if hashed:
            with self.pipeline.store.transaction() as tx:
                tx.use_pushed_request(hashed, self.pipeline.clock.now())

    def register_document(self, req: OAuthRequest, ip: str) -> None:
        """A client named by its metadata document's URL: the document fetched (or kept) and
        the client's row made or refreshed, before the pipeline's transaction. A document
        that cannot be used is shown to the person, never redirected: its redirect URIs are
        exactly what could not be trusted."""
        documents = self.documents
        if documents is None or "client_id" in req.duplicates:
            return
        if not documents.names_document(req.client_id):
            return
        try:
            documents.register(req.client_id, ip)
        except DocumentRefused as exc:
            raise InvalidRequest(
                "The application that sent you here names itself by a client metadata "
                f"document that LeadExec cannot use: {exc}"
            ) from None
