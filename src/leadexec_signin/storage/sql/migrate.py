"""Alembic, driven from code so ``leadexec-signin migrate`` and ``serve`` need no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    # '%' would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The schema revision this version of the code needs."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this version of the code can migrate from."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {s.revision for s in script.walk_revisions()}


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def schema_revision(url: str, connect_timeout: int) -> str | None:
    """The database's schema revision: "" when it has no schema at all (a new, empty
    database), None when it cannot be reached (the server starts anyway, and waits for it)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import DBAPIError

    from leadexec_signin.storage.sql.store import make_engine

    engine = make_engine(url, pool_size=1, max_overflow=0, connect_timeout=connect_timeout)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() or ""
    except DBAPIError:
        return None
    finally:
        engine.dispose()
