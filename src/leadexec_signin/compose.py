"""The composition root: settings -> storage -> limiter -> use cases (fosite ``compose/``).

The server, the command line, the demo, the benchmark and the tests all build through here and
nothing imports upward to reach it. It loads no web code: creating a user from the command line
never imports Starlette (``web/app.py`` turns :class:`Services` into the ASGI app).
"""

from __future__ import annotations

from sqlalchemy import make_url

from leadexec_signin.core.accounts import Passwords
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.accounts import Accounts
from leadexec_signin.core.actions.admin_api import AdminApi
from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.actions.apps import Registry
from leadexec_signin.core.actions.audit_trail import AuditTrail, forwarder
from leadexec_signin.core.actions.authorize_code import AuthorizeCode
from leadexec_signin.core.actions.authorize_pipeline import AuthorizePipeline
from leadexec_signin.core.actions.browsers import Browsers
from leadexec_signin.core.actions.client_auth import ClientAuthenticator
from leadexec_signin.core.actions.client_documents import ClientDocuments
from leadexec_signin.core.actions.client_tokens import ClientTokens
from leadexec_signin.core.actions.codes import OneTimeCodes
from leadexec_signin.core.actions.console import Console
from leadexec_signin.core.actions.device import DeviceFlow
from leadexec_signin.core.actions.dpop import Dpop, ProofReplays
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
from leadexec_signin.core.client_documents import on_loopback
from leadexec_signin.core.clock import Clock, SystemClock
from leadexec_signin.core.errors import SchemaMissing, TemporarilyUnavailable
from leadexec_signin.core.passkey_ceremonies import RelyingParty
from leadexec_signin.mailers import build_mailer
from leadexec_signin.services import Services
from leadexec_signin.settings import Settings
from leadexec_signin.storage.client_documents import HttpClientDocuments
from leadexec_signin.storage.client_jwks import HttpClientKeys
from leadexec_signin.storage.events import RedisEvents
from leadexec_signin.storage.placement import Placement
from leadexec_signin.storage.ratelimit import AsyncLimits, LimitsRateLimiter
from leadexec_signin.storage.replays import AsyncRedisReplays, RedisReplays
from leadexec_signin.storage.sql.hot_async import AsyncHotReads
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from leadexec_signin.storage.tokencache import TokenChecks


