"""Where a hot request runs: the one place that decides, for the token endpoint, the LeadExec
API's token check and userinfo, whether the (synchronous) use case runs on the event loop or
in a thread, and which of its waits are done ahead, awaited.

The use cases wait on three things: the database, the rate limiter, and, for a refusal, the
audit row. On the event loop nothing may block, so:

- the database: with the embedded SQLite file a read is a few microseconds in process,
  cheaper in place than the hand-over to a thread; with PostgreSQL the read is taken from
  the token cache (``peek_*``) or awaited through psycopg's async driver
  (``AsyncHotReads``), and handed to the use case (``Ahead``, ``known``), which then reads
  nothing;
- the limits: counted in memory in place; in Redis, each count the use case asks for is kept
  (``KeptLimits``) and awaited through ``redis.asyncio`` (``AsyncLimits``): the address's
  before any read, the application's before the answer;
- a refusal's audit row: written at once on SQLite, else kept and written from a thread
  before the answer;
- a refresh-token rotation on PostgreSQL: its reads are one statement and its write another,
  both awaited through asyncpg, and the endpoint runs in between on a unit of work that
  answers from the read and keeps the write (``handed.py``); a rotation the write finds
  raced, a reuse, or anything unusual runs again in a thread, with its full handling;
- anything else that writes (a code exchange) goes to a thread, and so does an exchange
  whose read is not in hand.

Nothing below the use cases knows which way was taken: there is no "cache-only" mode to
fall out of, since the use case is handed what it would have read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import TypeVar, cast

from anyio import to_thread

from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.actions.dpop import Dpop
from leadexec_signin.core.actions.token_endpoint import Admitted, RefusalLog, TokenEndpoint
from leadexec_signin.core.actions.token_step import Ahead, Issued, TokenRequest, TokenTx
from leadexec_signin.core.apps import Application
from leadexec_signin.core.clients import CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, NONE
from leadexec_signin.core.dpop import DpopPresented, Proof
from leadexec_signin.core.errors import RateLimited, SigninError, TemporarilyUnavailable
from leadexec_signin.core.resources import API
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.storage.handed import HandedRotation
from leadexec_signin.storage.ratelimit import AsyncLimits
from leadexec_signin.storage.replays import AsyncRedisReplays
from leadexec_signin.storage.sql.hot_async import AsyncHotReads, RotationRead
from leadexec_signin.storage.tokencache import TokenChecks

T = TypeVar("T")

# How a client may authenticate for its rotation to run on the loop: a secret, or none (a
# private_key_jwt assertion's jti is a write of its own).
_HANDED_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, NONE)


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


class KeptLimits:
    """A ``core.limits.Counter`` for a request run on the event loop with the limits in Redis: each
    count the use case asks for answers "under the limit" and is kept; :meth:`settle`
    awaits them (one round trip each) and raises the first refusal."""

    def __init__(self, limits: AsyncLimits) -> None:
        self.limits = limits
        self.kept: list[tuple[str, tuple[str, ...]]] = []

    def hit(self, limit: str, *key: str) -> int | None:
        if not self.limits.spend(limit, *key):  # this process holds none of its lease
            self.kept.append((limit, key))
        return None

    async def settle(self) -> None:
        kept, self.kept = self.kept, []
        for limit, key in kept:
            wait = await self.limits.hit(limit, *key)
            if wait is not None:
                raise RateLimited(retry_after=wait)


class Placement:
    def __init__(
        self,
        endpoint: TokenEndpoint,
        api: ApiAccess,
        checks: TokenChecks,
        async_reads: AsyncHotReads | None,
        async_limits: AsyncLimits | None,
        dpop: Dpop,
        async_replays: AsyncRedisReplays | None = None,
        *,
        embedded: bool,
    ) -> None:
        self.endpoint = endpoint
        self.api = api
        self.checks = checks
        self.async_reads = async_reads
        self.async_limits = async_limits
        self.dpop = dpop
        self.async_replays = async_replays
        # The SQLite file: a read is in process, a few microseconds.
        self.embedded = embedded
        # Without Redis a limit is counted in memory; with it, each count is a round trip.
        self.limits_in_memory = async_limits is None
        # Clients being read for a rotation (``_client``), by id.
        self._client_reads: dict[str, asyncio.Future[Application | None]] = {}

    async def token(self, request: TokenRequest) -> Issued:
        endpoint = self.endpoint
        if request.dpop is not None:  # its proof's jti is a write, and so is most of it
            return await in_thread(endpoint.exchange, request)
        if endpoint.names_document(request):  # its document may have to be fetched again
            return await in_thread(endpoint.exchange, request)
        limits = None
        if not self.limits_in_memory:
            assert self.async_limits is not None
            if not self.async_limits.ready():  # a loop that did not start the server
                return await in_thread(endpoint.exchange, request)
            limits = KeptLimits(self.async_limits)
        if self.embedded and limits is None:
            admitted = endpoint.admit(request)
            if admitted.read_ahead is None:  # it writes, and may wait for SQLite's lock
                return await in_thread(endpoint.handle, admitted)
            return endpoint.handle(admitted)
        kept = KeptRefusals(endpoint.refusals)
        try:
            admitted = endpoint.admit(request, kept, limits)
            await self._settle(limits, request, kept)  # the address, before any read
            if admitted.rotation is not None:
                return await self._rotate(admitted, admitted.rotation, kept, limits)
            ahead = await self._read_ahead(admitted)
            if ahead is None or not self._in_place(admitted, ahead):
                # It writes, or needs more than its read: the read done is not done again.
                return await in_thread(endpoint.handle, admitted, ahead)
            issued = endpoint.handle(admitted, ahead, kept, limits)
            await self._settle(limits, request, kept)  # the application's, before the answer
            return issued
        finally:
            if kept.kept:
                await in_thread(kept.write)

    async def _rotate(
        self, admitted: Admitted, key: str, kept: KeptRefusals, limits: KeptLimits | None
    ) -> Issued:
        """A rotation on the event loop (``handed.py``), or in a thread when it cannot be."""
        endpoint, reads, request = self.endpoint, self.async_reads, admitted.request
        if reads is None or not reads.ready() or request.client.method not in _HANDED_METHODS:
            return await in_thread(endpoint.handle, admitted)
        client: Application | None = None
        read: RotationRead | None = None
        try:
            client = await self._client(request.client.client_id)
            if client is not None:
                read = await reads.rotation(key)
        except TemporarilyUnavailable:
            pass  # the thread's own pool may still answer
        if (
            client is None
            or read is None
            or read.found.token.replaced_by is not None
            or read.found.app != client.credentials
        ):
            # Unknown; reused (which revokes the grant); another application's token; or the
            # client changed since it was kept (a suspension or a new secret committed by a
            # process whose announcement has not arrived): its full handling, in a thread.
            return await in_thread(endpoint.handle, admitted)
        if not endpoint.keys.loaded():  # an ID token signed in place must read nothing
            await in_thread(endpoint.keys.load)
        unit = HandedRotation(client, read)
        issued = endpoint.handle(admitted, None, kept, limits, cast(TokenTx, unit))
        await self._settle(limits, request, kept)  # the application's, before the write
        if unit.kept is not None:
            try:
                done = await reads.rotate(*unit.kept)
            except TemporarilyUnavailable:
                done = False
            if not done:  # rotated or revoked meanwhile, or no connection: from the start,
                # judged as of this request's arrival (the grace window of a lost race)
                at = unit.kept[2]
                return await in_thread(functools.partial(endpoint.handle, admitted, at=at))
        return issued

    async def _client(self, client_id: str) -> Application | None:
        """The client from the token cache, or read in a thread by one request while the
        others asking for it wait for that read (when the entry lapses, every request in
        flight would otherwise read it at once)."""
        client = self.checks.peek_client(client_id)
        if client is not None:
            return client
        pending = self._client_reads.get(client_id)
        if pending is not None:
            return await asyncio.shield(pending)
        reading: asyncio.Future[Application | None] = asyncio.get_running_loop().create_future()
        self._client_reads[client_id] = reading
        try:
            client = await in_thread(self.checks.client, client_id)
        finally:
            del self._client_reads[client_id]
            # None when the read failed: the others then take the thread's way, as this one.
            reading.set_result(client)
        return client

    @staticmethod
    async def _settle(limits: KeptLimits | None, request: TokenRequest, kept: KeptRefusals) -> None:
        if limits is None:
            return
        try:
            await limits.settle()
        except SigninError as exc:
            kept.record(exc, request)
            raise

    async def _read_ahead(self, admitted: Admitted) -> Ahead | None:
        """The exchange's one read, without a thread: from the token cache, in place on
        SQLite, or through the async driver; None when it was not read (the exchange
        writes, or nothing can read it on this loop)."""
        key = admitted.read_ahead
        if key is None:
            return None
        found = self.checks.peek_refresh(key)
        if found is not None:
            return Ahead(found)
        if self.embedded:
            return Ahead(self.checks.refresh_grant(key))
        if self.async_reads is not None and self.async_reads.ready():
            try:
                read = await self.checks.read_refresh_ahead(key, self.async_reads.refresh_grant)
            except TemporarilyUnavailable:  # no async connection now: the thread's pool may
                return None
            return Ahead(read)
        return None

    @staticmethod
    def _in_place(admitted: Admitted, ahead: Ahead) -> bool:
        """Whether the exchange needs nothing but its read: an unknown token, or another
        application's, needs the named application read to authenticate it."""
        found = ahead.found
        return found is not None and found.app.id == admitted.request.client.client_id

    async def check(
        self, token: str | None, proof: DpopPresented | None = None, served: str = API
    ) -> tuple[AccessToken, GrantContext]:
        """The access-token check of the resource ``served`` (the LeadExec API's, /mcp's)."""
        check = self.api.check_access_token
        if served != API:
            check = functools.partial(check, served=served)
        return await self._with_grant(check, token, proof)

    async def userinfo(
        self, token: str | None, proof: DpopPresented | None = None
    ) -> dict[str, object]:
        return await self._with_grant(self.api.userinfo, token, proof)

    async def _prove(self, token: str | None, presented: DpopPresented | None) -> Proof | None:
        """A DPoP proof (``Authorization: DPoP``): its signature checked in place (arithmetic),
        its jti written once: with Redis, ``SET NX`` awaited on the loop; else on SQLite in
        place (one autocommit INSERT of a few microseconds, ``HotReads.first_use``); else, or
        when Redis failed, in a thread."""
        if presented is None:
            return None
        proof = self.dpop.check(presented.proof, presented.method, presented.url,
                                access_token=token or "")  # fmt: skip
        replays = self.async_replays
        if replays is not None:
            if replays.ready():
                first = await replays.first_use(*self.dpop.replay_key(proof))
                if first is not None:
                    self.dpop.settle(first)
                    return proof
            # Not this loop's, or Redis failed: the synchronous client and its fallback.
            await in_thread(self.dpop.use, proof)
        elif self.embedded:  # one autocommit INSERT into the SQLite file: cheaper than a hop
            self.dpop.use(proof)
        else:
            await in_thread(self.dpop.use, proof)
        return proof

    async def _with_grant(
        self,
        check: Callable[[str | None, GrantContext | None, Proof | None], T],
        token: str | None,
        presented: DpopPresented | None,
    ) -> T:
        """In place on SQLite, or on the grant in hand (the token cache's, or awaited through
        the async driver); else in a thread. A check counts no limit."""
        proof = await self._prove(token, presented)
        if self.embedded:
            return check(token, None, proof)
        grant_id = self.api.minter.grant_of(token) if token else None
        if grant_id is not None:
            known = self.checks.peek_grant(grant_id)
            if known is None and self.async_reads is not None and self.async_reads.ready():
                with contextlib.suppress(TemporarilyUnavailable):  # then read in a thread
                    known = await self.checks.read_grant_ahead(
                        grant_id, self.async_reads.grant_context
                    )
            if known is not None:
                return check(token, known, proof)
        return await in_thread(check, token, None, proof)
