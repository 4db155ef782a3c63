"""The partner console: a partner's own applications, their origins, buttons and secret.

Another partner's application is "not found", never "forbidden": ids are not confirmed.
"""

from __future__ import annotations

from dataclasses import replace

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.apps import APP_ID, TRY_IT_BUTTON, AppsTx, Registry, check_origins
from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.clients import CLIENT_SECRET_BASIC, CONFIDENTIAL, NONE, ClientRegistration
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import NotFound
from leadexec_signin.core.ports import Store


def owned(tx: AppsTx, app_id: str, owner: User) -> Application:
    # Only a well-formed id reaches storage (a NUL byte would be a 500 on PostgreSQL).
    app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
    if app is None or (app.owner_id != owner.id and not owner.is_operator):
        raise NotFound("No such application in your account.")
    return app


class Console:
    def __init__(self, store: Store[AppsTx], clock: Clock, registry: Registry) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry

    def apps_for_owner(self, owner: User) -> list[Application]:
        with self.store.transaction() as tx:
            return tx.apps_for_owner(owner.id)

    def owned_app(self, app_id: str, owner: User) -> tuple[Application, list[Button]]:
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            return app, tx.buttons_for_app(app.id)

    def rotate_secret(self, app_id: str, owner: User) -> str:
        """A new secret replaces the old one at once; it is shown once and stored hashed."""
        secret = credentials.new_token(credentials.APP_SECRET)
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            tx.set_app_secret_hash(app.id, credentials.token_hash(secret))
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
                tx, self.clock.now(), event, user_id=owner.id, app_id=app.id, subject=app.id
            )
        return secret

    def set_origins(self, app_id: str, owner: User, origins: list[str]) -> Application:
        """An application that signs in through its redirect URIs may drop every origin."""
        with self.store.transaction() as tx:
            app = owned(tx, app_id, owner)
            keep_none = not any(o.strip() for o in origins) and bool(app.redirect_uris)
            canonical = () if keep_none else check_origins(origins)
            tx.set_app_origins(app.id, canonical)
            audit.record(
                tx,
                self.clock.now(),
                audit.APP_UPDATED,
                user_id=owner.id,
                app_id=app.id,
                subject=app.id,
                detail={"changed": "origins", "origins": list(canonical)},
            )
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
        return self.registry.create_button(app_id=app_id, actor=owner.id, **options)  # type: ignore[arg-type]

    def try_it_button(self) -> Button:
        """The built-in button, made at start-up (``Registry.ensure_try_it``)."""
        found = self.registry.button(TRY_IT_BUTTON)
        if found is None:
            raise NotFound("The Try It application is not set up; restart the server.")
        return found[0]
