"""A refresh-token rotation on PostgreSQL runs on the event loop (``storage/handed.py``): its
reads awaited as one statement, its write as another conditional one. What it must keep from
the rotation run in a thread: the same answer, the same rows, and every race (a concurrent
rotation of the same token, a revocation in between, a new secret) ending as it would there."""

from __future__ import annotations

import asyncio
import threading

import jwt
import pytest
from anyio import to_thread
from sqlalchemy import text

from leadexec_signin.core import credentials
from leadexec_signin.core.actions.client_auth import Presented
from leadexec_signin.core.actions.token_step import TokenRequest
from leadexec_signin.core.clients import CLIENT_SECRET_BASIC
from leadexec_signin.core.errors import TemporarilyUnavailable
from support.placement import record_threads
from support.signin import ISSUER, sign_in
from web.oauth_flow import Client, refresh, register, tokens

on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def rows(services, grant_id: str) -> dict[str, str | None]:
    """The grant's refresh tokens: each hash and the hash that replaced it."""
    with services.storage.engine.connect() as c:
        found = c.execute(
            text("SELECT token_hash, replaced_by FROM refresh_tokens WHERE grant_id = :g"),
            {"g": grant_id},
        )
        return {h: r for h, r in found}


def grant_of(services, raw: str) -> str:
    with services.storage.engine.connect() as c:
        return c.execute(
            text("SELECT grant_id FROM refresh_tokens WHERE token_hash = :h"),
            {"h": credentials.token_hash(raw)},
        ).scalar_one()


def elsewhere(c: Client, raw: str) -> TokenRequest:
    """The same refresh as another server process would take it."""
    return TokenRequest(
        surface="oauth2",
        grant_type="refresh_token",
        params={"refresh_token": raw},
        client=Presented(c.id, CLIENT_SECRET_BASIC, secret=c.secret or ""),
        ip="203.0.113.9",
    )


def signed_in(client, services) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    """A confidential client that rotates its refresh tokens, the world's user signed in to
    it, and the refresh token it got."""
    c = register(services, rotate_refresh_tokens=True)
    sign_in(client)
    return c, tokens(client, c)["refresh_token"]


def rotated_once(client, services) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    """The same, that token rotated once (so the client is now kept): its successor."""
    c, first = signed_in(client, services)
    return c, refresh(client, c, first).json()["refresh_token"]


@on_postgresql
def test_a_rotation_waits_on_no_thread_and_writes_what_a_thread_would(
    client, world, monkeypatch
) -> None:
    services = world.services
    c, first = signed_in(client, services)
    # The first rotation reads the client once (in a thread) and keeps it for the next.
    warm = refresh(client, c, first)
    assert warm.status_code == 200, warm.text
    second = warm.json()["refresh_token"]
    threads = record_threads(monkeypatch)
    r = refresh(client, c, second)
    assert r.status_code == 200, r.text
    assert threads == []
    answer = r.json()
    third = answer["refresh_token"]
    assert third not in (first, second)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert answer["scope"] == "openid offline_access profile email"
    # The ID token signed in place verifies, and names the sign-in as the first one did.
    header = jwt.get_unverified_header(answer["id_token"])
    key = jwt.PyJWKSet.from_dict(client.get("/oauth2/jwks").json())[header["kid"]]
    claims = jwt.decode(answer["id_token"], key, algorithms=[header["alg"]], audience=c.id,
                        issuer=ISSUER)  # fmt: skip
    assert claims["sub"] == world.user_id and claims["amr"] == ["pwd"]
    # Rows: each token retired by its successor, the newest live, all in one grant.
    h1, h2, h3 = (credentials.token_hash(t) for t in (first, second, third))
    assert rows(services, grant_of(services, third)) == {h1: h2, h2: h3, h3: None}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert me.status_code == 200 and me.json()["name"] == "Ann Example"
    # A retired token after the grace window is a copy: the grant ends (in a thread).
    services.clock.advance(seconds=11)
    assert refresh(client, c, second).json()["error"] == "invalid_grant"
    assert refresh(client, c, third).json()["error"] == "invalid_grant"
    assert services.tokens.handle in threads


