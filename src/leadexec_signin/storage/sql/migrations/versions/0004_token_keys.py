"""Keys of the access tokens' MAC: access tokens prove themselves, so exchanges write no row

Revision ID: 0004
Revises: 0003

Access tokens issued before this revision stay in ``access_tokens`` and keep working until they
expire (one hour); new ones are never stored.
"""

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


def downgrade() -> None:
    op.drop_table("token_keys")
