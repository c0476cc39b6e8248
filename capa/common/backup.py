"""Backups of a whole instance, the database and every stored file, taken while the app is in use, and their
restoring into an empty instance (``flask --app capa backup PATH`` and ``flask --app capa restore PATH``).

A backup is a new directory PATH holding:

- ``manifest.json``: what the backup holds: the format, the app's version, the database's Alembic revision and
  kind (``sqlite`` or ``postgresql``), when it was taken (UTC), the row count of every table, and every file with
  its size and SHA-256, the database's own included. It is written last: a directory without it is no backup.
- ``database.sqlite3`` (SQLite), a copy made with SQLite's online backup API, or ``database.dump``
  (PostgreSQL), made by ``pg_dump --format=custom``.
- ``uploads/``: every file of the app's file storage (:mod:`capa.common.files`) as it was, under its path there:
  the photos of defects, and under ``files/`` the evidence files and lab reports' PDFs. The files are read through
  the storage, so a backup holds them whether they lie in the upload folder (``<instance>/uploads``) or in an
  object store (``CAPA_STORAGE_URL``): each object is copied into the backup, and a backup of either restores into
  either.

Taking a backup (:func:`take_backup`):

- PATH must not exist, or be an empty directory; anything else is refused, so that no backup is ever mixed
  into other files. The backup is built beside PATH under a hidden name and renamed to PATH only when complete.
- The database is copied first, as one consistent snapshot while others go on writing (SQLite: the backup API
  in a single step, one read transaction; PostgreSQL: ``pg_dump --snapshot`` of a snapshot this module holds
  open, in which it also counts the rows and reads the names of the stored files). The files are copied after
  it. The app writes a file before it commits the record naming it, so every file a record of the snapshot
  names exists by then; files written after the snapshot may be in the backup too, unnamed, which is harmless.
- A file named by the snapshot that is gone by the time the files are copied (a lab report's PDF replaced
  meanwhile) would make the backup incomplete: the backup is then taken again, and refused naming the files
  when they are still missing after :data:`ATTEMPTS` attempts.
- Not part of a backup: uploads kept for a refused form (``pending/``, a day at most), files being written
  (names starting with a dot), ``instance/config.py`` and the instance's secret key (a restored instance makes a
  new one, which only ends the sessions of those logged in).
- PostgreSQL needs the client tools ``pg_dump`` and ``pg_restore`` on the PATH, of the server's major version or
  newer; without them, or with older ones, the backup is refused saying so. The password of DATABASE_URL is
  given to them in their environment, never on their command line.

Restoring (:func:`restore_backup`) into the instance of the current configuration:

- refused unless the instance is empty: no table holds a record (the Alembic version aside) and the file storage
  (the upload folder, or the object store) holds no file; a restore never mixes a backup into records, nor
  overwrites any;
- refused when the backup is of the other database kind than the instance's (a SQLite backup into a
  PostgreSQL instance, or the other way round), or of a revision these migrations do not know (a newer app);
- refused when the backup does not match its manifest: a file missing, added, or changed (its SHA-256), the
  database included. Everything is checked before anything is written;
- the files are put into the file storage first, then the database (SQLite: the backup API again, into the
  configured file; PostgreSQL: ``pg_restore --no-owner --no-acl --single-transaction``); if the database cannot
  be restored, the files put in place are removed again, so the instance stays empty. The restored database's
  row counts are then compared with the manifest's.

Errors are :class:`BackupRefused`, whose message says what to do; a file storage that fails meanwhile (an object
store out of reach) refuses the backup or the restore too, naming it.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from alembic.script import ScriptDirectory
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Connection, Select, column, func, inspect, select, table, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import URL

from capa.common import files as storage
from capa.common.errors import DomainError
from capa.common.types import utcnow
from capa.extensions import db

FORMAT = "capa-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.dump"
#: Folders of the upload folder that are not part of a backup: uploads kept a day for a refused form.
TRANSIENT = frozenset({"pending"})
#: How often a backup is taken before it is refused for files its database names but the folder lacks.
ATTEMPTS = 3
#: A table the restore target may hold a row of and still count as empty: Alembic's note of its revision.
MIGRATIONS_TABLE = "alembic_version"
CHUNK = 1024 * 1024


class BackupRefused(DomainError):
    """A backup that cannot be taken, or a restore that cannot be done; the message says why and what to do."""

    status = 409
    code = "backup_refused"


@dataclass(frozen=True)
class NamedFiles:
    """A column whose values name stored files, and the folder under the upload folder those files lie in
    (``""`` for the upload folder itself)."""

    column: Column
    folder: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a backup holds, or what a restore put in place."""

    path: Path
    kind: str
    revision: str | None
    tables: dict[str, int]
    file_count: int
    #: After a restore: the newest revision these migrations know, when the restored database is older.
    upgrade_to: str | None = None

    @property
    def records(self) -> int:
        return sum(self.tables.values())


