"""The database out of reach: requests answer 503 with a clear message and ``Retry-After`` (JSON under /api, a
page elsewhere), and the next ones succeed once it is back, on the same app object, without restarting it.

PostgreSQL: a private cluster of this test's own (initdb and pg_ctl of the server installed here, on a free
port, in a folder of its own) is stopped with ``pg_ctl stop -m fast`` and started again; the shared server the
suite runs on is never touched. Run in the PostgreSQL pass, skipped where no PostgreSQL server binaries are found.
As root, the cluster runs as the ``postgres`` account (PostgreSQL refuses to run as root).

SQLite: a writer holding the database past the busy timeout (shortened for the test on the app's own engine,
so that it waits 0.2 s rather than 10) is answered 503 too, and the same request succeeds once the lock is gone.
"""

import glob
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import event

from capa import create_app
from capa.accounts import service as accounts
from capa.extensions import db
from tests.answers import ok, refused
from tests.conftest import POSTGRES_URL, TEST_CONFIG, RequestScopedClient, load_reference_data, new_user
from tests.pages import logged_in, one, text
from tests.test_trends_running import free_port

SERVER_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _server_binaries() -> Path | None:
    for folder in reversed(SERVER_BINARIES):  # the newest version installed
        if all((Path(folder) / name).is_file() for name in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


BINARIES = _server_binaries()


class PrivateCluster:
    """A PostgreSQL cluster in a folder of its own, listening on 127.0.0.1:``port`` only (its socket in that
    folder), run as ``postgres`` when this process is root."""

    def __init__(self, binaries: Path, folder: Path, port: int):
        self.binaries, self.folder, self.port = binaries, folder, port
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(folder, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stdout}{done.stderr}{self._log()}"

    def _log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def init(self) -> None:
        self._run(
            str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            [*self.as_user, str(self.binaries / "pg_ctl"), "-D", str(self.data), "status"], capture_output=True
        )
        return status.returncode == 0

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL only: runs in the PostgreSQL pass")
    if BINARIES is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
    # Not under pytest's tmp_path, whose folders only their owner may enter: the server's account must reach it.
    folder = Path(tempfile.mkdtemp(prefix="capa-outage-"))
    server = PrivateCluster(BINARIES, folder, free_port())
    try:
        server.init()
        server.start()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE capa")
        yield server
    finally:
        if server.data.exists() and server.running():
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def outage_app(cluster, tmp_path):
    """The app on the private cluster, migrated and loaded as init-db does."""
    application = create_app(
        {**TEST_CONFIG, "DATABASE_URL": cluster.url("capa"), "CAPA_INSTANCE_PATH": str(tmp_path / "instance")}
    )
    application.test_client_class = RequestScopedClient
    with application.app_context():
        upgrade()
        load_reference_data()
    yield application
    with application.app_context():
        db.engine.dispose()


def test_while_postgresql_restarts_requests_answer_503_and_the_next_ones_succeed(cluster, outage_app):
    with outage_app.app_context():
        qm = new_user("quality_manager", "qm.outage")
        token = accounts.create_token(qm)
        browser = logged_in(outage_app, qm)
    bearer = {"Authorization": f"Bearer {token}"}
    assert browser.get("/").status_code == 200
    assert ok(browser.get("/api/v1/me", headers=bearer))["username"] == "qm.outage"

    cluster.stop("fast")

    page = browser.get("/")
    assert page.status_code == 503, page.text
    assert page.headers["Retry-After"] == "5"
    assert text(one(page.text, "h1")) == "The database cannot be reached"
    assert "Try again in a few seconds" in text(one(page.text, "main"))
    answer = browser.get("/api/v1/me", headers=bearer)
    error = refused(answer, 503, "database_unavailable")
    assert error == {
        "code": "database_unavailable",
        "message": "The database cannot be reached at the moment; try again in a few seconds.",
        "fields": {},
    }
    assert answer.headers["Retry-After"] == "5"
    # A change sent during the outage is refused the same way, and stores nothing (checked below).
    line = {"code": "L-OUT", "name": "Line filed during the outage"}
    refused(browser.post("/api/v1/lines", json=line, headers=bearer), 503, "database_unavailable")

    cluster.start()

    # The same app object, not restarted: the session cookie and the token work again.
    page = browser.get("/")
    assert page.status_code == 200, page.text
    assert "qm.outage" in text(one(page.text, "header"))
    assert ok(browser.get("/api/v1/me", headers=bearer))["username"] == "qm.outage"
    assert [item["code"] for item in ok(browser.get("/api/v1/lines", headers=bearer))["items"]] == []
    assert ok(browser.post("/api/v1/lines", json=line, headers=bearer), 201)["code"] == "L-OUT"


@pytest.fixture
def short_busy_timeout(app):
    """The app's own engine waits 0.2 s for another writer instead of 10 s, so that the test is quick."""

    def shorten(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 200")

    engine = db.engine
    event.listen(engine, "checkout", shorten)
    yield
    event.remove(engine, "checkout", shorten)
    engine.dispose()


def test_sqlite_locked_by_another_writer_past_the_busy_timeout_answers_503(
    app, engine_name, short_busy_timeout, make_user
):
    if engine_name != "sqlite":
        pytest.skip("SQLite's lock")
    qm = make_user("quality_manager", "qm.locked")
    token = accounts.create_token(qm)
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    browser = logged_in(app, qm)
    line = {"code": "L-LOCK", "name": "Line filed while another writer holds the database"}
    other_writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long import would
        answer = client.post("/api/v1/lines", json=line, headers=bearer)
        refused(answer, 503, "database_unavailable")
        assert answer.headers["Retry-After"] == "5"
        # A page that writes (the language remembered on the account) answers the 503 page, in the language
        # the person has just chosen (kept in the session, which needs no database).
        page = browser.post("/language", data={"language": "zh_Hans_CN"})
        assert page.status_code == 503, page.text
        assert text(one(page.text, "h1")) == "无法连接数据库"
    finally:
        other_writer.rollback()
        other_writer.close()
    assert ok(client.post("/api/v1/lines", json=line, headers=bearer), 201)["code"] == "L-LOCK"
    assert browser.post("/language", data={"language": "zh_Hans_CN"}).status_code == 302
