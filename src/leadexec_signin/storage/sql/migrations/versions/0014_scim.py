"""SCIM provisioning: the directory's userName and the attributes it sent

Revision ID: 0014
Revises: 0013

A directory (Okta, Entra ID, a customer's own) names its users with ``userName`` and may send
attributes LeadExec does not use itself (``externalId``, ``name.givenName``, an email's
``type``): ``scim_user_name`` keeps the first (unique, searched by ``userName eq``), and
``scim_attributes`` the others, returned as they came.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: rebuilding ``users`` on SQLite would cascade-delete what references it.
    op.add_column("users", sa.Column("scim_user_name", sa.String(length=320), nullable=True))
    op.add_column("users", sa.Column("scim_attributes", sa.JSON(), nullable=True))
    op.create_index("uq_users_scim_user_name", "users", ["scim_user_name"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_scim_user_name", table_name="users")
    op.drop_column("users", "scim_attributes")
    op.drop_column("users", "scim_user_name")
