"""What one process runs on: every use case, built once by ``compose.build``, and their
lifecycle. The surfaces (web, command line, background tasks) take what they call from here.

This module sits below every surface and above the layers it names, so the web imports it
directly: nothing climbs into the composition root at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.accounts import Accounts
from leadexec_signin.core.actions.admin_api import AdminApi
from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.actions.apps import Registry
from leadexec_signin.core.actions.audit_trail import AuditTrail
from leadexec_signin.core.actions.authorize_code import AuthorizeCode
from leadexec_signin.core.actions.browsers import Browsers
from leadexec_signin.core.actions.client_documents import ClientDocuments
from leadexec_signin.core.actions.client_tokens import ClientTokens
from leadexec_signin.core.actions.codes import OneTimeCodes
from leadexec_signin.core.actions.console import Console
from leadexec_signin.core.actions.device import DeviceFlow
from leadexec_signin.core.actions.dpop import Dpop
from leadexec_signin.core.actions.email_change import EmailChange
from leadexec_signin.core.actions.factors import AccountFactors
from leadexec_signin.core.actions.fedcm import FedCm
from leadexec_signin.core.actions.housekeeping import Housekeeping
from leadexec_signin.core.actions.key_rotation import KeyRotation
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.logout import Logout
from leadexec_signin.core.actions.notices import NoticeOutbox
from leadexec_signin.core.actions.operator import Operator
from leadexec_signin.core.actions.own_account import OwnAccount
from leadexec_signin.core.actions.par import PushedAuthorization
from leadexec_signin.core.actions.passkeys import Passkeys
from leadexec_signin.core.actions.people import People
from leadexec_signin.core.actions.provisioning import Provisioning
from leadexec_signin.core.actions.recovery import AccountRecovery
from leadexec_signin.core.actions.revocation import Revocation
from leadexec_signin.core.actions.self_registration import SelfRegistration
from leadexec_signin.core.actions.sessions import BrowserSessions
from leadexec_signin.core.actions.signin import SignIn
from leadexec_signin.core.actions.token_endpoint import TokenEndpoint
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.ports import RateLimiter
from leadexec_signin.mailers import DevOutbox, QueuedMailer
from leadexec_signin.settings import Settings
from leadexec_signin.storage.placement import Placement
from leadexec_signin.storage.ratelimit import AsyncLimits
from leadexec_signin.storage.replays import AsyncRedisReplays
from leadexec_signin.storage.sql.hot_async import AsyncHotReads
from leadexec_signin.storage.sql.store import SqlStorage
from leadexec_signin.storage.tokencache import TokenChecks

log = logging.getLogger("leadexec_signin.core")


@dataclass
class Services:
    """Everything built once per process; surfaces take the use cases they call from here."""

    settings: Settings
    clock: Clock
    storage: SqlStorage
    limiter: RateLimiter
    token_checks: TokenChecks
    access_tokens: AccessTokens
    usage: UsageLog
    accounts: Accounts
    sessions: BrowserSessions
    registry: Registry
    console: Console
    operator: Operator
    signin: SignIn
    # The one token endpoint of both surfaces, and where its requests (and the API's token
    # checks) run: the event loop or a thread.
    tokens: TokenEndpoint
    placement: Placement
    revocation: Revocation
    api: ApiAccess
    keys: SigningKeys
    notices: NoticeOutbox
    housekeeping: Housekeeping
    # The standard OAuth 2.1 / OpenID Connect surface, over the same grants and tokens.
    authorize_code: AuthorizeCode
    client_tokens: ClientTokens
    logout: Logout
    # The browser's own sign-in dialog (FedCM), over the popup's use case.
    fedcm: FedCm
    # Self-service sign-up, password reset and change of email, and the mail they send: the
    # queue to drain at shutdown (with SMTP) and the development outbox page's messages.
    recovery: AccountRecovery
    email_change: EmailChange
    mail_queue: QueuedMailer | None
    outbox: DevOutbox | None
    # Operations: the audit trail operators search and export; signing-key rotation.
    audit_trail: AuditTrail
    key_rotation: KeyRotation
    # Second factors: passkeys (WebAuthn) and the rules around them.
    passkeys: Passkeys
    factors: AccountFactors
    codes: OneTimeCodes
    browsers: Browsers
    # DPoP proofs (RFC 9449): checked at the token endpoint, userinfo and the LeadExec API.
    dpop: Dpop
    # The device authorization grant (RFC 8628): codes for devices, /device for people.
    device: DeviceFlow
    # Pushed authorization requests (RFC 9126): /oauth2/par.
    par: PushedAuthorization
    # People management: operators' acts on accounts, a person's own profile, export and
    # deletion, and the operators' API tokens (admin REST API, SCIM).
    people: People
    own_account: OwnAccount
    provisioning: Provisioning
    admin_api: AdminApi
    # Clients that register themselves (RFC 7591, Client ID Metadata Documents), the
    # operators' blocked domains, and their expiry.
    self_registration: SelfRegistration
    # Client ID Metadata Documents: a URL client_id fetched, checked and kept; its fetcher
    # (``fetcher``) is the one outbound HTTP client a client can point at any address.
    client_documents: ClientDocuments
    # PostgreSQL: the refresh exchange's read on the event loop (``hot_async.py``); None on
    # SQLite (read in place anyway).
    async_reads: AsyncHotReads | None = None
    # Redis: the hot paths' rate-limit counts awaited on the event loop; None without Redis.
    async_limits: AsyncLimits | None = None
    # Redis: the resources' used DPoP proofs written from the event loop; None without Redis.
    async_replays: AsyncRedisReplays | None = None

    def prepare(self) -> None:
        """Start-up writes, done once before serving so no GET ever writes: the first
        signing key, the access tokens' key and the console's built-in "Try It" application."""
        self.keys.ensure()
        self.access_tokens.ensure_key()
        self.registry.ensure_try_it(self.settings.issuer_origin)

    def close(self) -> None:
        """Shuts what ``build`` opened, in reverse order: what is only in memory is written
        first, then each connection let go. A step that fails is logged and the rest still
        run. The async read pool is closed on its own event loop (:meth:`aclose`)."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("queued mail", self.mail_queue.close if self.mail_queue else _nothing),
            ("usage", self.usage.flush),  # "last used" times are all that would be lost
            ("Redis events", self.token_checks.close),
            ("DPoP proofs' Redis", getattr(self.dpop.replays, "close", _nothing)),
            ("database", self.storage.engine.dispose),
        ]
        for name, step in steps:
            try:
                step()
            except Exception:
                log.warning("%s not closed cleanly at shutdown", name)

    async def astart(self) -> None:
        """The server's start, on its event loop: what reads without a thread."""
        if self.async_reads is not None:
            await self.async_reads.open()
        if self.async_limits is not None:
            await self.async_limits.open()
        if self.async_replays is not None:
            await self.async_replays.open()

    async def aclose(self) -> None:
        """The server's shutdown, on its event loop: the async read pool, then :meth:`close`
        in a thread (it may wait on the database and the mail server)."""
        from anyio import to_thread

        if self.async_replays is not None:
            await self.async_replays.close()
        if self.async_limits is not None:
            await self.async_limits.close()
        if self.async_reads is not None:
            await self.async_reads.close()
        await to_thread.run_sync(self.close)


def _nothing() -> None:
    return None
