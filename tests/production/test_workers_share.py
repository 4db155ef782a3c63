"""``serve --workers 2``: a listening socket per worker, so the kernel spreads connections
between them however they arrive; a second server cannot join the port by mistake; a worker
that dies is replaced."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from leadexec_signin import workers
from leadexec_signin.background import tls
from production.nodes import node_env

pytestmark = [
    pytest.mark.cluster,  # real server processes (tests/support/tiers.py)
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def listening_sockets(port: int) -> int:
    """LISTEN entries for the port in the kernel's table (state 0A)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
                found += 1
    return found


def workers_of(pid: int) -> set[int]:
    """The worker processes of a ``serve`` (its spawned children)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid and b"spawn_main" in cmdline:
                found.add(int(entry.name))
    return found


def until(check, seconds: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)  # polling processes, not a timed assertion
    return False


def answered_by(url: str, connections: int = 16) -> Counter[str]:
    """One request on each of many new connections: the request id's prefix names the
    worker that accepted it."""
    workers: Counter[str] = Counter()
    clients = [httpx.Client(base_url=url, timeout=20, verify=tls()) for _ in range(connections)]
    try:
        for c in clients:
            r = c.get("/healthz")
            assert r.status_code == 200
            workers[r.headers["x-request-id"][:8]] += 1
    finally:
        for c in clients:
            c.close()
    return workers


def test_each_worker_listens_for_itself_and_both_answer(
    database_url: str, tmp_path: Path, start_node
) -> None:
    node = start_node("share", node_env(database_url, tmp_path), workers=2)
    assert node.proc is not None
    # uvicorn's own supervisor would show one socket shared by both workers.
    assert until(lambda: listening_sockets(node.port) == 2), listening_sockets(node.port)
    seen: Counter[str] = Counter()
    for _round in range(20):  # the kernel picks by address: a few rounds reach both
        seen.update(answered_by(node.url))
        if len(seen) == 2:
            break
    assert len(seen) == 2, dict(seen)

    # A worker that dies is replaced, and listens again.
    pids = workers_of(node.proc.pid)
    assert len(pids) == 2, pids
    victim = max(pids)
    os.kill(victim, signal.SIGKILL)
    assert until(lambda: len(workers_of(node.proc.pid) - pids) == 1)
    assert victim not in workers_of(node.proc.pid)
    assert until(lambda: listening_sockets(node.port) == 2)
    assert httpx.get(node.url + "/healthz", timeout=20, verify=tls()).status_code == 200


def test_a_second_server_on_the_same_port_refuses_to_start(
    database_url: str, tmp_path: Path, start_node
) -> None:
    env = node_env(database_url, tmp_path)
    node = start_node("first", env, workers=2)
    second = subprocess.run(
        [sys.executable, "-m", "leadexec_signin.cli", "serve", "--port", str(node.port),
         "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode == 3, second.stderr
    assert "Address already in use" in second.stderr
    assert listening_sockets(node.port) == 2  # the first one's, untouched
    assert httpx.get(node.url + "/healthz", timeout=20, verify=tls()).status_code == 200


def test_the_held_port_admits_our_workers_and_nobody_else(database_url: str) -> None:
    """What the supervisor relies on while no worker listens yet (or all are restarting): its
    SO_REUSEPORT-only socket refuses another server's bind, plain or SO_REUSEADDR, and lets a
    worker's SO_REUSEPORT socket join."""
    holder = workers.reuseport_socket("127.0.0.1", 0, reuse_address=False)
    port = holder.getsockname()[1]
    try:
        for reuse in (False, True):
            with socket.socket() as other:
                if reuse:
                    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                with pytest.raises(OSError, match="in use"):
                    other.bind(("127.0.0.1", port))
        worker = workers.reuseport_socket("127.0.0.1", port)
        worker.close()
    finally:
        holder.close()


def test_sighup_replaces_the_workers_and_a_killed_parent_takes_them_along(
    database_url: str, tmp_path: Path, start_node
) -> None:
    node = start_node("hup", node_env(database_url, tmp_path), workers=2)
    assert node.proc is not None
    assert until(lambda: len(workers_of(node.proc.pid)) == 2)
    before = workers_of(node.proc.pid)
    os.kill(node.proc.pid, signal.SIGHUP)
    assert until(lambda: len(workers_of(node.proc.pid) - before) == 2), workers_of(node.proc.pid)
    assert until(lambda: listening_sockets(node.port) == 2)
    assert httpx.get(node.url + "/healthz", timeout=20, verify=tls()).status_code == 200

    after = workers_of(node.proc.pid)
    os.kill(node.proc.pid, signal.SIGKILL)  # the supervisor only: no chance to pass anything on
    node.proc.wait(10)
    gone = lambda: not any(Path(f"/proc/{pid}").exists() for pid in after)  # noqa: E731
    assert until(gone), "workers outlived their supervisor"
    assert listening_sockets(node.port) == 0
