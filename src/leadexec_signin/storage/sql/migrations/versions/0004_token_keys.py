"""Keys of the access tokens' MAC: access tokens prove themselves, so exchanges write no row

Revision ID: 0004
Revises: 0003

Access tokens issued before this revision stay in ``access_tokens`` and keep working until they
expire (one hour); new ones are never stored.

Refresh tokens from before 0003 have no "last used" time; they are marked used now, so that
neither the idle retirement (which would otherwise count from their creation, months ago) nor
the per-grant cap of never-used tokens can take a token a partner's backend still relies on.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_keys",
        sa.Column("kid", sa.String(16), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.execute(
        sa.text(
            "UPDATE refresh_tokens SET last_used_at = :now WHERE last_used_at IS NULL"
        ).bindparams(now=datetime.now(UTC).replace(tzinfo=None))
    )


def downgrade() -> None:
    op.drop_table("token_keys")
