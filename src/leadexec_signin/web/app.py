"""The ASGI application factory: everything is built from settings here, nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from leadexec_signin.core.accounts import Passwords
from leadexec_signin.core.clock import Clock, SystemClock
from leadexec_signin.core.errors import SigninError, TemporarilyUnavailable
from leadexec_signin.core.ports import Storage
from leadexec_signin.core.provider import Provider
from leadexec_signin.settings import Settings
from leadexec_signin.storage.events import RedisEvents
from leadexec_signin.storage.ratelimit import LimitsRateLimiter
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from leadexec_signin.storage.tokencache import CachingStorage
from leadexec_signin.web import errors
from leadexec_signin.web.security import BodyTooLarge, SecurityMiddleware

PACKAGE = Path(__file__).resolve().parent.parent
OPENAPI = Path(__file__).resolve().parent / "openapi.json"

T = TypeVar("T")
log = logging.getLogger("leadexec_signin.web")


@dataclass
class Services:
    settings: Settings
    provider: Provider


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Core calls are synchronous (SQLAlchemy, argon2): run them off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def build_provider(settings: Settings, clock: Clock | None = None) -> Provider:
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    storage: Storage = SqlStorage(engine)
    if settings.token_cache_ms > 0 or settings.redis_url:
        # Even with its own cache off, a process publishes what it revokes for the others.
        events = RedisEvents(settings.redis_url) if settings.redis_url else None
        storage = CachingStorage(storage, settings.token_cache_ms / 1000, events)
    return Provider(
        settings=settings,
        storage=storage,
        limiter=LimitsRateLimiter(settings.redis_url or "memory://"),
        clock=clock or SystemClock(),
        passwords=Passwords(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        ),
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await call(services(request).provider.storage.ping)
    except TemporarilyUnavailable:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def keys(request: Request) -> Response:
    """Public keys that sign disconnect notices (a JWKS)."""
    found = await call(services(request).provider.public_keys)
    return JSONResponse(
        {"keys": found},
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


async def openapi(request: Request) -> Response:
    return Response(
        request.app.state.openapi,
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    provider: Provider | None = None,
) -> Starlette:
    from leadexec_signin.web.account import routes as account
    from leadexec_signin.web.admin import routes as admin
    from leadexec_signin.web.developers import routes as developers
    from leadexec_signin.web.leadexec_api import api_v1, revoke, token
    from leadexec_signin.web.signin import routes as signin

    settings = settings or Settings.from_env()
    provider = provider or build_provider(settings, clock)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/openapi.json", openapi),
        Route("/signin/keys", keys),
        *token.routes,
        *revoke.routes,
        *api_v1.routes,
        *signin.routes,
        *account.routes,
        *developers.routes,
        *admin.routes,
        Mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from leadexec_signin.background import run_forever

        task = None
        if settings.notice_interval_seconds > 0:
            task = asyncio.create_task(run_forever(provider, settings.notice_interval_seconds))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            SigninError: errors.on_signin_error,
            HTTPException: errors.on_http_exception,
            BodyTooLarge: errors.on_body_too_large,
        },
    )
    app.add_middleware(SecurityMiddleware, settings=settings)
    app.state.services = Services(settings=settings, provider=provider)
    app.state.templates = Jinja2Templates(directory=PACKAGE / "templates")
    app.state.openapi = json.dumps(json.loads(OPENAPI.read_text())).encode()
    return app


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory`` in each worker process."""
    from leadexec_signin.cli import configure_logging

    settings = Settings.from_env()
    # ``serve --workers N`` spawns its workers: they inherit no logging set-up, and without
    # this their access log, audit lines and Redis warnings would be lost.
    configure_logging(settings)
    return create_app(settings)
