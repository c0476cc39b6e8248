"""Fixtures: an app on a fresh database per test, a client, a CLI runner, and helpers acting as each role;
and an app on a database of its own per test module, for tests that only read what the module built once.

The suite runs on SQLite by default and on PostgreSQL when ``CAPA_TEST_DATABASE_URL`` names a server
(``make test`` runs both passes). The schema is built once per run by the real migrations, into a pristine
database no test opens; each test then gets a fresh database: a copy of the pristine SQLite file, or the
PostgreSQL test database emptied. A module's read-only tests share a copy of the pristine database instead.
"""

import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import exists, func, literal, select, text, union_all

from capa import create_app
from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.accounts.models import Role, User
from capa.capas.defect_types import load_defect_types
from capa.common.commands import parse
from capa.extensions import db
from capa.inspections.defects import load_defect_codes
from capa.safety.catalog import load_catalog
from tests.browser.chromium import MISSING as CHROMIUM_MISSING

POSTGRES_URL = os.environ.get("CAPA_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"
#: The configuration every test app starts from.
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    # Fast hashing keeps the suite quick; production keeps the slow default.
    "CAPA_PASSWORD_HASH": "pbkdf2:sha256:1000",
    # Failed log-ins are not limited but where a test says so (tests/test_login_limits.py).
    "RATELIMIT_ENABLED": False,
}


# Without Chromium a newcomer's run leaves the browser tests out, saying so in one line; CI requires them.
collect_ignore = ["browser"] if CHROMIUM_MISSING and not os.environ.get("CI") else []


def pytest_terminal_summary(terminalreporter) -> None:
    if collect_ignore:
        terminalreporter.write_line(f"SKIPPED the browser tests: {CHROMIUM_MISSING}", yellow=True, bold=True)


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def engine_name() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


def _create_postgres(prefix: str, template: str | None = None) -> str:
    """A new PostgreSQL database (a copy of ``template``, if given, which nobody may be connected to)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        # A test's commit need not wait for the disk: the database is thrown away, and another connection sees a
        # commit at once either way (only a crash of the server would lose the last ones).
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return name


def _drop_postgres(name: str) -> None:
    with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_name(url: str) -> str:
    return url.rpartition("/")[2]


@pytest.fixture(scope="session")
def pristine_database(tmp_path_factory) -> Iterator[str]:
    """A database migrated to the newest schema with its reference data, once per run, that no test opens:
    the pattern the test databases are copied from (a SQLite file, or a PostgreSQL database)."""
    if POSTGRES_URL:
        name = _create_postgres("capa_pristine")
        url = _with_database(POSTGRES_URL, name)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'capa.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "CAPA_INSTANCE_PATH": str(tmp_path_factory.mktemp("i"))})
    with app.app_context():
        upgrade()
        load_reference_data()
        db.engine.dispose()
    yield url
    if POSTGRES_URL:
        _drop_postgres(name)


@pytest.fixture(scope="session")
def migrated_database(pristine_database) -> Iterator[str]:
    """The database the per-test databases come from: on SQLite the pristine file, copied for each test; on
    PostgreSQL a copy of the pristine database, which the tests share, each emptying it first."""
    if not POSTGRES_URL:
        yield pristine_database
        return
    name = _create_postgres("capa_test", template=_database_name(pristine_database))
    yield _with_database(POSTGRES_URL, name)
    _drop_postgres(name)


@contextmanager
def _copy_of(pristine_url: str, folder: Path) -> Iterator[str]:
    """A new database holding what the pristine one holds, dropped on leaving."""
    if not POSTGRES_URL:
        target = folder / "capa.sqlite3"
        _sqlite_copy(Path(pristine_url.removeprefix("sqlite:///")), target)
        yield f"sqlite:///{target}"
        return
    name = _create_postgres("capa_module", template=_database_name(pristine_url))
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        _drop_postgres(name)


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A database with no tables at all, on the engine of this run."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"capa_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(POSTGRES_URL, name)
    with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_reference_data() -> None:
    """What init-db loads besides the schema: the safety catalog, the defect types and the defect library."""
    load_catalog()
    load_defect_types()
    load_defect_codes()


#: The tables load_reference_data() fills, and what they held right after it last did (per test process).
REFERENCE_TABLES = (
    "defect_types",
    "defect_type_parameters",
    "parameter_limits",
    "safety_parameters",
    "defect_codes",
    "defect_code_parameters",
)
_pristine_reference: list[tuple] = []


def _reference_fingerprint(connection) -> tuple:
    """A digest of every row of the reference tables, in one statement."""
    digests = union_all(
        *(
            select(literal(index), text("md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))")).select_from(
                text(f"{name} t")
            )
            for index, name in enumerate(REFERENCE_TABLES)
        )
    )
    return tuple(row[1] for row in sorted(connection.execute(digests)))


def remember_reference_data() -> None:
    with db.engine.connect() as connection:
        _pristine_reference[:] = [_reference_fingerprint(connection)]


def _filled_tables(connection) -> set[str]:
    """The names of the tables holding at least one row, in one statement."""
    tables = db.metadata.sorted_tables
    probe = union_all(
        *(select(literal(table.name)).where(exists(select(literal(1)).select_from(table))) for table in tables)
    )
    return set(connection.scalars(probe))


def _empty_postgres(app: Flask) -> bool:
    """Empty every table that holds rows (DELETE is far quicker than TRUNCATE on tables this small; a test
    writes to a few tables, so the others are found empty in one statement and left alone). The reference
    tables are kept when they hold exactly what load_reference_data() put there; returns whether they were
    emptied too (and must be loaded again)."""
    tables = db.metadata.sorted_tables
    with db.engine.begin() as connection:
        filled = _filled_tables(connection)
        keep = bool(_pristine_reference) and _reference_fingerprint(connection) == _pristine_reference[0]
        if keep:
            filled -= set(REFERENCE_TABLES)
        # Tables that point at each other (an NC raised from a lab result, a retest recorded on an NC) are
        # unlinked first: the key added after both tables exist (use_alter) is set to NULL.
        for table in tables:
            if table.name not in filled:
                continue
            for key in table.foreign_key_constraints:
                if key.use_alter:
                    connection.execute(table.update().values({column.name: None for column in key.columns}))
        for table in reversed(tables):
            if table.name in filled:
                connection.execute(table.delete())
    return not keep


def _restore_sqlite(template_url: str, working: Path) -> None:
    """Copy the migrated template into the working database through SQLite's backup API, which is safe even
    if a connection to it is still open somewhere."""
    db.engine.dispose()
    _sqlite_copy(Path(template_url.removeprefix("sqlite:///")), working)


def _sqlite_copy(source_file: Path, target_file: Path) -> None:
    source, target = sqlite3.connect(source_file), sqlite3.connect(target_file)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@pytest.fixture
def app_config(tmp_path) -> dict:
    """The configuration mapping for this test's app; a test may change it before using ``app``."""
    return {**TEST_CONFIG, "CAPA_INSTANCE_PATH": str(tmp_path / "instance")}


