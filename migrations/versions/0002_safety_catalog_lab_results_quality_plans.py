"""safety catalog, lab results, quality plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:53:13.654167

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "safety_parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("standard", sa.String(length=120), nullable=False),
        sa.Column("clause", sa.String(length=200), nullable=False),
        sa.Column("test_method", sa.String(length=200), nullable=False),
        sa.Column("from_catalog", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('chemical', 'physical', 'colorfastness', 'labelling')",
            name=op.f("ck_safety_parameters_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_parameters")),
        sa.UniqueConstraint("code", name=op.f("uq_safety_parameters_code")),
    )
    op.create_table(
        "limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=3), nullable=False),
        sa.Column("old_comparator", sa.String(length=16), nullable=True),
        sa.Column("old_limit", sa.String(length=200), nullable=True),
        sa.Column("new_comparator", sa.String(length=16), nullable=True),
        sa.Column("new_limit", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name=op.f("fk_limit_changes_changed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_limit_changes_parameter_id_safety_parameters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_changes")),
    )
    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_limit_changes_parameter_id"), ["parameter_id"], unique=False)

    op.create_table(
        "parameter_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=3), nullable=False),
        sa.Column("comparator", sa.String(length=16), nullable=False),
        sa.Column("limit", sa.String(length=200), nullable=False),
        sa.Column("catalog_limit", sa.String(length=200), nullable=True),
        sa.Column("catalog_comparator", sa.String(length=16), nullable=True),
        sa.Column("clause", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("category IN ('A', 'B', 'C', 'all')", name=op.f("ck_parameter_limits_category_known")),
        sa.CheckConstraint(
            "comparator IN ('max', 'lt', 'min', 'range', 'grade_min', 'absent', 'pass_fail')",
            name=op.f("ck_parameter_limits_comparator_known"),
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_parameter_limits_parameter_id_safety_parameters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_limits")),
        sa.UniqueConstraint("parameter_id", "category", name=op.f("uq_parameter_limits_parameter_id")),
    )
    with op.batch_alter_table("parameter_limits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parameter_limits_parameter_id"), ["parameter_id"], unique=False)

    op.create_table(
        "plan_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_plan_adjustments_parameter_id_safety_parameters"),
        ),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_plan_adjustments_style_id_styles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_adjustments")),
        sa.UniqueConstraint("style_id", "parameter_id", name=op.f("uq_plan_adjustments_style_id")),
    )
    with op.batch_alter_table("plan_adjustments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_adjustments_style_id"), ["style_id"], unique=False)

    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name=op.f("fk_plan_changes_changed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_plan_changes_parameter_id_safety_parameters"),
        ),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_plan_changes_style_id_styles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
    )
    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_changes_style_id"), ["style_id"], unique=False)

    op.create_table(
        "lab_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=1), nullable=False),
        sa.Column("comparator", sa.String(length=16), nullable=True),
        sa.Column("limit", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("near_limit", sa.Boolean(), nullable=False),
        sa.Column("lab", sa.String(length=120), nullable=False),
        sa.Column("report_number", sa.String(length=64), nullable=False),
        sa.Column("tested_at", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("verdict IN ('pass', 'fail', 'not_applicable')", name=op.f("ck_lab_results_verdict_known")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_lab_results_batch_id_batches")),
        sa.ForeignKeyConstraint(["lot_id"], ["material_lots.id"], name=op.f("fk_lab_results_lot_id_material_lots")),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_lab_results_parameter_id_safety_parameters"),
        ),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_lab_results_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
    )
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lab_results_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lab_results_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lab_results_parameter_id"), ["parameter_id"], unique=False)


def downgrade():
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_results_parameter_id"))
        batch_op.drop_index(batch_op.f("ix_lab_results_lot_id"))
        batch_op.drop_index(batch_op.f("ix_lab_results_batch_id"))

    op.drop_table("lab_results")
    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_changes_style_id"))

    op.drop_table("plan_changes")
    with op.batch_alter_table("plan_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_adjustments_style_id"))

    op.drop_table("plan_adjustments")
    with op.batch_alter_table("parameter_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parameter_limits_parameter_id"))

    op.drop_table("parameter_limits")
    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_limit_changes_parameter_id"))

    op.drop_table("limit_changes")
    op.drop_table("safety_parameters")
