"""Measurements against a style's spec: the spec (points of measure by sizes, with tolerances) and the points
measured in final inspections

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 14:15:00

Measurements are exact decimals stored as whole thousandths (``capa.common.types.Thousandths``): an eighth of an
inch is 0.125. Inspections recorded before measured nothing.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "measurement_specs",
        sa.Column("style_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit", sa.String(length=2), nullable=False),
        sa.Column("sizes", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("unit IN ('cm', 'in')", name=op.f("ck_measurement_specs_unit_known")),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_measurement_specs_style_id_styles")),
        sa.PrimaryKeyConstraint("style_id", name=op.f("pk_measurement_specs")),
    )
    op.create_table(
        "measurement_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=12), nullable=False),
        sa.Column("description", sa.String(length=120), nullable=False),
        sa.Column("tol_minus", sa.BigInteger(), nullable=False),
        sa.Column("tol_plus", sa.BigInteger(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["style_id"],
            ["measurement_specs.style_id"],
            name=op.f("fk_measurement_points_style_id_measurement_specs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement_points")),
        sa.UniqueConstraint("style_id", "point", name=op.f("uq_measurement_points_style_id")),
    )
    op.create_table(
        "inspection_measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("garment", sa.Integer(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("point", sa.String(length=12), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("tol_minus", sa.BigInteger(), nullable=False),
        sa.Column("tol_plus", sa.BigInteger(), nullable=False),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.CheckConstraint("garment > 0", name=op.f("ck_inspection_measurements_garment_positive")),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_measurements_inspection_id_inspections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_measurements")),
    )
    with op.batch_alter_table("inspection_measurements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_measurements_inspection_id"), ["inspection_id"], unique=False)

    with op.batch_alter_table("inspections", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("measure_unit", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("garments_out_of_tolerance", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("inspections", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_column("garments_out_of_tolerance")
        batch_op.drop_column("measure_unit")

    with op.batch_alter_table("inspection_measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_measurements_inspection_id"))

    op.drop_table("inspection_measurements")
    op.drop_table("measurement_points")
    op.drop_table("measurement_specs")
