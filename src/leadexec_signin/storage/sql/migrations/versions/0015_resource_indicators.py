"""RFC 8707 resource indicators: the resource a code and a refresh token were issued for

Revision ID: 0015
Revises: 0014

An authorization request may name the resource its tokens are for (the LeadExec API or the
MCP endpoint). The code keeps it, so the token endpoint issues for that resource only, and so
does the refresh token, so a refresh cannot widen the audience. NULL: none named, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_codes", sa.Column("resource", sa.String(length=32), nullable=True))
    op.add_column("refresh_tokens", sa.Column("resource", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("refresh_tokens", "resource")
    op.drop_column("auth_codes", "resource")
