"""SIGTERM under load: every request that got an answer got a complete, correct one; a request
whose body was still on its way when the signal came is answered; the notice being delivered
is finished and recorded; the process exits 0.

What is in flight is made certain, not timed: the held request is one the application has
started reading (its ``100 Continue`` came back), and the notice is held by the test's own
receiver until the server logs that its application is shutting down.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import create_engine, text

from leadexec_signin.background import tls
from production.nodes import PARTNER, issue_tokens, node_env

# Real server processes: the cluster tier (tests/support/tiers.py).
pytestmark = pytest.mark.cluster

LOAD_THREADS = 4
WAIT = 30.0  # a bound on each wait, never an assertion about speed


class HeldReceiver:
    """A partner endpoint that takes a notice and answers only when released."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts += 1
                outer.received.set()
                outer.release.wait(WAIT)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def held_exchange(port: int, app_id: str, refresh: str) -> tuple[socket.socket, bytes]:
    """A POST /api/token whose body is not sent yet, once the application asked for it."""
    body = urlencode({"appId": app_id, "refreshToken": refresh}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.sendall(
        b"POST /api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Expect: 100-continue\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    seen = b""
    while b"100 Continue" not in seen:
        chunk = sock.recv(1024)
        assert chunk, "closed before 100 Continue"
        seen += chunk
    return sock, body


def finish(sock: socket.socket, body: bytes) -> tuple[int, dict[str, object]]:
    sock.sendall(body)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = [
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length and len(rest) >= length[0]:
            break
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n")[0].split()[1])
    return status, json.loads(body)


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two worker processes"])
def test_sigterm_finishes_what_is_in_flight_and_exits_cleanly(
    workers: int, database_url: str, tmp_path: Path, start_node, make_seed
) -> None:
    seeded = make_seed(database_url)
    grants = [seeded.grant()[0] for _ in range(LOAD_THREADS + 1)]
    receiver = HeldReceiver()
    notified, _ = seeded.services.registry.register(
        name="Notified", origins=[PARTNER], scopes="profile", notice_url=receiver.url
    )
    seeded.services.operator.set_app_status(notified.id, "approved")
    button = seeded.services.registry.create_button(app_id=notified.id, scopes="profile")
    user = seeded.services.accounts.create_user(
        email="held@example.com", name="Held", password="x" * 16
    )
    notified_refresh, _ = issue_tokens(seeded.services, user.id, button.id)
    env = node_env(
        database_url,
        tmp_path,
        LEADEXEC_NOTICE_INTERVAL="0.2",
        # Load, not abuse: the limits would otherwise answer 429 within a second.
        LEADEXEC_TOKEN_LIMIT_PER_APP="1000000/minute",
        LEADEXEC_TOKEN_LIMIT_PER_IP="1000000/minute",
    )
    node = start_node("graceful", env, workers=workers)
    assert node.proc is not None

    stop = threading.Event()
    answers: list[tuple[int, dict[str, object]]] = []
    unanswered: list[str] = []

    def load(refresh: str) -> None:
        with httpx.Client(base_url=node.url, timeout=WAIT, verify=tls()) as c:
            while not stop.is_set():
                try:
                    r = c.get(
                        "/api/token", params={"appId": seeded.app_id, "refreshToken": refresh}
                    )
                except httpx.TransportError as exc:  # never answered: not acknowledged
                    unanswered.append(type(exc).__name__)
                    if node.proc is not None and node.proc.poll() is not None:
                        return
                    continue
                answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=load, args=(g,)) for g in grants[:LOAD_THREADS]]
    for t in threads:
        t.start()
    try:
        with httpx.Client(base_url=node.url, timeout=WAIT, verify=tls()) as c:
            revoked = c.get("/api/revoke", params={"token": notified_refresh})
            assert revoked.json()["valid"] is True
        assert receiver.received.wait(WAIT), "the notice was never sent"
        while len(answers) < 50 and node.proc.poll() is None:
            threading.Event().wait(0.01)  # polling for load, not timing anything
        held, held_body = held_exchange(node.port, seeded.app_id, grants[LOAD_THREADS])

        os.kill(node.proc.pid, signal.SIGTERM)  # as Docker and Kubernetes send it
        status, body = finish(held, held_body)
        assert status == 200 and body["valid"] is True and str(body["authToken"])
        # The notice is still held; it is released once the application is stopping.
        log = ""
        for _ in range(int(WAIT / 0.05)):
            log = node.log()
            if "Waiting for application shutdown." in log:
                break
            threading.Event().wait(0.05)
        assert "Waiting for application shutdown." in log, log[-3000:]
        receiver.release.set()
        assert node.proc.wait(WAIT) == 0, node.log()[-3000:]
    finally:
        receiver.release.set()
        stop.set()
        for t in threads:
            t.join(WAIT)
        receiver.server.shutdown()

    assert len(answers) >= 50
    wrong = [(s, b) for s, b in answers if s != 200 or b.get("valid") is not True]
    assert wrong == [], wrong[:3]  # no acknowledged request failed
    assert all(str(b["authToken"]).startswith("lea_") for _s, b in answers)
    assert set(unanswered) <= {"ConnectError", "RemoteProtocolError", "ReadError"}, unanswered
    # The delivery in hand was finished and recorded once, not cut and retried.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT delivered_at, attempts FROM notices WHERE app_id = :a"),
            {"a": notified.id},
        ).one()
    engine.dispose()
    assert row.delivered_at is not None and row.attempts == 1
    assert receiver.posts == 1
    assert "Finished server process" in node.log()
