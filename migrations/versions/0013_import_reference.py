"""The source reference of an NC imported from a spreadsheet, so that importing the same sheet again adds nothing

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:30:00

An NC taken in from a factory's earlier spreadsheet keeps where it came from (its number in the sheet, or a
fingerprint of its row); the reference is unique, and NCs filed in the app have none (NULL).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("nonconformances", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("import_reference", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint("uq_nonconformances_import_reference", ["import_reference"])


def downgrade():
    with op.batch_alter_table("nonconformances", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint("uq_nonconformances_import_reference", type_="unique")
        batch_op.drop_column("import_reference")
