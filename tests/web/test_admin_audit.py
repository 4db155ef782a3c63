"""The operators' audit trail over HTTP: every security event with who, what and from where;
the /admin/audit page's filters and paging; CSV and JSON downloads; refusals."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from leadexec_signin.core import audit
from leadexec_signin.core.audit import AuditEvent, AuditFilter
from leadexec_signin.core.clock import FrozenClock
from support.signin import ISSUER, PARTNER, PASSWORD, authorize, csrf_of, sign_in
from support.world import World

AGENT = "Mozilla/5.0 (X11; Linux x86_64) AuditTest/1.0"


def operator_client(client: TestClient, world: World) -> TestClient:
    world.services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    op = TestClient(client.app, base_url=ISSUER, headers={"User-Agent": "OperatorBrowser/2"})
    sign_in(op, "op@example.com")
    return op


def events(world: World, **where: object) -> list[AuditEvent]:
    with world.services.storage.transaction() as tx:
        return tx.audit_events(AuditFilter(**where), limit=1000)  # type: ignore[arg-type]


def test_every_security_event_is_recorded_with_its_actor_subject_and_request(
    client: TestClient, world: World
) -> None:
    client.headers["User-Agent"] = AGENT
    page = client.get("/account/login")
    bad = client.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": world.email, "password": "wrong!", "next": "/"},
    )
    assert bad.status_code == 400
    sign_in(client)
    result = authorize(client, world.btn_id)
    assert result["valid"] is True
    refused = client.post("/api/token", data={"appId": world.app_id, "refreshToken": "ler_x" * 9})
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    revoked = client.post("/api/revoke", data={"token": result["refreshToken"]})
    assert revoked.status_code == 200
    op = operator_client(client, world)
    admin = op.get("/admin")
    for action in ("suspend", "reinstate"):
        r = op.post(
            f"/admin/apps/{world.app_id}/status",
            data={"csrf": csrf_of(admin.text), "action": action},
            follow_redirects=False,
        )
        assert r.status_code == 303

    found: dict[str, AuditEvent] = {}
    for e in reversed(events(world)):  # the first of each kind
        found.setdefault(e.event, e)
    failed = found[audit.SIGNIN_FAILED]
    assert (failed.user_id, failed.actor, failed.user_agent) == (world.user_id, None, AGENT)
    ok = found[audit.SIGNIN_OK]
    assert (ok.actor, ok.ip, ok.user_agent) == (world.user_id, "testclient", AGENT)
    assert ok.request_id and re.fullmatch(r"[0-9a-f]{16}", ok.request_id)
    consent = found[audit.CONSENT]
    assert (consent.actor, consent.app_id, consent.user_agent) == (
        world.user_id,
        world.app_id,
        AGENT,
    )
    token = found[audit.TOKEN_REFUSED]
    assert (token.actor, token.app_id, token.detail["reason"]) == (
        world.app_id, world.app_id, "invalid_grant"
    )  # fmt: skip
    revocation = found[audit.GRANT_REVOKED]
    assert revocation.actor == world.app_id and revocation.subject.startswith("grt_")
    assert revocation.detail == {"via": "token"}
    statuses = [e for e in events(world, kind=audit.APP_STATUS) if e.user_agent]
    assert [e.detail["status"] for e in reversed(statuses)] == ["suspended", "approved"]
    assert {e.user_agent for e in statuses} == {"OperatorBrowser/2"}
    assert {e.subject for e in statuses} == {world.app_id}
    assert all(e.actor and e.actor.startswith("usr_") and e.actor != world.user_id
               for e in statuses)  # fmt: skip

    # Each request's id is the one its answer carried.
    again = client.post("/api/token", data={"appId": world.app_id, "refreshToken": "ler_y" * 9})
    last = events(world, kind=audit.TOKEN_REFUSED)[0]
    assert last.request_id == again.headers["x-request-id"]


def test_secrets_and_settings_changes_are_recorded(client: TestClient, world: World) -> None:
    sign_in(client)
    page = client.get("/developers")
    made = client.post(
        "/developers/apps",
        data={"csrf": csrf_of(page.text), "name": "Owned", "origins": f"{PARTNER}\n",
              "scopes": ["profile"]},
    )  # fmt: skip
    app_id = re.search(r"<code>(app_[^<]+)</code>", made.text).group(1)  # type: ignore[union-attr]
    console = client.get(f"/developers/apps/{app_id}")
    for _ in range(2):
        r = client.post(f"/developers/apps/{app_id}/secret", data={"csrf": csrf_of(console.text)})
        assert r.status_code in (200, 303)
    r = client.post(
        f"/developers/apps/{app_id}/origins",
        data={"csrf": csrf_of(console.text), "origins": "https://crm.example.com\n"},
    )
    assert r.status_code in (200, 303)
    kinds = [e.event for e in reversed(events(world, app_id=app_id))]
    assert kinds[:1] == [audit.APP_CREATED]
    assert audit.APP_SECRET_CREATED in kinds and audit.APP_SECRET_ROTATED in kinds
    assert kinds.index(audit.APP_SECRET_CREATED) < kinds.index(audit.APP_SECRET_ROTATED)
    changed = [e for e in events(world, app_id=app_id, kind=audit.APP_UPDATED)]
    assert [e.detail["changed"] for e in changed] == ["origins"]
    assert changed[0].detail["origins"] == ["https://crm.example.com"]
    assert changed[0].actor == world.user_id


# -- the page --------------------------------------------------------------------------------


def seed(world: World, clock: FrozenClock, count: int, **fields: object) -> None:
    """Events written the way use cases write them, one second apart."""
    for n in range(count):
        clock.advance(seconds=1)
        with world.services.storage.transaction() as tx:
            audit.record(tx, clock.now(), audit.SIGNIN_OK, detail={"n": n}, **fields)  # type: ignore[arg-type]


def test_operators_filter_by_user_app_kind_and_time(
    client: TestClient, world: World, clock: FrozenClock
) -> None:
    op = operator_client(client, world)
    start = clock.now()
    seed(world, clock, 3, user_id=world.user_id, app_id=world.app_id)
    middle = clock.now()
    clock.advance(hours=2)
    seed(world, clock, 2, user_id=world.user_id)
    everything = op.get("/admin/audit")
    assert everything.status_code == 200
    assert "Audit trail" in everything.text and "ann@example.com" in everything.text
    assert everything.headers["cache-control"] == "no-store"

    def rows(**params: str) -> int:
        r = op.get("/admin/audit", params=params)
        assert r.status_code == 200, r.text
        return r.text.count('<tr>\n  <td class="nowrap">')

    assert rows(user=world.email, kind=audit.SIGNIN_OK) == 5
    assert rows(user=world.user_id.upper().replace("USR_", "usr_"), kind="signin.ok") == 0
    assert rows(user=world.user_id, kind=audit.SIGNIN_OK) == 5
    assert rows(user="nobody@example.com") == 0
    assert rows(app=world.app_id, kind=audit.SIGNIN_OK) == 3
    after_start = (start + timedelta(milliseconds=500)).isoformat()  # the operator's sign-in
    assert rows(kind=audit.SIGNIN_OK, since=after_start, until=middle.isoformat()) == 2
    assert rows(kind=audit.SIGNIN_OK, since=(middle + timedelta(hours=1)).isoformat()) == 2
    first, last = start.date().isoformat(), clock.now().date().isoformat()
    # Dates: from the start of the first day to the end of the last.
    assert rows(kind=audit.SIGNIN_OK, user=world.user_id, since=first, until=last) == 5
    assert rows(kind=audit.SIGNIN_OK, until=f"{first}T00:00Z") == 0
    # The form shows what was searched.
    shown = op.get("/admin/audit", params={"kind": "signin.ok", "user": world.email}).text
    assert '<option value="signin.ok" selected>' in shown and f'value="{world.email}"' in shown


def test_pages_go_back_in_time_without_repeating_or_skipping(
    client: TestClient, world: World, clock: FrozenClock
) -> None:
    op = operator_client(client, world)
    seed(world, clock, 120, app_id=world.app_id)
    seen: list[int] = []
    url = f"/admin/audit?app={world.app_id}&kind=signin.ok"
    for _ in range(5):
        r = op.get(url)
        assert r.status_code == 200
        seen += [int(n) for n in re.findall(r"n: (\d+)</td>", r.text)]
        older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)">Older', r.text)
        if older is None:
            assert "End of the trail" in r.text
            break
        url = older.group(1).replace("&amp;", "&")
        assert f"app={world.app_id}" in url and "kind=signin.ok" in url
    assert seen == list(range(119, -1, -1))


def test_downloads_honour_the_filters_and_neutralise_formulas(
    client: TestClient, world: World, clock: FrozenClock
) -> None:
    op = operator_client(client, world)
    seed(world, clock, 3, user_id=world.user_id, app_id=world.app_id)
    seed(world, clock, 2)
    hostile = TestClient(client.app, base_url=ISSUER, headers={"User-Agent": "=HYPERLINK(1)"})
    page = hostile.get("/account/login")
    hostile.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": "-2+3@x.example", "password": "x" * 8,
              "next": "/"},
    )  # fmt: skip
    listing = op.get("/admin/audit", params={"app": world.app_id, "kind": "signin.ok"}).text
    link = re.search(r'href="(/admin/audit/export\.csv\?[^"]+)"', listing).group(1)  # type: ignore[union-attr]
    link = link.replace("&amp;", "&")
    r = op.get(link)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="leadexec-audit-')
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == 3 and {row["appId"] for row in table} == {world.app_id}
    assert [json.loads(row["detail"])["n"] for row in table] == [2, 1, 0]

    as_json = op.get(link.replace("export.csv", "export.json"))
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    data = as_json.json()
    assert [e["detail"]["n"] for e in data] == [2, 1, 0]
    assert set(data[0]) == {"id", "at", "event", "actor", "subject", "userId", "appId", "ip",
                            "userAgent", "requestId", "detail"}  # fmt: skip

    failed = op.get("/admin/audit/export.csv", params={"kind": "signin.failed"}).text
    cells = list(csv.reader(io.StringIO(failed)))
    assert cells[0][0] == "id" and len(cells) == 2
    agent = cells[1][cells[0].index("userAgent")]
    assert agent == "'=HYPERLINK(1)"
    for cell in cells[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    empty = op.get("/admin/audit/export.json", params={"user": "nobody@example.com"})
    assert empty.json() == []
    assert op.get("/admin/audit/export.csv", params={"kind": "key.retired"}).text == (
        "id,at,event,actor,subject,userId,appId,ip,userAgent,requestId,detail\r\n"
    )


def test_only_operators_see_the_trail(client: TestClient, world: World) -> None:
    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/account/login?next={path}")
    sign_in(client)
    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json"):
        r = client.get(path)
        # A partner who is not an operator is told so (403), as on /admin.
        assert r.status_code == 403 and "is not one" in r.text
        assert "signin.ok" not in r.text


@pytest.mark.parametrize(
    "params",
    [
        {"user": "x" * 400},
        {"user": "ann\x00@example.com"},
        {"user": "'; drop table audit_events; --"},
        {"app": "app_%00"},
        {"app": "app_" + "a" * 300},
        {"kind": "signin.ok' OR 1=1"},
        {"since": "yesterday"},
        {"since": "2026-13-45"},
        {"until": "9999999999-01-01"},
        {"since": "2026-12-02", "until": "2026-12-01"},
        {"before": "-1"},
        {"before": "1e3"},
        {"before": "99999999999999999999999999"},
        {"before": "0"},
    ],
    ids=lambda p: "hostile " + ",".join(p),
)
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit/export.csv"])
def test_a_hostile_filter_is_a_400_page(
    client: TestClient, world: World, params: dict[str, str], path: str
) -> None:
    op = operator_client(client, world)
    r = op.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("text/html")


def test_a_repeated_filter_or_unknown_format_is_refused(client: TestClient, world: World) -> None:
    op = operator_client(client, world)
    r = op.get("/admin/audit?kind=signin.ok&kind=signout")
    assert r.status_code == 400 and "Give the kind filter once." in r.text
    assert op.get("/admin/audit/export.xlsx").status_code == 400


def test_times_without_a_zone_are_utc() -> None:
    from leadexec_signin.core.actions.audit_trail import parse_time

    assert parse_time("2026-12-01T09:30", "since") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert parse_time("2026-12-01T10:30+01:00", "since") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert parse_time("2026-12-01", "until", end=True) == datetime(2026, 12, 2, tzinfo=UTC)
