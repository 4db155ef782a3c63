"""Alembic environment: runs migrations over the URL the caller configured."""

from alembic import context

from leadexec_signin.storage.sql import factor_tables  # noqa: F401 (its tables join metadata)
from leadexec_signin.storage.sql.store import make_engine
from leadexec_signin.storage.sql.tables import metadata

config = context.config
# No statement timeout: a migration may rebuild a large index.
url = config.get_main_option("sqlalchemy.url")
if url is None:
    raise RuntimeError("the Alembic configuration names no sqlalchemy.url")
engine = make_engine(url, statement_timeout_ms=0)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table_schema=None,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
