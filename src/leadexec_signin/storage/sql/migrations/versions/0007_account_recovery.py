"""Accounts: self-service sign-up, email verification, password reset and email change

Revision ID: 0007
Revises: 0006

Users gain ``email_verified_at``: every existing user was made by an operator (the command
line or the demo), so each counts as verified from its creation. A self-service sign-up stays
NULL, and cannot sign in, until its link is followed. ``account_tokens`` holds the one-time
links (verification, reset, email change) by the SHA-256 of their token, with purpose, expiry
and the time of their use.

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.create_table(
        "account_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_tokens")),
    )
    op.create_index(op.f("ix_account_tokens_user_id"), "account_tokens", ["user_id"])
    op.create_index(op.f("ix_account_tokens_expires_at"), "account_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_tokens_expires_at"), table_name="account_tokens")
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens")
    op.drop_table("account_tokens")
    # A plain DROP COLUMN: a batch rebuild of ``users`` would cascade into every table that
    # refers to it.
    op.drop_column("users", "email_verified_at")
