"""Migration 0004: access tokens prove themselves (a key table), and refresh tokens from before
usage was recorded are marked used, so neither the idle sweep nor the per-grant cap takes a
token a partner's backend still relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.pool import NullPool

from leadexec_signin.core.actions.housekeeping import Housekeeping
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import (  # noqa: F401 (empty_database is a fixture)
    empty_database,
    migrated_with_old_rows,
)


def test_old_refresh_tokens_are_marked_used_and_survive_the_first_sweep(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)
    command.upgrade(cfg, "head")

    storage = SqlStorage(make_engine(url))
    try:
        r = tables.refresh_tokens
        with storage.engine.connect() as c:
            [(created, used)] = c.execute(select(r.c.created_at, r.c.last_used_at)).all()
        assert used is not None and used > created  # marked used at the upgrade
        # A sweep 10 days after the upgrade: the token was made far longer ago than the idle
        # period, but counts as used at the upgrade, so it stays.
        clock = FrozenClock(datetime.now(UTC) + timedelta(days=10))
        sweep = Housekeeping(storage, clock, Settings(), UsageLog(storage, clock))
        sweep.delete_expired()
        with storage.engine.connect() as c:
            assert c.execute(select(r.c.token_hash)).scalars().all() == ["r" * 64]
        assert "token_keys" in inspect(storage.engine).get_table_names()
    finally:
        storage.engine.dispose()
    command.downgrade(cfg, "0003")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        assert "token_keys" not in inspect(c).get_table_names()
    engine.dispose()
