"""Operations: the audit trail's actor, subject, user agent and request id; key lifecycle

Revision ID: 0006
Revises: 0005

Reserved for the operations work; no change to the schema yet.
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
