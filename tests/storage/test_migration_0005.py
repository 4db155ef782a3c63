"""Migration 0005: the OpenID Connect columns give existing rows their old meaning (refresh
tokens belong to the seed's surface, applications keep opaque access tokens and RS256 ID
tokens, no logout URIs), and it can be undone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.pool import NullPool

from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from storage.test_data_model import (  # noqa: F401 (empty_database is a fixture)
    empty_database,
    migrated_with_old_rows,
)


def test_old_rows_keep_their_meaning_and_the_revision_can_be_undone(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)
    command.upgrade(cfg, "head")
    storage = SqlStorage(make_engine(url))
    try:
        with storage.engine.connect() as c:
            kinds = c.execute(select(tables.refresh_tokens.c.kind)).scalars().all()
        assert kinds == ["seed"]
        with storage.transaction() as tx:
            apps = tx.list_apps()
        assert apps
        for app in apps:
            assert (app.access_token_format, app.id_token_alg) == ("opaque", "RS256")
            assert (app.post_logout_redirect_uris, app.backchannel_logout_uri) == ((), "")
    finally:
        storage.engine.dispose()
    command.downgrade(cfg, "0004")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        schema = inspect(c)
        assert "client_assertions" not in schema.get_table_names()
        assert "kind" not in {col["name"] for col in schema.get_columns("refresh_tokens")}
        assert "sid" not in {col["name"] for col in schema.get_columns("auth_codes")}
    engine.dispose()
    command.upgrade(cfg, "head")