@on_postgresql
def test_a_rotation_that_loses_a_race_answers_with_the_winners_successor(
    client, world, monkeypatch
) -> None:
    """Another process rotates the same token between this one's read and its write: the
    write finds it rotated, and the request runs again in a thread, inside the grace
    window: the same successor, and the grant lives."""
    services = world.services
    c, first = signed_in(client, services)
    refresh(client, c, refresh(client, c, first).json()["refresh_token"])  # the client known
    live = tokens(client, c)["refresh_token"]
    real = services.async_reads.rotation
    won = []

    async def raced(token_hash: str):  # type: ignore[no-untyped-def]
        read = await real(token_hash)
        won.append(await to_thread.run_sync(services.tokens.exchange, elsewhere(c, live)))
        return read

    monkeypatch.setattr(services.async_reads, "rotation", raced)
    threads = record_threads(monkeypatch)
    r = refresh(client, c, live)
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] == won[0].refresh_token
    assert [getattr(fn, "func", fn) for fn in threads] == [services.tokens.handle]
    h = credentials.token_hash
    successor = won[0].refresh_token
    now = rows(services, grant_of(services, live))
    assert (now[h(live)], now[h(successor)]) == (h(successor), None)  # one successor, live


@on_postgresql
def test_a_grant_revoked_between_the_read_and_the_write_issues_nothing(
    client, world, monkeypatch
) -> None:
    services = world.services
    c, second = rotated_once(client, services)
    grant_id = grant_of(services, second)
    before = rows(services, grant_id)
    real = services.async_reads.rotation

    async def revoked(token_hash: str):  # type: ignore[no-untyped-def]
        read = await real(token_hash)
        await to_thread.run_sync(lambda: services.people.revoke_grant(grant_id, actor="test"))
        return read

    monkeypatch.setattr(services.async_reads, "rotation", revoked)
    r = refresh(client, c, second)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # No successor written: the grant's tokens are as they were, or gone with it.
    assert set(rows(services, grant_id)) <= set(before)
    assert all(replaced is None or replaced in before for replaced in before.values())


@on_postgresql
def test_a_new_secret_is_required_at_once_though_the_client_was_kept(client, world) -> None:
    services = world.services
    c, second = rotated_once(client, services)  # the client now kept
    new_secret = services.console.rotate_secret(c.id, None)  # no grace: the old ends now
    old = refresh(client, c, second)
    assert old.status_code == 401 and old.json()["error"] == "invalid_client", old.text
    renewed = refresh(client, Client(c.id, new_secret), second)
    assert renewed.status_code == 200, renewed.text


@on_postgresql
def test_refusals_on_the_loop_are_recorded_and_write_nothing(client, world) -> None:
    services = world.services
    c, second = rotated_once(client, services)
    grant_id = grant_of(services, second)
    before = rows(services, grant_id)
    wide = refresh(client, c, second, scope="openid settings")
    assert wide.status_code == 400 and wide.json()["error"] == "invalid_scope"
    other = register(services, rotate_refresh_tokens=True)
    stolen = refresh(client, other, second)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert rows(services, grant_id) == before
    assert refresh(client, c, second).status_code == 200  # still live, never rotated


@on_postgresql
def test_a_revocation_under_way_at_the_write_is_waited_for_and_seen(
    client, world, monkeypatch
) -> None:
    """A revocation that has ended the grant but not yet deleted its tokens or committed
    when the rotation writes: the write waits for the grant's row (as the thread's rotation
    locks it), then sees it ended and writes nothing; no successor outlives the grant."""
    services = world.services
    c, second = rotated_once(client, services)
    grant_id = grant_of(services, second)
    real = services.async_reads.rotation
    revoking = services.storage.engine.connect()
    revoking.begin()
    done = threading.Event()

    def finish() -> None:  # the rest of the revocation, once the write waits on it
        done.wait(0.5)
        revoking.execute(text("DELETE FROM refresh_tokens WHERE grant_id = :g"), {"g": grant_id})
        revoking.commit()

    async def under_way(token_hash: str):  # type: ignore[no-untyped-def]
        read = await real(token_hash)
        revoking.execute(
            text("UPDATE grants SET revoked_at = now() WHERE id = :g"), {"g": grant_id}
        )
        threading.Thread(target=finish).start()
        return read

    monkeypatch.setattr(services.async_reads, "rotation", under_way)
    try:
        r = refresh(client, c, second)
    finally:
        done.set()
        revoking.close()
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert rows(services, grant_id) == {}


