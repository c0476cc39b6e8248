"""Resumptions of a line's final inspection after it was discontinued (ISO 2859-1, 9.4)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 01:50:00

A line's final inspection is discontinued once 5 lots in all are not accepted while on tightened inspection; a
quality manager resumes it, with the reason, once the causes are corrected (``capa.inspections.final``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inspection_resumptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resumed_by_id", sa.Integer(), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_inspection_resumptions_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(
            ["resumed_by_id"], ["users.id"], name=op.f("fk_inspection_resumptions_resumed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_resumptions")),
    )
    with op.batch_alter_table("inspection_resumptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_resumptions_line_id"), ["line_id"], unique=False)


def downgrade():
    with op.batch_alter_table("inspection_resumptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_resumptions_line_id"))

    op.drop_table("inspection_resumptions")
