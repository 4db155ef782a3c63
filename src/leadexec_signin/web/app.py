"""The ASGI application: the surfaces and their renderers, over services built by
``compose.py``. Nothing is created at import."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from leadexec_signin.compose import Services, build
from leadexec_signin.core.errors import TemporarilyUnavailable
from leadexec_signin.logs import configure_logging
from leadexec_signin.settings import Settings
from leadexec_signin.web.account import routes as account
from leadexec_signin.web.admin import routes as admin
from leadexec_signin.web.context import PACKAGE, call, services
from leadexec_signin.web.developers import routes as developers
from leadexec_signin.web.errors import render_bearer, render_page, seed_renderer
from leadexec_signin.web.leadexec_api import api_v1, revoke, token
from leadexec_signin.web.security import SecurityMiddleware
from leadexec_signin.web.signin import routes as signin
from leadexec_signin.web.signin.results import render_result
from leadexec_signin.web.surfaces import mount

OPENAPI = Path(__file__).resolve().parent / "openapi.json"
log = logging.getLogger("leadexec_signin.web")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await call(services(request).storage.ping)
    except TemporarilyUnavailable:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def keys(request: Request) -> Response:
    """Public keys that sign disconnect notices (a JWKS)."""
    found = await call(services(request).keys.public_keys)
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


def surfaces() -> Mount:
    """The route table: each surface with its renderer; the pages are the root surface, so
    whatever no other surface claims is answered as a page."""
    return mount(
        "",
        render_page,
        [
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/openapi.json", openapi),
            mount("/api/v1", render_bearer, api_v1.routes),
            mount("/api", seed_renderer(), [*token.routes, *revoke.routes]),
            mount("/signin/buttons", seed_renderer(cors=True), signin.buttons),
            # The popup, the silent check and the SDK's files; the keys that sign notices.
            mount("/signin", render_result, [*signin.popup, Route("/keys", keys)]),
            *account.routes,
            *developers.routes,
            *admin.routes,
            Mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static"),
        ],
    )


def create_app(services_: Services) -> Starlette:
    settings = services_.settings

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from leadexec_signin.background import flush_usage_forever, run_forever

        # As many threads as pooled connections: more would only open and close overflow
        # connections under load.
        to_thread.current_default_thread_limiter().total_tokens = max(4, settings.db_pool_size)
        await call(services_.prepare)
        tasks = []
        if settings.notice_interval_seconds > 0:
            tasks.append(run_forever(services_, settings.notice_interval_seconds))
        if settings.usage_flush_seconds > 0:
            tasks.append(flush_usage_forever(services_, settings.usage_flush_seconds))
        running = [asyncio.create_task(t) for t in tasks]
        yield
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await call(services_.usage.flush)  # what is only in memory, before the exit
        except Exception:
            log.warning("usage not written at shutdown")

    app = Starlette(routes=[surfaces()], lifespan=lifespan)
    app.add_middleware(SecurityMiddleware, settings=settings)
    app.state.services = services_
    app.state.templates = Jinja2Templates(directory=PACKAGE / "templates")
    app.state.openapi = json.dumps(json.loads(OPENAPI.read_text())).encode()
    return app


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory`` in each worker process."""
    settings = Settings.from_env()
    # ``serve --workers N`` spawns its workers: they inherit no logging set-up, and without
    # this their access log, audit lines and Redis warnings would be lost.
    configure_logging(settings)
    return create_app(build(settings))
