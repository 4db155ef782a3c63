"""Migration 0004: access tokens prove themselves (a key table), and refresh tokens from before
usage was recorded are marked used, so neither the idle sweep nor the per-grant cap takes a
token a partner's backend still relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import MetaData, Table, create_engine, inspect, select
from sqlalchemy.pool import NullPool

from leadexec_signin.core.actions.housekeeping import Housekeeping
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.migrate import alembic_config
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import OLD_ROWS, empty_database  # noqa: F401 (a fixture)


def test_old_refresh_tokens_are_marked_used_and_survive_the_first_sweep(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = alembic_config(url)
    command.upgrade(cfg, "0002")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        old = MetaData()
        for name, rows in OLD_ROWS.items():
            table = Table(name, old, autoload_with=c)
            for row in rows:
                c.execute(table.insert().values(row))
    engine.dispose()
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
