"""Incoming fabric inspections by the 4-point system (ASTM D5430), and acceptance points per supplier and style

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 07:48:45

A fabric lot's rolls are inspected and scored (``capa.inspections.fourpoint``); lengths, widths and the figures are
stored exactly as whole hundredths (``capa.common.types.Hundredths``: a BIGINT), in the units they were measured in.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "style_fabric_limits",
        sa.Column("style_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.CheckConstraint("points BETWEEN 1 AND 1000", name=op.f("ck_style_fabric_limits_points_in_range")),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_style_fabric_limits_style_id_styles")),
        sa.PrimaryKeyConstraint("style_id", name=op.f("pk_style_fabric_limits")),
    )
    op.create_table(
        "supplier_fabric_limits",
        sa.Column("supplier_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.CheckConstraint("points BETWEEN 1 AND 1000", name=op.f("ck_supplier_fabric_limits_points_in_range")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_fabric_limits_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_supplier_fabric_limits")),
    )
    op.create_table(
        "fabric_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=True),
        sa.Column("length_unit", sa.String(length=2), nullable=False),
        sa.Column("width_unit", sa.String(length=2), nullable=False),
        sa.Column("required_width", sa.BigInteger(), nullable=True),
        sa.Column("acceptance_points", sa.Integer(), nullable=False),
        sa.Column("acceptance_source", sa.String(length=10), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("length_inspected", sa.BigInteger(), nullable=False),
        sa.Column("square_yards", sa.BigInteger(), nullable=False),
        sa.Column("points_per_100", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("faults", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "acceptance_source IN ('style', 'supplier', 'default')",
            name=op.f("ck_fabric_inspections_acceptance_source_known"),
        ),
        sa.CheckConstraint("length_unit IN ('yd', 'm')", name=op.f("ck_fabric_inspections_length_unit_known")),
        sa.CheckConstraint("verdict IN ('accepted', 'rejected')", name=op.f("ck_fabric_inspections_verdict_known")),
        sa.CheckConstraint("width_unit IN ('in', 'cm')", name=op.f("ck_fabric_inspections_width_unit_known")),
        sa.ForeignKeyConstraint(["inspector_id"], ["users.id"], name=op.f("fk_fabric_inspections_inspector_id_users")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["material_lots.id"], name=op.f("fk_fabric_inspections_lot_id_material_lots")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_fabric_inspections_nc_id_nonconformances")
        ),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_fabric_inspections_style_id_styles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fabric_inspections")),
    )
    with op.batch_alter_table("fabric_inspections", schema=None) as batch_op:
        batch_op.create_index("ix_fabric_inspections_lot_id_inspected_at", ["lot_id", "inspected_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_fabric_inspections_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "fabric_rolls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.BigInteger(), nullable=False),
        sa.Column("shade_matches", sa.Boolean(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("points_per_100", sa.BigInteger(), nullable=False),
        sa.Column("faults", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["fabric_inspections.id"],
            name=op.f("fk_fabric_rolls_inspection_id_fabric_inspections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fabric_rolls")),
    )
    with op.batch_alter_table("fabric_rolls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fabric_rolls_inspection_id"), ["inspection_id"], unique=False)

    op.create_table(
        "fabric_defects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roll_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("hole", sa.Boolean(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("defect_code_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["defect_code_id"], ["defect_codes.id"], name=op.f("fk_fabric_defects_defect_code_id_defect_codes")
        ),
        sa.ForeignKeyConstraint(
            ["roll_id"], ["fabric_rolls.id"], name=op.f("fk_fabric_defects_roll_id_fabric_rolls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fabric_defects")),
    )
    with op.batch_alter_table("fabric_defects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fabric_defects_roll_id"), ["roll_id"], unique=False)


def downgrade():
    with op.batch_alter_table("fabric_defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fabric_defects_roll_id"))

    op.drop_table("fabric_defects")
    with op.batch_alter_table("fabric_rolls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fabric_rolls_inspection_id"))

    op.drop_table("fabric_rolls")
    with op.batch_alter_table("fabric_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fabric_inspections_nc_id"))
        batch_op.drop_index("ix_fabric_inspections_lot_id_inspected_at")

    op.drop_table("fabric_inspections")
    op.drop_table("supplier_fabric_limits")
    op.drop_table("style_fabric_limits")
