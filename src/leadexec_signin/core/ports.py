"""The storage interfaces the core needs, and nothing more (fosite ``handler/oauth2/storage.go``).

Each port is a small protocol; each use case in ``core/actions/`` combines the ones it uses into
its own transaction type and takes a ``Store`` of that type, so a use case cannot reach a table
it did not declare. A transaction is one atomic unit of work: a write either completes or
leaves nothing behind.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, TypeVar

from leadexec_signin.core.access_tokens import MacKey
from leadexec_signin.core.account_ports import (
    AccountTokens as AccountTokens,
)
from leadexec_signin.core.account_ports import (
    AdminTokens as AdminTokens,
)
from leadexec_signin.core.account_ports import (
    Directory as Directory,
)
from leadexec_signin.core.account_ports import (
    Factors as Factors,
)
from leadexec_signin.core.account_ports import (
    Operators as Operators,
)
from leadexec_signin.core.account_ports import (
    Sessions as Sessions,
)
from leadexec_signin.core.account_ports import (
    Users as Users,
)
from leadexec_signin.core.apps import AppActivity, Application, Button
from leadexec_signin.core.audit import AuditEvent, AuditFilter
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.device_codes import DeviceCode
from leadexec_signin.core.grants import Grant, GrantListing
from leadexec_signin.core.keys import SigningKey
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.pushed_requests import PushedRequests
from leadexec_signin.core.self_registered import SelfRegisteredClients
from leadexec_signin.core.tokens import (
    AccessToken,
    AuthorizationCode,
    GrantContext,
    RefreshGrant,
    RefreshToken,
    TokenContext,
)


class Apps(Protocol):
    def add_app(self, app: Application) -> None: ...
    def app_by_id(self, app_id: str) -> Application | None: ...
    def list_apps(self) -> list[Application]: ...
    def set_app_status(self, app_id: str, status: str) -> None: ...
    def add_button(self, button: Button) -> None: ...
    def button_by_id(self, btn_id: str) -> Button | None: ...


class Grants(Protocol):
    def active_grant(self, user_id: str, app_id: str) -> Grant | None: ...
    def grant_by_id(self, grant_id: str) -> Grant | None: ...
    def add_grant(self, grant: Grant) -> None: ...
    def set_grant_scopes(self, grant_id: str, scopes: frozenset[str]) -> None: ...
    def touch_grant(self, grant_id: str, at: datetime) -> None: ...
    def grants_for_user(self, user_id: str) -> list[GrantListing]: ...
    def grant_context(self, grant_id: str) -> GrantContext | None:
        """The grant with its application's credentials and its user, in one read."""
        ...

    def revoke_grant(self, grant_id: str, at: datetime) -> bool:
        """Mark the grant revoked and delete every token under it; False if already revoked."""
        ...


class Tokens(Protocol):
    def add_refresh_token(self, token: RefreshToken) -> None: ...
    def refresh_token_context(
        self, token_hash: str
    ) -> tuple[RefreshToken, TokenContext] | None: ...
    def add_access_token(self, token: AccessToken) -> None: ...
    def access_token_context(self, token_hash: str) -> tuple[AccessToken, TokenContext] | None: ...
    def refresh_grant(self, token_hash: str, *, lock: bool = False) -> RefreshGrant | None:
        """``lock``: hold the token's grant against revocation until the transaction ends
        (an exchange that writes under it)."""
        ...

    def trim_refresh_tokens(self, grant_id: str, keep: int) -> int:
        """Delete the grant's oldest never-used refresh tokens beyond ``keep`` of them."""
        ...

    def retire_refresh_tokens(self, unused_since: datetime) -> int:
        """Delete refresh tokens neither created nor used since ``unused_since``."""
        ...

    def add_code(self, code: AuthorizationCode) -> None: ...
    def consume_code(self, code_hash: str, at: datetime) -> tuple[AuthorizationCode, bool] | None:
        """The code and whether this is its first use (marked used at ``at`` in the same
        statement: of two concurrent redemptions exactly one is first); None if unknown."""
        ...

    def delete_expired(self, now: datetime) -> int: ...

    def rotate_refresh_token(self, token_hash: str, successor: RefreshToken, at: datetime) -> bool:
        """Replace a refresh token by ``successor`` unless it was already replaced."""
        ...

    def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    def use_assertion(self, jti_hash: str, expires_at: datetime) -> bool:
        """Record a private_key_jwt assertion's jti until it expires; False if seen before."""
        ...


class DeviceCodes(Protocol):
    """RFC 8628 device authorizations (``core/device_codes.py``)."""

    def add_device_code(self, code: DeviceCode) -> None: ...
    def device_code(self, device_code_hash: str) -> DeviceCode | None:
        """Locked for the poll that follows."""
        ...

    def device_code_by_user_code(self, user_code_hash: str) -> DeviceCode | None: ...
    def poll_device_code(self, device_code_hash: str, at: datetime, interval: int) -> None: ...
    def decide_device_code(
        self,
        user_code_hash: str,
        status: str,
        now: datetime,
        *,
        user_id: str,
        auth_time: datetime | None,
        sid: str,
    ) -> bool:
        """A pending, unexpired code approved or denied; False if it was not pending."""
        ...

    def finish_device_code(self, device_code_hash: str) -> bool:
        """An approved code marked done; False if it was not approved (single use)."""
        ...

    def delete_expired_device_codes(self, now: datetime) -> int: ...


