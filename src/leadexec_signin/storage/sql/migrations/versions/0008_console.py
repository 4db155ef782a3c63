"""Partner console: the previous secret's grace period, and exchanges counted per day

Revision ID: 0008
Revises: 0007

``applications`` gains the hash of the secret a rotation replaced and when it stops working,
so a partner can roll the new secret out to every backend before the old one is refused.
``app_usage_days`` counts each application's token exchanges per UTC day (refresh tokens are
exchanged without an audit row, so the console's usage chart needs its own count), written in
batches with the other usage times.

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "applications", sa.Column("previous_secret_hash", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "applications", sa.Column("previous_secret_expires_at", sa.DateTime(), nullable=True)
    )
    op.create_table(
        "app_usage_days",
        sa.Column("app_id", sa.String(length=80), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("exchanges", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name=op.f("fk_app_usage_days_app_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "day", name=op.f("pk_app_usage_days")),
    )


def downgrade() -> None:
    op.drop_table("app_usage_days")
    # Not batch mode: rebuilding ``applications`` on SQLite would cascade-delete its rows.
    op.drop_column("applications", "previous_secret_expires_at")
    op.drop_column("applications", "previous_secret_hash")
