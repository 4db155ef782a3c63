"""``leadexec-signin demo``: the identity provider and a sample partner site on a second origin,
seeded with a demo user, application and button, served by one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from leadexec_signin.compose import Services, build, build_migrated
from leadexec_signin.core.errors import Conflict
from leadexec_signin.settings import Settings

DEMO_EMAIL = "demo@leadexec.test"
DEMO_PASSWORD = "demo-password-1"
OPERATOR_EMAIL = "operator@leadexec.test"
OPERATOR_PASSWORD = "operator-password-1"


def seed(settings: Settings, partner_origin: str) -> dict[str, str]:
    """Create the demo records once; later runs reuse them (kept in the data directory)."""
    services = build_migrated(settings)
    try:
        return _seed(services, settings.data_dir / "demo.json", partner_origin)
    finally:
        services.close()


def _seed(services: Services, record: Path, partner_origin: str) -> dict[str, str]:
    if record.exists():
        data: dict[str, str] = json.loads(record.read_text())
        # The record outlives a deleted database: reuse it only if its button still exists.
        if services.registry.button(data.get("btnId", "")) is not None:
            return data
    owner_id = None
    with contextlib.suppress(Conflict):  # the user survived a lost record: keep it
        owner_id = services.accounts.create_user(
            email=DEMO_EMAIL,
            name="Dana Demo",
            password=DEMO_PASSWORD,
            company="Demo Leads Inc.",
            plan="Professional",
            timezone="America/Chicago",
            locale="en-US",
        ).id
    origins = [partner_origin, partner_origin.replace("127.0.0.1", "localhost")]
    app, _ = services.registry.register(
        name="Acme CRM (demo)",
        origins=origins,
        scopes="profile,email,account,settings",
        owner_id=owner_id,
    )
    services.operator.set_app_status(app.id, "approved", actor="demo")
    # The operator after the seeded application: it was never waiting for anyone, so the
    # outbox does not open on an "is waiting for approval" for an approved application.
    with contextlib.suppress(Conflict):
        services.accounts.create_user(
            email=OPERATOR_EMAIL,
            name="Olu Operator",
            password=OPERATOR_PASSWORD,
            company="LeadExec",
            operator=True,
        )
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    data = {"appId": app.id, "btnId": button.id}
    record.write_text(json.dumps(data))
    return data


class _Server(uvicorn.Server):
    # One process serves both sites: signals are handled once, in run_demo, for the pair.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: ASGIApp, host: str, port: int) -> _Server:
    return _Server(
        uvicorn.Config(
            app, host=host, port=port, access_log=False, log_config=None, server_header=False
        )
    )


def _servers(
    settings: Settings, ids: dict[str, str], host: str, port: int, partner_port: int
) -> tuple[_Server, _Server]:
    from leadexec_signin.demo_partner import PartnerConfig, create_partner_app
    from leadexec_signin.web.app import create_app

    partner = create_partner_app(
        PartnerConfig(provider_url=settings.issuer, app_id=ids["appId"], btn_id=ids["btnId"])
    )
    return _server(create_app(build(settings)), host, port), _server(partner, host, partner_port)


def check_ports(host: str, port: int, partner_port: int) -> None:
    """Before anything is seeded or printed: a port another server holds (often a demo
    already running) is one sentence naming the flags, not a banner and then tracebacks."""
    if port == partner_port:
        raise Conflict(f"--port and --partner-port must differ (both are {port}).")
    busy = []
    for candidate in (port, partner_port):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            # As uvicorn binds: a port left in TIME_WAIT by a demo just stopped is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, candidate))
            except OSError:
                busy.append(candidate)
    if busy:
        which = " and ".join(str(p) for p in busy)
        taken = "is" if len(busy) == 1 else "are"
        raise Conflict(
            f"Port {which} on {host} {taken} already in use (a demo already running?): stop "
            f"it, or choose free ports with --port and --partner-port, e.g. "
            f"`bash scripts/demo --port {port + 100} --partner-port {partner_port + 100}`."
        )


def command_line(settings: Settings) -> list[str]:
    """How to run the command line against this demo: its data directory, its outbox (the
    mail of an approval shows there), its issuer (the links in that mail)."""
    program = Path(sys.executable).parent / "leadexec-signin"
    env = (
        f"export LEADEXEC_DATA_DIR={shlex.quote(str(settings.data_dir.resolve()))} "
        f"LEADEXEC_DEV_OUTBOX=1 LEADEXEC_ISSUER={shlex.quote(settings.issuer)}"
    )
    run = shlex.quote(str(program)) if program.exists() else "leadexec-signin"
    return [env, f"{run} apps list"]


def run_demo(settings: Settings, *, host: str, port: int, partner_port: int) -> int:
    check_ports(host, port, partner_port)
    # Mail (sign-up links, password resets) is shown on /dev/outbox, unless SMTP is set.
    settings = settings.with_changes(
        issuer=f"http://{host}:{port}",
        dev_outbox=True,
        # The demo's operator has no second factor: LEADEXEC_OPERATOR_MFA=off is for it only.
        operator_mfa="off",
    )
    partner_url = f"http://{host}:{partner_port}"
    ids = seed(settings, partner_url)
    servers = _servers(settings, ids, host, port, partner_port)
    base = f"http://{host}:{port}"
    print("", flush=True)
    print("  LeadExec Sign-In demo")
    print(f"  Partner site:      {partner_url}   <- open this one, click the button")
    print(f"  Demo user:         {DEMO_EMAIL} / {DEMO_PASSWORD}   (a partner too)")
    print(f"  Partner console:   {base}/developers   (Try It: {base}/developers/try)")
    print(f"  Operator page:     {base}/admin   as {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}")
    print(f"  Connected apps:    {base}/account/apps")
    print(f"  Sign up:           {base}/account/signup   (mail outbox: {base}/dev/outbox)")
    print(f"  Identity provider: {base}   (discovery: {base}/.well-known/openid-configuration)")
    print(f"  Database:          {settings.database_label}")
    print(f"  appId {ids['appId']}  btnId {ids['btnId']}")
    print("  Command line, against this demo (its mail goes to the outbox above):")
    for line in command_line(settings):
        print(f"    {line}")
    print("", flush=True)

    async def serve() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for server in servers:
                server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(serve())
    return 0