@pytest.fixture(scope="session")
def shared_app(migrated_database, tmp_path_factory) -> Iterator[Flask]:
    """One application for the whole run: templates, URL rules and SQL are compiled once, not per test."""
    folder = tmp_path_factory.mktemp("shared")
    url = f"sqlite:///{folder / 'capa.sqlite3'}" if migrated_database.startswith("sqlite") else migrated_database
    application = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url, "CAPA_INSTANCE_PATH": str(folder / "i")}
    )
    application.test_client_class = RequestScopedClient
    yield application
    with application.app_context():
        db.engine.dispose()  # before the database is dropped


@pytest.fixture
def app(shared_app, migrated_database, app_config) -> Iterator[Flask]:
    """The application with this test's configuration and instance folder, on a fresh database: a copy of
    the migrated SQLite file, or the PostgreSQL database emptied and its reference data loaded again."""
    saved_config, saved_instance = dict(shared_app.config), shared_app.instance_path
    instance = Path(app_config["CAPA_INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    shared_app.config.update({key: value for key, value in app_config.items() if key != "CAPA_INSTANCE_PATH"})
    shared_app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    shared_app.instance_path = str(instance)
    try:
        with shared_app.app_context():
            if POSTGRES_URL:
                if _empty_postgres(shared_app):
                    load_reference_data()
                    remember_reference_data()
            else:
                _restore_sqlite(migrated_database, Path(db.engine.url.database))
            yield shared_app
            db.session.remove()
    finally:
        shared_app.config.clear()
        shared_app.config.update(saved_config)
        shared_app.instance_path = saved_instance


@dataclass
class _Snapshot:
    result: Any
    #: SQLite: the copied file. PostgreSQL: (table, COPY text) in dependency order, the tables' id sequences,
    #: and the reference tables' fingerprint, which must match for the rows to be put back as they were.
    sqlite_file: Path | None = None
    rows: list[tuple[str, bytes]] = field(default_factory=list)
    sequences: list[tuple[str, str]] = field(default_factory=list)
    reference: tuple = ()


class Snapshots:
    """Data many tests of a module start from, built once per test process and put back for each test (the
    SQLite file copied, or the PostgreSQL rows copied out and in with COPY), where building it again through
    the services would take most of each test's time. Only the database is kept, not the instance folder; the
    data may not hold rows that point at each other (use_alter keys)."""

    def __init__(self, folder: Path):
        self._folder = folder
        self._taken: dict[str, _Snapshot] = {}

    def __call__(self, key: str, build: Callable[[], Any]) -> Any:
        """What ``build()`` returned, with the database as ``build`` left it: built and kept on the first call
        for ``key``, put back on the next (built again when the reference data changed meanwhile)."""
        taken = self._taken.get(key)
        if taken is not None and self._put_back(taken):
            return taken.result
        result = build()
        db.session.remove()
        self._taken[key] = self._take(key, result)
        return result

    def _take(self, key: str, result: Any) -> _Snapshot:
        if not POSTGRES_URL:
            db.engine.dispose()
            copy = self._folder / f"{len(self._taken)}-{key}.sqlite3"
            _sqlite_copy(Path(db.engine.url.database), copy)
            return _Snapshot(result, sqlite_file=copy)
        snapshot = _Snapshot(result)
        with db.engine.connect() as connection:
            filled = _filled_tables(connection) - set(REFERENCE_TABLES)
            snapshot.reference = _reference_fingerprint(connection)
            cursor = connection.connection.driver_connection.cursor()
            for table in db.metadata.sorted_tables:
                if table.name not in filled:
                    continue
                with cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
                    snapshot.rows.append((table.name, b"".join(bytes(block) for block in copy)))
                if "id" in table.c and table.c.id.autoincrement:
                    sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
                    if sequence:
                        snapshot.sequences.append((table.name, sequence))
        return snapshot

    def _put_back(self, snapshot: _Snapshot) -> bool:
        if snapshot.sqlite_file is not None:
            _restore_sqlite(f"sqlite:///{snapshot.sqlite_file}", Path(db.engine.url.database))
            return True
        with db.engine.begin() as connection:
            if _reference_fingerprint(connection) != snapshot.reference:
                return False
            cursor = connection.connection.driver_connection.cursor()
            for name, rows in snapshot.rows:
                with cursor.copy(f'COPY "{name}" FROM STDIN') as copy:
                    copy.write(rows)
            for name, sequence in snapshot.sequences:
                table = db.metadata.tables[name]
                connection.execute(select(func.setval(sequence, select(func.max(table.c.id)).scalar_subquery())))
        db.session.remove()
        return True


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory) -> Snapshots:
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def built_once(app, _snapshots) -> Snapshots:
    """``built_once("key", build)``: the data ``build`` makes, made once per test process (:class:`Snapshots`)."""
    return _snapshots


@pytest.fixture(scope="module")
def module_app(pristine_database, tmp_path_factory) -> Iterator[Flask]:
    """An application on a database of its own, made once per test module (and per worker) and dropped after
    it: the module's fixtures build the data its read-only tests share on it once, where ``app`` would build
    it again for every test and every parameter. A test using it must change nothing, not even through its
    fixtures (users, tokens and logins belong in the module's fixtures too); a test that writes takes
    ``app``. No app context is pushed: a fixture building data pushes one of its own."""
    folder = tmp_path_factory.mktemp("module")
    with _copy_of(pristine_database, folder) as url:
        application = create_app({**TEST_CONFIG, "DATABASE_URL": url, "CAPA_INSTANCE_PATH": str(folder / "i")})
        application.test_client_class = RequestScopedClient
        try:
            yield application
        finally:
            with application.app_context():
                db.engine.dispose()  # before the database is dropped


class RequestScopedClient(FlaskClient):
    """Each request in an app context of its own, as under a real server: the test's own context (which
    services called from the test use) shares no ``g`` (Flask-Login's cached user) or session with requests."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # What the test reads next through services must be what the request stored, not its own old copy.
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app) -> FlaskCliRunner:
    return app.test_cli_runner()


def new_user(role: str | Role, username: str | None = None, password: str = PASSWORD) -> User:
    """A user created through the accounts service, in the app context that is current."""
    role = Role(role)
    return accounts.create_user(
        parse(
            NewUser,
            {
                "username": username or f"{role.value.replace('_', '')}{uuid.uuid4().hex[:6]}",
                "role": role.value,
                "password": password,
            },
        )
    )


@pytest.fixture
def make_user(app):
    """Create a user through the accounts service: ``make_user("quality_manager", "qm1")``."""
    return new_user


class AuthActions:
    """Log the test client in and out, as a given user or as a new user of a role."""

    def __init__(self, client: FlaskClient, make_user):
        self._client = client
        self._make_user = make_user

    def login(self, username: str, password: str = PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")

    def as_role(self, role: str) -> User:
        user = self._make_user(role)
        response = self.login(user.username)
        assert response.status_code == 302, response.text
        return user


@pytest.fixture
def auth(client, make_user) -> AuthActions:
    return AuthActions(client, make_user)


class ApiClient:
    """The test client with ``Authorization: Bearer`` set, for calling /api/v1 as one user."""

    def __init__(self, client: FlaskClient, token: str | None):
        self._client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def open(self, method: str, path: str, json=None, headers=None, **kwargs):
        """The request, with the token's header and any ``headers`` given."""
        return self._client.open(path, method=method, json=json, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.open("POST", path, json, **kwargs)

    def put(self, path: str, json=None, **kwargs):
        return self.open("PUT", path, json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.open("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api(client, make_user):
    """``api("quality_manager")``: an API client acting as a new user of that role; ``api(None)``: none."""

    def for_role(role: str | None) -> ApiClient:
        if role is None:
            return ApiClient(client, None)
        return ApiClient(client, accounts.create_token(make_user(role)))

    return for_role


def wait_for_a_lock_waiter(connection, tries: int = 500) -> int:
    """How many sessions of the current PostgreSQL database wait for a lock, polled through ``connection`` until one
    does (or ``tries`` polls of 20 ms passed): a request sent on another thread has reached the row held."""
    waiting = 0
    for _ in range(tries):
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()
        if waiting:
            break
        threading.Event().wait(0.02)
    return waiting
