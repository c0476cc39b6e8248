"""Change control: change requests with the conditions they take effect on, the styles they name and the NCs they
are linked to

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 20:41:00

Nothing recorded before is a change request: the tables start empty.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("lot_kind", sa.String(length=16), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("scar_answer_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "lot_kind IN ('fabric', 'dye_lot', 'trim', 'thread', 'label', 'packaging', 'other')",
            name=op.f("ck_change_requests_lot_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'effective', 'rejected')", name=op.f("ck_change_requests_status_known")
        ),
        sa.CheckConstraint(
            "subject IN ('supplier', 'material', 'chemical', 'process', 'trim')",
            name=op.f("ck_change_requests_subject_known"),
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["capa_actions.id"], name=op.f("fk_change_requests_action_id_capa_actions")
        ),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"], name=op.f("fk_change_requests_approved_by_id_users")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_change_requests_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(["raised_by_id"], ["users.id"], name=op.f("fk_change_requests_raised_by_id_users")),
        sa.ForeignKeyConstraint(
            ["scar_answer_id"], ["scar_answers.id"], name=op.f("fk_change_requests_scar_answer_id_scar_answers")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_change_requests_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_requests_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "change_conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_by_id", sa.Integer(), nullable=True),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "kind IN ('lab_test', 'first_article', 'buyer_notification')", name=op.f("ck_change_conditions_kind_known")
        ),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_change_conditions_buyer_id_buyers")),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_conditions_change_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_change_conditions_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(["met_by_id"], ["users.id"], name=op.f("fk_change_conditions_met_by_id_users")),
        sa.ForeignKeyConstraint(
            ["parameter_id"], ["safety_parameters.id"], name=op.f("fk_change_conditions_parameter_id_safety_parameters")
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["lab_results.id"], name=op.f("fk_change_conditions_result_id_lab_results")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_conditions")),
    )
    with op.batch_alter_table("change_conditions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_conditions_change_id"), ["change_id"], unique=False)

    op.create_table(
        "change_request_ncs",
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_request_ncs_change_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_change_request_ncs_nc_id_nonconformances")
        ),
        sa.PrimaryKeyConstraint("change_id", "nc_id", name=op.f("pk_change_request_ncs")),
    )
    with op.batch_alter_table("change_request_ncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_request_ncs_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "change_request_styles",
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_request_styles_change_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name=op.f("fk_change_request_styles_style_id_styles")),
        sa.PrimaryKeyConstraint("change_id", "style_id", name=op.f("pk_change_request_styles")),
    )


def downgrade():
    op.drop_table("change_request_styles")
    with op.batch_alter_table("change_request_ncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_request_ncs_nc_id"))

    op.drop_table("change_request_ncs")
    with op.batch_alter_table("change_conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_conditions_change_id"))

    op.drop_table("change_conditions")
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_requests_supplier_id"))

    op.drop_table("change_requests")
