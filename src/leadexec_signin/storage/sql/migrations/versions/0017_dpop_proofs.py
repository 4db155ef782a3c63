"""Used DPoP proofs in a table of their own

Revision ID: 0016
Revises: 0015

Every DPoP request writes its proof's key once (RFC 9449 section 11.1). In
``client_assertions`` that was three b-trees on SQLite (the rowid table, the key's and the
expiry's indexes) and a timestamp to format: ``dpop_proofs`` keeps the key and the expiry in
seconds, with no other index, WITHOUT ROWID on SQLite. Nothing is moved: the proofs in the old
table are at most a minute old and expire there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dpop_proofs",
        sa.Column("proof_key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("proof_key", name=op.f("pk_dpop_proofs")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("dpop_proofs")
