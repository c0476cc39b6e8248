"""Writing many rows at once, bypassing the ORM: PostgreSQL's COPY, SQLite's executemany on one prepared
statement. Used by the demo-data generator, whose rows are generated with their ids, so nothing is read back.

Values are given in the form both databases take as text: a moment as :func:`moment_text` writes it, a date as
``YYYY-MM-DD``, a JSON value as its JSON text, a boolean as ``True``/``False``. Everything is written in the
caller's transaction: a load that fails leaves nothing behind.
"""

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, text


class Sink:
    """Rows in, many at a time, into one database connection's open transaction."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.rows_written = 0
        self.triggers: list = []
        self.foreign_keys: list = []
        self.indexes: list = []

    def prepare(self) -> None:
        """Settings that make a bulk load cheaper for this transaction only."""
        if self.postgresql:
            self.connection.execute(text("SET LOCAL synchronous_commit = off"))
        else:
            # A page cache that holds the indexes being filled (the default 2 MB spills to disk on every chunk);
            # set back by restore().
            self.connection.exec_driver_sql("PRAGMA cache_size = -1000000")
            # Triggers that keep full-text tables in step work row by row; they are set aside during the load
            # and the full-text tables rebuilt once at the end (restore()).
            self.triggers = self.connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            ).all()
            for name, _ in self.triggers:
                self.connection.exec_driver_sql(f'DROP TRIGGER "{name}"')

    def restore(self, connection: Connection | None = None) -> None:
        """Put back what prepare() set aside (on ``connection``, by default the load's own) and rebuild the
        full-text tables from their content."""
        if self.postgresql:
            return
        connection = connection or self.connection
        for _, sql in self.triggers:
            connection.exec_driver_sql(sql)
        full_text = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5%'"
        ).scalars()
        for name in list(full_text):
            connection.exec_driver_sql(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')
        connection.exec_driver_sql("PRAGMA cache_size = -2000")

    def write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quoted = ", ".join(f'"{column}"' for column in columns)
        raw = self.connection.connection.driver_connection
        if self.postgresql:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            raw.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
        self.rows_written += len(rows)

    def set_aside(self, tables: Sequence[str]) -> None:
        """PostgreSQL: drop the foreign keys and the plain (not unique) indexes of ``tables`` for the load, as
        pg_restore does: checking a key or filling an index row by row costs several times the COPY itself, while
        building the index and checking every key once at the end is a single pass. :meth:`put_back` restores
        them, in the same transaction (nothing is visible before it commits)."""
        if not self.postgresql:
            return
        names = list(tables)
        self.foreign_keys = self.connection.execute(
            text(
                "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(:names) "
                "OR confrelid::regclass::text = ANY(:names)) ORDER BY conname"
            ),
            {"names": names},
        ).all()
        self.indexes = self.connection.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename = ANY(:names) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass) "
                "ORDER BY i.indexname"
            ),
            {"names": names},
        ).all()
        for name, table, _ in self.foreign_keys:
            self.connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in self.indexes:
            self.connection.execute(text(f'DROP INDEX "{name}"'))

    def put_back(self) -> None:
        """Rebuild the indexes and re-add (and so check, once) the foreign keys :meth:`set_aside` dropped."""
        if not self.postgresql:
            return
        self.connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for _, definition in self.indexes:
            self.connection.execute(text(definition))
        for name, table, definition in self.foreign_keys:
            self.connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        self.foreign_keys, self.indexes = [], []

    def load(self, tables: Sequence[tuple[str, Sequence[str]]], copies: dict[str, bytes], path: str | None) -> None:
        """Load one chunk made by a worker: its COPY text per table (PostgreSQL, in this transaction), or its
        scratch file (SQLite: copied table by table with INSERT … SELECT, then committed, since a database can be
        attached only outside a transaction)."""
        raw = self.connection.connection.driver_connection
        if self.postgresql:
            with raw.cursor() as cursor:
                for table, columns in tables:
                    data = copies.get(table)
                    if data:
                        quoted = ", ".join(f'"{column}"' for column in columns)
                        with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                            copy.write(data)
                        self.rows_written += data.count(b"\n")
            return
        raw.commit()
        raw.execute("ATTACH DATABASE ? AS chunk", (path,))
        try:
            for table, columns in tables:
                quoted = ", ".join(f'"{column}"' for column in columns)
                cursor = raw.execute(f"INSERT INTO main.{table} ({quoted}) SELECT {quoted} FROM chunk.{table}")
                self.rows_written += cursor.rowcount
            raw.commit()
        finally:
            raw.execute("DETACH DATABASE chunk")

    def update(self, table: str, column: str, pairs: list[tuple[int, int]]) -> None:
        """Set ``column`` of many rows: ``pairs`` of (value, id)."""
        if not pairs:
            return
        raw = self.connection.connection.driver_connection
        if self.postgresql:
            with raw.cursor() as cursor:
                cursor.executemany(f'UPDATE {table} SET "{column}" = %s WHERE id = %s', pairs)
        else:
            raw.executemany(f'UPDATE {table} SET "{column}" = ? WHERE id = ?', pairs)

    def moment(self, moment: datetime) -> str:
        """A moment as this database's column takes it (see :func:`moment_text`)."""
        return moment_text(moment, postgresql=self.postgresql)

    def finish(self, tables: Sequence[str]) -> None:
        """Move each table's id sequence past the ids written (PostgreSQL), so the app's next insert gets a
        new id; SQLite takes the largest id + 1 by itself."""
        if not self.postgresql:
            return
        for table in tables:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1), "
                    f"(SELECT COUNT(*) > 0 FROM {table}))"
                )
            )


def moment_text(moment: datetime, *, postgresql: bool) -> str:
    """A moment in UTC as a column of the app stores it: naive UTC with microseconds on SQLite (the form
    SQLAlchemy writes, so that text comparisons order it right), with its offset on PostgreSQL."""
    utc = moment.astimezone(UTC)
    if postgresql:
        return utc.isoformat(sep=" ", timespec="microseconds")
    return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


#: NULL in COPY text.
NULL = "\\N"


def escaped(value: str) -> str:
    """A text value for COPY text: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


_COPY_TEXT = {
    str: escaped,
    int: str,
    bool: lambda value: "t" if value else "f",
    type(None): lambda _: "\\N",
    float: repr,
}


def copy_text(rows: Sequence[Sequence]) -> bytes:
    """Rows in PostgreSQL's COPY text format: tab-separated, ``\\N`` for NULL, backslash escapes."""
    lines = ["\t".join([_COPY_TEXT[type(value)](value) for value in row]) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def copy_lines(lines: Sequence[str]) -> bytes:
    """Rows already written as COPY text lines."""
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def write_scratch(path: str, tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence]]]) -> None:
    """Rows into a new scratch SQLite file, one plain table each (no constraints, no journal: it is thrown away
    once loaded)."""
    scratch = sqlite3.connect(path)
    try:
        scratch.execute("PRAGMA journal_mode = OFF")
        scratch.execute("PRAGMA synchronous = OFF")
        for table, columns, rows in tables:
            quoted = ", ".join(f'"{column}"' for column in columns)
            scratch.execute(f"CREATE TABLE {table} ({quoted})")
            scratch.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", rows)
        scratch.commit()
    finally:
        scratch.close()
