"""Expired access tokens, codes and sessions are swept; live ones stay."""

from __future__ import annotations

from starlette.testclient import TestClient

from conftest import authorize, sign_in


def test_sweep_removes_only_what_has_expired(client: TestClient, world, clock) -> None:
    sign_in(client)
    old = authorize(client, world.btn_id)
    clock.advance(minutes=61)
    fresh = authorize(client, world.btn_id)
    swept = world.services.housekeeping.delete_expired()
    assert swept >= 1
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
