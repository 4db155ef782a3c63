"""Clients that register themselves (``core/self_registered.py`` has their rules): RFC 7591
dynamic registration and RFC 7592 management with a registration access token, the row of a
Client ID Metadata Document's client, the operators' blocked domains, and expiry.

Such a client is ``approved`` from the start (anyone may use it: that is what an agent
registering itself means) but never reviewed: its kind says so wherever a person meets it.
Blocking a domain suspends its clients, so every check that already refuses a suspended
application (authorize, token, the API, the token cache) refuses them too, at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.apps import APPROVED, SUSPENDED, Application
from leadexec_signin.core.clients import NONE, PUBLIC
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import (
    InvalidClientMetadata,
    InvalidToken,
    NotFound,
)
from leadexec_signin.core.limits import Counter, address_block, count_or_refuse
from leadexec_signin.core.ports import Apps, Audit, PartnerApps, Store
from leadexec_signin.core.self_registered import (
    DYNAMIC,
    METADATA_DOCUMENT,
    BlockedDomain,
    ClientMetadata,
    SelfRegisteredClients,
    check_client_metadata,
    check_domain,
    hosts_of,
    is_blocked,
    metadata_document_app_id,
)
from leadexec_signin.settings import Settings


def _covered(app: Application, blocked: set[str]) -> bool:
    """Whether a block covers the client: its domain or any of its redirect URIs' hosts."""
    return any(is_blocked(h, blocked) for h in hosts_of(app.domain, app.redirect_uris))


class SelfRegistrationTx(Apps, PartnerApps, Audit, SelfRegisteredClients, Protocol):
    pass


def _application(
    app_id: str, meta: ClientMetadata, kind: str, now: datetime, token_hash: str | None
) -> Application:
    return Application(
        id=app_id,
        name=meta.client_name,
        owner_id=None,
        status=APPROVED,
        scopes=meta.data_scopes,
        origins=(),
        logo_url=meta.logo_uri,
        homepage_url=meta.client_uri,
        privacy_url=meta.policy_uri,
        terms_url=meta.tos_uri,
        created_at=now,
        redirect_uris=meta.redirect_uris,
        client_type=PUBLIC,
        auth_method=NONE,
        # OAuth 2.1 section 4.3.1: a public client's refresh tokens are always rotated.
        rotate_refresh_tokens=True,
        kind=kind,
        domain=meta.domain,
        last_used_at=now,
        registration_token_hash=token_hash,
        client_id_url=meta.client_id,
    )


