"""Used DPoP proofs in a table of their own; the resource a device code was asked for; the
DPoP key an authorization code is bound to

Revision ID: 0017
Revises: 0016

Every DPoP request writes its proof's key once (RFC 9449 section 11.1). In
``client_assertions`` that was three b-trees on SQLite (the rowid table, the key's and the
expiry's indexes) and a timestamp to format: ``dpop_proofs`` keeps the key and the expiry in
seconds, with no other index, WITHOUT ROWID on SQLite. Nothing is moved: the proofs in the old
table are at most a minute old and expire there.

A device authorization request may name the resource its tokens are for (RFC 8707), as an
authorization request may: the device code keeps it (NULL: none named, as before).

An authorization request may bind its code to a DPoP key (``dpop_jkt``, RFC 9449 section 10):
the code keeps the key's thumbprint, and only a token request proving that key redeems it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
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
    op.add_column("device_codes", sa.Column("resource", sa.String(length=32), nullable=True))
    op.add_column("auth_codes", sa.Column("dpop_jkt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_codes") as batch:
        batch.drop_column("dpop_jkt")
    with op.batch_alter_table("device_codes") as batch:
        batch.drop_column("resource")
    op.drop_table("dpop_proofs")
