"""``serve --workers N``: N uvicorn processes, each with a listening socket of its own on the
same port (``SO_REUSEPORT``), so the kernel spreads new connections between them.

uvicorn's own supervisor shares one listening socket between its workers, and whichever worker
wakes first accepts every connection waiting (libuv drains the queue): a client that opens
its keep-alive connections in a burst (a load balancer, a partner backend's pool, wrk) could
land all of them on one worker and leave the other cores idle. Measured here with 16
connections: about one start in two gave one worker every connection (1,005 CPU ticks
against 1 in 10 s, half the requests per second). With a socket per worker the kernel picks
one by the connection's addresses, before any worker wakes.

The parent only supervises: it holds the port (bound, never listening, so no connection is
queued where nobody accepts), starts the workers, restarts one that dies, and on SIGTERM or
SIGINT passes the signal on and waits for each worker's graceful shutdown.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("leadexec_signin.workers")

# uvicorn's exit status when a worker cannot start (the app failed to load): not retried.
STARTUP_FAILURE = 3


def reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _worker(config: dict[str, Any]) -> None:
    import uvicorn

    # uvicorn raises the signal again once it has shut down gracefully: exit 0, not by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    sock = reuseport_socket(config["host"], config["port"])
    uvicorn.Server(uvicorn.Config(**config)).run(sockets=[sock])


def serve(config: dict[str, Any], workers: int, grace_seconds: float) -> int:
    """Runs ``workers`` uvicorn servers of ``config`` (``uvicorn.Config`` keywords) until
    SIGTERM or SIGINT; returns the exit status."""
    host, port = config["host"], config["port"]
    try:
        # Any process may join a port its user holds with SO_REUSEPORT, and would then get a
        # share of the connections: first make sure nothing listens there (another serve of
        # either kind), as a plain bind does.
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        holder = reuseport_socket(host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        return STARTUP_FAILURE
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda _s, _f: stopping.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(config,), name="leadexec-worker")
        process.start()
        return process

    running = [start() for _ in range(workers)]
    status = 0
    try:
        while not stopping.wait(0.5):
            for i, process in enumerate(running):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("a worker could not start: stopping")
                    stopping.set()
                    status = STARTUP_FAILURE
                    break
                log.warning("worker %s ended (%s): starting another", process.pid, process.exitcode)
                running[i] = start()
    finally:
        for process in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in running:
            process.join(grace_seconds + 5)
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
