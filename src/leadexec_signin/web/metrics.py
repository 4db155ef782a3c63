"""``/metrics`` (the Prometheus text format) and what the web layer counts: each request by
route template, method and status, and each token exchange by surface, grant type and result.

Off unless ``LEADEXEC_METRICS_TOKEN`` is set, and then only for ``Authorization: Bearer
<token>``: the numbers say how many people sign in and which partners fail, which is not for
the public. Under ``serve --workers N`` any worker answers a scrape with the sum over all of
them (``prometheus_client``'s multiprocess collector reads every worker's files).
"""

from __future__ import annotations

import asyncio
import weakref
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

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
from leadexec_signin.metrics import (
    HTTP_DURATION,
    LATENCY_BUCKETS,
    TOKEN_EXCHANGES,
    multiprocess,
    sample_pool,
)
from leadexec_signin.services import Services
from leadexec_signin.storage.events import RedisEvents
from leadexec_signin.web.context import call, services
from leadexec_signin.web.surfaces import Surface

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Histogram


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


class _Tally:
    """One latency histogram child's observations since the last flush, in plain numbers.

    Counted on the event loop's thread only (the middleware and the routes' own code run
    there), so no lock is needed; ``flush`` runs there too. A locked write per bucket, and in
    multiprocess mode a write to the worker's file, is paid once a second instead of on
    every request."""

    __slots__ = ("child", "counts", "seconds")

    def __init__(self, child: Histogram) -> None:
        self.child = child
        self.counts = [0] * len(BOUNDS)
        self.seconds = 0.0

    def flush(self) -> None:
        # The child's own values, as Histogram.observe would move them (one bucket per
        # observation; the exposition makes them cumulative).
        for i, n in enumerate(self.counts):
            if n:
                self.child._buckets[i].inc(n)
                self.counts[i] = 0
        if self.seconds:
            self.child._sum.inc(self.seconds)
            self.seconds = 0.0


BOUNDS = (*LATENCY_BUCKETS, float("inf"))


class RequestMetrics:
    """The latency histogram, per (route, method, status): a request costs a tuple, a dict
    lookup, a bisection and two additions; ``flush`` hands the sums to prometheus-client."""

    def __init__(self, templates: dict[int, str]) -> None:
        self.templates = templates
        self._tallies: dict[tuple[int, str, int], _Tally] = {}
        _FLUSHED.add(self)

    def route(self, scope_route: object) -> str:
        return self.templates.get(id(scope_route), UNMATCHED)

    def observe(self, scope_route: object, method: str, status: int, seconds: float) -> None:
        key = (id(scope_route), method, status)
        tally = self._tallies.get(key)
        if tally is None:
            shown = method if method in METHODS else "other"
            child = HTTP_DURATION.labels(self.route(scope_route), shown, str(status))
            tally = self._tallies[key] = _Tally(child)
        tally.counts[bisect_left(BOUNDS, seconds)] += 1
        tally.seconds += seconds

    def flush(self) -> None:
        for tally in list(self._tallies.values()):
            tally.flush()


class Exchanges:
    """Token exchanges of one surface: successes pre-bound per grant type, refusals bound on
    first use per (grant type, error code), both bounded by the code, not by requests.
    Counted in plain numbers on the event loop, handed over by ``flush``."""

    def __init__(self, surface: str, grant_types: Iterable[str]) -> None:
        self.surface = surface
        self.ok: dict[str, Counter] = {
            g: TOKEN_EXCHANGES.labels(surface, g, "ok") for g in grant_types
        }
        self._counts: dict[Counter, int] = dict.fromkeys(self.ok.values(), 0)
        self._refused: dict[tuple[str, str], Counter] = {}
        _FLUSHED.add(self)

    def issued(self, grant_type: str) -> None:
        self._counts[self.ok[grant_type]] += 1

    def refused(self, grant_type: str, exc: BaseException) -> None:
        shown = grant_type if grant_type in self.ok else "other"
        code = exc.code if isinstance(exc, SigninError) else "server_error"
        child = self._refused.get((shown, code))
        if child is None:
            child = self._refused[(shown, code)] = TOKEN_EXCHANGES.labels(self.surface, shown, code)
            self._counts[child] = 0
        self._counts[child] += 1

    def flush(self) -> None:
        for child, n in list(self._counts.items()):
            if n:
                child.inc(n)
                self._counts[child] = 0


class _Flushed(Protocol):
    def flush(self) -> None: ...


# Everything that counts in plain numbers (weakly: a test's app may go away).
_FLUSHED: weakref.WeakSet[_Flushed] = weakref.WeakSet()


def flush() -> None:
    """Hand this process's tallies to prometheus-client: before a scrape here, every second
    (``publish_forever``), and at shutdown."""
    for counted in list(_FLUSHED):
        counted.flush()


async def publish_forever(services: Services, every: float = 1.0) -> None:
    """Each worker's counts reach its multiprocess files within a second, so a scrape
    answered by another worker is at most that late; the pool is sampled with them."""
    while True:
        await asyncio.sleep(every)
        flush()
        sample_pool(services.storage.engine)


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
    # Only the Redis events know whether Redis answers; without Redis there is nothing to say.
    return events.reachable() if isinstance(events, RedisEvents) else None


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
    flush()  # this process's own counts and pool, exact for this scrape
    sample_pool(svc.storage.engine)
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
