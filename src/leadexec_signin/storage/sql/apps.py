"""SQL for applications, their origins, redirect URIs and buttons (mixed into
``SqlTransaction``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, literal_column, select, union_all, update
from sqlalchemy.engine import Connection, Row

from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.storage.events import app_event
from leadexec_signin.storage.sql import tables as t
from leadexec_signin.storage.sql.rows import (
    app_from_row,
    button_from_row,
    joined,
)

Uris = tuple[tuple[str, ...], tuple[str, ...]]  # (origins, redirect URIs)


def uris_of(c: Connection, app_ids: list[str]) -> dict[str, Uris]:
    """Each application's origins and redirect URIs in registration order, for any number of
    apps in one query (a token check loads its app, so this is on the hot path)."""
    o, r = t.app_origins, t.app_redirect_uris
    both = union_all(
        select(literal_column("'o'").label("kind"), o.c.app_id, o.c.origin.label("uri"),
               o.c.position).where(o.c.app_id.in_(app_ids)),
        select(literal_column("'r'"), r.c.app_id, r.c.uri, r.c.position)
        .where(r.c.app_id.in_(app_ids)),
    )  # fmt: skip
    found: dict[str, tuple[list[str], list[str]]] = {}
    for kind, app_id, uri, _ in c.execute(both.order_by(both.selected_columns.position)):
        origins, redirects = found.setdefault(app_id, ([], []))
        (origins if kind == "o" else redirects).append(uri)
    return {k: (tuple(v[0]), tuple(v[1])) for k, v in found.items()}


def app_with_uris(row: Row[Any], uris: dict[str, Uris], prefix: str = "") -> Application:
    origins, redirect_uris = uris.get(row._mapping[prefix + "id"], ((), ()))
    return app_from_row(row, origins, prefix, redirect_uris)


class AppRepository:
    c: Connection
    # SqlTransaction's: what the caches must hear of after commit (a client is authenticated
    # from the cache, so any edit of its registration is announced).
    changes: list[str]

    def add_app(self, app: Application) -> None:
        self.c.execute(
            insert(t.applications).values(
                id=app.id,
                name=app.name,
                owner_id=app.owner_id,
                status=app.status,
                scopes=joined(app.scopes),
                secret_hash=app.secret_hash,
                hardened=app.hardened,
                logo_url=app.logo_url,
                homepage_url=app.homepage_url,
                privacy_url=app.privacy_url,
                terms_url=app.terms_url,
                notice_url=app.notice_url,
                created_at=app.created_at,
                client_type=app.client_type,
                token_endpoint_auth_method=app.auth_method,
                jwks_uri=app.jwks_uri,
                jwks=app.jwks,
                rotate_refresh_tokens=app.rotate_refresh_tokens,
                require_mfa=app.require_mfa,
                dpop_bound_access_tokens=app.dpop_bound_access_tokens,
                device_grant=app.device_grant,
                pkce_optional=app.pkce_optional,
                require_par=app.require_par,
                post_logout_redirect_uris="\n".join(app.post_logout_redirect_uris),
                backchannel_logout_uri=app.backchannel_logout_uri,
                id_token_alg=app.id_token_alg,
                access_token_format=app.access_token_format,
                kind=app.kind,
                domain=app.domain,
                last_used_at=app.last_used_at,
                registration_token_hash=app.registration_token_hash,
                client_id_url=app.client_id_url,
            )
        )
        if app.origins:
            self.c.execute(
                insert(t.app_origins),
                [
                    {"app_id": app.id, "origin": origin, "position": i}
                    for i, origin in enumerate(app.origins)
                ],
            )
        self._insert_redirect_uris(app.id, app.redirect_uris)

    def _insert_redirect_uris(self, app_id: str, uris: tuple[str, ...]) -> None:
        if uris:
            self.c.execute(
                insert(t.app_redirect_uris),
                [{"app_id": app_id, "uri": uri, "position": i} for i, uri in enumerate(uris)],
            )

    def set_app_redirect_uris(self, app_id: str, uris: tuple[str, ...]) -> None:
        """Replace the whole list: its order is the registration order shown to developers."""
        r = t.app_redirect_uris
        self.changes.append(app_event(app_id))
        self.c.execute(delete(r).where(r.c.app_id == app_id))
        self._insert_redirect_uris(app_id, uris)

    def set_app_client(self, app_id: str, client: ClientRegistration) -> None:
        """Everything of the registration but its redirect URIs (``set_app_redirect_uris``)."""
        self.changes.append(app_event(app_id))
        self.c.execute(
            update(t.applications)
            .where(t.applications.c.id == app_id)
            .values(
                client_type=client.client_type,
                token_endpoint_auth_method=client.auth_method,
                jwks_uri=client.jwks_uri,
                jwks=client.jwks,
                rotate_refresh_tokens=client.rotate_refresh_tokens,
                require_mfa=client.require_mfa,
                dpop_bound_access_tokens=client.dpop_bound_access_tokens,
                device_grant=client.device_grant,
                pkce_optional=client.pkce_optional,
                require_par=client.require_par,
                post_logout_redirect_uris="\n".join(client.post_logout_redirect_uris),
                backchannel_logout_uri=client.backchannel_logout_uri,
                access_token_format=client.access_token_format,
                id_token_alg=client.id_token_alg,
            )
        )

    def app_by_id(self, app_id: str) -> Application | None:
        row = self.c.execute(select(t.applications).where(t.applications.c.id == app_id)).first()
        if row is None:
            return None
        return app_with_uris(row, uris_of(self.c, [app_id]))

    def _apps(self, *where: Any) -> list[Application]:
        """Applications in creation order, with every origin and redirect URI fetched in one
        more query."""
        a = t.applications
        rows = self.c.execute(select(a).where(*where).order_by(a.c.created_at)).all()
        uris = uris_of(self.c, [r.id for r in rows])
        return [app_with_uris(r, uris) for r in rows]

    def list_apps(self) -> list[Application]:
        return self._apps()

    def apps_for_owner(self, owner_id: str) -> list[Application]:
        return self._apps(t.applications.c.owner_id == owner_id)

    def set_app_status(self, app_id: str, status: str) -> None:
        self.c.execute(
            update(t.applications).where(t.applications.c.id == app_id).values(status=status)
        )

    def add_button(self, button: Button) -> None:
        self.c.execute(
            insert(t.buttons).values(
                id=button.id,
                app_id=button.app_id,
                scopes=joined(button.scopes),
                theme=button.theme,
                size=button.size,
                text=button.text,
                created_at=button.created_at,
            )
        )

    def button_by_id(self, btn_id: str) -> Button | None:
        row = self.c.execute(select(t.buttons).where(t.buttons.c.id == btn_id)).first()
        return button_from_row(row) if row else None

    def buttons_for_app(self, app_id: str) -> list[Button]:
        b = t.buttons
        rows = self.c.execute(select(b).where(b.c.app_id == app_id).order_by(b.c.created_at))
        return [button_from_row(r) for r in rows]
