"""The audit trail as operators use it: search with filters, page, export (CSV, JSON), forward
each event to a signed webhook, and record refusals that happen outside a transaction.

The admin page (``web/admin/audit.py``) and ``leadexec-signin audit export`` parse their
filters with :func:`parse_query`, so both refuse the same values with the same words.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials, notices
from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.audit import AuditEvent, AuditFilter
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, SigninError
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.ports import Apps, Audit, AuditLog, Reader, Store, Users
from leadexec_signin.settings import Settings

log = logging.getLogger("leadexec_signin.core")

PAGE_SIZE = 50
EXPORT_BATCH = 500
# Every filter value is short; anything longer is not one of ours (and stays out of SQL).
MAX_VALUE = 320
USER_ID = re.compile(r"^usr_[A-Za-z0-9_-]{16,64}$")
_EMAIL_LIKE = re.compile(r"^[^\s@]{1,64}@[^\s@]{1,255}$")
FILTERS = ("user", "app", "kind", "since", "until", "before")


@dataclass(frozen=True)
class AuditQuery:
    """A parsed search: ``user`` is an id or an email (found at search time)."""

    user: str | None = None
    app_id: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


def parse_time(raw: str, name: str, *, end: bool = False) -> datetime:
    """ISO 8601 (``2026-12-01``, ``2026-12-01T09:30``, with ``Z`` or an offset); no zone means
    UTC. A bare date as the end of a range means the end of that day, as people read it."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"{name} must be a date or time like 2026-12-01 or 2026-12-01T09:30Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_query(params: Mapping[str, str]) -> AuditQuery:
    """Empty values are no filter (a form submits every field); anything malformed is a 400."""
    values: dict[str, str] = {}
    for name in FILTERS:
        raw = params.get(name) or ""
        if len(raw) > MAX_VALUE or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
            raise InvalidRequest(f"The {name} filter is not a value we could have written.")
        if raw.strip():
            values[name] = raw.strip()
    user = values.get("user")
    if user is not None and not (USER_ID.fullmatch(user) or _EMAIL_LIKE.fullmatch(user)):
        raise InvalidRequest("The user filter takes a user id (usr_...) or an email address.")
    app_id = values.get("app")
    if app_id is not None and not APP_ID.fullmatch(app_id):
        raise InvalidRequest("The app filter takes an application id (app_...).")
    kind = values.get("kind")
    if kind is not None and kind not in audit.EVENTS:
        raise InvalidRequest(f"Unknown kind of event {kind[:40]!r}.")
    since = parse_time(values["since"], "since") if "since" in values else None
    until = parse_time(values["until"], "until", end=True) if "until" in values else None
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("The end of the time range must come after its start.")
    before_id = None
    if "before" in values:
        if not values["before"].isdigit() or not 0 < int(values["before"]) < 2**62:
            raise InvalidRequest("before must be an event number.")
        before_id = int(values["before"])
    return AuditQuery(
        user=user.lower() if user and "@" in user else user,
        app_id=app_id,
        kind=kind,
        since=since,
        until=until,
        before_id=before_id,
    )


def query_params(query: AuditQuery) -> dict[str, str]:
    """The filters back as parameters (without the page): the export links and the next
    page repeat exactly what was searched."""
    out = {
        "user": query.user or "",
        "app": query.app_id or "",
        "kind": query.kind or "",
        "since": _iso(query.since) if query.since else "",
        "until": _iso(query.until) if query.until else "",
    }
    return {k: v for k, v in out.items() if v}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the shapes an event leaves in -------------------------------------------------------------


def event_json(event: AuditEvent) -> dict[str, object]:
    """The one outside shape of an event: the JSON export, the webhook, the command line."""
    return {
        "id": event.id,
        "at": _iso(event.at),
        "event": event.event,
        "actor": event.actor,
        "subject": event.subject,
        "userId": event.user_id,
        "appId": event.app_id,
        "ip": event.ip,
        "userAgent": event.user_agent,
        "requestId": event.request_id,
        "detail": event.detail,
    }


CSV_COLUMNS = ("id", "at", "event", "actor", "subject", "userId", "appId", "ip", "userAgent",
               "requestId", "detail")  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection,
# OWASP): a user agent of "=HYPERLINK(...)" must stay text. Tab and CR start formulas too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(events: list[AuditEvent], *, header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for event in events:
        data = event_json(event)
        writer.writerow([csv_cell(data[c]) for c in CSV_COLUMNS])
    return out.getvalue()


