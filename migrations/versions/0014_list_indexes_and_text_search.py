"""Indexes that serve the NC list's order and filters, and text search served by an index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00

The NC list is read newest first (``reported_at``, then ``id``, descending), unfiltered or filtered by state,
line, style, defect type or reporter: one index per filter ends in ``(reported_at, id)`` and replaces the index
on the filter's column alone, so a page reads its rows in order from the index and stops. Actions gain two
indexes for overdue actions: ``(nc_id, status, due_date)`` (an NC's open actions past due, replacing the one on
``nc_id``) and ``(status, due_date, nc_id)`` (every overdue action in due-date order, replacing the one on
``status``). The recurrence check at filing reads the CAPAs of a defect type closed within its window, latest
first, from ``(defect_type_id, closed_at)``.

Text search (``q``) is served by an index on each engine. PostgreSQL: the ``pg_trgm`` extension (created here if
missing; a trusted extension, so the database's owner may create it) and trigram GIN indexes on the lowered
number, title and description, used by ``lower(column) LIKE '%text%'``. SQLite: ``nc_search``, an FTS5 table
with the trigram tokenizer holding the same three columns of ``nonconformances`` (external content, keyed by
``id``), filled here and kept in step by triggers on insert, delete and update of those columns. A later
migration that rebuilds ``nonconformances`` on SQLite (batch mode copies it into a new table) drops these
triggers with the old table: it must create them again (``SEARCH_TRIGGERS`` below).

On a large table the indexes take a while to build (about a minute at a million NCs), during which NCs cannot
be filed. The downgrade keeps the ``pg_trgm`` extension, which other databases' objects may use.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: name -> columns: the indexes of the NC list, each replacing the index on its first column alone.
LIST_INDEXES = {
    "ix_nonconformances_reported_at_id": ["reported_at", "id"],
    "ix_nonconformances_status_reported_at": ["status", "reported_at", "id"],
    "ix_nonconformances_line_reported_at": ["line_id", "reported_at", "id"],
    "ix_nonconformances_style_reported_at": ["style_id", "reported_at", "id"],
    "ix_nonconformances_defect_type_reported_at": ["defect_type_id", "reported_at", "id"],
    "ix_nonconformances_reported_by_reported_at": ["reported_by_id", "reported_at", "id"],
}
REPLACED = ["reported_at", "status", "line_id", "style_id", "defect_type_id", "reported_by_id"]
RECURRENCE_INDEX = "ix_nonconformances_defect_type_closed_at"

ACTION_INDEXES = {
    "ix_capa_actions_nc_status_due_date": ["nc_id", "status", "due_date"],
    "ix_capa_actions_status_due_date": ["status", "due_date", "nc_id"],
}
ACTION_REPLACED = ["nc_id", "status"]

SEARCHED = ["number", "title", "description"]

SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE nc_search USING fts5("
    "number, title, description, content='nonconformances', content_rowid='id', tokenize='trigram')"
)
SEARCH_TRIGGERS = {
    "nc_search_insert": """
        CREATE TRIGGER nc_search_insert AFTER INSERT ON nonconformances BEGIN
            INSERT INTO nc_search(rowid, number, title, description)
            VALUES (new.id, new.number, new.title, new.description);
        END""",
    "nc_search_delete": """
        CREATE TRIGGER nc_search_delete AFTER DELETE ON nonconformances BEGIN
            INSERT INTO nc_search(nc_search, rowid, number, title, description)
            VALUES ('delete', old.id, old.number, old.title, old.description);
        END""",
    "nc_search_update": """
        CREATE TRIGGER nc_search_update AFTER UPDATE OF number, title, description ON nonconformances BEGIN
            INSERT INTO nc_search(nc_search, rowid, number, title, description)
            VALUES ('delete', old.id, old.number, old.title, old.description);
            INSERT INTO nc_search(rowid, number, title, description)
            VALUES (new.id, new.number, new.title, new.description);
        END""",
}


def upgrade():
    for name, columns in LIST_INDEXES.items():
        op.create_index(name, "nonconformances", columns, unique=False)
    for column in REPLACED:
        op.drop_index(f"ix_nonconformances_{column}", table_name="nonconformances")
    op.create_index(RECURRENCE_INDEX, "nonconformances", ["defect_type_id", "closed_at"], unique=False)
    for name, columns in ACTION_INDEXES.items():
        op.create_index(name, "capa_actions", columns, unique=False)
    for column in ACTION_REPLACED:
        op.drop_index(f"ix_capa_actions_{column}", table_name="capa_actions")

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCHED:
            op.execute(
                f"CREATE INDEX ix_nonconformances_{column}_trgm ON nonconformances "
                f"USING gin (lower({column}) gin_trgm_ops)"
            )
    else:
        op.execute(SEARCH_TABLE)
        for trigger in SEARCH_TRIGGERS.values():
            op.execute(trigger)
        op.execute("INSERT INTO nc_search(nc_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in SEARCHED:
            op.drop_index(f"ix_nonconformances_{column}_trgm", table_name="nonconformances")
    else:
        for name in SEARCH_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS nc_search")

    for column in ACTION_REPLACED:
        op.create_index(f"ix_capa_actions_{column}", "capa_actions", [column], unique=False)
    for name in ACTION_INDEXES:
        op.drop_index(name, table_name="capa_actions")
    op.drop_index(RECURRENCE_INDEX, table_name="nonconformances")
    for column in REPLACED:
        op.create_index(f"ix_nonconformances_{column}", "nonconformances", [column], unique=False)
    for name in LIST_INDEXES:
        op.drop_index(name, table_name="nonconformances")
