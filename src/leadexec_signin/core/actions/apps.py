"""Registering applications and their buttons (console and command line), and the built-in
"Try It" application that the console's test page signs in with."""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlencode

from leadexec_signin import i18n
from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import (
    APPROVED,
    DEFAULT_BUTTON_TEXT,
    SIZES,
    THEMES,
    Application,
    Button,
    check_app_name,
    check_https_url,
    check_notice_url,
    normalize_origin,
)
from leadexec_signin.core.clients import ClientRegistration, check_registration
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, InvalidRequest, NotFound
from leadexec_signin.core.mail import Mailer, compose
from leadexec_signin.core.ports import Apps, Audit, Operators, PartnerApps, Store, Users
from leadexec_signin.core.scopes import parse_scopes

# Fixed ids of the console's built-in "Try It" application.
TRY_IT_APP = "app_leadexec-try-it-builtin"
TRY_IT_BUTTON = "btn_leadexec-try-it-builtin"
APP_ID = re.compile(r"^app_[A-Za-z0-9_-]{22,64}$")
MAX_ORIGINS = 20


class AppsTx(Apps, PartnerApps, Audit, Users, Operators, Protocol):
    pass


def check_origins(origins: list[str]) -> tuple[str, ...]:
    canonical = tuple(dict.fromkeys(normalize_origin(o) for o in origins if o.strip()))
    if not canonical:
        raise InvalidRequest("Register at least one JavaScript origin.")
    if len(canonical) > MAX_ORIGINS:
        raise InvalidRequest(f"At most {MAX_ORIGINS} origins per application.")
    return canonical


def check_button_text(text: str) -> str:
    text = " ".join(text.split())
    if not 1 <= len(text) <= 40:
        raise InvalidRequest("Button text must have 1 to 40 characters.")
    if not text.isprintable():
        raise InvalidRequest("Button text cannot contain control characters.")
    return text


def check_button_look(theme: str, size: str) -> None:
    if theme not in THEMES:
        raise InvalidRequest(f"Theme must be one of {', '.join(THEMES)}.")
    if size not in SIZES:
        raise InvalidRequest(f"Size must be one of {', '.join(SIZES)}.")


