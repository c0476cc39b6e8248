"""Partial indexes for the home page's queues and counts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 16:30:00

At a factory group's scale nine NCs in ten are closed, yet the quality manager's home counts and lists the few
that are not: the open NCs a supervisor reported, the safety-critical open ones, the closed CAPAs waiting for
their effectiveness review, the overdue actions (of NCs not cancelled) and each owner's open actions. Each gets
an index over just those rows (a partial index, on PostgreSQL and on SQLite), so that counting them reads the
index alone, not every NC. The conditions are written out here as the models state them
(``capa.capas.models``: OPEN_NC, CANCELLED_NC, PENDING_REVIEW, OPEN_ACTION).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OPEN_NC = "status NOT IN ('closed', 'cancelled')"
CANCELLED_NC = "status = 'cancelled'"
PENDING_REVIEW = "status = 'closed' AND effectiveness_verdict IS NULL"
OPEN_ACTION = "status = 'open'"

#: name -> (table, columns, condition)
INDEXES = {
    "ix_nonconformances_open_by_reporter": ("nonconformances", ["reported_by_id", "reported_at", "id"], OPEN_NC),
    "ix_nonconformances_open_safety_critical": ("nonconformances", ["safety_critical", "status"], OPEN_NC),
    "ix_nonconformances_effectiveness_pending": (
        "nonconformances",
        ["effectiveness_due", "number", "id"],
        PENDING_REVIEW,
    ),
    "ix_nonconformances_cancelled": ("nonconformances", ["id"], CANCELLED_NC),
    "ix_capa_actions_open_due": ("capa_actions", ["due_date", "id", "nc_id"], OPEN_ACTION),
    "ix_capa_actions_open_by_owner": ("capa_actions", ["owner_id", "due_date", "id"], OPEN_ACTION),
}


def upgrade():
    for name, (table, columns, condition) in INDEXES.items():
        where = sa.text(condition)
        op.create_index(name, table, columns, unique=False, postgresql_where=where, sqlite_where=where)


def downgrade():
    for name, (table, _columns, _condition) in INDEXES.items():
        op.drop_index(name, table_name=table)
