"""``leadexec-signin demo``: the identity provider and a sample partner site on a second origin,
seeded with a demo user, application and button, served by one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
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
    with contextlib.suppress(Conflict):
        services.accounts.create_user(
            email=OPERATOR_EMAIL,
            name="Olu Operator",
            password=OPERATOR_PASSWORD,
            company="LeadExec",
            operator=True,
        )
    origins = [partner_origin, partner_origin.replace("127.0.0.1", "localhost")]
    app, _ = services.registry.register(
        name="Acme CRM (demo)",
        origins=origins,
        scopes="profile,email,account,settings",
        owner_id=owner_id,
    )
    services.operator.set_app_status(app.id, "approved", actor="demo")
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


def run_demo(settings: Settings, *, host: str, port: int, partner_port: int) -> int:
    # Mail (sign-up links, password resets) is shown on /dev/outbox, unless SMTP is set.
    settings = settings.with_changes(issuer=f"http://{host}:{port}", dev_outbox=True)
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
