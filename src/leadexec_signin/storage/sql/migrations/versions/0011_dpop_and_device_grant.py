"""DPoP-bound tokens and the device authorization grant

Revision ID: 0011
Revises: 0010

``applications`` gains ``dpop_bound_access_tokens`` (every token request of the client must
carry a DPoP proof, RFC 9449) and ``device_grant`` (the client may use the device
authorization grant, RFC 8628). ``refresh_tokens`` gains ``dpop_jkt``: the thumbprint of the
key a public client's refresh token is bound to. ``device_codes`` holds each pending device
authorization: its device code and user code as SHA-256 hashes, what was asked, the polling
state, and who approved or denied it. The proofs' single-use ``jti`` go to the existing
``client_assertions`` table of used JWT ids, under a prefix of their own.

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column(
            "dpop_bound_access_tokens", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "applications",
        sa.Column("device_grant", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("refresh_tokens", sa.Column("dpop_jkt", sa.String(length=64), nullable=True))
    op.create_table(
        "device_codes",
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=80), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("polled_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=80), nullable=True),
        sa.Column("auth_time", sa.DateTime(), nullable=True),
        sa.Column("sid", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name=op.f("fk_device_codes_app_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_code_hash", name=op.f("pk_device_codes")),
        sa.UniqueConstraint("user_code_hash", name=op.f("uq_device_codes_user_code_hash")),
    )
    op.create_index(
        op.f("ix_device_codes_expires_at"), "device_codes", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_device_codes_expires_at"), table_name="device_codes")
    op.drop_table("device_codes")
    op.drop_column("refresh_tokens", "dpop_jkt")
    op.drop_column("applications", "device_grant")
    op.drop_column("applications", "dpop_bound_access_tokens")
