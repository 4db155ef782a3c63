"""Accounts: self-service sign-up, email verification, password reset and email change

Revision ID: 0007
Revises: 0006

Reserved for the account-recovery work; no change to the schema yet.
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
