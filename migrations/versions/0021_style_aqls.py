"""A style's own AQLs for its final inspections, in place of the defaults (major 2.5, minor 4.0)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 02:10:00

A buyer's tech pack may set the AQLs of its styles' final inspections (major 1.5 and minor 2.5, say); the
quality manager records them per style with the reason, kept in the style's AQL history
(``capa.inspections.final``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

#: The AQLs of ISO 2859-1, as the standard writes them (capa.inspections.sampling.AQL_SERIES).
SERIES = (
    "'0.010', '0.015', '0.025', '0.040', '0.065', '0.10', '0.15', '0.25', '0.40', '0.65', '1.0', '1.5', '2.5', "
    "'4.0', '6.5', '10', '15', '25', '40', '65', '100', '150', '250', '400', '650', '1000'"
)


def upgrade():
    op.create_table(
        "style_aqls",
        sa.Column("style_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("aql_major", sa.String(length=6), nullable=False),
        sa.Column("aql_minor", sa.String(length=6), nullable=False),
        sa.CheckConstraint(
            f"aql_major IN ({SERIES})",
            name=op.f("ck_style_aqls_aql_major_known"),
        ),
        sa.CheckConstraint(
            f"aql_minor IN ({SERIES})",
            name=op.f("ck_style_aqls_aql_minor_known"),
        ),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_style_aqls_style_id_styles")),
        sa.PrimaryKeyConstraint("style_id", name=op.f("pk_style_aqls")),
    )


def downgrade():
    op.drop_table("style_aqls")
