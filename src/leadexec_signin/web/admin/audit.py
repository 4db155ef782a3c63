"""The operators' audit trail: search by user, application, kind and time, page through it,
and download what was found as CSV or JSON.

Operator only, like the rest of /admin (``operator`` refuses everyone else). Filters are
parsed by the core (``parse_query``), so a hostile value is a 400 page, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from leadexec_signin import i18n
from leadexec_signin.core import audit
from leadexec_signin.core.actions.audit_trail import (
    FILTERS,
    AuditQuery,
    csv_lines,
    event_json,
    parse_query,
    query_params,
)
from leadexec_signin.core.audit import AuditEvent
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.i18n import N_
from leadexec_signin.web.admin.app_queue import operator
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page


def read_query(request: Request) -> AuditQuery:
    for name in FILTERS:
        if len(request.query_params.getlist(name)) > 1:
            raise InvalidRequest(f"Give the {name} filter once.")
    return parse_query(request.query_params)


# The detail's fields as the page names them, in the reader's language (English shows the
# field's own name, as the exports do); their values are codes, names and ids, shown as they are.
DETAIL_LABELS = {
    "alg": N_("alg"),
    "authMethod": N_("authMethod"),
    "before": N_("before"),
    "changed": N_("changed"),
    "clientType": N_("clientType"),
    "count": N_("count"),
    "forced": N_("forced"),
    "grantType": N_("grantType"),
    "name": N_("name"),
    "origins": N_("origins"),
    "purpose": N_("purpose"),
    "reason": N_("reason"),
    "redirectUris": N_("redirectUris"),
    "replaces": N_("replaces"),
    "scopes": N_("scopes"),
    "sessions_ended": N_("sessions_ended"),
    "signsFrom": N_("signsFrom"),
    "status": N_("status"),
    "via": N_("via"),
    "was": N_("was"),
}


def describe(event: AuditEvent) -> str:
    """The detail as a short line for people (the exports carry it whole)."""
    parts = []
    for key, value in event.detail.items():
        if key == "description":
            continue  # the reason's sentence: the code beside it says as much, in the export
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        label = i18n.gettext(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key
        parts.append(f"{label}: {shown}")
    return "; ".join(parts)


async def audit_page(request: Request) -> Response:
    user = await operator(request)
    query = read_query(request)
    found = await call(services(request).audit_trail.page, query)
    params = query_params(query)
    older = urlencode({**params, "before": found.next_before}) if found.next_before else ""
    exports = urlencode(params)
    return page(
        request,
        "admin_audit.html",
        {
            "user": user,
            "title": N_("Audit trail"),
            "found": found,
            "query": query,
            "form": {
                **params,
                "since": request.query_params.get("since", ""),
                "until": request.query_params.get("until", ""),
            },
            "kinds": audit.EVENTS,
            "older": older,
            "paged": query.before_id is not None,
            "newest": urlencode(params),
            "exports": exports,
            "describe": describe,
            "utc": UTC,
        },
    )


def _download(request: Request, kind: str) -> str:
    stamp = services(request).clock.now().strftime("%Y%m%dT%H%M%SZ")
    return f'attachment; filename="leadexec-audit-{stamp}.{kind}"'


async def export(request: Request) -> Response:
    """The whole result, streamed batch by batch; the first batch is read before the answer
    starts, so a database that is away is a 503 page, not a cut-off file."""
    await operator(request)
    query = read_query(request)
    kind = request.path_params["format"]
    if kind not in ("csv", "json"):
        raise InvalidRequest(N_("Export as csv or json."))
    batches = services(request).audit_trail.export(query)
    first = await call(next, batches, None)

    async def body() -> AsyncIterator[str]:
        batch, count = first, 0
        if kind == "json":
            yield "["
        while batch:
            if kind == "csv":
                yield csv_lines(batch, header=count == 0)
            else:
                for event in batch:
                    yield ("," if count else "") + "\n" + json.dumps(event_json(event))
                    count += 1
            count += len(batch) if kind == "csv" else 0
            batch = await call(next, batches, None)
        if kind == "csv" and count == 0:
            yield csv_lines([], header=True)
        if kind == "json":
            yield "\n]\n"

    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    return StreamingResponse(
        body(), media_type=media, headers={"Content-Disposition": _download(request, kind)}
    )


routes = [
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/admin/audit/export.{format}", export, methods=["GET"]),
]
