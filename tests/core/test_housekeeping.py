"""Expired access tokens, codes and sessions are swept; live ones stay. Refresh tokens nobody
uses retire, and a grant keeps a bounded number of them."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient

from leadexec_signin.compose import build
from leadexec_signin.core import credentials
from leadexec_signin.storage.sql import tables
from leadexec_signin.web.app import create_app
from support.signin import ISSUER, authorize, sign_in


def rows(services, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with services.storage.engine.connect() as c:
        return int(c.execute(query).scalar_one())


def test_sweep_removes_only_what_has_expired(client: TestClient, world, clock) -> None:
    """Access tokens prove themselves and are not stored; what expires in storage is codes,
    sessions and access tokens from before that format."""
    hardened_app, _ = world.app(with_secret=True, hardened=True, name="Hardened")
    sign_in(client)
    old = authorize(client, world.btn_id)
    code = authorize(client, world.button("profile", hardened_app))["code"]
    code_hash = credentials.token_hash(str(code))
    clock.advance(minutes=61)
    fresh = authorize(client, world.btn_id)
    assert rows(world.services, tables.auth_codes, code_hash=code_hash) == 1
    swept = world.services.housekeeping.delete_expired()
    assert swept == 1  # the expired code; nothing live
    assert rows(world.services, tables.auth_codes, code_hash=code_hash) == 0
    gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old['authToken']}"})
    assert gone.status_code == 401
    live = client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh['authToken']}"})
    assert live.status_code == 200
    # The refresh token outlives its access token: it is valid until revoked.
    r = client.get(
        "/api/token", params={"appId": world.app_id, "refreshToken": old["refreshToken"]}
    )
    assert r.status_code == 200
    assert world.services.housekeeping.delete_expired() == 0


def exchange(client: TestClient, app_id: str, refresh: object) -> int:
    r = client.get("/api/token", params={"appId": app_id, "refreshToken": refresh})
    return r.status_code


def test_refresh_tokens_unused_for_the_idle_period_retire(client: TestClient, world, clock) -> None:
    sign_in(client)
    used = authorize(client, world.btn_id)["refreshToken"]
    idle = authorize(client, world.btn_id)["refreshToken"]
    clock.advance(days=100)
    assert exchange(client, world.app_id, used) == 200  # "last used" is now day 100
    clock.advance(days=81)  # day 181: idle was never used, used was used 81 days ago
    assert world.services.housekeeping.delete_expired() >= 1
    assert exchange(client, world.app_id, idle) == 400
    assert exchange(client, world.app_id, used) == 200


def test_a_grant_keeps_a_bounded_number_of_never_used_refresh_tokens(
    settings, clock, world
) -> None:
    """Each sign-in adds a refresh token; beyond the cap the oldest never-used one goes. A token
    a backend has exchanged is never dropped, however many sign-ins follow."""
    services = build(settings.with_changes(refresh_tokens_per_grant=3), clock)
    try:
        with TestClient(create_app(services), base_url=ISSUER) as client:
            sign_in(client)
            used = authorize(client, world.btn_id)["refreshToken"]
            clock.advance(seconds=1)
            unused = authorize(client, world.btn_id)["refreshToken"]
            clock.advance(hours=2)
            assert exchange(client, world.app_id, used) == 200
            newer = []
            for _ in range(3):  # as a partner page's silent check on every render would
                clock.advance(minutes=5)
                newer.append(authorize(client, world.btn_id)["refreshToken"])
            grant_id = services.accounts.connected_apps(world.user_id)[0].grant.id
            assert rows(services, tables.refresh_tokens, grant_id=grant_id) == 4
            assert exchange(client, world.app_id, unused) == 400  # oldest never used: gone
            for kept in (used, *newer):
                assert exchange(client, world.app_id, kept) == 200
    finally:
        services.close()