@dataclass
class _Snapshot:
    """What the database snapshot said: its revision, row counts, and the stored files its records name."""

    revision: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)
    tool: str | None = None
    tool_major: int | None = None


# Taking a backup ---------------------------------------------------------------------------------------------


def take_backup(path: Path, named_files: Sequence[NamedFiles] = ()) -> Outcome:
    """Back up the database and the upload folder of the current app into the new directory ``path``.

    ``named_files`` are the columns naming stored files: each file they name in the snapshot must be in the
    backup (see the module's rules). Raises BackupRefused when ``path`` exists and is not an empty directory,
    lies in the upload folder, when the database cannot be copied (SQLite in memory; PostgreSQL without a
    suitable ``pg_dump``, or ``pg_dump`` failing), or when files named by the database are missing.
    """
    path = Path(path).absolute()
    uploads = _upload_folder()
    _check_backup_target(path, uploads)
    store = storage.backend()
    path.parent.mkdir(parents=True, exist_ok=True)
    missing: list[str] = []
    for _attempt in range(ATTEMPTS):
        staging = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            kind, snapshot, database_file = _copy_database(staging, named_files)
            files = _copy_files(store, staging / UPLOADS)
            missing = sorted(snapshot.named - set(files))
            if missing:
                shutil.rmtree(staging)
                continue
            manifest = _manifest(kind, snapshot, staging / database_file, files)
            _write_manifest(staging, manifest)
            _move_into_place(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Outcome(path, kind, snapshot.revision, snapshot.tables, len(files))
    raise BackupRefused(
        str(
            _l(
                "The database names %(count)d stored files that are not in the upload folder %(folder)s: "
                "%(names)s. Restore them from an earlier backup, then back up again.",
                count=len(missing),
                folder=store.place,
                names=", ".join(missing[:10]) + (", …" if len(missing) > 10 else ""),
            )
        ),
        fields={"path": str(path)},
    )


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]).absolute()


def _check_backup_target(path: Path, uploads: Path) -> None:
    resolved, uploads = path.resolve(), uploads.resolve()
    if resolved == uploads or uploads in resolved.parents:
        raise BackupRefused(
            str(_l("%(path)s is inside the upload folder; choose a place outside it.", path=str(path))),
            fields={"path": str(path)},
        )
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise BackupRefused(
            str(
                _l(
                    "%(path)s exists already and is not an empty folder; a backup goes into a new folder.",
                    path=str(path),
                )
            ),
            fields={"path": str(path)},
        )


def _move_into_place(staging: Path, path: Path) -> None:
    if path.is_dir():
        path.rmdir()  # empty, checked before: the complete backup takes its place
    os.rename(staging, path)


def _copy_database(staging: Path, named_files: Sequence[NamedFiles]) -> tuple[str, _Snapshot, str]:
    kind = db.engine.dialect.name
    if kind == "sqlite":
        snapshot = _sqlite_backup(_sqlite_file(), staging / SQLITE_FILE, named_files)
        return kind, snapshot, SQLITE_FILE
    if kind == "postgresql":
        return kind, _postgres_backup(staging / POSTGRES_FILE, named_files), POSTGRES_FILE
    raise BackupRefused(str(_l("Databases of the kind %(kind)s cannot be backed up.", kind=kind)))


def _sqlite_file() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupRefused(str(_l("A database kept in memory cannot be backed up.")))
    return Path(name).absolute()


