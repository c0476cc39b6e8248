"""SQLite settings every connection needs: foreign keys enforced, WAL for readers beside a writer."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _configure_connection(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    # Writers wait for each other instead of failing at once with "database is locked".
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def configure_connections() -> None:
    """Apply the settings to every SQLite connection any engine opens from now on (idempotent)."""
    if not event.contains(Engine, "connect", _configure_connection):
        event.listen(Engine, "connect", _configure_connection)
