"""Self-registered clients (RFC 7591 dynamic registration, Client ID Metadata Documents)

Revision ID: 0016
Revises: 0015

``applications`` gains ``kind`` (how the client came: "operator" for every existing one, a
person registered it; "dynamic"; "metadata_document"), ``domain`` (where a self-registered
client is from: shown on consent, what an operator blocks), ``last_used_at`` (its last use at
the authorization endpoint: clients unused for 30 days expire), ``registration_token_hash``
(the SHA-256 of an RFC 7592 registration access token) and ``client_id_url`` (a metadata
document's URL, which is the client's id on the wire). ``blocked_domains`` lists the domains
an operator blocked.

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column("kind", sa.String(length=24), server_default="operator", nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column("domain", sa.String(length=253), server_default="", nullable=False),
    )
    op.add_column("applications", sa.Column("last_used_at", sa.DateTime(), nullable=True))
    op.add_column(
        "applications",
        sa.Column("registration_token_hash", sa.String(length=64), nullable=True),
    )
    op.add_column(
        "applications",
        sa.Column("client_id_url", sa.Text(), server_default="", nullable=False),
    )
    op.create_index(op.f("ix_applications_kind"), "applications", ["kind"], unique=False)
    op.create_table(
        "blocked_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("blocked_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_blocked_domains")),
    )


def downgrade() -> None:
    op.drop_table("blocked_domains")
    op.drop_index(op.f("ix_applications_kind"), table_name="applications")
    op.drop_column("applications", "client_id_url")
    op.drop_column("applications", "registration_token_hash")
    op.drop_column("applications", "last_used_at")
    op.drop_column("applications", "domain")
    op.drop_column("applications", "kind")