class Registry:
    def __init__(
        self,
        store: Store[AppsTx],
        clock: Clock,
        mailer: Mailer | None = None,
        issuer: str = "",
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.issuer = issuer

    def register(
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
        client: ClientRegistration | None = None,
    ) -> tuple[Application, str | None]:
        """A new application starts pending; the secret is returned once and stored hashed.

        It needs a JavaScript origin (the sign-in button) or a redirect URI (standard OAuth
        2.1 / OpenID Connect), or both."""
        reg = check_registration(client or ClientRegistration(), has_secret=with_secret)
        # A device-only client (a TV app, a CLI) has neither: it signs in through /device.
        if not origins and not reg.redirect_uris and not reg.device_grant:
            raise InvalidRequest("Register at least one JavaScript origin or redirect URI.")
        if len(origins) > MAX_ORIGINS:
            raise InvalidRequest(f"At most {MAX_ORIGINS} origins per application.")
        if hardened and not with_secret:
            raise InvalidRequest("Hardened delivery needs an application secret.")
        secret = credentials.new_token(credentials.APP_SECRET) if with_secret else None
        now = self.clock.now()
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
            created_at=now,
            redirect_uris=reg.redirect_uris,
            client_type=reg.client_type,
            auth_method=reg.auth_method,
            jwks_uri=reg.jwks_uri,
            jwks=reg.jwks,
            rotate_refresh_tokens=reg.rotate_refresh_tokens,
            require_mfa=reg.require_mfa,
            dpop_bound_access_tokens=reg.dpop_bound_access_tokens,
            device_grant=reg.device_grant,
            pkce_optional=reg.pkce_optional,
            require_par=reg.require_par,
            post_logout_redirect_uris=reg.post_logout_redirect_uris,
            backchannel_logout_uri=reg.backchannel_logout_uri,
            access_token_format=reg.access_token_format,
            id_token_alg=reg.id_token_alg,
        )
        with self.store.transaction() as tx:
            tx.add_app(app)
            actor = owner_id or "cli"
            audit.record(
                tx,
                now,
                audit.APP_CREATED,
                app_id=app.id,
                user_id=owner_id,
                actor=actor,
                subject=app.id,
                detail={"name": app.name},
            )
            if secret:
                audit.record(
                    tx,
                    now,
                    audit.APP_SECRET_CREATED,
                    app_id=app.id,
                    user_id=owner_id,
                    actor=actor,
                    subject=app.id,
                )
            owner = tx.user_by_id(owner_id) if owner_id else None
            operators = tx.operators() if owner is not None else []
        if owner is not None:
            self._announce(app, owner.email, operators)
        return app, secret

    def _announce(self, app: Application, owner: str, operators: list[User]) -> None:
        """A partner registered an application: every operator is told it waits for them, in
        their own language, after the commit (an operator's own command-line registration
        announces nothing: it is already theirs to approve)."""
        if self.mailer is None:
            return
        review = f"{self.issuer}/admin?" + urlencode({"q": app.id})
        for operator in operators:
            if operator.email == owner:
                continue
            with i18n.using(i18n.supported(operator.locale) or i18n.DEFAULT):
                message = compose(
                    operator.email, "app_registered", app=app.name, id=app.id, owner=owner,
                    review=review,
                )  # fmt: skip
            self.mailer.send(message)

    def set_client(
        self, app_id: str, client: ClientRegistration, *, actor: str = "cli"
    ) -> Application:
        """Replace what an application registered for the OAuth 2.1 / OpenID Connect surface
        (the console's and the command line's edit). Its secret, if any, stays."""
        with self.store.transaction() as tx:
            app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            reg = check_registration(client, has_secret=app.requires_secret)
            if not app.origins and not reg.redirect_uris and not reg.device_grant:
                raise InvalidRequest("Keep at least one JavaScript origin or redirect URI.")
            tx.set_app_redirect_uris(app_id, reg.redirect_uris)
            tx.set_app_client(app_id, reg)
            audit.record(
                tx,
                self.clock.now(),
                audit.APP_UPDATED,
                app_id=app_id,
                actor=actor,
                subject=app_id,
                detail={
                    "changed": "client",
                    "redirectUris": list(reg.redirect_uris),
                    "authMethod": reg.auth_method,
                    "clientType": reg.client_type,
                },
            )
            updated = tx.app_by_id(app_id)
        assert updated is not None
        return updated

    def create_button(
        self,
        *,
        app_id: str,
        scopes: str | list[str],
        theme: str = "light",
        size: str = "medium",
        text: str = DEFAULT_BUTTON_TEXT,
        actor: str = "cli",
    ) -> Button:
        wanted = parse_scopes(scopes)
        check_button_look(theme, size)
        text = check_button_text(text)
        with self.store.transaction() as tx:
            app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
            if app is None:
                raise NotFound(f"No application {app_id[:80]!r}.")
            extra = wanted - app.scopes
            if extra:
                raise InvalidRequest(
                    f"The application is not allowed the scopes: {', '.join(sorted(extra))}."
                )
            now = self.clock.now()
            button = Button(
                id=credentials.new_id("btn_"),
                app_id=app_id,
                scopes=wanted,
                theme=theme,
                size=size,
                text=text,
                created_at=now,
            )
            tx.add_button(button)
            audit.record(
                tx,
                now,
                audit.APP_UPDATED,
                app_id=app_id,
                actor=actor,
                subject=button.id,
                detail={"changed": "button", "scopes": sorted(wanted)},
            )
        return button

    def app(self, app_id: str) -> Application | None:
        if not APP_ID.fullmatch(app_id):
            return None
        with self.store.transaction() as tx:
            return tx.app_by_id(app_id)

    def button(self, btn_id: str) -> tuple[Button, Application] | None:
        with self.store.transaction() as tx:
            button = tx.button_by_id(btn_id)
            app = tx.app_by_id(button.app_id) if button else None
        return (button, app) if button and app else None

    def list_apps(self) -> list[Application]:
        """Every partner application; the built-in Try It application is not one (suspending
        it would only break the console's test page)."""
        with self.store.transaction() as tx:
            return [app for app in tx.list_apps() if app.id != TRY_IT_APP]

    def ensure_try_it(self, origin: str) -> None:
        """Made at start-up, never on a GET: the built-in application answers on ``origin``
        (this server's own), which is updated when the server's address changed."""
        now = self.clock.now()
        app = Application(
            id=TRY_IT_APP,
            name="LeadExec Try It",
            owner_id=None,
            status=APPROVED,
            scopes=frozenset({"profile"}),
            origins=(origin,),
            created_at=now,
        )
        button = Button(id=TRY_IT_BUTTON, app_id=TRY_IT_APP, scopes=app.scopes, created_at=now)
        try:
            with self.store.transaction() as tx:
                existing = tx.app_by_id(TRY_IT_APP)
                if existing is None:
                    tx.add_app(app)
                    tx.add_button(button)
                elif existing.origins != (origin,):
                    tx.set_app_origins(TRY_IT_APP, (origin,))
        except Conflict:
            pass  # another process made it at the same moment
