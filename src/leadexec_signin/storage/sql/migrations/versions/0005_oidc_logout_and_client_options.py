"""OpenID Connect: what an ID token needs from a code, logout URIs, JWT access tokens, and the
single use of client assertions, back-channel logout notices

Revision ID: 0005
Revises: 0004

Codes remember when the user signed in and which browser session it was (``auth_time`` and
``sid`` of the ID token). Refresh tokens say which surface issued them (``kind``: ``seed``
for every existing one, or ``oauth``): each surface accepts only its own, so a token the OAuth
surface rotates cannot be replayed without rotation at the seed's ``/api/token``. Applications gain post-logout redirect URIs (newline-separated), a
back-channel logout URI, the ID token's signing algorithm (RS256 unless the client asks for
ES256 or EdDSA) and the access-token format (``opaque``, the default for every existing
application, or ``jwt``). ``client_assertions`` holds the ``jti`` of each private_key_jwt
assertion until it expires, so an assertion cannot be replayed (RFC 7523 section 3). Notices gain a ``kind``: every existing
one is a ``disconnect`` notice; ``backchannel_logout`` ones carry a logout token's claims.

Plain ADD COLUMN only, for the reason given in 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_codes", sa.Column("auth_time", sa.DateTime(), nullable=True))
    op.add_column(
        "auth_codes", sa.Column("sid", sa.String(length=64), server_default="", nullable=False)
    )
    op.add_column(
        "applications",
        sa.Column("post_logout_redirect_uris", sa.Text(), server_default="", nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column("backchannel_logout_uri", sa.Text(), server_default="", nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column("id_token_alg", sa.String(length=16), server_default="RS256", nullable=False),
    )
    op.add_column(
        "applications",
        sa.Column(
            "access_token_format", sa.String(length=16), server_default="opaque", nullable=False
        ),
    )
    op.add_column(
        "refresh_tokens",
        sa.Column("kind", sa.String(length=8), server_default="seed", nullable=False),
    )
    op.add_column("refresh_tokens", sa.Column("auth_time", sa.DateTime(), nullable=True))
    op.add_column(
        "refresh_tokens", sa.Column("sid", sa.String(length=64), server_default="", nullable=False)
    )
    op.add_column(
        "notices",
        sa.Column("kind", sa.String(length=24), server_default="disconnect", nullable=False),
    )
    op.create_table(
        "client_assertions",
        sa.Column("jti_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti_hash", name=op.f("pk_client_assertions")),
    )
    op.create_index(op.f("ix_client_assertions_expires_at"), "client_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_client_assertions_expires_at"), table_name="client_assertions")
    op.drop_table("client_assertions")
    op.drop_column("notices", "kind")
    for name in ("kind", "auth_time", "sid"):
        op.drop_column("refresh_tokens", name)
    for name in ("post_logout_redirect_uris", "backchannel_logout_uri", "id_token_alg",
                 "access_token_format"):  # fmt: skip
        op.drop_column("applications", name)
    for name in ("auth_time", "sid"):
        op.drop_column("auth_codes", name)
