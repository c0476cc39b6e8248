"""non-conformances and the CAPA workflow

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:06:15.069295

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "defect_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defect_types")),
        sa.UniqueConstraint("code", name=op.f("uq_defect_types_code")),
    )
    op.create_table(
        "nc_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_nc_number_counters")),
    )
    op.create_table(
        "defect_type_parameters",
        sa.Column("defect_type_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["defect_type_id"],
            ["defect_types.id"],
            name=op.f("fk_defect_type_parameters_defect_type_id_defect_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["safety_parameters.id"],
            name=op.f("fk_defect_type_parameters_parameter_id_safety_parameters"),
        ),
        sa.PrimaryKeyConstraint("defect_type_id", "parameter_id", name=op.f("pk_defect_type_parameters")),
    )
    op.create_table(
        "nonconformances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("defect_type_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=1), nullable=True),
        sa.Column("quantity_affected", sa.Integer(), nullable=True),
        sa.Column("safety_critical", sa.Boolean(), nullable=False),
        sa.Column("recurrence_of_id", sa.Integer(), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("containment", sa.Text(), nullable=False),
        sa.Column("effectiveness", sa.Text(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('A', 'B', 'C')", name=op.f("ck_nonconformances_category_known")
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'investigation', 'review', 'action', 'verification', 'closed', 'cancelled')",
            name=op.f("ck_nonconformances_status_known"),
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_nonconformances_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["defect_type_id"], ["defect_types.id"], name=op.f("fk_nonconformances_defect_type_id_defect_types")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_nonconformances_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(
            ["recurrence_of_id"],
            ["nonconformances.id"],
            name=op.f("fk_nonconformances_recurrence_of_id_nonconformances"),
        ),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"], name=op.f("fk_nonconformances_reported_by_id_users")),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_nonconformances_style_id_styles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nonconformances")),
        sa.UniqueConstraint("number", name=op.f("uq_nonconformances_number")),
        sa.UniqueConstraint("year", "sequence", name=op.f("uq_nonconformances_year")),
    )
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonconformances_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_defect_type_id"), ["defect_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_line_id"), ["line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_recurrence_of_id"), ["recurrence_of_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_reported_by_id"), ["reported_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_style_id"), ["style_id"], unique=False)

    op.create_table(
        "capa_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('corrective', 'preventive', 'standard_revision', 'scar')", name=op.f("ck_capa_actions_kind_known")
        ),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_capa_actions_status_known")),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"], name=op.f("fk_capa_actions_completed_by_id_users")),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_capa_actions_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_capa_actions_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_actions")),
    )
    with op.batch_alter_table("capa_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capa_actions_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_capa_actions_nc_id"), ["nc_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_capa_actions_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_capa_actions_status"), ["status"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("held_by_id", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("(batch_id IS NULL) <> (lot_id IS NULL)", name=op.f("ck_holds_batch_or_lot")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_holds_batch_id_batches")),
        sa.ForeignKeyConstraint(["held_by_id"], ["users.id"], name=op.f("fk_holds_held_by_id_users")),
        sa.ForeignKeyConstraint(["lot_id"], ["material_lots.id"], name=op.f("fk_holds_lot_id_material_lots")),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_holds_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(["released_by_id"], ["users.id"], name=op.f("fk_holds_released_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "nc_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_nc_events_actor_id_users")),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_nc_events_nc_id_nonconformances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nc_events")),
    )
    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_events_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "nc_parameters",
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_nc_parameters_nc_id_nonconformances"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"], ["safety_parameters.id"], name=op.f("fk_nc_parameters_parameter_id_safety_parameters")
        ),
        sa.PrimaryKeyConstraint("nc_id", "parameter_id", name=op.f("pk_nc_parameters")),
    )
    with op.batch_alter_table("nc_parameters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_parameters_parameter_id"), ["parameter_id"], unique=False)

    op.create_table(
        "nc_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_nc_photos_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_nc_photos_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nc_photos")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_nc_photos_stored_name")),
    )
    with op.batch_alter_table("nc_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_photos_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "root_cause_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("whys", sa.JSON(), nullable=False),
        sa.Column("fishbone", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_root_cause_analyses_nc_id_nonconformances")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_root_cause_analyses_reviewed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_root_cause_analyses_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_root_cause_analyses")),
        sa.UniqueConstraint("nc_id", "round", name=op.f("uq_root_cause_analyses_nc_id")),
    )
    with op.batch_alter_table("root_cause_analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_root_cause_analyses_nc_id"), ["nc_id"], unique=False)

    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nc_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_lab_results_nc_id"), ["nc_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_lab_results_nc_id_nonconformances"), "nonconformances", ["nc_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lab_results_nc_id_nonconformances"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_lab_results_nc_id"))
        batch_op.drop_column("nc_id")

    with op.batch_alter_table("root_cause_analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_root_cause_analyses_nc_id"))

    op.drop_table("root_cause_analyses")
    with op.batch_alter_table("nc_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_photos_nc_id"))

    op.drop_table("nc_photos")
    with op.batch_alter_table("nc_parameters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_parameters_parameter_id"))

    op.drop_table("nc_parameters")
    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_events_nc_id"))

    op.drop_table("nc_events")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_nc_id"))
        batch_op.drop_index(batch_op.f("ix_holds_lot_id"))
        batch_op.drop_index(batch_op.f("ix_holds_batch_id"))

    op.drop_table("holds")
    with op.batch_alter_table("capa_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capa_actions_status"))
        batch_op.drop_index(batch_op.f("ix_capa_actions_owner_id"))
        batch_op.drop_index(batch_op.f("ix_capa_actions_nc_id"))
        batch_op.drop_index(batch_op.f("ix_capa_actions_due_date"))

    op.drop_table("capa_actions")
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonconformances_style_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_status"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_reported_by_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_reported_at"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_recurrence_of_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_line_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_defect_type_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_closed_at"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_batch_id"))

    op.drop_table("nonconformances")
    op.drop_table("defect_type_parameters")
    op.drop_table("nc_number_counters")
    op.drop_table("defect_types")
