"""What the server writes at start-up so that no GET ever writes: the first signing key and
the console's built-in Try It application."""

from __future__ import annotations

import re

from sqlalchemy import event
from starlette.testclient import TestClient

from leadexec_signin.web.app import create_app
from support.signin import ISSUER, sign_in

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)", re.I)


def test_keys_and_try_it_exist_before_any_request_and_gets_write_nothing(world) -> None:
    services = world.services
    with services.storage.transaction() as tx:
        assert tx.signing_keys() == []  # nothing made yet: the test can see start-up do it
    with TestClient(create_app(services), base_url=ISSUER) as client:
        with services.storage.transaction() as tx:
            # One per algorithm: EdDSA signs notices; RS256, ES256, EdDSA sign ID tokens.
            assert sorted(k.alg for k in tx.signing_keys()) == ["ES256", "EdDSA", "RS256"]
        sign_in(client)
        writes: list[str] = []

        @event.listens_for(services.storage.engine, "before_cursor_execute")
        def spy(_c: object, _cur: object, statement: str, *_rest: object) -> None:
            if WRITE.match(statement):
                writes.append(statement.split()[0] + " " + statement.split()[2])

        keys = client.get("/signin/keys")
        try_it = client.get("/developers/try")
        event.remove(services.storage.engine, "before_cursor_execute", spy)
    assert keys.status_code == 200 and len(keys.json()["keys"]) == 3
    assert try_it.status_code == 200 and "btn_leadexec-try-it-builtin" in try_it.text
    assert writes == []


def test_the_server_starts_while_the_database_is_away(settings, clock) -> None:
    """Start-up writes wait for the database; the process serves /healthz and says 503 on
    /readyz instead of exiting."""
    from leadexec_signin.compose import build

    away = settings.with_changes(
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
        db_connect_timeout=1,
        db_pool_timeout=1,
    )
    services = build(away, clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert (ready.status_code, ready.json()["database"]) == (503, "unreachable")
    finally:
        services.close()
