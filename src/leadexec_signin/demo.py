"""``leadexec-signin demo``: the identity provider, seeded with a demo user, app and button."""

from __future__ import annotations

import json

from leadexec_signin.settings import Settings

DEMO_EMAIL = "demo@leadexec.test"
DEMO_PASSWORD = "demo-password-1"


def seed(settings: Settings, partner_origin: str) -> dict[str, str]:
    """Create the demo records once; later runs reuse them (kept in the data directory)."""
    from leadexec_signin.cli import provider_for

    record = settings.data_dir / "demo.json"
    if record.exists():
        return json.loads(record.read_text())  # type: ignore[no-any-return]
    provider = provider_for(settings)
    provider.create_user(
        email=DEMO_EMAIL,
        name="Dana Demo",
        password=DEMO_PASSWORD,
        company="Demo Leads Inc.",
        plan="Professional",
        timezone="America/Chicago",
        locale="en-US",
    )
    origins = [partner_origin, partner_origin.replace("127.0.0.1", "localhost")]
    app, _ = provider.create_app(
        name="Acme CRM (demo)", origins=origins, scopes="profile,email,account,settings"
    )
    provider.set_app_status(app.id, "approved")
    button = provider.create_button(app_id=app.id, scopes="profile,email")
    data = {"appId": app.id, "btnId": button.id}
    record.write_text(json.dumps(data))
    return data


def run_demo(settings: Settings, *, host: str, port: int, partner_port: int) -> int:
    import uvicorn

    from leadexec_signin.web.app import create_app

    settings = settings.with_changes(issuer=f"http://{host}:{port}")
    ids = seed(settings, f"http://{host}:{partner_port}")
    print(f"Identity provider: http://{host}:{port}")
    print(f"Demo credentials:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
    print(f"appId {ids['appId']}  btnId {ids['btnId']}")
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)
    return 0
