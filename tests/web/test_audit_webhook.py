"""The audit trail beyond the page: every event queued for the operators' signed webhook in its
own transaction and delivered with retries like disconnect notices; retention sweeps."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, select

from leadexec_signin.background import deliver_due
from leadexec_signin.compose import Services, build
from leadexec_signin.core import audit
from leadexec_signin.core.audit import AuditFilter
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import Conflict
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from support.signin import PASSWORD

HOOK = "https://audit.example/hook"
SECRET = "an operator's shared secret"


@pytest.fixture
def hooked(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    services = build(
        settings.with_changes(audit_webhook_url=HOOK, audit_webhook_secret=SECRET), clock
    )
    services.prepare()  # the signing keys a server makes at start-up
    yield services
    services.close()


def audit_notices(services: Services) -> list[Row[Any]]:
    n = tables.notices
    with services.storage.engine.connect() as c:
        return list(c.execute(select(n).where(n.c.kind == "audit").order_by(n.c.created_at)))


def deliver(services: Services, answer: int, seen: list[httpx.Request]) -> int:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer)

    async def once() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await deliver_due(services, client)

    return asyncio.run(once())


def test_each_event_is_queued_with_it_and_delivered_signed(
    hooked: Services, clock: FrozenClock
) -> None:
    user = hooked.accounts.create_user(email="w@example.com", name="W", password=PASSWORD)
    with pytest.raises(Conflict):  # rolled back: no event, so nothing to deliver either
        hooked.accounts.create_user(email="w@example.com", name="W", password=PASSWORD)
    [queued] = audit_notices(hooked)
    assert (queued.app_id, queued.url, queued.attempts) == (None, HOOK, 0)
    assert SECRET not in queued.body  # the secret signs at delivery; it is never stored

    seen: list[httpx.Request] = []
    assert deliver(hooked, 503, seen) == 0  # refused: retried later, as notices are
    [again] = audit_notices(hooked)
    assert again.attempts == 1 and again.delivered_at is None
    assert again.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert deliver(hooked, 204, seen) == 0  # not due yet
    clock.advance(seconds=31)
    assert deliver(hooked, 204, seen) == 1
    assert audit_notices(hooked)[0].delivered_at == clock.now()

    first, last = seen
    assert first.content == last.content  # the same event, the same id: receivers de-duplicate
    body = json.loads(last.content)
    assert body["id"] == queued.id and body["event"] == audit.USER_CREATED
    assert (body["userId"], body["actor"]) == (user.id, user.id)
    header = last.headers["LeadExec-Audit-Signature"]
    stamp = header.split(",")[0].removeprefix("t=")
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + last.content, hashlib.sha256)
    assert header == f"t={stamp},v1={expected.hexdigest()}"
    assert int(stamp) == int(clock.now().timestamp())  # signed at this attempt, not the first
    assert last.headers["Content-Type"] == "application/json"


def test_without_a_webhook_nothing_is_queued(services: Services) -> None:
    services.accounts.create_user(email="n@example.com", name="N", password=PASSWORD)
    assert audit_notices(services) == []


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"LEADEXEC_AUDIT_WEBHOOK_URL": "http://audit.example/hook",
          "LEADEXEC_AUDIT_WEBHOOK_SECRET": SECRET}, "https"),
        ({"LEADEXEC_AUDIT_WEBHOOK_URL": "ftp://x"}, "https"),
        ({"LEADEXEC_AUDIT_WEBHOOK_URL": HOOK}, "SECRET must be set"),
        ({"LEADEXEC_AUDIT_WEBHOOK_URL": HOOK, "LEADEXEC_AUDIT_WEBHOOK_SECRET": "short"},
         "at least 16"),
        ({"LEADEXEC_AUDIT_RETENTION_DAYS": "-1"}, "between 0 and"),
        ({"LEADEXEC_KEY_ROTATION_DELAY": "soon"}, "must be an integer"),
    ],
    ids=["plain http to another host", "not a web address", "no secret", "a short secret",
         "a negative retention", "a delay that is not a number"],
)  # fmt: skip
def test_bad_operations_settings_stop_start_up_with_their_name(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env(env)
    assert words in str(stopped.value)


def test_a_loopback_webhook_may_be_plain_http() -> None:
    loopback = Settings.from_env(
        {"LEADEXEC_AUDIT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
         "LEADEXEC_AUDIT_WEBHOOK_SECRET": SECRET}
    )  # fmt: skip
    assert loopback.audit_webhook_url == "http://127.0.0.1:9/hook"
    assert SECRET not in repr(loopback)  # never in a log line that prints the settings


# -- retention -------------------------------------------------------------------------------


def test_the_sweep_forgets_events_past_retention_and_says_so(
    settings: Settings, clock: FrozenClock
) -> None:
    services = build(settings.with_changes(audit_retention_days=30), clock)
    try:
        for days_ago in (45, 31, 29, 1):
            with services.storage.transaction() as tx:
                audit.record(tx, clock.now() - timedelta(days=days_ago), audit.SIGNOUT,
                             detail={"days": days_ago})  # fmt: skip
        services.housekeeping.delete_expired()
        with services.storage.transaction() as tx:
            kept = tx.audit_events(AuditFilter(kind=audit.SIGNOUT))
            [swept] = tx.audit_events(AuditFilter(kind=audit.AUDIT_SWEPT))
        assert [e.detail["days"] for e in kept] == [1, 29]
        assert (swept.detail["count"], swept.actor) == (2, "retention")
        services.housekeeping.delete_expired()  # nothing more to forget: no second record
        with services.storage.transaction() as tx:
            assert len(tx.audit_events(AuditFilter(kind=audit.AUDIT_SWEPT))) == 1
    finally:
        services.close()
    forever = build(settings.with_changes(audit_retention_days=0), clock)
    try:
        clock.advance(days=3650)
        forever.housekeeping.delete_expired()
        with forever.storage.transaction() as tx:
            assert len(tx.audit_events(AuditFilter(kind=audit.SIGNOUT))) == 2
    finally:
        forever.close()
