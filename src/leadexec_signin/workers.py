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
queued where nobody accepts), starts the workers, restarts one that dies (and gives up when
they keep dying at start), replaces them one at a time on SIGHUP, and on SIGTERM or SIGINT
passes SIGTERM on and waits for each worker's graceful shutdown. A worker whose parent was
killed outright stops too (Linux's parent-death signal), so no orphan keeps the port.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("leadexec_signin.workers")

# uvicorn's exit status when a worker cannot start (the app failed to load): not retried.
STARTUP_FAILURE = 3
# A worker that dies this soon after starting, this many times in a row, stops the server
# instead of being restarted forever (a port taken, a broken deployment).
EARLY_DEATH_SECONDS = 5.0
EARLY_DEATHS = 5
PR_SET_PDEATHSIG = 1


def reuseport_socket(host: str, port: int, *, reuse_address: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if reuse_address:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _die_with_parent() -> None:
    """A worker whose supervisor was killed outright gets SIGTERM (and shuts down gracefully)
    instead of serving on, orphaned, and keeping the port from the next start."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's SIGTERM is all there is
        return
    if os.getppid() == 1:  # the parent was gone before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(config: dict[str, Any]) -> None:
    import uvicorn

    # uvicorn raises the signal again once it has shut down gracefully: exit 0, not by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the supervisor's to act on
    _die_with_parent()
    sock = reuseport_socket(config["host"], config["port"])
    uvicorn.Server(uvicorn.Config(**config)).run(sockets=[sock])


class _Signals:
    """What arrived, as plain flags: a handler that takes a lock could hang the process if the
    signal lands while the main thread holds it."""

    def __init__(self) -> None:
        self.stop = False
        self.restart = False

    def on_stop(self, _signum: int, _frame: object) -> None:
        self.stop = True

    def on_restart(self, _signum: int, _frame: object) -> None:
        self.restart = True


def serve(config: dict[str, Any], workers: int, grace_seconds: float) -> int:
    """Runs ``workers`` uvicorn servers of ``config`` (``uvicorn.Config`` keywords) until
    SIGTERM or SIGINT; SIGHUP replaces the workers one at a time (the others keep serving).
    Returns the exit status."""
    host, port = config["host"], config["port"]
    try:
        # Any process of this user may join a port held with SO_REUSEPORT, and would then get
        # a share of the connections: first make sure nothing is bound there (another serve of
        # either kind), as a plain bind does; then hold the port with SO_REUSEPORT alone, which
        # such a bind (SO_REUSEADDR or not) is refused while every worker of ours may join.
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        holder = reuseport_socket(host, port, reuse_address=False)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        return STARTUP_FAILURE
    context = multiprocessing.get_context("spawn")
    signals = _Signals()
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, signals.on_stop),
        signal.SIGINT: signal.signal(signal.SIGINT, signals.on_stop),
        signal.SIGHUP: signal.signal(signal.SIGHUP, signals.on_restart),
    }

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(config,), name="leadexec-worker")
        process.start()
        return process, time.monotonic()

    def stop(processes: list[BaseProcess]) -> bool:
        """SIGTERM, then one deadline for all; whether every one ended by itself."""
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds + 5
        clean = True
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
                clean = False
        return clean

    running = [start() for _ in range(workers)]
    status, early = 0, 0
    try:
        while not signals.stop:
            time.sleep(0.2)
            if signals.restart:
                signals.restart = False
                log.info("SIGHUP: replacing the workers one at a time")
                for i, (process, _started) in enumerate(running):
                    if not signals.stop:
                        stop([process])
                        running[i] = start()
            for i, (process, started) in enumerate(running):
                if process.is_alive() or signals.stop:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("a worker could not start: stopping")
                    signals.stop, status = True, STARTUP_FAILURE
                    break
                early = early + 1 if time.monotonic() - started < EARLY_DEATH_SECONDS else 0
                if early >= EARLY_DEATHS:
                    log.error("workers keep dying at start (exit %s): stopping", process.exitcode)
                    signals.stop, status = True, 1
                    break
                log.warning("worker %s ended (%s): starting another", process.pid, process.exitcode)
                running[i] = start()
    finally:
        if not stop([process for process, _ in running]) and status == 0:
            status = 1  # a worker had to be killed: its requests were cut
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
