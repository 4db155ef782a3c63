"""OAuth 2.1 / OpenID Connect data: client registration, redirect URIs, code bindings, refresh
token rotation, signing-key algorithms and rotation

Revision ID: 0003
Revises: 0002

Existing rows keep their meaning: an application with a secret becomes a confidential client
(client_secret_basic), one without a public client (none); codes and refresh tokens carry NULL
scopes ("all of the grant's"); signing keys are the Ed25519 keys they always were, active
since they were made.

SQLite: ``applications`` is altered with plain ADD/DROP COLUMN (SQLite 3.35+), never rebuilt
by batch mode. A rebuild drops the old table, and with foreign keys on (make_engine turns them
on, and they cannot be turned off inside the migration's transaction) that drop cascades into
app_origins, buttons, grants and notices and empties them. The one change that needs a
rebuild, NOT NULL on signing_keys.activates_at after filling it, uses batch mode on a table
nothing references.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_COLUMNS = ("client_type", "token_endpoint_auth_method", "jwks_uri", "jwks",
               "rotate_refresh_tokens")  # fmt: skip
CODE_COLUMNS = ("redirect_uri", "code_challenge", "code_challenge_method", "nonce", "scopes",
                "created_at", "consumed_at")  # fmt: skip
REFRESH_COLUMNS = ("scopes", "last_used_at", "replaced_by", "rotated_at")
KEY_COLUMNS = ("alg", "activates_at", "retired_at", "expires_at")


def upgrade() -> None:
    # Defaults fail closed for a row written without them (confidential, must authenticate);
    # applications without a secret are then made public just below.
    op.add_column(
        "applications",
        sa.Column(
            "client_type", sa.String(length=16), server_default="confidential", nullable=False
        ),
    )
    op.add_column(
        "applications",
        sa.Column(
            "token_endpoint_auth_method",
            sa.String(length=32),
            server_default="client_secret_basic",
            nullable=False,
        ),
    )
    op.add_column(
        "applications", sa.Column("jwks_uri", sa.Text(), server_default="", nullable=False)
    )
    op.add_column("applications", sa.Column("jwks", sa.Text(), nullable=True))
    op.add_column(
        "applications",
        sa.Column(
            "rotate_refresh_tokens", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.execute(
        "UPDATE applications SET client_type = 'public', token_endpoint_auth_method = 'none' "
        "WHERE secret_hash IS NULL"
    )

    op.create_table(
        "app_redirect_uris",
        sa.Column("app_id", sa.String(length=80), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name=op.f("fk_app_redirect_uris_app_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "uri", name=op.f("pk_app_redirect_uris")),
    )

    op.add_column(
        "auth_codes", sa.Column("redirect_uri", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "auth_codes",
        sa.Column("code_challenge", sa.String(length=128), server_default="", nullable=False),
    )
    op.add_column(
        "auth_codes",
        sa.Column("code_challenge_method", sa.String(length=16), server_default="", nullable=False),
    )
    op.add_column("auth_codes", sa.Column("nonce", sa.Text(), server_default="", nullable=False))
    op.add_column("auth_codes", sa.Column("scopes", sa.String(length=200), nullable=True))
    op.add_column("auth_codes", sa.Column("created_at", sa.DateTime(), nullable=True))
    op.add_column("auth_codes", sa.Column("consumed_at", sa.DateTime(), nullable=True))

    op.add_column("refresh_tokens", sa.Column("scopes", sa.String(length=200), nullable=True))
    op.add_column("refresh_tokens", sa.Column("last_used_at", sa.DateTime(), nullable=True))
    op.add_column("refresh_tokens", sa.Column("replaced_by", sa.String(length=64), nullable=True))
    op.add_column("refresh_tokens", sa.Column("rotated_at", sa.DateTime(), nullable=True))

    # Every key so far is Ed25519; the default labels them, then goes, so no later insert can
    # silently call an RSA key EdDSA.
    op.add_column(
        "signing_keys",
        sa.Column("alg", sa.String(length=16), server_default="EdDSA", nullable=False),
    )
    op.add_column("signing_keys", sa.Column("activates_at", sa.DateTime(), nullable=True))
    op.add_column("signing_keys", sa.Column("retired_at", sa.DateTime(), nullable=True))
    op.add_column("signing_keys", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE signing_keys SET activates_at = created_at")
    with op.batch_alter_table("signing_keys") as batch_op:
        batch_op.alter_column("alg", existing_type=sa.String(length=16), server_default=None)
        batch_op.alter_column("activates_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    # Plain DROP COLUMN throughout, for the reason in the module docstring.
    for name in KEY_COLUMNS:
        op.drop_column("signing_keys", name)
    for name in REFRESH_COLUMNS:
        op.drop_column("refresh_tokens", name)
    for name in CODE_COLUMNS:
        op.drop_column("auth_codes", name)
    op.drop_table("app_redirect_uris")
    for name in APP_COLUMNS:
        op.drop_column("applications", name)
