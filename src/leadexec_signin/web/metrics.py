"""``/metrics`` (the Prometheus text format) and what the web layer counts: each request by
route template, method and status, and each token exchange by surface, grant type and result.

Off unless ``LEADEXEC_METRICS_TOKEN`` is set, and then only for ``Authorization: Bearer
<token>``: the numbers say how many people sign in and which partners fail, which is not for
the public. Under ``serve --workers N`` any worker answers a scrape with the sum over all of
them (``prometheus_client``'s multiprocess collector reads every worker's files).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from leadexec_signin.core.actions.notices import NoticeBacklog
from leadexec_signin.core.credentials import same
from leadexec_signin.core.errors import NotFound, SigninError
from leadexec_signin.metrics import HTTP_DURATION, TOKEN_EXCHANGES, multiprocess, sample_pool
from leadexec_signin.web.context import call, services
from leadexec_signin.web.surfaces import Surface

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Histogram

    from leadexec_signin.compose import Services

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH", "DELETE"})


def route_templates(routes: Sequence[BaseRoute], prefix: str = "") -> dict[int, str]:
    """Every leaf route (by identity: routes compare by value and do not hash) and the
    template it answers (``/oauth2/token``, ``/signin/buttons/{btn_id}``), read from the route
    table once: a label is a template, never the path a client sent, so a scanner cannot grow
    the series without bound."""
    found: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Mount) and isinstance(route.app, Surface):
            found |= route_templates(route.app.routes, prefix + route.path)
        elif isinstance(route, Mount):
            found[id(route)] = prefix + route.path + "/{path}"
        elif isinstance(route, Route):
            found[id(route)] = prefix + route.path
    return found


class RequestMetrics:
    """The latency histogram's children, bound on first use per (route, method, status) and
    kept, so a request costs a tuple, a dict lookup and one observation."""

    def __init__(self, templates: dict[int, str]) -> None:
        self.templates = templates
        self._children: dict[tuple[int, str, int], Histogram] = {}

    def route(self, scope_route: object) -> str:
        return self.templates.get(id(scope_route), UNMATCHED)

    def observe(self, scope_route: object, method: str, status: int, seconds: float) -> None:
        key = (id(scope_route), method, status)
        child = self._children.get(key)
        if child is None:
            shown = method if method in METHODS else "other"
            child = HTTP_DURATION.labels(self.route(scope_route), shown, str(status))
            self._children[key] = child
        child.observe(seconds)


class Exchanges:
    """Token exchanges of one surface: successes pre-bound per grant type, refusals bound on
    first use per (grant type, error code), both bounded by the code, not by requests."""

    def __init__(self, surface: str, grant_types: Iterable[str]) -> None:
        self.surface = surface
        self.ok: dict[str, Counter] = {
            g: TOKEN_EXCHANGES.labels(surface, g, "ok") for g in grant_types
        }
        self._refused: dict[tuple[str, str], Counter] = {}

    def issued(self, grant_type: str) -> None:
        self.ok[grant_type].inc()

    def refused(self, grant_type: str, exc: BaseException) -> None:
        shown = grant_type if grant_type in self.ok else "other"
        code = exc.code if isinstance(exc, SigninError) else "server_error"
        child = self._refused.get((shown, code))
        if child is None:
            child = self._refused[(shown, code)] = TOKEN_EXCHANGES.labels(self.surface, shown, code)
        child.inc()


# -- the scrape --------------------------------------------------------------------------


class _Process(Collector):
    """This process's own registry, for a single process (no multiprocess files)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class _Backlog(Collector):
    """What the database knows at scrape time, for the whole deployment (not per process):
    the notice outbox's backlog, and whether Redis answers this process."""

    def __init__(self, backlog: NoticeBacklog | None, redis: bool | None) -> None:
        self.backlog = backlog
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        if self.backlog is not None:
            yield GaugeMetricFamily(
                "leadexec_notices_pending", "Queued notices not yet delivered.",
                self.backlog.pending,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "leadexec_notices_abandoned",
                "Notices given up after every retry (kept for the operator to see).",
                self.backlog.abandoned,
            )
            yield GaugeMetricFamily(
                "leadexec_notices_oldest_pending_age_seconds",
                "Age of the oldest undelivered notice (0 when none is waiting).",
                self.backlog.oldest_age_seconds,
            )
        yield GaugeMetricFamily(
            "leadexec_database_up", "1 when the database answered this scrape.",
            1 if self.backlog is not None else 0,
        )  # fmt: skip
        if self.redis is not None:
            yield GaugeMetricFamily(
                "leadexec_redis_up", "1 when Redis answered this scrape (only if configured).",
                1 if self.redis else 0,
            )  # fmt: skip


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(given) and same(given.strip(), token)


def _read_backlog(svc: Services) -> NoticeBacklog | None:
    try:
        return svc.notices.backlog()
    except SigninError:  # the database is away: leadexec_database_up says so
        return None


def _read_redis(svc: Services) -> bool | None:
    events = svc.token_checks.events
    return events.reachable() if events is not None else None


async def metrics_endpoint(request: Request) -> Response:
    svc = services(request)
    token = svc.settings.metrics_token
    if not token:
        # Not exposed at all: the same answer as any address that names nothing.
        raise NotFound("There is nothing at this address.")
    if not _authorized(request, token):
        return Response(
            "Send the metrics token: Authorization: Bearer <LEADEXEC_METRICS_TOKEN>.\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    sample_pool(svc.storage.engine)  # this process's pool, fresh for this scrape
    backlog = await call(_read_backlog, svc)
    redis = await call(_read_redis, svc)
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(_Backlog(backlog, redis))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]
