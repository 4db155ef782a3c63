"""Where a hot request runs: the one place that decides, for the token endpoint, the LeadExec
API's token check and userinfo, whether the (synchronous) use case runs on the event loop or
in a thread, and whether its read is done ahead.

The use cases wait on three things: the database, the rate limiter (Redis when configured)
and, for a refusal, the audit row. On the event loop nothing may wait, so:

- with the embedded SQLite file and the limits in memory, a read is a few microseconds in
  process, cheaper in place than the hand-over to a thread: everything hot runs in place;
- with a network database, a request runs in place only on a read already in hand: the token
  cache's (``peek_*``), or a refresh token read ahead through psycopg's async driver
  (``AsyncHotReads``); that read is passed to the use case (``Ahead``, ``known``), which then
  reads nothing, and a refusal's audit row is written from a thread before the answer;
- anything else, and everything while the limits are counted in Redis, goes to a thread.

Nothing below the use cases knows which way was taken: there is no "cache-only" mode to
fall out of, since the use case is handed what it would have read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread

from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.actions.token_endpoint import Admitted, RefusalLog, TokenEndpoint
from leadexec_signin.core.actions.token_step import Ahead, Issued, TokenRequest
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.storage.sql.hot_async import AsyncHotReads
from leadexec_signin.storage.tokencache import TokenChecks

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    return await to_thread.run_sync(fn, *args)


class KeptRefusals:
    """Refusals of a request run on the event loop, kept for a thread to write."""

    def __init__(self, log: RefusalLog) -> None:
        self.log = log
        self.kept: list[tuple[SigninError, TokenRequest]] = []

    def record(self, exc: SigninError, request: TokenRequest) -> None:
        self.kept.append((exc, request))

    def write(self) -> None:
        for exc, request in self.kept:
            self.log.record(exc, request)


class Placement:
    def __init__(
        self,
        endpoint: TokenEndpoint,
        api: ApiAccess,
        checks: TokenChecks,
        async_reads: AsyncHotReads | None,
        *,
        embedded: bool,
        limits_in_memory: bool,
    ) -> None:
        self.endpoint = endpoint
        self.api = api
        self.checks = checks
        self.async_reads = async_reads
        # In process and nothing to wait on: the SQLite file, the limits in memory.
        self.embedded = embedded and limits_in_memory
        # Without Redis a limit is counted in memory; with it, each count is a round trip.
        self.limits_in_memory = limits_in_memory

    async def token(self, request: TokenRequest) -> Issued:
        endpoint = self.endpoint
        if not self.limits_in_memory:
            return await in_thread(endpoint.exchange, request)
        if self.embedded:
            admitted = endpoint.admit(request)
            if admitted.read_ahead is None:  # it writes, and may wait for SQLite's lock
                return await in_thread(endpoint.handle, admitted)
            return endpoint.handle(admitted)
        kept = KeptRefusals(endpoint.refusals)
        try:
            admitted = endpoint.admit(request, kept)  # the address counted before any read
            ahead = await self._read_ahead(admitted)
            if ahead is None or not self._in_place(admitted, ahead):
                # It writes, or needs more than its read: the read done is not done again.
                return await in_thread(endpoint.handle, admitted, ahead)
            return endpoint.handle(admitted, ahead, kept)
        finally:
            if kept.kept:
                await in_thread(kept.write)

    async def _read_ahead(self, admitted: Admitted) -> Ahead | None:
        """The exchange's one read, without a thread: from the token cache, or through the
        async driver; None when it was not read (the exchange writes, or nothing can read
        it on this loop)."""
        key = admitted.read_ahead
        if key is None:
            return None
        found = self.checks.peek_refresh(key)
        if found is not None:
            return Ahead(found)
        if self.async_reads is not None and self.async_reads.ready():
            return Ahead(await self.checks.read_refresh_ahead(key, self.async_reads.refresh_grant))
        return None

    @staticmethod
    def _in_place(admitted: Admitted, ahead: Ahead) -> bool:
        """Whether the exchange needs nothing but its read: an unknown token, or another
        application's, needs the named application read to authenticate it."""
        found = ahead.found
        return found is not None and found.app.id == admitted.request.client.client_id

    def _known(self, token: str | None) -> GrantContext | None:
        """The token's grant, if the token cache holds it (a network database, no Redis)."""
        if not self.limits_in_memory or not token:
            return None
        grant_id = self.api.minter.grant_of(token)
        return self.checks.peek_grant(grant_id) if grant_id is not None else None

    async def check(self, token: str | None) -> tuple[AccessToken, GrantContext]:
        """The LeadExec API's access-token check."""
        return await self._with_grant(self.api.check_access_token, token)

    async def userinfo(self, token: str | None) -> dict[str, object]:
        return await self._with_grant(self.api.userinfo, token)

    async def _with_grant(
        self, check: Callable[[str | None, GrantContext | None], T], token: str | None
    ) -> T:
        """In place on SQLite, or on the grant the token cache holds; else in a thread."""
        if self.embedded:
            return check(token, None)
        known = self._known(token)
        if known is not None:
            return check(token, known)
        return await in_thread(check, token, None)
