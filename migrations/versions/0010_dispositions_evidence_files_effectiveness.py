"""Dispositions of held goods, evidence files, effectiveness reviews, and history entries that know their version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:12:15

Goods on hold leave quarantine by a quality manager's dispositions (a hold gains its quantity; each disposition
the quantity it covers, its evidence results and, for a rework, its re-inspection). Actions and closing keep
evidence files; actions say which root-cause round they answer and carry a standard revision's document and
revision or a retraining's trainees (a new kind, ``training``). A closed CAPA gets an effectiveness review, due
after its defect type's number of days, and may open a follow-up CAPA. History entries record the NC version
they produced, so that a save on an older version is refused only when a change since concerns it. Holds
released before keep their release as it was.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('corrective', 'preventive', 'standard_revision', 'scar')"
NEW_KINDS = "kind IN ('corrective', 'preventive', 'standard_revision', 'scar', 'training')"


def upgrade():
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), server_default="", nullable=False),
        sa.Column("concession_buyer", sa.String(length=120), server_default="", nullable=False),
        sa.Column("concession_reference", sa.String(length=120), server_default="", nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reinspected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reinspected_by_id", sa.Integer(), nullable=True),
        sa.Column("reinspection_passed", sa.Boolean(), nullable=True),
        sa.Column("reinspection_note", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "kind IN ('release', 'rework', 'scrap', 'return_to_supplier', 'use_as_is')",
            name=op.f("ck_dispositions_kind_known"),
        ),
        sa.CheckConstraint("quantity IS NULL OR quantity > 0", name=op.f("ck_dispositions_positive_quantity")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_dispositions_decided_by_id_users")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_dispositions_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["reinspected_by_id"], ["users.id"], name=op.f("fk_dispositions_reinspected_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispositions_hold_id"), ["hold_id"], unique=False)

    op.create_table(
        "nc_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('action', 'closing', 'effectiveness')", name=op.f("ck_nc_attachments_purpose_known")
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["capa_actions.id"], name=op.f("fk_nc_attachments_action_id_capa_actions")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_nc_attachments_nc_id_nonconformances")
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_nc_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nc_attachments")),
        sa.UniqueConstraint("key", name=op.f("uq_nc_attachments_key")),
    )
    with op.batch_alter_table("nc_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nc_attachments_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nc_attachments_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "disposition_results",
        sa.Column("disposition_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposition_id"],
            ["dispositions.id"],
            name=op.f("fk_disposition_results_disposition_id_dispositions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["lab_results.id"], name=op.f("fk_disposition_results_result_id_lab_results")
        ),
        sa.PrimaryKeyConstraint("disposition_id", "result_id", name=op.f("pk_disposition_results")),
    )
    with op.batch_alter_table("disposition_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposition_results_result_id"), ["result_id"], unique=False)

    with op.batch_alter_table("capa_actions", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("round", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("document", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("revision", sa.String(length=40), server_default="", nullable=False))
        batch_op.add_column(sa.Column("trained", sa.Text(), server_default="", nullable=False))
        batch_op.drop_constraint(batch_op.f("ck_capa_actions_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_capa_actions_kind_known"), sa.text(NEW_KINDS))

    with op.batch_alter_table("defect_types", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effectiveness_days", sa.Integer(), server_default="90", nullable=False))

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=True))

    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=True))

    # Without resolving foreign keys: SQLite's batch copy need not reflect the tables they point at.
    with op.batch_alter_table("nonconformances", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("effectiveness_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("effectiveness_verdict", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("effectiveness_review", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("effectiveness_recurred", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("effectiveness_reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("effectiveness_reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("effectiveness_reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("follow_up_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_nonconformances_effectiveness_due"), ["effectiveness_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_nonconformances_follow_up_of_id"), ["follow_up_of_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_nonconformances_effectiveness_reviewed_by_id_users"),
            "users",
            ["effectiveness_reviewed_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_nonconformances_follow_up_of_id_nonconformances"),
            "nonconformances",
            ["follow_up_of_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_nonconformances_effectiveness_verdict_known"),
            sa.text("effectiveness_verdict IS NULL OR effectiveness_verdict IN ('effective', 'not_effective')"),
        )


def downgrade():
    # Without resolving foreign keys: SQLite's batch copy need not reflect the tables they point at.
    with op.batch_alter_table("nonconformances", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_nonconformances_effectiveness_verdict_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_nonconformances_follow_up_of_id_nonconformances"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_nonconformances_effectiveness_reviewed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_nonconformances_follow_up_of_id"))
        batch_op.drop_index(batch_op.f("ix_nonconformances_effectiveness_due"))
        batch_op.drop_column("follow_up_of_id")
        batch_op.drop_column("effectiveness_reminded_at")
        batch_op.drop_column("effectiveness_reviewed_by_id")
        batch_op.drop_column("effectiveness_reviewed_at")
        batch_op.drop_column("effectiveness_recurred")
        batch_op.drop_column("effectiveness_review")
        batch_op.drop_column("effectiveness_verdict")
        batch_op.drop_column("effectiveness_due")

    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("quantity")

    with op.batch_alter_table("defect_types", schema=None) as batch_op:
        batch_op.drop_column("effectiveness_days")

    op.execute("UPDATE capa_actions SET kind = 'corrective' WHERE kind = 'training'")
    with op.batch_alter_table("capa_actions", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_capa_actions_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_capa_actions_kind_known"), sa.text(OLD_KINDS))
        batch_op.drop_column("trained")
        batch_op.drop_column("revision")
        batch_op.drop_column("document")
        batch_op.drop_column("round")

    with op.batch_alter_table("disposition_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposition_results_result_id"))

    op.drop_table("disposition_results")
    with op.batch_alter_table("nc_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nc_attachments_nc_id"))
        batch_op.drop_index(batch_op.f("ix_nc_attachments_action_id"))

    op.drop_table("nc_attachments")
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispositions_hold_id"))

    op.drop_table("dispositions")
