"""Migration 0009: sessions signed in before it read as password sign-ins, applications do
not require two-step sign-in, the factors' tables exist, and the revision can be undone
without losing a user or a grant."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from leadexec_signin.core.sessions import Session
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import (  # noqa: F401 (empty_database is a fixture)
    NOW,
    USER_ID,
    empty_database,
    migrated_with_old_rows,
)

FACTOR_TABLES = {"passkeys", "totp_secrets", "recovery_codes", "webauthn_challenges"}


def test_old_sessions_read_as_password_sign_ins_and_the_revision_can_be_undone(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)
    command.upgrade(cfg, "0008")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) "
            f"VALUES ('{'s' * 64}', '{USER_ID}', '2026-03-01 12:00:00', "
            "'2026-03-01 12:00:00', '2026-03-02 12:00:00')"
        )
    engine.dispose()
    command.upgrade(cfg, "0009")
    storage = SqlStorage(make_engine(url))
    try:
        with storage.transaction() as tx:
            old = tx.session_by_hash("s" * 64)
            assert old is not None and old.amr == ("pwd",) and old.authenticated_at is None
            assert old.proven_at == old.created_at
            assert tx.passkeys_for_user(USER_ID) == []
            tx.add_session(
                Session("t" * 64, USER_ID, NOW, NOW, NOW + timedelta(days=1), amr=("hwk", "mfa"))
            )
        with storage.transaction() as tx:
            found = tx.session_by_hash("t" * 64)
            assert found is not None and found.amr == ("hwk", "mfa")
        with storage.engine.connect() as c:
            assert FACTOR_TABLES <= set(inspect(c).get_table_names())
            assert c.exec_driver_sql("SELECT require_mfa FROM applications").scalars().all()
            assert not any(c.exec_driver_sql("SELECT require_mfa FROM applications").scalars())
    finally:
        storage.engine.dispose()
    command.downgrade(cfg, "0008")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        schema = inspect(c)
        assert not FACTOR_TABLES & set(schema.get_table_names())
        assert "amr" not in {col["name"] for col in schema.get_columns("sessions")}
        assert c.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 1
        assert c.exec_driver_sql("SELECT count(*) FROM grants").scalar_one() == 1
        assert c.exec_driver_sql("SELECT count(*) FROM sessions").scalar_one() == 2
    engine.dispose()
    command.upgrade(cfg, "head")
