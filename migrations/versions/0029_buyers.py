"""Buyers: whose styles the factory makes, with their AQLs, and the switching rules per line and buyer

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 17:15:00

A buyer (a brand or retailer) is master data; a style may name its buyer. A buyer's AQLs apply to the final
inspections of its styles that have none of their own (``capa.inspections.aqls``). The final inspections of one
buyer's lots on one line are one series for the switching rules of ISO 2859-1, so an inspection keeps the buyer it
was recorded for and a resumption names the series it resumes (``capa.inspections.final``). Styles, inspections
and resumptions recorded before have no buyer: they stay the one series of their line they were.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

#: The AQLs of ISO 2859-1, as the standard writes them (capa.inspections.sampling.AQL_SERIES).
SERIES = (
    "'0.010', '0.015', '0.025', '0.040', '0.065', '0.10', '0.15', '0.25', '0.40', '0.65', '1.0', '1.5', '2.5', "
    "'4.0', '6.5', '10', '15', '25', '40', '65', '100', '150', '250', '400', '650', '1000'"
)

#: The tables given a nullable ``buyer_id``, with whether it is indexed.
BUYER_OF = (("styles", True), ("inspections", False), ("inspection_resumptions", False))


def upgrade():
    op.create_table(
        "buyers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
        sa.UniqueConstraint("code", name=op.f("uq_buyers_code")),
    )
    op.create_table(
        "buyer_aqls",
        sa.Column("buyer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("aql_major", sa.String(length=6), nullable=False),
        sa.Column("aql_minor", sa.String(length=6), nullable=False),
        sa.CheckConstraint(f"aql_major IN ({SERIES})", name=op.f("ck_buyer_aqls_aql_major_known")),
        sa.CheckConstraint(f"aql_minor IN ({SERIES})", name=op.f("ck_buyer_aqls_aql_minor_known")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_buyer_aqls_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("buyer_id", name=op.f("pk_buyer_aqls")),
    )
    for table, indexed in BUYER_OF:
        with op.batch_alter_table(table, schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
            batch_op.add_column(sa.Column("buyer_id", sa.Integer(), nullable=True))
            if indexed:
                batch_op.create_index(batch_op.f(f"ix_{table}_buyer_id"), ["buyer_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_buyer_id_buyers"), "buyers", ["buyer_id"], ["id"])


def downgrade():
    for table, indexed in reversed(BUYER_OF):
        with op.batch_alter_table(table, schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_buyer_id_buyers"), type_="foreignkey")
            if indexed:
                batch_op.drop_index(batch_op.f(f"ix_{table}_buyer_id"))
            batch_op.drop_column("buyer_id")
    op.drop_table("buyer_aqls")
    op.drop_table("buyers")
