"""Disconnect notices: every revocation route queues one signed POST, retried with backoff."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.background import deliver_due
from leadexec_signin.compose import Services, build
from leadexec_signin.core.notices import Notice
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, authorize, csrf_of, sign_in


def notices_for_app(services: Services, app_id: str) -> list[Notice]:
    """The outbox as the database holds it (nothing in the product lists it)."""
    n = tables.notices
    with services.storage.engine.connect() as c:
        rows = c.execute(select(n).where(n.c.app_id == app_id).order_by(n.c.created_at)).all()
    return [
        Notice(r.id, r.app_id, r.url, r.body, r.attempts, r.next_attempt_at, r.delivered_at,
               r.last_error)
        for r in rows
    ]  # fmt: skip


class Receiver:
    """A partner's notice endpoint: records what arrives, answers with scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.end_headers()
                receiver.arrived.set()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/leadexec/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def verify(jwks: dict[str, list[dict[str, str]]], headers: dict[str, str], body: bytes) -> None:
    fields = dict(part.split("=", 1) for part in headers["LeadExec-Signature"].split(","))
    key = next(k for k in jwks["keys"] if k["kid"] == fields["kid"])
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["x"] + "=="))
    signature = base64.urlsafe_b64decode(fields["ed25519"] + "==")
    public.verify(signature, f"{fields['t']}.".encode() + body)


def notice_app(world, receiver: Receiver) -> tuple[str, str]:
    app, _ = world.services.registry.register(
        name="Notified",
        origins=["http://127.0.0.1:9000"],
        scopes="profile,email",
        notice_url=receiver.url,
    )
    world.services.operator.set_app_status(app.id, "approved")
    return app.id, world.button("profile", app.id)


def test_the_background_sender_delivers_a_signed_notice(settings, clock, world, receiver) -> None:
    live = settings.with_changes(notice_interval_seconds=0.05)
    services = build(live, clock)
    app_id, btn = notice_app(world, receiver)
    with TestClient(create_app(services), base_url=ISSUER) as client:
        sign_in(client)
        tokens = authorize(client, btn)
        assert (
            client.get("/api/revoke", params={"token": tokens["refreshToken"]}).status_code == 200
        )
        assert receiver.arrived.wait(10), "no notice arrived"
        jwks = client.get("/signin/keys").json()
    services.close()
    headers, body = receiver.received[0]
    notice = json.loads(body)
    assert notice["event"] == "grant.revoked" and notice["appId"] == app_id
    assert notice["userId"] == world.user_id and notice["via"] == "token"
    assert notice["revokedAt"].endswith("Z") and notice["id"].startswith("ntc_")
    assert headers["Content-Type"] == "application/json"
    verify(jwks, headers, body)
    with pytest.raises(InvalidSignature):
        verify(jwks, headers, body.replace(b"grant.revoked", b"grant.REVOKED"))


def test_failed_deliveries_are_retried_with_backoff(client, world, receiver, clock) -> None:
    app_id, btn = notice_app(world, receiver)
    sign_in(client)
    authorize(client, btn)
    grant_id = next(
        g.grant.id
        for g in world.services.accounts.connected_apps(world.user_id)
        if g.grant.app_id == app_id
    )
    page = client.get("/account/apps")
    client.post(f"/account/apps/{grant_id}/remove", data={"csrf": csrf_of(page.text)})
    receiver.statuses = [500, 503]

    async def one_pass() -> int:
        async with httpx.AsyncClient(timeout=5) as http:
            return await deliver_due(world.services, http)

    assert asyncio.run(one_pass()) == 0  # HTTP 500
    (queued,) = notices_for_app(world.services, app_id)
    assert queued.attempts == 1 and queued.last_error == "HTTP 500"
    assert asyncio.run(one_pass()) == 0 and len(receiver.received) == 1  # not due yet
    clock.advance(seconds=31)
    assert asyncio.run(one_pass()) == 0  # HTTP 503, next wait doubles
    clock.advance(seconds=31)
    assert asyncio.run(one_pass()) == 0 and len(receiver.received) == 2
    clock.advance(seconds=31)
    assert asyncio.run(one_pass()) == 1
    (done,) = notices_for_app(world.services, app_id)
    assert done.delivered_at is not None and done.attempts == 3
    assert json.loads(receiver.received[-1][1])["via"] == "user"
    assert receiver.received[0][1] == receiver.received[-1][1]  # the same notice, re-signed


def test_operator_revocation_queues_a_notice(world, receiver) -> None:
    app_id, _btn = notice_app(world, receiver)
    client = TestClient(create_app(world.services), base_url=ISSUER)
    sign_in(client)
    authorize(client, _btn)
    world.services.revocation.by_operator(app_id, "ANN@example.com")
    (queued,) = notices_for_app(world.services, app_id)
    assert json.loads(queued.body)["via"] == "operator"


def test_apps_without_a_notice_url_queue_nothing(client, world) -> None:
    sign_in(client)
    tokens = authorize(client, world.btn_id)
    client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    assert notices_for_app(world.services, world.app_id) == []
