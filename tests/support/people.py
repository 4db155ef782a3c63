"""Helpers of the people-management tests: a second browser (an operator) over the same
provider, the notices and mail a test reads, and an operator's act through its confirmation."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.storage.sql import tables
from support.signin import csrf_of


def notice_bodies(services: Services, app_id: str) -> list[dict[str, object]]:
    """The disconnect notices queued for an application (nothing in the product lists them)."""
    n = tables.notices
    with services.storage.engine.connect() as c:
        rows = c.execute(
            select(n.c.body, n.c.kind).where(n.c.app_id == app_id).order_by(n.c.created_at)
        ).all()
    return [{**json.loads(r.body), "_kind": r.kind} for r in rows]


def act(client: TestClient, user_id: str, action: str) -> object:
    """What an operator does on a user's page: the action's confirmation page, then its button."""
    page = client.get(f"/admin/users/{user_id}/confirm", params={"action": action})
    assert page.status_code == 200, page.text
    return client.post(
        f"/admin/users/{user_id}/act",
        data={"csrf": csrf_of(page.text), "action": action, "confirm": "yes"},
        follow_redirects=False,
    )


def user_link(html: str, email: str) -> str:
    found = re.search(r'href="/admin/users/(usr_[A-Za-z0-9_-]+)"><strong>' + re.escape(email), html)
    assert found, f"{email} is not listed"
    return found.group(1)


class NoticeReceiver:
    """A partner's notice endpoint on loopback: records each body that arrives (204)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[dict[str, object]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliver(self, services: Services) -> int:
        """One pass of the notice sender, as the server's background task runs it."""
        import asyncio

        import httpx

        from leadexec_signin.background import deliver_due

        async def one_pass() -> int:
            async with httpx.AsyncClient(timeout=5) as http:
                return await deliver_due(services, http)

        return asyncio.run(one_pass())

    def close(self) -> None:
        self.server.shutdown()
