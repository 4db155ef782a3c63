"""The Prometheus series of every process, in one place (``prometheus-client``).

A leaf module, like ``settings.py``: the storage and the web count here, the core never does
(it records audit events, which the storage counts once their transaction committed). Every
series has labels, so no value exists until something is counted: under ``serve --workers N``
the library's multiprocess mode keeps each value in a file of the worker's own, and a value
made before ``serve`` chose that folder would be lost.

Labels are bounded: route templates, never raw paths; error codes and limits from the code,
never from a request. The hot paths bind their children once (``Bound``, ``web/metrics.py``),
so counting an exchange is one locked add, with no label lookup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, values

from leadexec_signin.core import audit

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Seconds: most answers take under 5 ms (a token exchange about 0.3 ms in process), a
# password sign-in about 200 ms, a slow database up to the statement timeout.
# ``_created`` series double the output for a timestamp nobody graphs.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)

HTTP_DURATION = Histogram(
    "leadexec_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status (_count: requests).",
    ("route", "method", "status"),
    buckets=LATENCY_BUCKETS,
)
TOKEN_EXCHANGES = Counter(
    "leadexec_token_exchanges",
    "Token endpoint calls: result is ok or the refusal's error code.",
    ("surface", "grant_type", "result"),
)
SIGNINS = Counter("leadexec_signins", "Password sign-ins: ok, failed or limited.", ("result",))
CONSENTS = Counter("leadexec_consents", "Consent dialog answers: granted or denied.", ("result",))
REVOCATIONS = Counter(
    "leadexec_revocations",
    "Grants revoked, by source: partner, user, operator or reuse (a code or refresh token "
    "presented again).",
    ("source",),
)
RATE_LIMITED = Counter(
    "leadexec_rate_limited", "Requests refused by a rate limit, by limit.", ("limit",)
)
NOTICE_DELIVERIES = Counter(
    "leadexec_notice_deliveries",
    "Delivery attempts of queued notices: delivered or failed (retried later).",
    ("kind", "result"),
)
TOKEN_CACHE = Counter(
    "leadexec_token_cache_lookups",
    "Access-token checks answered from this process's cache (hit) or the database (miss).",
    ("result",),
)
REFRESH_CACHE = Counter(
    "leadexec_refresh_cache_lookups",
    "Refresh-token exchanges whose token was read from this process's cache (hit) or the "
    "database (miss).",
    ("result",),
)
# Per process, summed over the live ones (a dead worker's connections are gone with it).
DB_POOL = Gauge(
    "leadexec_db_pool_connections",
    "Pooled database connections: in_use or idle (sampled every few seconds).",
    ("state",),
    multiprocess_mode="livesum",
)

# Audit events and the series they move; ``grant.revoked`` says where it came from in ``via``.
_BY_EVENT = {
    audit.SIGNIN_OK: (SIGNINS, "ok"),
    audit.SIGNIN_FAILED: (SIGNINS, "failed"),
    audit.SIGNIN_LIMITED: (SIGNINS, "limited"),
    audit.CONSENT: (CONSENTS, "granted"),
    audit.CONSENT_DENIED: (CONSENTS, "denied"),
}
REVOCATION_SOURCES = {
    "token": "partner",  # the seed's /api/revoke
    "oauth_revoke": "partner",  # RFC 7009
    "user": "user",
    "operator": "operator",
    "refresh_reuse": "reuse",
    "code_replay": "reuse",
}


def multiprocess() -> bool:
    """Whether values live in files shared by every worker (chosen by the library when it was
    first imported, from ``PROMETHEUS_MULTIPROC_DIR``)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def process_exited() -> None:
    """A worker's last act: its live gauges (pool use) leave the sums; its counters stay, since
    what it counted did happen."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(os.getpid())


def count_audit(events: Iterable[audit.AuditEvent]) -> None:
    """The storage's after-commit hook: each committed security event, counted once."""
    for event in events:
        series = _BY_EVENT.get(event.event)
        if series is not None:
            series[0].labels(series[1]).inc()
        elif event.event == audit.GRANT_REVOKED:
            via = str(event.detail.get("via", ""))
            REVOCATIONS.labels(REVOCATION_SOURCES.get(via, "other")).inc()


def count_rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


def count_notice(kind: str, delivered: bool) -> None:
    NOTICE_DELIVERIES.labels(kind, "delivered" if delivered else "failed").inc()


class Bound:
    """One child of a series, bound at its first use rather than at import: a command-line
    run that imports this module, or a ``serve`` before it chose its folder, opens no file."""

    __slots__ = ("_child", "_labels", "_series")

    def __init__(self, series: Counter, *labels: str) -> None:
        self._series = series
        self._labels = labels
        self._child: Counter | None = None

    def inc(self) -> None:
        child = self._child
        if child is None:
            child = self._child = self._series.labels(*self._labels)
        child.inc()


CACHE_HIT = Bound(TOKEN_CACHE, "hit")
CACHE_MISS = Bound(TOKEN_CACHE, "miss")
REFRESH_HIT = Bound(REFRESH_CACHE, "hit")
REFRESH_MISS = Bound(REFRESH_CACHE, "miss")


def sample_pool(engine: Engine) -> None:
    """This process's connection pool, now (a queue pool; an in-memory database has none)."""
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    checked_in = getattr(pool, "checkedin", None)
    if checked_out is None or checked_in is None:
        return
    DB_POOL.labels("in_use").set(checked_out())
    DB_POOL.labels("idle").set(checked_in())
