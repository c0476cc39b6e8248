"""A partial index of the holds still in quarantine

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:20:00

The long-hold alerts (the quality manager's home page, the weekly summary) list and count the holds placed more
than 14 days ago and not released. A factory group's database keeps every hold ever placed, nearly all of them
released long ago, so those alerts read the whole table (117,000 holds at 1,000,000 NCs: 24 ms of the home page).
An index over the holds without a release, by the time they were placed (``capa.capas.models``: ON_HOLD), holds
only those in quarantine, on PostgreSQL and on SQLite.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ON_HOLD = "released_at IS NULL"


def upgrade():
    where = sa.text(ON_HOLD)
    op.create_index(
        "ix_holds_on_hold_held_at", "holds", ["held_at", "id"], unique=False, postgresql_where=where, sqlite_where=where
    )


def downgrade():
    op.drop_index("ix_holds_on_hold_held_at", table_name="holds")
