"""Tokens, secrets and passwords never reach the logs or the database in plain text."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, inspect, text
from starlette.testclient import TestClient

from support.signin import PASSWORD, authorize, sign_in


def test_a_full_flow_leaves_no_secret_in_logs_or_tables(
    client: TestClient, world, settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app_id, app_secret = world.app(with_secret=True, name="Logged")
    sign_in(client)
    result = authorize(client, world.button("profile,email", app_id))
    session = client.cookies.get("le_session")
    exchange = client.get(
        "/api/token",
        params={"appId": app_id, "refreshToken": result["refreshToken"], "appSecret": app_secret},
    ).json()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {exchange['authToken']}"})
    client.get("/api/token", params={"appId": app_id, "refreshToken": "ler_" + "z" * 43})
    client.get("/api/revoke", params={"token": result["refreshToken"], "callback": "cb"})

    secrets = {
        "password": PASSWORD,
        "refresh token": result["refreshToken"],
        "access token": result["authToken"],
        "exchanged access token": exchange["authToken"],
        "app secret": app_secret,
        "session id": session,
        "csrf token": client.cookies.get("le_csrf"),
    }
    assert all(secrets.values())
    # httpx is the test's own client here (it logs the URLs it was asked to fetch); every
    # record the server side wrote is searched.
    logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "GET /api/token?appId=" in logs  # the access log ran, with redacted values
    for what, value in secrets.items():
        assert value not in logs, f"{what} written to the logs"

    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        dump = []
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(" ".join(str(v) for v in row))
    engine.dispose()
    everything = "\n".join(dump)
    assert "ann@example.com" in everything  # the dump is real
    for what, value in secrets.items():
        if what == "csrf token":
            continue  # never stored at all: it lives in the browser's cookie only
        assert value not in everything, f"{what} stored in plain text"
