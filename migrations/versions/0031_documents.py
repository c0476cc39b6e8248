"""The document register: controlled documents, their revisions with their files, and a standard revision
action's link to the revision it names

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 18:40:00

Actions completed before name their document and revision in words only (``document_revision_id`` NULL).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("review_months", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('procedure', 'work_instruction', 'standard', 'policy', 'form')",
            name=op.f("ck_documents_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("code", name=op.f("uq_documents_code")),
    )
    op.create_table(
        "document_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_document_revisions_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_document_revisions_author_id_users")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_revisions_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_revisions")),
        sa.UniqueConstraint("document_id", "revision", name=op.f("uq_document_revisions_document_id")),
        sa.UniqueConstraint("key", name=op.f("uq_document_revisions_key")),
    )
    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_revisions_document_id"), ["document_id"], unique=False)

    with op.batch_alter_table("capa_actions", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("document_revision_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_capa_actions_document_revision_id_document_revisions"),
            "document_revisions",
            ["document_revision_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("capa_actions", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_capa_actions_document_revision_id_document_revisions"), type_="foreignkey"
        )
        batch_op.drop_column("document_revision_id")

    with op.batch_alter_table("document_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_revisions_document_id"))

    op.drop_table("document_revisions")
    op.drop_table("documents")
