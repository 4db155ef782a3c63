"""The partner console: a partner's own applications, their origins, buttons and secret.

Another partner's application is "not found", never "forbidden": ids are not confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.apps import (
    APP_ID,
    TRY_IT_BUTTON,
    AppsTx,
    Registry,
    check_button_look,
    check_button_text,
    check_origins,
)
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import (
    AppActivity,
    Application,
    Button,
    check_app_name,
    check_https_url,
    check_notice_url,
)
from leadexec_signin.core.authorize import is_btn_id
from leadexec_signin.core.clients import CLIENT_SECRET_BASIC, CONFIDENTIAL, NONE, ClientRegistration
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.ports import Store
from leadexec_signin.core.scopes import parse_scopes

USAGE_DAYS = 30
# The grace periods a partner may choose for the secret a rotation replaces.
SECRET_GRACE = {
    "0": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


@dataclass(frozen=True)
class Usage:
    days: tuple[date, ...]
    signins: tuple[int, ...]
    exchanges: tuple[int, ...]
    grants: tuple[int, ...]  # live at the end of each day


def usage_series(activity: AppActivity, first: date, days: int) -> Usage:
    span = tuple(first + timedelta(days=i) for i in range(days))
    signins = dict.fromkeys(span, 0)
    for at in activity.signins:
        day = at.astimezone(UTC).date()
        if day in signins:
            signins[day] += 1
    live = []
    for day in span:
        end = datetime.combine(day + timedelta(days=1), time(), UTC)
        alive = [given < end and (gone is None or gone >= end) for given, gone in activity.grants]
        live.append(sum(alive))
    return Usage(
        days=span,
        signins=tuple(signins.values()),
        exchanges=tuple(activity.exchanges.get(day.isoformat(), 0) for day in span),
        grants=tuple(live),
    )


def owned_button(tx: AppsTx, app: Application, btn_id: str) -> Button:
    button = tx.button_by_id(btn_id) if is_btn_id(btn_id) else None
    if button is None or button.app_id != app.id:
        raise NotFound("No such button in this application.")
    return button


def owned(tx: AppsTx, app_id: str, owner: User | None) -> Application:
    """``owner`` None is an operator at the command line, who may act on any application."""
    # Only a well-formed id reaches storage (a NUL byte would be a 500 on PostgreSQL).
    app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
    if app is None or (owner and app.owner_id != owner.id and not owner.is_operator):
        raise NotFound("No such application in your account.")
    return app


class Console:
    def __init__(
        self,
        store: Store[AppsTx],
        clock: Clock,
        registry: Registry,
        usage_log: UsageLog | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry
        self.usage_log = usage_log

    def apps_for_owner(self, owner: User) -> list[Application]:
        with self.store.transaction() as tx:
            return tx.apps_for_owner(owner.id)

    def owned_app(self, app_id: str, owner: User) -> tuple[Application, list[Button]]:
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            return app, tx.buttons_for_app(app.id)

    def rotate_secret(
        self, app_id: str, owner: User | None, grace: timedelta = timedelta(0)
    ) -> str:
        """A new secret, shown once and stored hashed. The one it replaces keeps working for
        ``grace`` (one of ``SECRET_GRACE``), so every backend can move to the new secret
        before the old is refused; with no grace it stops at once (a leaked secret)."""
        if grace not in SECRET_GRACE.values():
            raise InvalidRequest("Choose how long the old secret keeps working.")
        secret = credentials.new_token(credentials.APP_SECRET)
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            tx.set_app_secret_hash(app.id, credentials.token_hash(secret))
            # Only one previous secret: a second rotation within the grace ends the first's.
            keep = app.secret_hash if grace and app.secret_hash else None
            tx.set_previous_secret(app.id, keep, self.clock.now() + grace if keep else None)
            if app.auth_method == NONE:
                # The client type follows the credential: a first secret makes a public
                # client confidential (client_secret_basic) for the standard token endpoint.
                tx.set_app_client(
                    app.id,
                    replace(
                        app.registration,
                        client_type=CONFIDENTIAL,
                        auth_method=CLIENT_SECRET_BASIC,
                    ),
                )
            # The first secret is created, any later one rotated.
            event = audit.APP_SECRET_ROTATED if app.requires_secret else audit.APP_SECRET_CREATED
            audit.record(
                tx,
                self.clock.now(),
                event,
                user_id=owner.id if owner else None,
                app_id=app.id,
                actor=None if owner else "cli",
                subject=app.id,
            )
        return secret

    def _changed(
        self,
        tx: AppsTx,
        owner: User,
        app_id: str,
        detail: Mapping[str, object],
        subject: str | None = None,
    ) -> None:
        """Every console edit is one ``app.updated`` event by its owner, naming what changed."""
        audit.record(
            tx,
            self.clock.now(),
            audit.APP_UPDATED,
            user_id=owner.id,
            app_id=app_id,
            subject=subject or app_id,
            detail=detail,
        )

    def edit_app(
        self,
        app_id: str,
        owner: User,
        *,
        name: str,
        logo_url: str,
        notice_url: str,
        hardened: bool,
        origins: list[str],
    ) -> Application:
        """The console's "Edit application" form: everything is checked before anything is
        written, so a refused form changes nothing."""
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            if hardened and not app.requires_secret:
                raise InvalidRequest("Hardened delivery needs an application secret: create one.")
            keep_none = not any(o.strip() for o in origins) and bool(app.redirect_uris)
            canonical = () if keep_none else check_origins(origins)
            edited = replace(
                app,
                name=check_app_name(name),
                logo_url=check_https_url(logo_url, "logo URL"),
                notice_url=check_notice_url(notice_url),
                hardened=hardened,
                origins=canonical,
            )
            tx.set_app_profile(edited)
            tx.set_app_origins(app.id, canonical)
            self._changed(
                tx,
                owner,
                app.id,
                {
                    "changed": "profile",
                    "name": edited.name,
                    "hardened": hardened,
                    "origins": list(canonical),
                },
            )
        return edited

    def delete_app(self, app_id: str, owner: User, confirm_name: str) -> Application:
        """Ends every grant and token of the application at once; the partner types its
        name to confirm, since nothing brings it back."""
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            if " ".join(confirm_name.split()) != app.name:
                raise InvalidRequest("Type the application's name exactly to delete it.")
            tx.delete_app(app.id)
            self._changed(tx, owner, app.id, {"changed": "deleted", "name": app.name})
        return app

    def edit_button(
        self,
        app_id: str,
        btn_id: str,
        owner: User,
        *,
        scopes: list[str],
        theme: str,
        size: str,
        text: str,
    ) -> Button:
        wanted = parse_scopes(scopes)
        check_button_look(theme, size)
        text = check_button_text(text)
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            button = owned_button(tx, app, btn_id)
            extra = wanted - app.scopes
            if extra:
                raise InvalidRequest(
                    f"The application is not allowed the scopes: {', '.join(sorted(extra))}."
                )
            edited = replace(button, scopes=wanted, theme=theme, size=size, text=text)
            tx.set_button(edited)
            detail = {"changed": "button", "scopes": sorted(wanted)}
            self._changed(tx, owner, app.id, detail, subject=button.id)
        return edited

    def delete_button(self, app_id: str, btn_id: str, owner: User) -> None:
        """Pages still showing the button then get ``invalid_button``; grants stay."""
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            button = owned_button(tx, app, btn_id)
            tx.delete_button(button.id)
            self._changed(tx, owner, app.id, {"changed": "button deleted"}, subject=button.id)

    def buttons_for_owner(self, owner: User) -> list[tuple[Application, list[Button]]]:
        with self.store.transaction() as tx:
            return [(app, tx.buttons_for_app(app.id)) for app in tx.apps_for_owner(owner.id)]

    def usage(self, app_id: str, owner: User, days: int = USAGE_DAYS) -> Usage:
        """Sign-ins, token exchanges and live grants per UTC day, oldest first."""
        today = self.clock.now().astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        if self.usage_log is not None:
            self.usage_log.flush()  # this process's counts, before the chart reads them
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            activity = tx.app_activity(app.id, datetime.combine(first, time(), UTC))
        return usage_series(activity, first, days)

    def set_origins(self, app_id: str, owner: User, origins: list[str]) -> Application:
        """An application that signs in through its redirect URIs may drop every origin."""
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            keep_none = not any(o.strip() for o in origins) and bool(app.redirect_uris)
            canonical = () if keep_none else check_origins(origins)
            tx.set_app_origins(app.id, canonical)
            self._changed(tx, owner, app.id, {"changed": "origins", "origins": list(canonical)})
        return replace(app, origins=canonical)

    def set_client(self, app_id: str, owner: User, client: ClientRegistration) -> Application:
        """The console's OAuth 2.1 / OpenID Connect form: only the owner (or an operator) may
        change where codes and tokens go, since that is who receives them."""
        with self.store.transaction() as tx:
            owned(tx, app_id, owner)
        return self.registry.set_client(app_id, client, actor=owner.id)

    def create_button(self, app_id: str, owner: User, **options: str) -> Button:
        with self.store.transaction() as tx:
            owned(tx, app_id, owner)
        return self.registry.create_button(app_id=app_id, actor=owner.id, **options)

    def try_it_button(self) -> Button:
        """The built-in button, made at start-up (``Registry.ensure_try_it``)."""
        found = self.registry.button(TRY_IT_BUTTON)
        if found is None:
            raise NotFound("The Try It application is not set up; restart the server.")
        return found[0]
