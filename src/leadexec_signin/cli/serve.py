"""``serve``, ``demo`` and ``migrate``: the server's process (its public URL when none is
configured, its workers, the metrics folder they share, a clean exit on SIGTERM), the demo,
and bringing the schema up to date."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from leadexec_signin.cli.terminal import Subcommands, emit, with_json
from leadexec_signin.compose import ensure_schema
from leadexec_signin.settings import Settings
from leadexec_signin.workers import serve as serve_workers


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if not os.environ.get("LEADEXEC_ISSUER"):
        # Without a configured public URL, the issuer is where this server listens: the
        # console's snippet then names this server, not the default port. Set in the
        # environment so every worker process reads the same.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
        os.environ["LEADEXEC_ISSUER"] = f"http://{host}:{args.port}"
        settings = settings.with_changes(issuer=os.environ["LEADEXEC_ISSUER"])
        if args.host != host:
            print(
                "note: set LEADEXEC_ISSUER to this server's public URL; partners' snippets "
                f"name {settings.issuer} until you do",
                file=sys.stderr,
            )
    ensure_schema(settings, always=args.migrate)
    banner = (
        f"LeadExec Sign-In on http://{args.host}:{args.port} (issuer {settings.issuer}, "
        f"database {settings.database_label})"
    )
    if settings.log_format == "json":  # every line a JSON object, this one too
        logging.getLogger("leadexec_signin.cli").info("%s", banner)
    else:
        print(banner, flush=True)
    # Set in the environment before any worker starts: each one's counts go to files there,
    # and whichever worker answers /metrics adds them all up.
    folder = metrics_folder(args.workers) if settings.metrics_token else None
    # uvicorn stops on SIGTERM after the requests in flight (and the notice being sent), then
    # raises the signal again for whatever handler was there before it: this one makes that
    # a clean exit (0) instead of death by signal. Before uvicorn starts, it stops the start.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    config = {
        "app": "leadexec_signin.asgi:app_from_env",
        "factory": True,
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_config": None,
        "proxy_headers": settings.trust_proxy,
        "server_header": False,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
    try:
        if args.workers > 1:  # a listening socket per worker (workers.py says why)
            return serve_workers(config, args.workers, settings.shutdown_grace_seconds)
        uvicorn.run(**config)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def metrics_folder(workers: int) -> Path | None:
    """The multiprocess folder of this ``serve``: one of its own (``serve-<pid>``), emptied at
    start, since files left by an earlier run would be added to this one's counts. Under
    ``PROMETHEUS_MULTIPROC_DIR`` if the operator set it, else in the temporary folder.
    None for a single process: it answers /metrics from its own memory, or from the
    operator's folder if the library was started with one."""
    from leadexec_signin.metrics import multiprocess

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers <= 1:
        if given and multiprocess():
            # This very process counts, into files it opened when the library was imported:
            # the folder stays, and only the files of processes gone are removed.
            for old in Path(given).glob("*_*.db"):
                pid = old.stem.rpartition("_")[2]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    old.unlink(missing_ok=True)
        return None
    base = Path(given) if given else Path(tempfile.gettempdir()) / "leadexec-signin-metrics"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("serve-*"):  # left by a serve that was killed: its pid is gone
        pid = old.name.removeprefix("serve-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"serve-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    ensure_schema(settings, always=True)
    emit(args, {"migrated": True}, f"{settings.database_label} is at the latest schema.")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from leadexec_signin.demo import run_demo

    return run_demo(settings, host=args.host, port=args.port, partner_port=args.partner_port)


def add_parsers(sub: Subcommands) -> None:
    # These name the database themselves (or run until stopped): main adds no line after them.
    serve = sub.add_parser("serve", help="run the identity provider")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="server processes (use the cores)")
    serve.add_argument("--migrate", action="store_true", help="migrate a configured database")
    serve.set_defaults(fn=cmd_serve, names_database=False)

    demo = sub.add_parser("demo", help="provider + sample partner site, seeded")
    demo.add_argument("--host", default="127.0.0.1", help="address of both sites")
    demo.add_argument("--port", type=int, default=8000, help="the identity provider's port")
    demo.add_argument("--partner-port", type=int, default=8001, help="the partner site's port")
    demo.set_defaults(fn=cmd_demo, names_database=False)

    with_json(sub.add_parser("migrate", help="bring the database schema up to date")).set_defaults(
        fn=cmd_migrate, names_database=False
    )