class Audit(Protocol):
    def record(self, event: AuditEvent) -> None: ...


class AuditLog(Protocol):
    """The operators' side of the trail: search it, and forget what is past retention."""

    def audit_events(
        self, where: AuditFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[AuditEvent]:
        """Newest first; ``before_id`` continues after the last event of a previous page."""
        ...

    def delete_audit_events(self, before: datetime) -> int: ...


class Keys(Protocol):
    def token_keys(self) -> list[MacKey]: ...
    def add_token_key(self, key: MacKey) -> None: ...
    def signing_keys(self) -> list[SigningKey]: ...
    def add_signing_key(self, key: SigningKey) -> None: ...
    def retire_signing_key(self, kid: str, at: datetime, expires_at: datetime | None) -> bool:
        """Stop signing with the key (still published until ``expires_at``); False if the
        kid is unknown or already retired."""
        ...

    def set_signing_key_end(self, kid: str, retired_at: datetime, expires_at: datetime) -> bool:
        """Force a key's end (``keys retire --force``): stop signing and unpublish at the
        given times, whatever was set before; False if the kid is unknown."""
        ...


class Notices(Protocol):
    def add_notice(self, notice: Notice, created_at: datetime) -> None: ...
    def due_notices(self, now: datetime, limit: int) -> list[Notice]: ...
    def lease_notice(self, notice: Notice, until: datetime) -> bool: ...
    def finish_notice(
        self,
        notice_id: str,
        *,
        attempts: int,
        delivered_at: datetime | None,
        next_attempt_at: datetime | None,
        error: str,
    ) -> None: ...


class Usage(Protocol):
    """ "Last used" times recorded in batches, not on every exchange."""

    def touch_grants(self, last_used: dict[str, datetime]) -> None: ...
    def touch_refresh_tokens(self, last_used: dict[str, datetime]) -> None: ...
    def add_exchanges(self, counts: dict[tuple[str, str], int]) -> None:
        """Add to each (application id, YYYY-MM-DD) day's count of token exchanges."""
        ...


class PartnerApps(Protocol):
    def apps_for_owner(self, owner_id: str) -> list[Application]: ...
    def buttons_for_app(self, app_id: str) -> list[Button]: ...
    def set_app_secret_hash(self, app_id: str, secret_hash: str | None) -> None: ...
    def set_app_origins(self, app_id: str, origins: tuple[str, ...]) -> None: ...
    def set_app_redirect_uris(self, app_id: str, uris: tuple[str, ...]) -> None: ...
    def set_app_client(self, app_id: str, client: ClientRegistration) -> None: ...
    # The console's edits (core/actions/console.py).
    def set_app_profile(self, app: Application) -> None:
        """Write the name, logo, notice URL and hardened delivery of ``app``."""
        ...

    def set_previous_secret(
        self, app_id: str, secret_hash: str | None, expires_at: datetime | None
    ) -> None: ...
    def delete_app(self, app_id: str) -> None:
        """The application and everything under it: buttons, grants, tokens, codes."""
        ...

    def set_button(self, button: Button) -> None: ...
    def delete_button(self, btn_id: str) -> None: ...
    def app_activity(self, app_id: str, since: datetime) -> AppActivity: ...


class Transaction(
    Users,
    Operators,
    Apps,
    Grants,
    Tokens,
    Sessions,
    Audit,
    AuditLog,
    Keys,
    Notices,
    PartnerApps,
    Usage,
    AccountTokens,
    Factors,
    DeviceCodes,
    PushedRequests,
    Directory,
    AdminTokens,
    SelfRegisteredClients,
    Protocol,
):
    """Every port at once: what a storage backend implements, never what a use case asks."""


TxT = TypeVar("TxT", covariant=True)


class Store(Protocol[TxT]):
    """A source of transactions of one port type (the backend hands out its full type)."""

    def transaction(self) -> AbstractContextManager[TxT]: ...


class Storage(Store[Transaction], Protocol):
    def reading(self) -> AbstractContextManager[Transaction]:
        """A transaction that only reads: on SQLite it does not take the write lock."""
        ...

    def ping(self) -> None:
        """Raise if the database cannot answer (``/readyz``)."""
        ...


Found = tuple[AccessToken, TokenContext]


class Reader(Protocol[TxT]):
    """A source of read-only transactions (the exchange's one read)."""

    def reading(self) -> AbstractContextManager[TxT]: ...


class GrantLookup(Protocol):
    """The one read on every LeadExec API call; a per-process cache may answer it."""

    def grant_context(self, grant_id: str) -> GrantContext | None: ...

    def access_token_context(self, token_hash: str) -> Found | None:
        """Tokens from before self-proving access tokens, still looked up by hash."""
        ...


class TokenReads(GrantLookup, Protocol):
    """The reads every partner call makes, outside any transaction: the refresh exchange's
    token and the API's grant. The token cache answers them, or the database driver."""

    def refresh_grant(self, token_hash: str) -> RefreshGrant | None: ...


class RateLimiter(Protocol):
    def hit(self, limit: str, *key: str) -> int | None:
        """Count one event; return seconds to wait if the limit is now exceeded, else None."""
        ...

    def exceeded(self, limit: str, *key: str) -> int | None:
        """Seconds to wait if the limit is already reached, without counting."""
        ...

    def reset(self, limit: str, *key: str) -> None: ...