def build(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    storage = SqlStorage(engine)
    # Every audit event also goes to the operators' webhook, when one is configured.
    storage.forward_audit = forwarder(settings)
    # Even with its own cache off, a process publishes what it revokes for the others.
    events = RedisEvents(settings.redis_url) if settings.redis_url else None
    # The one cache decorator over the token reads of every partner call.
    checks = TokenChecks(storage, storage.hot, settings.token_cache_ms / 1000, events)
    storage.after_commit = checks.after_commit
    limiter = LimitsRateLimiter(settings.redis_url or "memory://")
    passwords = Passwords(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
    mailer, mail_queue, outbox = build_mailer(settings, clock)
    registry = Registry(storage, clock, mailer, settings.issuer)
    minter = AccessTokens(storage, clock)
    usage = UsageLog(storage, clock)
    keys = SigningKeys(storage, clock)
    api = ApiAccess(checks, minter, clock, settings, keys)
    authenticator = ClientAuthenticator(
        HttpClientKeys(), settings.issuer, documents=settings.metadata_documents
    )
    self_registration = SelfRegistration(storage, limiter, clock, settings)
    # Client ID Metadata Documents: fetched from public addresses only (loopback too when this
    # provider runs on loopback), kept as their Cache-Control says.
    documents = ClientDocuments(
        HttpClientDocuments(development=on_loopback(settings.issuer)),
        self_registration,
        limiter,
        clock,
        settings,
    )
    accounts = Accounts(storage, limiter, clock, passwords, settings, usage)
    sessions = BrowserSessions(storage, clock, settings)
    # One authorize pipeline behind the popup, the silent check, FedCM and /oauth2/authorize.
    authorize = AuthorizePipeline(storage, clock, settings, keys, usage)
    signin = SignIn(authorize, settings, minter)
    revocation = Revocation(storage, limiter, clock, settings, minter)
    # Used DPoP proofs: in Redis when there is one (the database's table if it is away).
    replays: ProofReplays = storage.hot
    async_replays = None
    if settings.redis_url:
        replays = RedisReplays(settings.redis_url, replays)
        # The LeadExec API and userinfo write theirs from the event loop.
        async_replays = AsyncRedisReplays(settings.redis_url, replays.pause)
    dpop = Dpop(replays, minter, clock)
    tokens = TokenEndpoint(
        storage, checks, limiter, clock, settings, minter, keys, usage, authenticator, dpop,
        documents,
    )  # fmt: skip
    postgresql = engine.dialect.name == "postgresql"
    async_reads = (
        AsyncHotReads(
            engine,
            size=settings.db_async_pool,
            pool_timeout=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        if postgresql
        else None
    )
    # With Redis, the hot paths await their counts through redis.asyncio (same keys).
    async_limits = AsyncLimits(limiter.redis_uri, limiter) if limiter.redis_uri else None
    placement = Placement(
        tokens,
        api,
        checks,
        async_reads,
        async_limits,
        dpop,
        async_replays,
        embedded=engine.dialect.name == "sqlite",
    )
    return Services(
        settings=settings,
        clock=clock,
        storage=storage,
        limiter=limiter,
        token_checks=checks,
        access_tokens=minter,
        usage=usage,
        accounts=accounts,
        sessions=sessions,
        registry=registry,
        console=Console(storage, clock, registry, usage),
        # Owners hear by email when an operator approves or suspends their application.
        operator=Operator(storage, clock, mailer, settings.issuer),
        signin=signin,
        tokens=tokens,
        placement=placement,
        revocation=revocation,
        api=api,
        keys=keys,
        notices=NoticeOutbox(storage, clock),
        housekeeping=Housekeeping(storage, clock, settings, usage, self_registration),
        authorize_code=AuthorizeCode(authorize, settings, documents),
        client_tokens=ClientTokens(storage, limiter, clock, settings, api, authenticator),
        logout=Logout(storage, clock, settings, keys),
        fedcm=FedCm(signin, sessions, accounts, revocation, registry),
        recovery=AccountRecovery(storage, limiter, clock, passwords, settings, mailer),
        email_change=EmailChange(storage, limiter, clock, passwords, settings, mailer),
        mail_queue=mail_queue,
        outbox=outbox,
        audit_trail=AuditTrail(storage, clock, settings),
        key_rotation=KeyRotation(storage, clock, settings, keys),
        passkeys=Passkeys(
            storage, clock, RelyingParty(settings.rp_id, settings.issuer_origin), mailer
        ),
        factors=AccountFactors(storage, clock, settings, mailer),
        codes=OneTimeCodes(storage, limiter, clock, "LeadExec", mailer),
        browsers=Browsers(storage, clock, passwords, mailer, settings.issuer),
        dpop=dpop,
        device=DeviceFlow(storage, limiter, clock, settings, authenticator),
        par=PushedAuthorization(storage, limiter, clock, settings, authenticator, documents),
        people=People(storage, clock, settings, mailer),
        own_account=OwnAccount(storage, clock),
        provisioning=Provisioning(storage, clock),
        admin_api=AdminApi(storage, limiter, clock, settings),
        self_registration=self_registration,
        client_documents=documents,
        async_reads=async_reads,
        async_limits=async_limits,
        async_replays=async_replays,
    )


def ensure_schema(settings: Settings, *, always: bool = False) -> None:
    """The embedded SQLite default migrates itself; a configured database only on request
    (``migrate`` or ``serve --migrate``). A configured database that has no schema yet is
    refused in one sentence naming ``migrate``, instead of failing at its first query; one
    that cannot be reached is left to the server, which starts and waits for it."""
    from sqlalchemy.exc import DBAPIError

    from leadexec_signin.storage.sql.migrate import (
        head_revision,
        known_revisions,
        schema_revision,
        upgrade,
    )

    if settings.database_url and not always:
        revision = schema_revision(settings.database_url, settings.db_connect_timeout)
        where = make_url(settings.database_url).render_as_string()
        if revision == "":
            raise SchemaMissing(
                f"The database at {where} has no schema yet: run `leadexec-signin migrate` "
                "first (or start the server with `leadexec-signin serve --migrate`)."
            )
        if revision is not None and revision != head_revision():
            # An upgrade whose migration was not run yet would fail at its first query on a
            # column it does not find; say so before anything starts.
            if revision in known_revisions():
                raise SchemaMissing(
                    f"The database at {where} has an older schema ({revision}) than this "
                    f"version needs ({head_revision()}): run `leadexec-signin migrate` first "
                    "(or start the server with `leadexec-signin serve --migrate`)."
                )
            raise SchemaMissing(
                f"The database at {where} was migrated by a newer version of LeadExec "
                f"Sign-In (schema {revision}; this version knows up to {head_revision()}): "
                "run that version, or restore a backup taken before its upgrade."
            )
        return
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.effective_database_url)
    except DBAPIError as exc:
        # The command line says which database and why, in a line, not a traceback.
        where = make_url(settings.effective_database_url).render_as_string()
        reason = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else type(exc)
        raise TemporarilyUnavailable(
            f"The database at {where} cannot be migrated: {reason}"
        ) from exc


def build_migrated(settings: Settings, clock: Clock | None = None) -> Services:
    """For the command line and the demo: the embedded database is brought up to date first."""
    ensure_schema(settings)
    return build(settings, clock)