# -- the use case ------------------------------------------------------------------------------


class AuditTx(AuditLog, Audit, Users, Apps, Protocol):
    pass


class AuditStore(Store[AuditTx], Reader[AuditTx], Protocol):
    pass


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_before: int | None  # the ``before`` of the next (older) page, None on the last
    emails: dict[str, str] = field(default_factory=dict)  # user id -> email, for display
    app_names: dict[str, str] = field(default_factory=dict)


class AuditTrail:
    def __init__(self, store: AuditStore, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    def _filter(self, tx: AuditTx, query: AuditQuery) -> AuditFilter | None:
        """None when the user named by email does not exist: nothing can match."""
        user_id = query.user
        if user_id is not None and "@" in user_id:
            found = tx.user_by_email(user_id)
            if found is None:
                return None
            user_id = found.id
        return AuditFilter(user_id, query.app_id, query.kind, query.since, query.until)

    def page(self, query: AuditQuery, size: int = PAGE_SIZE) -> AuditPage:
        with self.store.reading() as tx:
            where = self._filter(tx, query)
            if where is None:
                return AuditPage([], None)
            found = tx.audit_events(where, before_id=query.before_id, limit=size + 1)
            events = found[:size]
            more = len(found) > size
            emails: dict[str, str] = {}
            names: dict[str, str] = {}
            for e in events:
                for uid in {e.user_id, e.actor} - {None}:
                    if uid and uid not in emails and USER_ID.fullmatch(uid):
                        user = tx.user_by_id(uid)
                        if user is not None:
                            emails[uid] = user.email
                if e.app_id and e.app_id not in names:
                    app = tx.app_by_id(e.app_id)
                    if app is not None:
                        names[e.app_id] = app.name
        return AuditPage(events, events[-1].id if more and events else None, emails, names)

    def export(self, query: AuditQuery) -> Iterator[list[AuditEvent]]:
        """Every matching event, newest first, in batches of one short read each: an export
        of a year never holds a transaction (or the SQLite file) for its whole length."""
        before = query.before_id
        while True:
            with self.store.reading() as tx:
                where = self._filter(tx, query)
                batch = (
                    tx.audit_events(where, before_id=before, limit=EXPORT_BATCH)
                    if where is not None
                    else []
                )
            if not batch:
                return
            yield batch
            before = batch[-1].id
            if len(batch) < EXPORT_BATCH:
                return


# Refusals of a token endpoint worth a row: a wrong credential or a dead token. Not rate
# limiting (a flood would write a row per refused request) nor malformed requests.
AUDITED_REFUSALS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


def record_refusal(
    store: Store[Audit], clock: Clock, exc: SigninError, *, client_id: str, grant_type: str
) -> None:
    """A refused token exchange rolled its own transaction back: its event is written in one
    of its own. It never replaces the refusal: if the database cannot take it, the log has
    the line and the caller raises what it had. The client id is kept only when well formed
    (it is whatever the request said)."""
    if exc.code not in AUDITED_REFUSALS:
        return
    app_id = client_id if APP_ID.fullmatch(client_id) else None
    try:
        with store.transaction() as tx:
            audit.record(
                tx,
                clock.now(),
                audit.TOKEN_REFUSED,
                app_id=app_id,
                actor=app_id,
                detail={
                    "reason": exc.code,
                    "grantType": grant_type[:40],
                    "description": exc.description[:200],
                },
            )
    except SigninError as failed:
        log.warning("audit %s not written: %s", audit.TOKEN_REFUSED, failed.code)


def forwarder(settings: Settings) -> AuditForwarding | None:
    """What storage calls for each event it writes, when a webhook is configured."""
    return AuditForwarding(settings.audit_webhook_url) if settings.audit_webhook_url else None


@dataclass(frozen=True)
class AuditForwarding:
    url: str

    def __call__(self, event: AuditEvent) -> Notice:
        """The notice that carries ``event`` to the webhook; it is signed when sent, with the
        secret of that moment, so the secret is never in the database."""
        # The event's own number is not known before its insert: the notice's id, which a
        # retry keeps, is what a receiver de-duplicates by.
        notice_id = credentials.new_id("ntc_")
        body = {**event_json(event), "id": notice_id}
        return Notice(
            id=notice_id,
            app_id=None,
            url=self.url,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            attempts=0,
            next_attempt_at=event.at,
            kind=notices.AUDIT,
        )