def _sqlite_backup(live: Path, target: Path, named_files: Sequence[NamedFiles]) -> _Snapshot:
    """Copy the live database with the backup API in one step: one read transaction, so a consistent snapshot
    however many writers commit meanwhile (in WAL mode they are not even held up)."""
    if not live.is_file():
        raise BackupRefused(str(_l("The database file %(path)s does not exist.", path=str(live))))
    source = sqlite3.connect(live)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        source.backup(copy)
        # A file that stands alone, with no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode = DELETE")
        return _sqlite_snapshot(copy, named_files)
    finally:
        source.close()
        copy.close()


def _sqlite_snapshot(copy: sqlite3.Connection, named_files: Sequence[NamedFiles]) -> _Snapshot:
    snapshot = _Snapshot()
    tables = [
        name
        for (name,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    for name in tables:
        snapshot.tables[name] = _sqlite_rows(copy, _count(name))[0][0]
    if MIGRATIONS_TABLE in snapshot.tables:
        rows = _sqlite_rows(copy, _revision())
        snapshot.revision = rows[0][0] if rows else None
    for named in named_files:
        if named.column.table.name in snapshot.tables:
            values = _sqlite_rows(copy, select(named.column))
            snapshot.named.update(_stored_path(named.folder, value) for (value,) in values if value)
    return snapshot


def _sqlite_rows(connection: sqlite3.Connection, statement: Select) -> list[tuple]:
    """The rows of a statement without parameters, run on a plain sqlite3 connection."""
    return connection.execute(str(statement.compile(dialect=sqlite_dialect()))).fetchall()


def _count(name: str, schema: str | None = None) -> Select:
    return select(func.count()).select_from(table(name, schema=schema))


def _revision() -> Select:
    return select(column("version_num")).select_from(table(MIGRATIONS_TABLE))


def _postgres_backup(target: Path, named_files: Sequence[NamedFiles]) -> _Snapshot:
    """``pg_dump`` of a snapshot exported by a transaction held open meanwhile, in which the rows are counted and
    the stored files' names read: the counts and the names are exactly the dump's."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            server_major = _server_major(connection)
            pg_dump, tool, tool_major = _client_tool("pg_dump", server_major)
            exported = connection.scalar(text("SELECT pg_export_snapshot()"))
            snapshot = _postgres_snapshot(connection, named_files)
            snapshot.tool, snapshot.tool_major = tool, tool_major
            dsn, environment = libpq_url(db.engine.url)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={exported}",
                    f"--file={target}",
                    "--no-password",
                    f"--dbname={dsn}",
                ],
                environment,
                "pg_dump",
            )
    return snapshot


def _postgres_snapshot(connection: Connection, named_files: Sequence[NamedFiles]) -> _Snapshot:
    snapshot = _Snapshot(tables=_postgres_counts(connection))
    if MIGRATIONS_TABLE in snapshot.tables:
        snapshot.revision = connection.scalar(_revision())
    for named in named_files:
        if named.column.table.name in snapshot.tables:
            values = connection.scalars(select(named.column))
            snapshot.named.update(_stored_path(named.folder, value) for value in values if value)
    return snapshot


def _postgres_tables(connection: Connection) -> list[tuple[str, str]]:
    rows = connection.execute(
        text(
            "SELECT schemaname, tablename FROM pg_catalog.pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename"
        )
    )
    return [(schema, table) for schema, table in rows]


def _postgres_counts(connection: Connection) -> dict[str, int]:
    counts = {}
    for schema, name in _postgres_tables(connection):
        counts[name if schema == "public" else f"{schema}.{name}"] = connection.scalar(_count(name, schema))
    return counts


def _server_major(connection: Connection) -> int:
    return int(connection.scalar(text("SHOW server_version_num"))) // 10000


def _client_tool(name: str, needed_major: int) -> tuple[str, str, int]:
    """The PostgreSQL client program ``name`` on the PATH, its ``--version`` and major version; refused when it
    is missing or older than ``needed_major``."""
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(
            str(
                _l(
                    "%(tool)s was not found on the PATH: install the PostgreSQL client tools, version %(major)d "
                    "or newer (Debian/Ubuntu: postgresql-client).",
                    tool=name,
                    major=needed_major,
                )
            )
        )
    # The program the PATH names, with fixed arguments and no shell.
    answer = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    said = answer.stdout.strip()
    version = re.search(r"(\d+)(?:\.\d+)?", said)
    major = int(version.group(1)) if version else 0
    if major < needed_major:
        raise BackupRefused(
            str(
                _l(
                    "%(tool)s is too old (%(found)s): it must be of PostgreSQL %(major)d or newer; install the "
                    "client tools of that version.",
                    tool=name,
                    found=said or "?",
                    major=needed_major,
                )
            )
        )
    return found, said, major


def libpq_url(url: URL) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL (``postgresql+psycopg://…``) as a libpq connection URI for the client tools, without
    its password, and the environment that gives them the password (``PGPASSWORD``)."""
    environment = {"PGPASSWORD": url.password} if url.password else {}
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _run(arguments: list[str], environment: dict[str, str], tool: str) -> None:
    # A list of arguments, no shell: nothing in them is read as a command.
    answer = subprocess.run(  # noqa: S603
        arguments, capture_output=True, text=True, env={**os.environ, **environment}, check=False
    )
    if answer.returncode != 0:
        said = " ".join(answer.stderr.split())[:2000] or f"exit code {answer.returncode}"
        raise BackupRefused(str(_l("%(tool)s failed: %(said)s", tool=tool, said=said)))


def _stored_path(folder: str, name: str) -> str:
    return str(PurePosixPath(folder, name)) if folder else str(name)


def _copy_files(store: storage.Backend, target: Path) -> dict[str, dict[str, Any]]:
    """Copy the storage's files into ``target``, each in pieces: their size and SHA-256 by their path under it. A
    file removed while the storage is read (an upload given up) is left out. Raises BackupRefused when the storage
    fails."""
    copied: dict[str, dict[str, Any]] = {}
    for relative in _stored_files(store):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            stored = store.open(relative)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise _storage_failed(store, error) from error
        try:
            with stored:
                copied[relative] = _copy(stored.stream, destination)
        except storage.StoreFailed as error:  # the store went away in the middle of the file
            raise _storage_failed(store, error) from error
    return copied


def _stored_files(store: storage.Backend) -> list[str]:
    """The path of every file of the storage, but for transient ones (see the module). Raises BackupRefused when
    the storage cannot be read."""
    try:
        found = [path for path, _modified in store.walk("")]
    except OSError as error:
        raise _storage_failed(store, error) from error
    return [
        path
        for path in found
        if (parts := PurePosixPath(path).parts)
        and parts[0] not in TRANSIENT
        and not any(part.startswith(".") for part in parts)
    ]


def _storage_failed(store: storage.Backend, error: OSError) -> BackupRefused:
    return BackupRefused(
        str(
            _l(
                "The file storage %(place)s failed (%(error)s); nothing was changed. Try again once it answers.",
                place=store.place,
                error=str(error),
            )
        )
    )


def _copy(reading, destination: Path) -> dict[str, Any]:
    """Copy the stream ``reading`` into the new file ``destination``: its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with destination.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writing.write(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as reading:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _app_version() -> str:
    try:
        return metadata.version("capa-tracker")
    except metadata.PackageNotFoundError:
        return "unknown"


def _manifest(kind: str, snapshot: _Snapshot, database: Path, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    database_entry: dict[str, Any] = {"kind": kind, "file": database.name, **_file_digest(database)}
    if snapshot.tool:
        database_entry["tool"] = snapshot.tool
        database_entry["tool_major"] = snapshot.tool_major
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": _app_version(),
        "alembic_revision": snapshot.revision,
        "created_at": utcnow().isoformat(),
        "database": database_entry,
        "tables": snapshot.tables,
        "file_count": len(files),
        "files": dict(sorted(files.items())),
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# Restoring ---------------------------------------------------------------------------------------------------


def restore_backup(path: Path) -> Outcome:
    """Restore the backup in ``path`` into the current app's database and file storage, which must be empty.

    Raises BackupRefused when ``path`` is no backup, when the backup does not match its manifest (a file
    missing, added or changed), is of the other database kind or of a revision these migrations do not know,
    when the instance is not empty, when the file storage fails, or when the database cannot be restored
    (``pg_restore`` missing, older than the ``pg_dump`` that made the backup, or failing); nothing is left in the
    instance then.
    """
    path = Path(path).absolute()
    manifest = read_manifest(path)
    kind = db.engine.dialect.name
    _check_kind(manifest, kind)
    revision = manifest.get("alembic_revision")
    head = _check_revision(revision)
    verify_backup(path, manifest)
    store = storage.backend()
    _check_empty_instance(store)
    placed = _place_files(path / UPLOADS, store, manifest["files"])
    try:
        _restore_database(path / manifest["database"]["file"], manifest, kind)
    except BaseException:
        _remove_placed(store, placed)
        raise
    _check_counts(manifest["tables"])
    tables = {name: int(count) for name, count in manifest["tables"].items()}
    return Outcome(path, kind, revision, tables, len(manifest["files"]), upgrade_to=head if head != revision else None)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the backup in ``path``, its shape checked; raises BackupRefused when there is none or
    it cannot be read."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _not_a_backup(path, _l("it has no %(name)s.", name=MANIFEST)) from None
    except (OSError, ValueError) as error:
        raise _not_a_backup(path, _l("its %(name)s cannot be read (%(error)s).", name=MANIFEST, error=error)) from None
    try:
        well_formed = (
            manifest["format"] == FORMAT
            and isinstance(manifest["database"]["kind"], str)
            and _safe_name(manifest["database"]["file"])
            and isinstance(manifest["database"]["sha256"], str)
            and isinstance(manifest["tables"], dict)
            and all(isinstance(count, int) for count in manifest["tables"].values())
            and isinstance(manifest["files"], dict)
            and all(_safe_path(name) and isinstance(entry["sha256"], str) for name, entry in manifest["files"].items())
        )
    except (KeyError, TypeError):
        well_formed = False
    if not well_formed:
        raise _not_a_backup(path, _l("its %(name)s is not a backup's manifest.", name=MANIFEST))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _not_a_backup(path, _l("it is of format version %(version)s.", version=manifest.get("format_version")))
    return manifest


def _not_a_backup(path: Path, why: Any) -> BackupRefused:
    return BackupRefused(
        str(_l("%(path)s is not a backup of this app: %(why)s", path=str(path), why=str(why))),
        fields={"path": str(path)},
    )


def _safe_name(name: Any) -> bool:
    return isinstance(name, str) and name in {SQLITE_FILE, POSTGRES_FILE}


def _safe_path(name: Any) -> bool:
    """A path relative to the upload folder that stays inside it: never absolute, never ``..``."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    return not PurePosixPath(name).is_absolute() and all(part not in {"", ".", ".."} for part in parts)


KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _check_kind(manifest: dict[str, Any], kind: str) -> None:
    theirs = manifest["database"]["kind"]
    if theirs != kind:
        raise BackupRefused(
            str(
                _l(
                    "This backup is of a %(theirs)s database and this instance uses %(ours)s: restore it into an "
                    "instance whose DATABASE_URL is of the same kind.",
                    theirs=KIND_NAMES.get(theirs, theirs),
                    ours=KIND_NAMES.get(kind, kind),
                )
            )
        )


def _check_revision(revision: str | None) -> str | None:
    """The newest revision these migrations know; refused when the backup's is not one of theirs."""
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise BackupRefused(
            str(
                _l(
                    "This backup was taken by a newer version of the app (database revision %(revision)s): "
                    "restore it with that version or a later one.",
                    revision=revision,
                )
            )
        )
    return scripts.get_current_head()


def verify_backup(path: Path, manifest: dict[str, Any]) -> None:
    """Check every file of the backup against its manifest: the database and each stored file present, of its
    size and SHA-256, and no file that the manifest does not list. Raises BackupRefused naming the first ones
    that differ."""
    problems: list[str] = []
    database = manifest["database"]
    if _digest_or_none(path / database["file"]) != (database.get("size"), database["sha256"]):
        problems.append(database["file"])
    listed = manifest["files"]
    present = {relative.as_posix() for relative in _all_files(path / UPLOADS)}
    for name in sorted(set(listed) | present):
        entry = listed.get(name)
        if entry is None or _digest_or_none(path / UPLOADS / name) != (entry.get("size"), entry["sha256"]):
            problems.append(f"{UPLOADS}/{name}")
    if problems:
        raise BackupRefused(
            str(
                _l(
                    "The backup %(path)s does not match its manifest (missing, added or changed): %(names)s. "
                    "It was damaged or altered: restore another backup.",
                    path=str(path),
                    names=", ".join(problems[:10]) + (", …" if len(problems) > 10 else ""),
                )
            ),
            fields={"path": str(path)},
        )


def _digest_or_none(path: Path) -> tuple[int, str] | None:
    if not path.is_file() or path.is_symlink():
        return None
    found = _file_digest(path)
    return found["size"], found["sha256"]


def _all_files(folder: Path) -> Iterator[PurePosixPath]:
    if not folder.is_dir():
        return
    for place, _folders, names in os.walk(folder):
        for name in names:
            yield PurePosixPath((Path(place) / name).relative_to(folder).as_posix())


def _check_empty_instance(store: storage.Backend) -> None:
    filled = {name: count for name, count in _current_counts().items() if count and name != MIGRATIONS_TABLE}
    if filled:
        shown = ", ".join(f"{name} ({count})" for name, count in sorted(filled.items())[:5])
        raise BackupRefused(
            str(
                _l(
                    "The database of this instance is not empty (%(tables)s): a backup is restored only into a "
                    "new, empty database.",
                    tables=shown,
                )
            )
        )
    try:
        holds_files = next(iter(store.walk("")), None) is not None
    except OSError as error:
        raise _storage_failed(store, error) from error
    if holds_files:
        raise BackupRefused(
            str(
                _l(
                    "The upload folder %(folder)s holds files already: a backup is restored only into an "
                    "instance whose upload folder is empty.",
                    folder=store.place,
                )
            )
        )


def _current_counts() -> dict[str, int]:
    """The row count of every table of the instance's database."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            return _postgres_counts(connection)
        names = inspect(connection).get_table_names()
        return {name: connection.scalar(_count(name)) for name in names}


def _place_files(source: Path, store: storage.Backend, files: Iterable[str]) -> list[str]:
    """Put the backup's files into the file storage, each kept whole (see :class:`capa.common.files.Backend`);
    the paths placed. On failure, those placed so far are removed again, and a storage that refuses a file
    raises BackupRefused."""
    placed: list[str] = []
    try:
        for name in sorted(files):
            store.save(name, (source / name).read_bytes())
            placed.append(name)
    except BaseException as error:
        _remove_placed(store, placed)
        if isinstance(error, OSError):
            raise _storage_failed(store, error) from error
        raise
    return placed


def _remove_placed(store: storage.Backend, placed: Iterable[str]) -> None:
    for name in placed:
        with suppress(OSError):
            store.delete(name)


def _restore_database(dump: Path, manifest: dict[str, Any], kind: str) -> None:
    db.session.remove()
    db.engine.dispose()  # no connection of this app holds the old database open while it is replaced
    try:
        if kind == "sqlite":
            _sqlite_restore(dump, _sqlite_file())
        else:
            _postgres_restore(dump, manifest)
    finally:
        db.engine.dispose()  # the next connection sees the restored database


def _sqlite_restore(copy: Path, target: Path) -> None:
    """Write the backup's database into ``target`` with the backup API: in one transaction of the target, so
    all of it or, on failure, nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _closing(sqlite3.connect(copy)) as source, _closing(sqlite3.connect(target)) as destination:
        destination.execute("PRAGMA busy_timeout = 10000")
        source.backup(destination)


@contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield connection
    finally:
        connection.close()


def _postgres_restore(dump: Path, manifest: dict[str, Any]) -> None:
    with db.engine.connect() as connection:
        server_major = _server_major(connection)
        has_tables = bool(_postgres_tables(connection))
    needed = max(server_major, int(manifest["database"].get("tool_major") or 0))
    pg_restore, _tool, _major = _client_tool("pg_restore", needed)
    dsn, environment = libpq_url(db.engine.url)
    arguments = [pg_restore, "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "--no-password"]
    if has_tables:
        arguments += ["--clean", "--if-exists"]  # empty tables (checked) of a schema made beforehand
    _run([*arguments, f"--dbname={dsn}", str(dump)], environment, "pg_restore")


def _check_counts(expected: dict[str, int]) -> None:
    found = _current_counts()
    differing = sorted(name for name, count in expected.items() if found.get(name) != count)
    if differing:
        raise BackupRefused(
            str(
                _l(
                    "The restored database does not hold the rows the manifest counts, in: %(tables)s.",
                    tables=", ".join(differing[:10]),
                )
            )
        )
