"""PostgreSQL's hot reads on the event loop (``storage/sql/hot_async.py``): the token check's
grant, built straight from asyncpg's record, is the very object the synchronous read builds,
and a read that waits for a connection past the pool's timeout is a 503."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from leadexec_signin.compose import Services
from leadexec_signin.core import credentials
from leadexec_signin.core.errors import TemporarilyUnavailable
from leadexec_signin.core.tokens import GrantContext
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.hot_async import AsyncHotReads, RotationRead
from storage.test_sql_storage import signed_in_grant
from support.world import World

AT = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)

# asyncpg reads PostgreSQL only: on SQLite there is nothing of this module's to read with.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def async_reads(services: Services) -> AsyncHotReads:
    assert services.async_reads is not None  # built for every PostgreSQL provider
    return services.async_reads


def set_columns(
    services: Services, keys: dict[str, str | None], changes: dict[str, dict[str, object]]
) -> None:
    """Each table's row named in ``keys`` (by its primary key) given the ``changes``' values."""
    with services.storage.engine.begin() as c:
        for name, values in changes.items():
            table = tables.metadata.tables[name]
            key = next(iter(table.primary_key.columns))
            c.execute(update(table).where(key == keys[name]).values(**values))


def read_on_loop(reads: AsyncHotReads, grant_id: str) -> GrantContext | None:
    async def read() -> GrantContext | None:
        await reads.open()
        try:
            return await reads.grant_context(grant_id)
        finally:
            await reads.close()

    return asyncio.run(read())


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "users": {
                "preferences": {"theme": "dark", "n": [1, 2]},
                "scim_attributes": {"title": "Broker"},
                "scim_user_name": "ann",
                "disabled_at": AT,
                "email_verified_at": AT,
                "is_operator": True,
            },
            "grants": {"revoked_at": AT},
            "applications": {"previous_secret_hash": "x" * 64, "previous_secret_expires_at": AT},
        },
    ],
    ids=["a fresh sign-in", "every nullable column set and JSON in both JSON columns"],
)
def test_the_grant_read_on_the_loop_equals_the_threads_read(
    services: Services, world: World, changes: dict[str, dict[str, object]]
) -> None:
    reads = async_reads(services)
    app_id, _, auth = signed_in_grant(services, world)
    assert auth.tokens is not None
    grant_id = services.access_tokens.grant_of(auth.tokens.access_token)
    assert grant_id is not None
    set_columns(
        services, {"users": world.user_id, "grants": grant_id, "applications": app_id}, changes
    )
    expected = services.storage.hot.grant_context(grant_id)
    assert expected is not None
    found = read_on_loop(reads, grant_id)
    assert found == expected
    if changes:  # the values themselves, not only agreement
        assert found is not None
        assert found.user.preferences == {"theme": "dark", "n": [1, 2]}
        assert found.grant.revoked_at == AT
        assert found.app.previous_secret_expires_at == AT


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "refresh_tokens": {
                "scopes": "profile", "last_used_at": AT, "replaced_by": "r" * 64,
                "rotated_at": AT, "kind": "oauth", "auth_time": AT, "sid": "s" * 32,
                "dpop_jkt": "j" * 43, "resource": "https://api.example/",
            },
            "grants": {"revoked_at": AT},
            "applications": {"previous_secret_hash": "x" * 64, "previous_secret_expires_at": AT},
        },
    ],
    ids=["a fresh sign-in", "every nullable column set"],
)  # fmt: skip
def test_the_refresh_read_on_the_loop_equals_the_threads_read(
    services: Services, world: World, changes: dict[str, dict[str, object]]
) -> None:
    """The exchange's read and a rotation's, each built straight from asyncpg's record."""
    reads = async_reads(services)
    app_id, _, auth = signed_in_grant(services, world)
    assert auth.tokens is not None and auth.tokens.refresh_token is not None
    token_hash = credentials.token_hash(auth.tokens.refresh_token)
    grant_id = services.access_tokens.grant_of(auth.tokens.access_token)
    keys = {"refresh_tokens": token_hash, "grants": grant_id, "applications": app_id}
    set_columns(services, keys, changes)
    expected = services.storage.hot.refresh_grant(token_hash)
    assert expected is not None

    async def both() -> tuple[object, object]:
        await reads.open()
        try:
            return await reads.refresh_grant(token_hash), await reads.rotation(token_hash)
        finally:
            await reads.close()

    found, rotation = asyncio.run(both())
    assert found == expected
    assert isinstance(rotation, RotationRead) and rotation.found == expected
    assert rotation.user == services.storage.hot.grant_context(expected.grant.id).user  # type: ignore[union-attr]
    if changes:  # the values themselves, not only agreement
        assert expected.token.scopes == frozenset({"profile"})
        assert expected.token.rotated_at == AT and expected.token.resource is not None


def test_an_unknown_grant_reads_none(services: Services) -> None:
    assert read_on_loop(async_reads(services), "grt_" + "N" * 22) is None


def test_a_read_that_waits_past_the_pool_timeout_is_unavailable(
    services: Services, world: World
) -> None:
    reads = async_reads(services)
    _app_id, _, auth = signed_in_grant(services, world)
    assert auth.tokens is not None
    grant_id = services.access_tokens.grant_of(auth.tokens.access_token)
    assert grant_id is not None

    async def run() -> tuple[object, object, int]:
        await reads.open()
        reads._size, reads._timeout = 1, 0.05
        try:
            held = await reads._take()  # the only connection, busy
            with pytest.raises(TemporarilyUnavailable):
                await reads.grant_context(grant_id)
            waiting = asyncio.ensure_future(reads.grant_context(grant_id))
            await asyncio.sleep(0)
            reads._give_back(held)  # handed to the read waiting for it
            return await waiting, held, len(reads._waiters)
        finally:
            await reads.close()

    found, _held, waiters = asyncio.run(run())
    assert isinstance(found, GrantContext) and found.grant.id == grant_id
    assert waiters == 0