@on_postgresql
def test_requests_in_flight_when_the_kept_client_lapses_read_it_once(
    client, world, monkeypatch
) -> None:
    """Sixteen rotations of one client at the moment its entry lapses: one read of it, the
    others wait for that one."""
    services = world.services
    c = register(services, rotate_refresh_tokens=True)
    reads: list[str] = []
    real = services.token_checks.client

    def counted(client_id: str):  # type: ignore[no-untyped-def]
        reads.append(client_id)
        return real(client_id)

    monkeypatch.setattr(services.token_checks, "client", counted)

    async def sixteen() -> list[object]:
        asked = [services.placement._client(c.id) for _ in range(16)]
        return list(await asyncio.gather(*asked))

    found = client.portal.call(sixteen)
    assert reads == [c.id]
    assert {a.id for a in found} == {c.id}  # type: ignore[attr-defined]


@on_postgresql
def test_a_client_read_that_fails_goes_the_threads_way(client, world, monkeypatch) -> None:
    """The client not kept and its read failing (the thread pool's connections all busy):
    the request goes the thread's way, answered; with the database gone there too, the 503 a
    thread gives (never a 500)."""
    services = world.services
    c, first = signed_in(client, services)

    def down(*_args: object) -> None:
        raise TemporarilyUnavailable(debug="pool exhausted")

    monkeypatch.setattr(services.token_checks, "client", down)
    threads = record_threads(monkeypatch)
    r = refresh(client, c, first)
    assert r.status_code == 200, r.text
    assert services.tokens.handle in threads
    monkeypatch.setattr(services.storage, "transaction", down)
    gone = refresh(client, c, r.json()["refresh_token"])
    assert gone.status_code == 503 and gone.json()["error"] == "temporarily_unavailable"


@on_postgresql
def test_a_suspension_by_another_process_is_seen_at_once_without_an_announcement(
    client, world
) -> None:
    """Another process without Redis (or the command line) suspends the application: no
    announcement reaches this one's kept client, but the rotation's own read sees the
    application's status and the request goes the thread's way, refused."""
    services = world.services
    c, second = rotated_once(client, services)  # the client now kept
    with services.storage.engine.begin() as conn:
        conn.execute(text("UPDATE applications SET status = 'suspended' WHERE id = :i"),
                     {"i": c.id})  # fmt: skip
    r = refresh(client, c, second)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


@on_postgresql
def test_a_lost_race_is_judged_as_of_the_requests_arrival(client, world, monkeypatch) -> None:
    """The loser of a concurrent rotation waited 11 s at its write (a busy pool, the grant's
    lock): run again in a thread, it is judged as of its arrival, within the grace window of
    the winner's rotation, and answered with the same successor; the grant lives."""
    services = world.services
    c, kept = rotated_once(client, services)
    refresh(client, c, kept)
    live = tokens(client, c)["refresh_token"]
    real_read, real_rotate = services.async_reads.rotation, services.async_reads.rotate
    won = []

    async def raced(token_hash: str):  # type: ignore[no-untyped-def]
        read = await real_read(token_hash)
        won.append(await to_thread.run_sync(services.tokens.exchange, elsewhere(c, live)))
        return read

    async def slow(*args):  # type: ignore[no-untyped-def]
        services.clock.advance(seconds=11)
        return await real_rotate(*args)

    monkeypatch.setattr(services.async_reads, "rotation", raced)
    monkeypatch.setattr(services.async_reads, "rotate", slow)
    r = refresh(client, c, live)
    assert r.status_code == 200 and r.json()["refresh_token"] == won[0].refresh_token, r.text
    monkeypatch.undo()
    assert refresh(client, c, won[0].refresh_token).status_code == 200
