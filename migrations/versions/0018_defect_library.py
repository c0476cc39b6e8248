"""The defect library: coded defects with their class and area, and the safety parameters each concerns

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 01:24:49

Inspectors count defects by code (``SEW-01`` open seam, ``SAF-01`` broken needle or metal fragment); each code
has a class (critical, major, minor: what an AQL is set for), an area, and optionally the defect type an NC raised
for it is filed under and the safety parameters it concerns. ``init-db`` seeds the list
(``capa.inspections.defects``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "defect_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), server_default="", nullable=False),
        sa.Column("defect_class", sa.String(length=10), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("defect_type_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "area IN ('fabric', 'sewing', 'trims', 'measurement', 'packing', 'labelling', 'safety')",
            name=op.f("ck_defect_codes_area_known"),
        ),
        sa.CheckConstraint(
            "defect_class IN ('critical', 'major', 'minor')", name=op.f("ck_defect_codes_defect_class_known")
        ),
        sa.ForeignKeyConstraint(
            ["defect_type_id"], ["defect_types.id"], name=op.f("fk_defect_codes_defect_type_id_defect_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defect_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_defect_codes_code")),
    )
    op.create_table(
        "defect_code_parameters",
        sa.Column("defect_code_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["defect_code_id"],
            ["defect_codes.id"],
            name=op.f("fk_defect_code_parameters_defect_code_id_defect_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_defect_code_parameters_parameter_id_safety_parameters"),
        ),
        sa.PrimaryKeyConstraint("defect_code_id", "parameter_id", name=op.f("pk_defect_code_parameters")),
    )


def downgrade():
    op.drop_table("defect_code_parameters")
    op.drop_table("defect_codes")