class SelfRegistration:
    def __init__(
        self,
        store: Store[SelfRegistrationTx],
        limiter: Counter,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings

    def check(self, raw: object, *, client_id: str = "") -> ClientMetadata:
        """RFC 7591 section 2 metadata, held to this server's scopes for such clients."""
        return check_client_metadata(raw, self.settings.self_registered_scopes, client_id=client_id)

    def _refuse_blocked(self, tx: SelfRegistrationTx, meta: ClientMetadata) -> None:
        """The client's domain and every redirect URI's host (a code goes there)."""
        blocked = {b.domain for b in tx.blocked_domains()}
        for domain in sorted(hosts_of(meta.domain, meta.redirect_uris)):
            if is_blocked(domain, blocked):
                raise InvalidClientMetadata(
                    f"LeadExec does not accept clients from {domain}: an operator blocked it."
                )

    # -- Client ID Metadata Documents ---------------------------------------------------------

    def register_metadata_document_client(self, document: ClientMetadata) -> Application:
        """The row of a client whose ``client_id`` is the URL of its metadata document: made
        the first time, refreshed with the document's metadata each later time (and its last
        use set to now, so a client in use never expires).

        ``document`` is what :meth:`check` made of the fetched JSON, with ``client_id`` its
        URL: the caller has fetched it (size, time, address limits) and checked that the
        document names that same URL. Refused with ``invalid_client_metadata`` when the
        setting does not accept metadata documents or the URL's domain is blocked. A client
        an operator's block suspended stays suspended whatever the document says. The row's
        id is :func:`metadata_document_app_id` of the URL; ``Application.client_id`` gives
        the URL back."""
        if not self.settings.metadata_documents:
            raise InvalidClientMetadata("This server does not accept Client ID Metadata Documents.")
        url = document.client_id
        if not url.startswith(("https://", "http://")):
            raise InvalidClientMetadata("A metadata document's client_id is its https URL.")
        now = self.clock.now()
        app_id = metadata_document_app_id(url)
        with self.store.transaction() as tx:
            self._refuse_blocked(tx, document)
            existing = tx.app_by_id(app_id)
            fresh = _application(app_id, document, METADATA_DOCUMENT, now, None)
            if existing is None:
                tx.add_app(fresh)
                self._audit_created(tx, fresh, now)
                return fresh
            kept = replace(fresh, status=existing.status, created_at=existing.created_at)
            tx.set_self_registered(kept)
            return kept

    # -- RFC 7591 and RFC 7592 ----------------------------------------------------------------

    def register(self, raw: object, ip: str) -> tuple[Application, str]:
        """RFC 7591 section 3: a public client, and its registration access token (returned
        once, kept as its SHA-256). Every request counts against the address's limit, a
        refused one too, so a flood of bad registrations is as limited as good ones."""
        if not self.settings.dynamic_registration:
            raise NotFound("Dynamic client registration is not enabled on this server.")
        count_or_refuse(
            self.limiter, self.settings.registration_limit_per_ip, "register-ip", address_block(ip)
        )
        meta = self.check(raw)
        token = credentials.new_token(credentials.REGISTRATION)
        now = self.clock.now()
        app = _application(
            credentials.new_id("app_"), meta, DYNAMIC, now, credentials.token_hash(token)
        )
        with self.store.transaction() as tx:
            self._refuse_blocked(tx, meta)
            tx.add_app(app)
            self._audit_created(tx, app, now)
        return app, token

    def _own(self, tx: SelfRegistrationTx, app_id: str, token: str) -> Application:
        """RFC 7592 section 2: the client the token was issued for, or 401 invalid_token,
        the same answer for an unknown client, a wrong token and no token (nothing tells
        which one exists). The hashes are compared in constant time."""
        app = tx.app_by_id(app_id) if APP_ID.fullmatch(app_id) else None
        offered = credentials.token_hash(token) if credentials.looks_like(
            token, credentials.REGISTRATION
        ) else ""  # fmt: skip
        stored = app.registration_token_hash if app is not None else None
        if not credentials.same(offered, stored or "-") or app is None or app.kind != DYNAMIC:
            raise InvalidToken("The registration access token is not valid for this client.")
        return app

    def read(self, app_id: str, token: str) -> Application:
        """RFC 7592 section 2.1."""
        with self.store.transaction() as tx:
            return self._own(tx, app_id, token)

    def update(self, app_id: str, token: str, raw: object) -> Application:
        """RFC 7592 section 2.2: the metadata sent replaces the whole registration (a field
        left out is empty or its default); ``client_id`` must be the client's own. The token
        is checked first, so a stranger learns nothing from the other refusals."""
        with self.store.transaction() as tx:
            app = self._own(tx, app_id, token)
            if isinstance(raw, dict):
                if raw.get("client_id") != app_id:
                    raise InvalidClientMetadata("client_id must be this client's identifier.")
                if "client_secret" in raw:
                    raise InvalidClientMetadata("A public client has no client_secret.")
            meta = self.check(raw)
            self._refuse_blocked(tx, meta)
            now = self.clock.now()
            updated = replace(
                _application(app.id, meta, DYNAMIC, now, app.registration_token_hash),
                status=app.status,
                created_at=app.created_at,
            )
            tx.set_self_registered(updated)
            audit.record(
                tx, now, audit.APP_UPDATED, app_id=app.id, actor=app.id, subject=app.id,
                detail={"changed": "registration", "domain": meta.domain},
            )  # fmt: skip
        return updated

    def delete(self, app_id: str, token: str) -> None:
        """RFC 7592 section 2.3: the client, its grants and tokens are gone; so is the
        registration access token."""
        with self.store.transaction() as tx:
            app = self._own(tx, app_id, token)
            tx.delete_app(app.id)
            audit.record(
                tx, self.clock.now(), audit.APP_UPDATED, app_id=app.id, actor=app.id,
                subject=app.id, detail={"changed": "deleted", "name": app.name},
            )  # fmt: skip

    def _audit_created(self, tx: SelfRegistrationTx, app: Application, now: datetime) -> None:
        audit.record(
            tx, now, audit.APP_CREATED, app_id=app.id, actor=app.id, subject=app.id,
            detail={"name": app.name, "kind": app.kind, "domain": app.domain},
        )  # fmt: skip

    # -- the operators' side ------------------------------------------------------------------

    def clients(self) -> tuple[list[Application], list[BlockedDomain]]:
        """For /admin: every self-registered client (most recently used first) and the
        blocked domains."""
        with self.store.transaction() as tx:
            return tx.self_registered_apps(), tx.blocked_domains()

    def block_domain(self, raw: str, *, actor: str) -> list[str]:
        """Refuse the domain (and its subdomains) from now on, and suspend its clients; the
        ids suspended are returned."""
        domain = check_domain(raw)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.add_blocked_domain(BlockedDomain(domain, now, actor))
            hit = [
                a.id
                for a in tx.self_registered_apps()
                if _covered(a, {domain}) and a.status != SUSPENDED
            ]
            for app_id in hit:
                tx.set_app_status(app_id, SUSPENDED)
            audit.record(
                tx, now, audit.DOMAIN_BLOCKED, actor=actor, subject=domain,
                detail={"domain": domain, "suspended": len(hit), "clients": hit[:50]},
            )  # fmt: skip
        return hit

    def unblock_domain(self, raw: str, *, actor: str) -> list[str]:
        """Accept the domain again: its clients the block suspended work again, unless
        another block still covers them (only a block suspends a self-registered client)."""
        domain = check_domain(raw)
        now = self.clock.now()
        with self.store.transaction() as tx:
            if not tx.remove_blocked_domain(domain):
                raise NotFound(f"{domain} is not blocked.")
            still = {b.domain for b in tx.blocked_domains()}
            back = [
                a.id
                for a in tx.self_registered_apps()
                if a.status == SUSPENDED and _covered(a, {domain}) and not _covered(a, still)
            ]
            for app_id in back:
                tx.set_app_status(app_id, APPROVED)
            audit.record(
                tx, now, audit.DOMAIN_UNBLOCKED, actor=actor, subject=domain,
                detail={"domain": domain, "reinstated": len(back)},
            )  # fmt: skip
        return back

    def expire_idle(self) -> int:
        """Delete self-registered clients unused for ``self_registered_idle_days`` (with
        their grants and tokens): an agent that comes back registers again."""
        now = self.clock.now()
        cutoff = now - timedelta(days=self.settings.self_registered_idle_days)
        with self.store.transaction() as tx:
            idle = tx.idle_self_registered(cutoff)
            for app_id in idle:
                tx.delete_app(app_id)
            if idle:
                audit.record(
                    tx, now, audit.CLIENTS_EXPIRED, actor="retention",
                    detail={"count": len(idle), "clients": idle[:50]},
                )  # fmt: skip
        return len(idle)
