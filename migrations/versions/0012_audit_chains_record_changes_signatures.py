"""Tamper-evident history (hash chains), the history of master data, electronic signatures, full names

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:17:15

Every history table gains its entries' place and hash in their record's chain (``chain_seq``, ``chain_hash``)
and ``audit_chains`` the head of each chain; the entries already written are chained here, in id order, by the
same rule the app uses (:func:`capa.audit.chain.entry_hash`). ``record_changes`` keeps the history of lines,
suppliers, batches, lots, users and defect types; ``signatures`` the electronic signatures on NC steps; users
gain their full name (shown with their signatures).
"""

import sqlalchemy as sa
from alembic import op

from capa.audit.chain import entry_hash

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_chains",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_chains")),
    )
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=24), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=True),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_record_changes_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_changes")),
    )
    with op.batch_alter_table("record_changes", schema=None) as batch_op:
        batch_op.create_index("ix_record_changes_record", ["record_type", "record_id"], unique=False)

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("meaning", sa.String(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition_id", sa.Integer(), nullable=True),
        sa.Column("chain_seq", sa.Integer(), nullable=True),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "meaning IN ('approved_root_cause', 'returned_root_cause', 'released_batch', 'reworked_batch', "
            "'scrapped_batch', 'returned_to_supplier', 'used_as_is', 'closed_capa', 'reviewed_effectiveness')",
            name=op.f("ck_signatures_meaning_known"),
        ),
        sa.ForeignKeyConstraint(
            ["disposition_id"], ["dispositions.id"], name=op.f("fk_signatures_disposition_id_dispositions")
        ),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_signatures_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(["signer_id"], ["users.id"], name=op.f("fk_signatures_signer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatures_nc_id"), ["nc_id"], unique=False)

    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("parameter_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("result_rejudgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("style_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=120), server_default="", nullable=False))

    for table, chain_by, fields in CHAINED:
        chain_existing(op.get_bind(), table, chain_by, fields)


#: The history tables written before this revision: the columns naming the record, and the fields hashed (as
#: each model's ``__chain_by__`` and ``__chain_fields__`` say).
CHAINED = [
    ("nc_events", ("nc_id",), ("nc_id", "at", "actor_id", "kind", "field", "old", "new", "note", "version")),
    ("style_changes", ("style_id",), ("style_id", "field", "old", "new", "reason", "changed_by_id", "changed_at")),
    (
        "limit_changes",
        ("parameter_id",),
        (
            "parameter_id",
            "category",
            "condition",
            "old_comparator",
            "old_limit",
            "new_comparator",
            "new_limit",
            "reason",
            "changed_by_id",
            "changed_at",
        ),
    ),
    (
        "parameter_changes",
        ("parameter_id",),
        ("parameter_id", "field", "old", "new", "reason", "changed_by_id", "changed_at"),
    ),
    (
        "plan_changes",
        ("style_id",),
        ("style_id", "parameter_id", "included", "reason", "changed_by_id", "changed_at"),
    ),
    (
        "result_rejudgements",
        ("result_id",),
        (
            "result_id",
            "cause",
            "style_change_id",
            "limit_change_id",
            "old_verdict",
            "new_verdict",
            "old_category",
            "new_category",
            "old_limit",
            "new_limit",
            "reason",
            "changed_by_id",
            "changed_at",
        ),
    ),
]


def chain_existing(bind, name, chain_by, fields):
    """Chain the entries of one table in id order per record, in batches, and record each chain's head."""
    table = sa.Table(name, sa.MetaData(), autoload_with=bind, resolve_fks=False)
    heads = sa.Table("audit_chains", sa.MetaData(), autoload_with=bind)
    key_columns = [table.c[column] for column in chain_by]
    rows = bind.execute(
        sa.select(table.c.id, *key_columns, *(table.c[field] for field in fields if field not in chain_by)).order_by(
            *key_columns, table.c.id
        )
    ).mappings()
    current, previous, length = None, "", 0
    updates, new_heads = [], []
    for row in rows:
        chain = ":".join([name, *(str(row[column]) for column in chain_by)])
        if chain != current:
            if current is not None:
                new_heads.append({"name": current, "head": previous, "length": length})
            current, previous, length = chain, "", 0
        length += 1
        previous = entry_hash(chain, length, previous, {field: row[field] for field in fields})
        updates.append({"_id": row["id"], "_seq": length, "_hash": previous})
    if current is not None:
        new_heads.append({"name": current, "head": previous, "length": length})
    for start in range(0, len(updates), 5000):
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam("_id"))
            .values(chain_seq=sa.bindparam("_seq"), chain_hash=sa.bindparam("_hash")),
            updates[start : start + 5000],
        )
    if new_heads:
        bind.execute(heads.insert(), new_heads)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("full_name")

    with op.batch_alter_table("style_changes", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("result_rejudgements", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("parameter_changes", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("nc_events", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("limit_changes", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")

    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatures_nc_id"))

    op.drop_table("signatures")
    with op.batch_alter_table("record_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_record_changes_record")

    op.drop_table("record_changes")
    op.drop_table("audit_chains")
