"""How each browser session was signed in, for the tokens issued under it

Revision ID: 0010
Revises: 0009

``signins`` keeps the RFC 8176 ``amr`` of a session under its public id (``sid``), which codes
and refresh tokens already carry: ID tokens issued from them, on refresh too, say how the user
signed in, and the session itself may end meanwhile (sign-out) without changing that.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signins",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_signins")),
    )


def downgrade() -> None:
    op.drop_table("signins")
