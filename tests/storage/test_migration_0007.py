"""Migration 0007: users made before self-service sign-up (by the command line or the demo)
count as verified from their creation and keep signing in; the links' table exists, keyed by
hash, and the revision can be undone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.pool import NullPool

from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import (  # noqa: F401 (empty_database is a fixture)
    NOW,
    USER_ID,
    empty_database,
    migrated_with_old_rows,
)


def test_existing_users_count_as_verified_and_the_revision_can_be_undone(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)
    command.upgrade(cfg, "0006")
    command.upgrade(cfg, "0007")
    storage = SqlStorage(make_engine(url))
    u = tables.users
    try:
        with storage.engine.connect() as c:
            # Read by column: the model's users table has columns of later revisions.
            user = c.execute(
                select(u.c.email_verified_at, u.c.created_at).where(u.c.id == USER_ID)
            ).one()
        assert user.email_verified_at == user.created_at == NOW
        with storage.engine.connect() as c:
            assert c.execute(select(tables.account_tokens)).all() == []
            schema = inspect(c)
            assert schema.get_pk_constraint("account_tokens")["constrained_columns"] == [
                "token_hash"
            ]
            [fk] = schema.get_foreign_keys("account_tokens")
            assert (fk["referred_table"], fk["options"].get("ondelete")) == ("users", "CASCADE")
    finally:
        storage.engine.dispose()
    command.downgrade(cfg, "0006")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        schema = inspect(c)
        assert "account_tokens" not in schema.get_table_names()
        assert "email_verified_at" not in {col["name"] for col in schema.get_columns("users")}
        # Downgrading kept the user (no table rebuild cascaded into it).
        assert c.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 1
        assert c.exec_driver_sql("SELECT count(*) FROM grants").scalar_one() == 1
    engine.dispose()
    command.upgrade(cfg, "head")
