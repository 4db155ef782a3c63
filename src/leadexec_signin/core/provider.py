"""The use cases of the identity provider, each one transaction over the storage ports.

Both public surfaces (the seed's ``/api/*`` and ``/signin/*``, and later standard OAuth 2.0)
call these methods; none of them knows HTTP. Rules live here once.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadexec_signin.core import audit, credentials, notices
from leadexec_signin.core.accounts import (
    Passwords,
    User,
    check_password_strength,
    normalize_email,
    refuse_if_limited,
)
from leadexec_signin.core.apps import (
    APPROVED,
    SIZES,
    STATUSES,
    THEMES,
    Application,
    Button,
    check_app_name,
    check_https_url,
    check_notice_url,
    normalize_origin,
)
from leadexec_signin.core.authorize import AuthorizeContext, AuthorizeRequest, check_request
from leadexec_signin.core.clock import Clock, iso_z
from leadexec_signin.core.errors import (
    Conflict,
    InvalidClient,
    InvalidCredentials,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    NotFound,
    RateLimited,
)
from leadexec_signin.core.grants import Grant, GrantListing
from leadexec_signin.core.keys import SigningKey, new_signing_key
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.ports import RateLimiter, Storage, Transaction
from leadexec_signin.core.scopes import parse_scopes, user_claims
from leadexec_signin.core.sessions import Session
from leadexec_signin.core.tokens import (
    AccessToken,
    AuthorizationCode,
    IssuedTokens,
    RefreshToken,
    TokenContext,
)
from leadexec_signin.settings import Settings

log = logging.getLogger("leadexec_signin.core")

# Fixed ids of the console's built-in "Try It" application.
TRY_IT_APP = "app_leadexec-try-it-builtin"
TRY_IT_BUTTON = "btn_leadexec-try-it-builtin"
_APP_ID = re.compile(r"^app_[A-Za-z0-9_-]{22,64}$")
# A session is touched at most this often, so browsing does not write on every request.
_SESSION_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Authorization:
    """What a completed sign-in hands to the partner page (SPEC section 1)."""

    app_id: str
    btn_id: str
    scopes: frozenset[str]
    user: dict[str, object]
    tokens: IssuedTokens | None
    code: str | None


def revocation_notice(app: Application, grant: Grant, now: datetime, via: str) -> Notice:
    body = {
        "event": notices.EVENT_REVOKED,
        "appId": app.id,
        # The user's id only if the application was allowed to know it.
        "userId": grant.user_id if "profile" in grant.scopes else None,
        "revokedAt": iso_z(now),
        "via": via,
    }
    notice_id = credentials.new_id("ntc_")
    return Notice(
        id=notice_id,
        app_id=app.id,
        url=app.notice_url,
        body=json.dumps({"id": notice_id, **body}, separators=(",", ":")),
        attempts=0,
        next_attempt_at=now,
    )


class Provider:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        limiter: RateLimiter,
        clock: Clock,
        passwords: Passwords,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.limiter = limiter
        self.clock = clock
        self.passwords = passwords

    # -- accounts -------------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        name: str,
        password: str,
        company: str = "",
        plan: str = "",
        timezone: str = "UTC",
        locale: str = "en-US",
        operator: bool = False,
    ) -> User:
        email = normalize_email(email)
        name = " ".join((name or "").split())
        if not 1 <= len(name) <= 120:
            raise InvalidRequest("The name must have 1 to 120 characters.")
        check_password_strength(password)
        user = User(
            id=credentials.new_id("usr_"),
            email=email,
            name=name,
            password_hash=self.passwords.hash(password),
            company=company[:120],
            plan=plan[:60],
            timezone=timezone[:64] or "UTC",
            locale=locale[:35] or "en-US",
            is_operator=operator,
            created_at=self.clock.now(),
        )
        with self.storage.transaction() as tx:
            if tx.user_by_email(email) is not None:
                raise Conflict("A user with this email already exists.")
            tx.add_user(user)
            self._audit(tx, audit.USER_CREATED, user_id=user.id)
        return user

    def sign_in(self, email: str, password: str, ip: str) -> User:
        s = self.settings
        try:
            email = normalize_email(email)
        except InvalidRequest:
            raise InvalidCredentials() from None
        if len(password) > 1024:
            raise InvalidCredentials()
        refuse_if_limited(self.limiter.exceeded(s.login_limit_per_ip, "login-ip", ip))
        try:
            # Counted before the argon2 run, in one atomic hit: parallel guesses cannot all
            # pass a check before any of them is counted. A success clears the counter.
            refuse_if_limited(self.limiter.hit(s.login_limit_per_account, "login", email))
        except RateLimited:
            with self.storage.transaction() as tx:
                self._audit(tx, audit.SIGNIN_LIMITED, ip=ip)
            raise
        with self.storage.transaction() as tx:
            user = tx.user_by_email(email)
        # Verified outside the transaction: argon2 takes ~100 ms and holds no lock.
        if not self.passwords.verify(user.password_hash if user else None, password):
            self.limiter.hit(s.login_limit_per_ip, "login-ip", ip)
            with self.storage.transaction() as tx:
                self._audit(tx, audit.SIGNIN_FAILED, user_id=user.id if user else None, ip=ip)
            raise InvalidCredentials()
        assert user is not None
        self.limiter.reset(s.login_limit_per_account, "login", email)
        with self.storage.transaction() as tx:
            if self.passwords.needs_rehash(user.password_hash):
                tx.set_password_hash(user.id, self.passwords.hash(password))
            self._audit(tx, audit.SIGNIN_OK, user_id=user.id, ip=ip)
        return user

    # -- sessions -------------------------------------------------------------------------

    def start_session(self, user: User) -> str:
        raw = credentials.new_token(credentials.SESSION)
        now = self.clock.now()
        with self.storage.transaction() as tx:
            tx.add_session(
                Session(
                    id_hash=credentials.token_hash(raw),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=self.settings.session_idle_seconds),
                )
            )
        return raw

    def session_user(self, raw: str | None) -> User | None:
        if not credentials.looks_like(raw, credentials.SESSION):
            return None
        assert raw is not None
        id_hash = credentials.token_hash(raw)
        now = self.clock.now()
        with self.storage.transaction() as tx:
            session = tx.session_by_hash(id_hash)
            if session is None:
                return None
            absolute_end = session.created_at + timedelta(
                seconds=self.settings.session_absolute_seconds
            )
            if now >= session.expires_at or now >= absolute_end:
                tx.delete_session(id_hash)
                return None
            if now - session.last_seen_at >= _SESSION_TOUCH_EVERY:
                idle_end = now + timedelta(seconds=self.settings.session_idle_seconds)
                tx.touch_session(id_hash, now, min(idle_end, absolute_end))
            return tx.user_by_id(session.user_id)

    def end_session(self, raw: str | None, ip: str) -> None:
        if not credentials.looks_like(raw, credentials.SESSION):
            return
        assert raw is not None
        with self.storage.transaction() as tx:
            session = tx.session_by_hash(credentials.token_hash(raw))
            if session is not None:
                tx.delete_session(session.id_hash)
                self._audit(tx, audit.SIGNOUT, user_id=session.user_id, ip=ip)

    # -- applications and buttons ---------------------------------------------------------

    def create_app(
        self,
        *,
        name: str,
        origins: list[str],
        scopes: str | list[str],
        with_secret: bool = False,
        hardened: bool = False,
        owner_id: str | None = None,
        logo_url: str = "",
        homepage_url: str = "",
        privacy_url: str = "",
        terms_url: str = "",
        notice_url: str = "",
    ) -> tuple[Application, str | None]:
        if not origins:
            raise InvalidRequest("Register at least one JavaScript origin.")
        if len(origins) > 20:
            raise InvalidRequest("At most 20 origins per application.")
        if hardened and not with_secret:
            raise InvalidRequest("Hardened delivery needs an application secret.")
        secret = credentials.new_token(credentials.APP_SECRET) if with_secret else None
        app = Application(
            id=credentials.new_id("app_"),
            name=check_app_name(name),
            owner_id=owner_id,
            status="pending",
            scopes=parse_scopes(scopes),
            origins=tuple(dict.fromkeys(normalize_origin(o) for o in origins)),
            secret_hash=credentials.token_hash(secret) if secret else None,
            hardened=hardened,
            logo_url=check_https_url(logo_url, "logo URL"),
            homepage_url=check_https_url(homepage_url, "homepage URL"),
            privacy_url=check_https_url(privacy_url, "privacy policy URL"),
            terms_url=check_https_url(terms_url, "terms URL"),
            notice_url=check_notice_url(notice_url),
            created_at=self.clock.now(),
        )
        with self.storage.transaction() as tx:
            tx.add_app(app)
            self._audit(tx, audit.APP_CREATED, app_id=app.id)
        return app, secret

    def set_app_status(self, app_id: str, status: str) -> Application:
        if status not in STATUSES:
            raise InvalidRequest(f"Status must be one of {', '.join(STATUSES)}.")
        with self.storage.transaction() as tx:
            app = tx.app_by_id(app_id) if _APP_ID.fullmatch(app_id) else None
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            tx.set_app_status(app_id, status)
            self._audit(tx, audit.APP_STATUS, app_id=app_id, detail={"status": status})
        return replace(app, status=status)

    def list_apps(self) -> list[Application]:
        with self.storage.transaction() as tx:
            return tx.list_apps()

    def create_button(
        self,
        *,
        app_id: str,
        scopes: str | list[str],
        theme: str = "light",
        size: str = "medium",
        text: str = "Sign in with LeadExec",
    ) -> Button:
        wanted = parse_scopes(scopes)
        if theme not in THEMES:
            raise InvalidRequest(f"Theme must be one of {', '.join(THEMES)}.")
        if size not in SIZES:
            raise InvalidRequest(f"Size must be one of {', '.join(SIZES)}.")
        text = " ".join(text.split())
        if not 1 <= len(text) <= 40:
            raise InvalidRequest("Button text must have 1 to 40 characters.")
        if not text.isprintable():
            raise InvalidRequest("Button text cannot contain control characters.")
        with self.storage.transaction() as tx:
            app = tx.app_by_id(app_id)
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            extra = wanted - app.scopes
            if extra:
                raise InvalidRequest(
                    f"The application is not allowed the scopes: {', '.join(sorted(extra))}."
                )
            button = Button(
                id=credentials.new_id("btn_"),
                app_id=app_id,
                scopes=wanted,
                theme=theme,
                size=size,
                text=text,
                created_at=self.clock.now(),
            )
            tx.add_button(button)
        return button

    def button(self, btn_id: str) -> tuple[Button, Application] | None:
        with self.storage.transaction() as tx:
            button = tx.button_by_id(btn_id)
            app = tx.app_by_id(button.app_id) if button else None
        return (button, app) if button and app else None

    # -- the partner console -------------------------------------------------------------

    def apps_for_owner(self, owner: User) -> list[Application]:
        with self.storage.transaction() as tx:
            return tx.apps_for_owner(owner.id)

    def _owned(self, tx: Transaction, app_id: str, owner: User) -> Application:
        # Only a well-formed id reaches storage (a NUL byte would be a 500 on PostgreSQL).
        app = tx.app_by_id(app_id) if _APP_ID.fullmatch(app_id) else None
        # Another partner's application is "not found", never "forbidden".
        if app is None or (app.owner_id != owner.id and not owner.is_operator):
            raise NotFound("No such application in your account.")
        return app

    def owned_app(self, app_id: str, owner: User) -> tuple[Application, list[Button]]:
        with self.storage.transaction() as tx:
            app = self._owned(tx, app_id, owner)
            return app, tx.buttons_for_app(app.id)

    def rotate_secret(self, app_id: str, owner: User) -> str:
        """A new secret replaces the old one at once; it is shown once and stored hashed."""
        secret = credentials.new_token(credentials.APP_SECRET)
        with self.storage.transaction() as tx:
            app = self._owned(tx, app_id, owner)
            tx.set_app_secret_hash(app.id, credentials.token_hash(secret))
            self._audit(tx, audit.APP_SECRET_ROTATED, user_id=owner.id, app_id=app.id)
        return secret

    def set_origins(self, app_id: str, owner: User, origins: list[str]) -> Application:
        canonical = tuple(dict.fromkeys(normalize_origin(o) for o in origins if o.strip()))
        if not canonical:
            raise InvalidRequest("Register at least one JavaScript origin.")
        if len(canonical) > 20:
            raise InvalidRequest("At most 20 origins per application.")
        with self.storage.transaction() as tx:
            app = self._owned(tx, app_id, owner)
            tx.set_app_origins(app.id, canonical)
        return replace(app, origins=canonical)

    def create_owned_button(self, app_id: str, owner: User, **options: str) -> Button:
        with self.storage.transaction() as tx:
            self._owned(tx, app_id, owner)
        return self.create_button(app_id=app_id, **options)  # type: ignore[arg-type]

    def try_it_button(self) -> Button:
        """The built-in application behind the console's "Try It" page, on this origin."""
        found = self.button(TRY_IT_BUTTON)
        if found is not None:
            return found[0]
        now = self.clock.now()
        app = Application(
            id=TRY_IT_APP,
            name="LeadExec Try It",
            owner_id=None,
            status=APPROVED,
            scopes=frozenset({"profile"}),
            origins=(self.settings.issuer_origin,),
            created_at=now,
        )
        button = Button(id=TRY_IT_BUTTON, app_id=TRY_IT_APP, scopes=app.scopes, created_at=now)
        try:
            with self.storage.transaction() as tx:
                tx.add_app(app)
                tx.add_button(button)
        except Conflict:
            pass  # another process made it first
        return button

    # -- authorization (popup and silent iframe) ------------------------------------------

    def check_authorize(self, request: AuthorizeRequest) -> AuthorizeContext:
        with self.storage.transaction() as tx:
            return check_request(tx, request)

    def scopes_to_ask(self, ctx: AuthorizeContext, user: User) -> frozenset[str]:
        """Incremental consent: only the scopes the user has not granted yet."""
        with self.storage.transaction() as tx:
            grant = tx.active_grant(user.id, ctx.app.id)
        return ctx.scopes - (grant.scopes if grant else frozenset())

    def granted_scopes(self, ctx: AuthorizeContext, user: User) -> frozenset[str]:
        with self.storage.transaction() as tx:
            grant = tx.active_grant(user.id, ctx.app.id)
        return grant.scopes if grant else frozenset()

    def deny(self, ctx: AuthorizeContext, user: User, ip: str) -> None:
        with self.storage.transaction() as tx:
            self._audit(tx, audit.CONSENT_DENIED, user_id=user.id, app_id=ctx.app.id, ip=ip)

    def authorize(
        self, ctx: AuthorizeContext, user: User, ip: str, *, consent: bool
    ) -> Authorization | None:
        """Finish a sign-in: with ``consent`` the button's scopes are added to the grant;
        without it the grant must already cover them, else None (a prompt is needed)."""
        now = self.clock.now()
        with self.storage.transaction() as tx:
            # Re-checked inside the writing transaction: the app may have been suspended or
            # the origin removed since the dialog was shown.
            ctx = check_request(tx, ctx.request)
            grant = tx.active_grant(user.id, ctx.app.id)
            if grant is None or not ctx.scopes <= grant.scopes:
                if not consent:
                    return None
                grant = self._widen_grant(tx, grant, user, ctx, now)
                self._audit(
                    tx,
                    audit.CONSENT,
                    user_id=user.id,
                    app_id=ctx.app.id,
                    ip=ip,
                    detail={"scopes": sorted(grant.scopes)},
                )
            tx.touch_grant(grant.id, now)
            claims = user_claims(user, grant.scopes)
            if ctx.app.hardened:
                code = credentials.new_token(credentials.CODE)
                tx.add_code(
                    AuthorizationCode(
                        code_hash=credentials.token_hash(code),
                        grant_id=grant.id,
                        app_id=ctx.app.id,
                        expires_at=now + timedelta(seconds=self.settings.code_ttl_seconds),
                    )
                )
                return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, None, code)
            tokens = self._issue(tx, grant, now, refresh=True)
            self._audit(tx, audit.TOKEN_ISSUED, user_id=user.id, app_id=ctx.app.id, ip=ip)
            return Authorization(ctx.app.id, ctx.button.id, grant.scopes, claims, tokens, None)

    def _widen_grant(
        self,
        tx: Transaction,
        grant: Grant | None,
        user: User,
        ctx: AuthorizeContext,
        now: datetime,
    ) -> Grant:
        if grant is None:
            grant = Grant(
                id=credentials.new_id("grt_"),
                user_id=user.id,
                app_id=ctx.app.id,
                scopes=ctx.scopes,
                created_at=now,
                last_used_at=now,
            )
            tx.add_grant(grant)
            return grant
        scopes = grant.scopes | ctx.scopes
        tx.set_grant_scopes(grant.id, scopes)
        return replace(grant, scopes=scopes)

    def _issue(
        self, tx: Transaction, grant: Grant, now: datetime, *, refresh: bool
    ) -> IssuedTokens:
        refresh_token = credentials.new_token(credentials.REFRESH) if refresh else ""
        if refresh:
            tx.add_refresh_token(
                RefreshToken(
                    token_hash=credentials.token_hash(refresh_token),
                    grant_id=grant.id,
                    app_id=grant.app_id,
                    created_at=now,
                )
            )
        access_token = credentials.new_token(credentials.ACCESS)
        expires = now + timedelta(seconds=self.settings.access_token_ttl_seconds)
        tx.add_access_token(
            AccessToken(
                token_hash=credentials.token_hash(access_token),
                grant_id=grant.id,
                app_id=grant.app_id,
                scopes=grant.scopes,
                expires_at=expires,
                created_at=now,
            )
        )
        return IssuedTokens(refresh_token, access_token, expires, grant.scopes)

    # -- token exchange (seed: "Obtaining an access token") --------------------------------

    def _authenticate_app(
        self,
        tx: Transaction,
        app_id: str,
        app_secret: str | None,
        loaded: Application | None = None,
    ) -> Application:
        """``loaded`` is the application a token lookup already joined, saving two queries."""
        app = loaded if loaded is not None and loaded.id == app_id else tx.app_by_id(app_id)
        if app is None:
            raise InvalidClient("Unknown application ID.")
        if app.secret_hash is not None:
            if not app_secret:
                raise InvalidClient("This application requires its appSecret.")
            if not credentials.same(credentials.token_hash(app_secret), app.secret_hash):
                raise InvalidClient("The application secret is not correct.")
        if app.status != APPROVED:
            raise InvalidClient(f"The application is {app.status}.")
        return app

    def _limit(self, limit: str, *key: str) -> None:
        wait = self.limiter.hit(limit, *key)
        if wait is not None:
            raise RateLimited(retry_after=wait)

    def _limit_app(self, app_id: str) -> None:
        """Counted only for exchanges that proved the token: the appId is public, so
        counting failures would let anyone exhaust a partner's budget."""
        self._limit(self.settings.token_limit_per_app, "token-app", app_id)

    def exchange_refresh_token(
        self, app_id: str, refresh_token: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        if not _APP_ID.fullmatch(app_id):
            raise InvalidClient("The appId is not a valid application ID.")
        self._limit(self.settings.token_limit_per_ip, "token-ip", ip)
        if not credentials.looks_like(refresh_token, credentials.REFRESH):
            raise InvalidGrant()
        now = self.clock.now()
        with self.storage.transaction() as tx:
            found = tx.refresh_token_context(credentials.token_hash(refresh_token))
            app = self._authenticate_app(tx, app_id, app_secret, found[1].app if found else None)
            if found is None:
                raise InvalidGrant()
            token, ctx = found
            # Another application's refresh token is refused exactly like a made-up one.
            if not credentials.same(token.app_id, app.id) or not ctx.grant.active:
                raise InvalidGrant()
            self._limit_app(app.id)
            tx.touch_grant(ctx.grant.id, now)
            issued = self._issue(tx, ctx.grant, now, refresh=False)
            self._audit(tx, audit.TOKEN_REFRESHED, user_id=ctx.user.id, app_id=app.id, ip=ip)
        return replace(issued, refresh_token=refresh_token)

    def exchange_code(
        self, app_id: str, code: str, app_secret: str | None, ip: str
    ) -> IssuedTokens:
        if not _APP_ID.fullmatch(app_id):
            raise InvalidClient("The appId is not a valid application ID.")
        self._limit(self.settings.token_limit_per_ip, "token-ip", ip)
        if not credentials.looks_like(code, credentials.CODE):
            raise InvalidGrant("The code is not valid, was already used or has expired.")
        now = self.clock.now()
        with self.storage.transaction() as tx:
            app = self._authenticate_app(tx, app_id, app_secret)
            if not app.requires_secret:
                raise InvalidClient("Codes are exchanged only by applications with a secret.")
            self._limit_app(app.id)
            taken = tx.take_code(credentials.token_hash(code))
            grant = tx.grant_by_id(taken.grant_id) if taken else None
            if (
                taken is None
                or grant is None
                or not grant.active
                or not credentials.same(taken.app_id, app.id)
                or now >= taken.expires_at
            ):
                raise InvalidGrant("The code is not valid, was already used or has expired.")
            issued = self._issue(tx, grant, now, refresh=True)
            self._audit(tx, audit.CODE_EXCHANGED, user_id=grant.user_id, app_id=app.id, ip=ip)
        return issued

    # -- revocation -----------------------------------------------------------------------

    def revoke_token(self, token: str, ip: str) -> None:
        """Seed's disconnect (and RFC 7009): the token's whole grant goes, at once."""
        if credentials.looks_like(token, credentials.REFRESH):
            lookup = "refresh"
        elif credentials.looks_like(token, credentials.ACCESS):
            lookup = "access"
        else:
            raise InvalidGrant("The token is not valid or has already been revoked.")
        with self.storage.transaction() as tx:
            digest = credentials.token_hash(token)
            found = (
                tx.refresh_token_context(digest)
                if lookup == "refresh"
                else tx.access_token_context(digest)
            )
            if found is None or not found[1].grant.active:
                raise InvalidGrant("The token is not valid or has already been revoked.")
            self._revoke(tx, found[1].grant, ip, via="token")

    def connected_apps(self, user_id: str) -> list[GrantListing]:
        with self.storage.transaction() as tx:
            return tx.grants_for_user(user_id)

    def remove_access(self, user: User, grant_id: str, ip: str) -> None:
        with self.storage.transaction() as tx:
            grant = tx.grant_by_id(grant_id) if grant_id.startswith("grt_") else None
            # Someone else's grant is "not found", never "forbidden": ids are not confirmed.
            if grant is None or grant.user_id != user.id or not grant.active:
                raise NotFound("That application is not connected to your account.")
            self._revoke(tx, grant, ip, via="user")

    def revoke_by_operator(self, app_id: str, email: str) -> None:
        """An operator removes one user's grant to one application (command line)."""
        with self.storage.transaction() as tx:
            user = tx.user_by_email(normalize_email(email))
            grant = tx.active_grant(user.id, app_id) if user else None
            if grant is None:
                raise NotFound("That user has no access to that application.")
            self._revoke(tx, grant, "", via="operator")

    def _revoke(self, tx: Transaction, grant: Grant, ip: str, *, via: str) -> None:
        now = self.clock.now()
        if tx.revoke_grant(grant.id, now):
            app = tx.app_by_id(grant.app_id)
            if app is not None and app.notice_url:
                # Same transaction as the revocation: no revocation without its notice.
                tx.add_notice(revocation_notice(app, grant, now, via), now)
            self._audit(
                tx,
                audit.GRANT_REVOKED,
                user_id=grant.user_id,
                app_id=grant.app_id,
                ip=ip,
                detail={"via": via},
            )

    # -- the LeadExec API -----------------------------------------------------------------

    def check_access_token(self, token: str | None) -> tuple[AccessToken, TokenContext]:
        if not token or not credentials.looks_like(token, credentials.ACCESS):
            raise InvalidToken()
        with self.storage.transaction() as tx:
            found = tx.access_token_context(credentials.token_hash(token))
        if found is None:
            raise InvalidToken()
        access, ctx = found
        if (
            self.clock.now() >= access.expires_at
            or not ctx.grant.active
            or ctx.app.status != APPROVED
        ):
            raise InvalidToken()
        return access, ctx

    def delete_expired(self) -> int:
        """Housekeeping: expired access tokens, codes and sessions can never be used again."""
        with self.storage.transaction() as tx:
            return tx.delete_expired(self.clock.now())

    # -- signing keys and disconnect notices ---------------------------------------------

    def signing_key(self) -> SigningKey:
        """The newest key, made on first use (two processes racing make two valid keys)."""
        with self.storage.transaction() as tx:
            keys = tx.signing_keys()
            if keys:
                return keys[-1]
            key = new_signing_key(credentials.new_id("key_"), self.clock.now())
            tx.add_signing_key(key)
            return key

    def public_keys(self) -> list[dict[str, str]]:
        with self.storage.transaction() as tx:
            keys = tx.signing_keys()
        if not keys:
            keys = [self.signing_key()]
        return [k.public_jwk() for k in keys]

    def take_due_notices(self, limit: int = 20) -> list[Notice]:
        now = self.clock.now()
        with self.storage.transaction() as tx:
            due = tx.due_notices(now, limit)
            return [n for n in due if tx.lease_notice(n, now + notices.LEASE)]

    def finish_notice(self, notice: Notice, *, delivered: bool, error: str = "") -> None:
        now = self.clock.now()
        attempts = notice.attempts + 1
        if delivered:
            next_at, done_at = None, now
        elif attempts >= notices.MAX_ATTEMPTS:
            next_at, done_at = None, None  # given up; kept for the operator to see
            log.warning("notice %s to app %s abandoned: %s", notice.id, notice.app_id, error)
        else:
            next_at, done_at = now + notices.backoff(attempts), None
        with self.storage.transaction() as tx:
            tx.finish_notice(
                notice.id,
                attempts=attempts,
                delivered_at=done_at,
                next_attempt_at=next_at,
                error=error,
            )

    def notices_for_app(self, app_id: str) -> list[Notice]:
        with self.storage.transaction() as tx:
            return tx.notices_for_app(app_id)

    # -- housekeeping ---------------------------------------------------------------------

    def _audit(
        self,
        tx: Transaction,
        event: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        ip: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        tx.record(
            audit.AuditEvent(
                at=self.clock.now(),
                event=event,
                user_id=user_id,
                app_id=app_id,
                ip=ip,
                detail=detail or {},
            )
        )
        log.info("audit %s user=%s app=%s", event, user_id, app_id)
