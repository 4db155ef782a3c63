"""People management: disabled accounts and the operators' API tokens

Revision ID: 0013
Revises: 0012

``users.disabled_at``: an operator (or SCIM's ``active: false``) disabled the account; it
cannot sign in and every grant it had was ended at that moment. ``admin_tokens``: the bearer
tokens of the admin REST API and SCIM, found by the SHA-256 of the token, each with its scopes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: rebuilding ``users`` on SQLite would cascade-delete
    # every row that references it.
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("admin_tokens")
    op.drop_column("users", "disabled_at")
