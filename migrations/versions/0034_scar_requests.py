"""Supplier accounts and supplier corrective action requests: a supplier's account bound to its supplier, the
requests sent to suppliers for SCAR actions, the rounds of their answers with evidence files

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 20:24:00

Accounts recorded before are the factory's own: none is bound to a supplier. SCAR actions recorded before were
sent to no supplier through the app; they stay as they were (the scorecard counts them by the NC they belong to).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

ROLES = "role IN ('supervisor', 'quality_manager', 'admin', 'supplier')"
ROLES_BEFORE = "role IN ('supervisor', 'quality_manager', 'admin')"
SUPPLIER_BOUND = "(role = 'supplier') = (supplier_id IS NOT NULL)"


def upgrade():
    op.create_table(
        "scar_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("containment_due", sa.Date(), nullable=False),
        sa.Column("answer_due", sa.Date(), nullable=False),
        sa.Column("first_answer_due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_before_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_late_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('sent', 'answered', 'accepted')", name=op.f("ck_scar_requests_status_known")),
        sa.CheckConstraint("answer_due >= containment_due", name=op.f("ck_scar_requests_answer_after_containment")),
        sa.ForeignKeyConstraint(
            ["action_id"], ["capa_actions.id"], name=op.f("fk_scar_requests_action_id_capa_actions")
        ),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"], name=op.f("fk_scar_requests_sent_by_id_users")),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"], name=op.f("fk_scar_requests_supplier_id_suppliers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scar_requests")),
        sa.UniqueConstraint("action_id", name=op.f("uq_scar_requests_action_id")),
    )
    with op.batch_alter_table("scar_requests", schema=None) as batch_op:
        batch_op.create_index("ix_scar_requests_supplier_id_status", ["supplier_id", "status"], unique=False)

    op.create_table(
        "scar_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("containment", sa.Text(), nullable=False),
        sa.Column("whys", sa.JSON(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('accept', 'return')", name=op.f("ck_scar_answers_decision_known")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["scar_requests.id"],
            name=op.f("fk_scar_answers_request_id_scar_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name=op.f("fk_scar_answers_reviewed_by_id_users")),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"], name=op.f("fk_scar_answers_submitted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scar_answers")),
        sa.UniqueConstraint("request_id", "round", name=op.f("uq_scar_answers_request_id")),
    )
    op.create_table(
        "scar_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["scar_answers.id"], name=op.f("fk_scar_files_answer_id_scar_answers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scar_files")),
        sa.UniqueConstraint("key", name=op.f("uq_scar_files_key")),
    )
    with op.batch_alter_table("scar_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scar_files_answer_id"), ["answer_id"], unique=False)

    with op.batch_alter_table("users", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("supplier_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_users_supplier_id_suppliers"), "suppliers", ["supplier_id"], ["id"])
        batch_op.drop_constraint(batch_op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role_known"), sa.text(ROLES))
        batch_op.create_check_constraint(batch_op.f("ck_users_supplier_bound"), sa.text(SUPPLIER_BOUND))


def downgrade():
    with op.batch_alter_table("scar_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scar_files_answer_id"))

    op.drop_table("scar_files")
    op.drop_table("scar_answers")
    with op.batch_alter_table("scar_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_scar_requests_supplier_id_status")

    op.drop_table("scar_requests")

    # Supplier accounts have no place in the schema before. Their histories name them, so they stay, as accounts
    # that can no longer log in (nor use a token).
    op.execute("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE role = 'supplier')")
    with op.batch_alter_table("users", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_supplier_bound"), type_="check")
    op.execute("UPDATE users SET role = 'supervisor', active = false, supplier_id = NULL WHERE role = 'supplier'")
    with op.batch_alter_table("users", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role_known"), sa.text(ROLES_BEFORE))
        batch_op.drop_constraint(batch_op.f("fk_users_supplier_id_suppliers"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_supplier_id"))
        batch_op.drop_column("supplier_id")
