"""The ASGI application: the surfaces and their renderers, over services built by
``compose.py`` (which this module never imports: ``asgi.py`` joins the two). Nothing is
created at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core import resources
from leadexec_signin.core.actions.client_documents import FETCH_SLOTS
from leadexec_signin.core.errors import SigninError, TemporarilyUnavailable
from leadexec_signin.metrics import process_exited
from leadexec_signin.services import Services
from leadexec_signin.web import api_docs, dev_outbox
from leadexec_signin.web.account import (
    app_codes,
    browsers,
    email_change,
    passkeys,
    profile,
    recovery,
    second_step,
)
from leadexec_signin.web.account import device as device_page
from leadexec_signin.web.account import sign_in as account
from leadexec_signin.web.admin import agents as admin_agents
from leadexec_signin.web.admin import app_queue as admin
from leadexec_signin.web.admin import audit as admin_audit
from leadexec_signin.web.admin import users as admin_users
from leadexec_signin.web.admin_api import routes as admin_api
from leadexec_signin.web.context import PACKAGE, call, services
from leadexec_signin.web.developers import routes as developers
from leadexec_signin.web.fedcm import endpoints as fedcm
from leadexec_signin.web.fedcm.fedcm_renderer import render_fedcm
from leadexec_signin.web.language import LanguageMiddleware, LocalizedTemplates
from leadexec_signin.web.leadexec_api import api_v1, revoke
from leadexec_signin.web.leadexec_api import token as seed_token
from leadexec_signin.web.mcp import server as mcp_server
from leadexec_signin.web.metrics import RequestMetrics, publish_forever, route_templates
from leadexec_signin.web.metrics import flush as flush_metrics
from leadexec_signin.web.metrics import routes as metrics_routes
from leadexec_signin.web.oauth2 import (
    authorize,
    discovery,
    logout,
    par,
    protected_resource,
    register,
    token,
    userinfo,
)
from leadexec_signin.web.oauth2 import device as device_authorization
from leadexec_signin.web.oauth2.oauth_renderer import render_oauth
from leadexec_signin.web.renderers import (
    render_bearer,
    render_page,
    resource_renderer,
    seed_renderer,
)
from leadexec_signin.web.request_context import RequestContextMiddleware
from leadexec_signin.web.scim import routes as scim
from leadexec_signin.web.security.middleware import SecurityMiddleware
from leadexec_signin.web.signin import popup as signin
from leadexec_signin.web.signin.results import render_result
from leadexec_signin.web.surfaces import mount, rendered_by, rendered_by_all

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


async def prepare_when_possible(services_: Services, every: float = 2.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await call(services_.prepare)
        except SigninError:
            continue
        log.info("start-up writes done")
        return


def surfaces() -> Mount:
    """The route table: each surface with its renderer; the pages are the root surface, so
    whatever no other surface claims is answered as a page."""
    return mount(
        "",
        render_page,
        [
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            # Prometheus: 404 unless LEADEXEC_METRICS_TOKEN is set, then for that bearer only.
            *metrics_routes,
            # The API's description is part of the seed's API: its refusals take that shape.
            Route("/openapi.json", rendered_by(openapi, seed_renderer())),
            mount("/api/v1", resource_renderer(resources.API), api_v1.routes),
            # The LeadExec API as an MCP server (Streamable HTTP) for AI assistants.
            *rendered_by_all(mcp_server.routes(), mcp_server.RENDER),
            # The operators' API: bearer tokens of their own, JSON refusals in one shape.
            mount(admin_api.BASE, render_bearer, admin_api.routes),
            # SCIM 2.0 provisioning: the same tokens (scope scim), RFC 7644 errors.
            mount(scim.BASE, scim.render_scim, scim.routes),
            mount("/api", seed_renderer(), [*seed_token.routes, *revoke.routes]),
            mount("/signin/buttons", seed_renderer(cors=True), signin.buttons),
            # The standard OAuth 2.1 / OpenID Connect surface: JSON errors of RFC 6749; the
            # pages a person sees (authorize, logout) render theirs as pages, UserInfo as a
            # bearer challenge.
            *rendered_by_all(discovery.well_known, render_oauth),
            # RFC 9728: the LeadExec API's, /mcp's and the issuer's own resource metadata.
            *rendered_by_all(protected_resource.well_known, render_oauth),
            mount(
                "/oauth2",
                render_oauth,
                [
                    *rendered_by_all(authorize.routes, render_page),
                    *rendered_by_all(logout.routes, render_page),
                    *token.routes,
                    *device_authorization.routes,
                    *par.routes,
                    # RFC 7591 / 7592: agents registering themselves (when open).
                    *rendered_by_all(register.routes, register.render_registration),
                    *rendered_by_all(userinfo.routes, render_bearer),
                    Route("/jwks", discovery.jwks, methods=["GET"]),
                ],
            ),
            # The browser's own sign-in dialog (FedCM): its JSON errors; the page that ends
            # its login window renders as a page.
            *rendered_by_all(fedcm.well_known, render_fedcm),
            mount(
                "/fedcm", render_fedcm, [*rendered_by_all(fedcm.pages, render_page), *fedcm.routes]
            ),
            # The popup, the silent check and the SDK's files; the keys that sign notices.
            mount("/signin", render_result, [*signin.popup, Route("/keys", keys)]),
            *account.routes,
            *device_page.routes,
            *recovery.routes,
            *email_change.routes,
            *profile.routes,
            *dev_outbox.routes,
            *passkeys.routes,
            *second_step.routes,
            *app_codes.routes,
            *browsers.routes,
            *developers.routes,
            *admin.routes,
            *admin_audit.routes,
            *admin_users.routes,
            *admin_agents.routes,
            # The interactive API reference and the Swagger UI files it loads (before /static).
            *api_docs.routes,
            Mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static"),
        ],
    )


def create_app(services_: Services) -> Starlette:
    settings = services_.settings
    settings.rp_id  # noqa: B018 (start-up refuses an RP ID that is not the issuer's domain)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from leadexec_signin.background import flush_usage_forever, run_forever

        # As many threads as pooled connections: more would only open and close overflow
        # connections under load. Plus the metadata-document fetches' own slots: a fetch
        # holds its request's thread (before any unit of work, so no connection) for up to
        # 2.5 s, and those threads must not be the ones database work needs.
        to_thread.current_default_thread_limiter().total_tokens = (
            max(4, settings.db_pool_size) + FETCH_SLOTS
        )
        tasks = []
        await services_.astart()
        try:
            await call(services_.prepare)
        except SigninError as exc:
            # The database is away: serve anyway (/readyz says 503) and prepare when it is back.
            log.warning("start-up writes postponed: %s", exc.code)
            tasks.append(prepare_when_possible(services_))

        # Set by the shutdown: the notice sender finishes the delivery in hand, then stops.
        stopping = asyncio.Event()
        senders = []
        if settings.notice_interval_seconds > 0:
            senders.append(
                asyncio.create_task(
                    run_forever(services_, settings.notice_interval_seconds, stopping)
                )
            )
        if settings.usage_flush_seconds > 0:
            tasks.append(flush_usage_forever(services_, settings.usage_flush_seconds))
        tasks.append(publish_forever(services_))
        running = [asyncio.create_task(t) for t in tasks]
        # uvicorn comes back here once every request in flight was answered (SIGTERM).
        yield
        stopping.set()
        if senders:
            _done, late = await asyncio.wait(senders, timeout=settings.shutdown_grace_seconds)
            running += late  # a delivery that outlived the grace is cut (leased, retried)
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # What build() opened, shut in reverse order (queued mail, "last used" times, the
        # async read pool, Redis, the database).
        await services_.aclose()
        flush_metrics()  # the last second's counts, before the process leaves
        process_exited()

    app = Starlette(routes=[surfaces()], lifespan=lifespan)
    # The page's language, innermost: every route and renderer below speaks it.
    app.add_middleware(LanguageMiddleware, settings=settings)
    # The partner backends' hourly refresh and their API calls: the plain calls skip the
    # router, and the language too (machine answers, which it lets through untouched).
    app.add_middleware(HotPaths)
    # Inside the security middleware, which makes the request id the audit trail records.
    app.add_middleware(RequestContextMiddleware, settings=settings)
    app.add_middleware(
        SecurityMiddleware, settings=settings, metrics=RequestMetrics(route_templates(app.routes))
    )
    app.state.services = services_
    app.state.templates = LocalizedTemplates(directory=PACKAGE / "templates")
    app.state.openapi = _openapi_bytes()
    return app


class HotPaths:
    """Each hot path's own pure-ASGI handler by exact path, one dictionary look-up a request;
    every other request goes on untouched. Each handler answers only the plain form of its
    call and hands anything else to the routes, which answer every case."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hot: dict[str, ASGIApp] = {
            seed_token.HotTokenPath.PATH: seed_token.HotTokenPath(app),
            api_v1.HotMePath.PATH: api_v1.HotMePath(app),
            token.HotTokenPath.PATH: token.HotTokenPath(app),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.hot.get(scope.get("path", ""), self.app)(scope, receive, send)


@functools.cache
def _openapi_bytes() -> bytes:
    """The OpenAPI document, compacted once per process (not per app: tests build hundreds)."""
    return json.dumps(json.loads(OPENAPI.read_text())).encode()
