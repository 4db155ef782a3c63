"""The hot paths' CPU per request, in process: no uvicorn, no load generator, so it can be
run on a busy machine, versions alternated (``SRC_DIRS``) so that they share its noise.

    .venv/bin/python bench/inprocess.py SCRATCH [WORKLOADS] [N] [ROUNDS]

SCRATCH holds what ``bench/seed.py seed`` wrote (``ids.json``, ``tokens.txt``,
``tokens.access``, valid for the hour after seeding) and names the database it seeded
(``SCRATCH/database_url``, one line). The app is the one ``serve`` builds
(``asgi.app_from_env``, its lifespan run: the asyncpg reads, Redis) on uvloop, called directly
with ASGI scopes, 16 requests in flight (``C``), refresh and access tokens taken in shuffled
rounds, so a pick misses the token cache (500 ms) as it does at random over many tokens.
Workloads: ``get`` and ``post`` (``/api/token``), ``me`` (``/api/v1/me``), ``me1`` (one access
token, from the cache), ``healthz``. Prints the event loop thread's CPU
(``time.thread_time``) per request, which includes the database driver's and the kernel's
work in that thread but not PostgreSQL's or Redis's.

    SRC_DIRS="/tmp/a/src /tmp/b/src" .venv/bin/python bench/inprocess.py SCRATCH me 2000 5

runs each ``src`` (``git archive REF src | tar -x -C /tmp/a``) in its own process, round by
round, and prints each one's median.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

Message = dict[str, Any]
ASGI = Callable[[dict[str, Any], Callable[[], Awaitable[Message]], Any], Awaitable[None]]


def scope(
    method: str, path: str, query: bytes = b"", headers: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), *(headers or [])],
    }


def shuffled(items: list[str]) -> Iterator[str]:
    while True:
        order = items[:]
        random.shuffle(order)
        yield from order


class Requests:
    def __init__(self, scratch: Path) -> None:
        ids = json.loads((scratch / "ids.json").read_text())
        refresh = (scratch / "tokens.txt").read_text().split()
        access = (scratch / "tokens.access").read_text().split()
        self.forms = {
            t: urlencode({"appId": ids["app"], "refreshToken": t}).encode() for t in refresh
        }
        self.bearers = {t: b"Bearer " + t.encode() for t in access}
        self.one = self.bearers[access[0]]
        self.refresh, self.access = shuffled(refresh), shuffled(access)

    def make(self, kind: str) -> tuple[dict[str, Any], bytes]:
        if kind == "get":
            return scope("GET", "/api/token", self.forms[next(self.refresh)]), b""
        if kind == "post":
            body = self.forms[next(self.refresh)]
            form = [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
            ]
            return scope("POST", "/api/token", b"", form), body
        if kind in ("me", "me1"):
            bearer = self.bearers[next(self.access)] if kind == "me" else self.one
            return scope("GET", "/api/v1/me", b"", [(b"authorization", bearer)]), b""
        if kind == "healthz":
            return scope("GET", "/healthz"), b""
        raise SystemExit(f"unknown workload {kind}")


async def call(app: ASGI, requests: Requests, kind: str, refused: list[int]) -> None:
    request, body = requests.make(kind)
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # the client stays: nothing more to read
        raise AssertionError

    status = [0]

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    await app(request, receive, send)
    if status[0] != 200:
        refused.append(status[0])


async def measure(app: ASGI, requests: Requests, kind: str, n: int, in_flight: int) -> float:
    refused: list[int] = []
    each = max(1, n // in_flight)

    async def caller() -> None:
        for _ in range(each):
            await call(app, requests, kind, refused)

    started = time.thread_time()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    spent = time.thread_time() - started
    if refused:
        print(f"{kind}: {len(refused)} answers not 200, e.g. {refused[:3]}", file=sys.stderr)
    return spent / (each * in_flight) * 1e6


async def main(scratch: Path, kinds: list[str], n: int, rounds: int) -> None:
    from leadexec_signin.asgi import app_from_env

    requests = Requests(scratch)
    app = app_from_env()
    events: asyncio.Queue[Message] = asyncio.Queue()
    started = asyncio.Event()
    await events.put({"type": "lifespan.startup"})

    async def lifespan_send(message: Message) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    lifespan = asyncio.create_task(app({"type": "lifespan"}, events.get, lifespan_send))
    await started.wait()
    in_flight = int(os.environ.get("C", "16"))
    for kind in kinds:  # warm-up
        await measure(app, requests, kind, 800, in_flight)
    results: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(rounds):
        for kind in kinds:
            results[kind].append(await measure(app, requests, kind, n, in_flight))
    for kind, values in results.items():
        each = " ".join(f"{v:.0f}" for v in values)
        print(f"{kind:8s} median {statistics.median(values):6.1f} us/req  [{each}]")
    await events.put({"type": "lifespan.shutdown"})
    await lifespan


def alternate(src_dirs: list[str], args: list[str], rounds: int) -> None:
    """Each src in its own process, one round at a time, in turn; then the medians."""
    found: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for src in src_dirs:
            env = {**os.environ, "PYTHONPATH": src, "SRC_DIRS": ""}
            out = subprocess.run(
                [sys.executable, __file__, *args, "1"], env=env, text=True,
                capture_output=True, check=True,
            ).stdout  # fmt: skip
            for line in out.splitlines():
                kind, _, value, *_ = line.split()
                found.setdefault((kind, src), []).append(float(value))
    for (kind, src), values in sorted(found.items()):
        each = " ".join(f"{v:.0f}" for v in values)
        print(f"{kind:8s} {src}: median {statistics.median(values):6.1f} us/req  [{each}]")


if __name__ == "__main__":
    scratch = Path(sys.argv[1])
    kinds = (sys.argv[2] if len(sys.argv) > 2 else "get,post,me,healthz").split(",")
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    if os.environ.get("SRC_DIRS"):
        alternate(os.environ["SRC_DIRS"].split(), sys.argv[1:4], rounds)
        sys.exit()
    os.environ.setdefault("LEADEXEC_DATA_DIR", str(scratch / "data"))
    os.environ.setdefault("LEADEXEC_DATABASE_URL", (scratch / "database_url").read_text().strip())
    os.environ.setdefault("LEADEXEC_REDIS_URL", "redis://127.0.0.1:6379/7")
    os.environ.setdefault("LEADEXEC_NOTICE_INTERVAL", "0")
    os.environ.setdefault("LEADEXEC_TOKEN_LIMIT_PER_APP", "100000000/minute")
    os.environ.setdefault("LEADEXEC_TOKEN_LIMIT_PER_IP", "100000000/minute")
    os.environ.setdefault("LEADEXEC_TOKEN_CACHE_MS", "500")
    os.environ.setdefault("LEADEXEC_LOG_LEVEL", "WARNING")
    import uvloop

    uvloop.run(main(scratch, kinds, n, rounds))
