"""A document revision's approval signed electronically: the name shown with the signature

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04 21:10:00

Revisions approved before approvals were signed keep an empty name: the page and the API show their approver's user
name, unsigned.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by_name", sa.String(length=120), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.drop_column("approved_by_name")
