"""Operations: the audit trail's actor, subject, user agent and request id; audit notices

Revision ID: 0006
Revises: 0005

``audit_events`` gains who did it (``actor``: a user, an application, an operator or
``cli``), what it was done to (``subject``: a grant, a key, an application), and the request
it came from (``user_agent``, ``request_id``); every existing row keeps NULL there, which the
admin page shows as unknown. Indexes on ``app_id`` and ``event`` serve the page's filters (the
time and user ones exist since 0001). ``notices.app_id`` becomes nullable: an audit event
forwarded to the operators' webhook rides the same outbox but belongs to no application.

Plain ADD COLUMN, except that one change of nullability: on SQLite it rebuilds ``notices``
(batch mode), which is safe because no table references it, unlike ``applications`` (0003).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (
    ("actor", 80),
    ("subject", 120),
    ("user_agent", 256),
    ("request_id", 40),
)


def upgrade() -> None:
    for name, length in COLUMNS:
        op.add_column("audit_events", sa.Column(name, sa.String(length=length), nullable=True))
    op.create_index(op.f("ix_audit_events_app_id"), "audit_events", ["app_id"])
    op.create_index(op.f("ix_audit_events_event"), "audit_events", ["event"])
    with op.batch_alter_table("notices") as batch:
        batch.alter_column("app_id", existing_type=sa.String(length=80), nullable=True)


def downgrade() -> None:
    # Audit notices have no application; they cannot survive the column becoming required.
    op.execute("DELETE FROM notices WHERE app_id IS NULL")
    with op.batch_alter_table("notices") as batch:
        batch.alter_column("app_id", existing_type=sa.String(length=80), nullable=False)
    op.drop_index(op.f("ix_audit_events_event"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_app_id"), table_name="audit_events")
    for name, _ in reversed(COLUMNS):
        op.drop_column("audit_events", name)
