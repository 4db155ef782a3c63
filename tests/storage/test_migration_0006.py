"""Migration 0006: old audit events keep their rows with nothing invented for who did it or
where from, a notice may belong to no application (an audit webhook delivery), and the
revision can be undone."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, insert, inspect, select
from sqlalchemy.pool import NullPool

from leadexec_signin.core.audit import AuditFilter
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import (  # noqa: F401 (empty_database is a fixture)
    empty_database,
    migrated_with_old_rows,
)


def test_old_events_stay_unattributed_and_the_revision_can_be_undone(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)
    command.upgrade(cfg, "0005")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO audit_events (at, event, user_id, app_id, ip, detail) "
            "VALUES ('2026-01-05 08:00:00', 'signin.ok', 'usr_uuuuuuuuuuuuuuuuuuuuuu', NULL, "
            "'203.0.113.9', '{\"actor\": \"cli\"}')"
        )
    command.upgrade(cfg, "0006")
    storage = SqlStorage(make_engine(url))
    try:
        with storage.transaction() as tx:
            [old] = tx.audit_events(AuditFilter(kind="signin.ok"))
        assert (old.ip, old.detail) == ("203.0.113.9", {"actor": "cli"})
        assert (old.actor, old.subject, old.user_agent, old.request_id) == (None,) * 4
        assert old.at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        with storage.engine.begin() as c:  # an audit notice: no application
            c.execute(
                insert(tables.notices).values(
                    id="ntc_" + "a" * 22, app_id=None, url="https://audit.example/hook",
                    body="{}", next_attempt_at=old.at, created_at=old.at, kind="audit",
                )
            )  # fmt: skip
            kept = c.execute(select(tables.notices.c.id, tables.notices.c.kind)).all()
        assert sorted(kept) == [("ntc_" + "a" * 22, "audit"), ("ntc_" + "n" * 22, "disconnect")]
        schema = inspect(storage.engine)
        indexes = {i["name"] for i in schema.get_indexes("audit_events")}
        assert {"ix_audit_events_app_id", "ix_audit_events_event"} <= indexes
        # The rebuilt notices table kept its index and its foreign key.
        assert "ix_notices_next_attempt_at" in {i["name"] for i in schema.get_indexes("notices")}
        assert [f["referred_table"] for f in schema.get_foreign_keys("notices")] == ["applications"]
    finally:
        storage.engine.dispose()
    command.downgrade(cfg, "0005")
    with engine.connect() as c:
        schema = inspect(c)
        columns = {col["name"] for col in schema.get_columns("audit_events")}
        assert not columns & {"actor", "subject", "user_agent", "request_id"}
        # The audit notice could not stay; the disconnect notice did.
        ids = c.exec_driver_sql("SELECT id FROM notices").scalars().all()
        assert ids == ["ntc_" + "n" * 22]
        assert not next(col for col in schema.get_columns("notices") if col["name"] == "app_id")[
            "nullable"
        ]
    engine.dispose()
    command.upgrade(cfg, "head")
