"""PKCE per client and pushed authorization requests

Revision ID: 0012
Revises: 0011

``applications`` gains ``pkce_optional`` (a confidential client may send authorization
requests without PKCE; off for every existing client, so PKCE stays required) and
``require_par`` (the client must push its authorization requests first, RFC 9126).
``pushed_requests`` holds each pushed request: the SHA-256 of its ``request_uri``, the client
it is bound to, the checked parameters as JSON, when it expires, when the browser first
brought it and when it was answered (single use).

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column("pkce_optional", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column("require_par", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "pushed_requests",
        sa.Column("request_uri_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=80), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name=op.f("fk_pushed_requests_app_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_uri_hash", name=op.f("pk_pushed_requests")),
    )
    op.create_index(
        op.f("ix_pushed_requests_expires_at"), "pushed_requests", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pushed_requests_expires_at"), table_name="pushed_requests")
    op.drop_table("pushed_requests")
    op.drop_column("applications", "require_par")
    op.drop_column("applications", "pkce_optional")
