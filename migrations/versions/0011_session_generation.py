"""A session generation per user, so that logging out or a new password ends every session of the user

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:30:00

A session names the generation it was opened in; raising the user's generation ends every session opened
before. Sessions opened before this revision name no generation and end with it: each person logs in once more.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
