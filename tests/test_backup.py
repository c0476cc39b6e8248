"""``flask --app capa backup PATH`` and ``flask --app capa restore PATH``: a backup taken while people file NCs
with photos and add evidence files holds every record committed before it started, with its history and files;
restored into a new, empty instance, those records, their photos and files read back through the restored app,
its row counts are the manifest's and its history chains verify. A backup goes only into a new folder; a
restore goes only into an empty instance, and only from a backup that matches its manifest.

Each instance here is an app on a database and instance folder of its own, made for the test and dropped
after it: a copy of the migrated database for the one in use, an empty database for the one restored into.
"""

import hashlib
import io
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select, table

from capa import create_app
from capa.accounts import service as accounts
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle
from tests import images
from tests.answers import ok
from tests.conftest import (
    PASSWORD,
    POSTGRES_URL,
    TEST_CONFIG,
    RequestScopedClient,
    _copy_of,
    _create_postgres,
    _drop_postgres,
    _with_database,
    new_user,
)
from tests.pages import errors_in

FILING = {
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-1",
    "severity": "major",
}
#: How many filings (and evidence files) each writer commits before the backup starts, and again after it ended.
BEFORE, AFTER = 3, 2
WAIT = 120  # seconds a writer may take for its next commit before the test gives up on it


def jpeg(label: str) -> bytes:
    """A small photo whose colour comes from ``label``, so that each one's content is its own."""
    red, green, blue = hashlib.sha256(label.encode()).digest()[:3]
    return images.jpeg((red, green, blue))


def pdf(label: str) -> bytes:
    return f"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% {label}\ntrailer << >>\n%%EOF\n".encode()


# Instances ---------------------------------------------------------------------------------------------------


@contextmanager
def instance(pristine_url: str, folder: Path, *, empty: bool = False) -> Iterator[Flask]:
    """An app on a database of its own (a copy of the migrated one, or ``empty``: one with no tables) and an
    instance folder of its own under ``folder``; the database is dropped on leaving."""
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not empty:
            url = stack.enter_context(_copy_of(pristine_url, folder))
        elif POSTGRES_URL:
            name = _create_postgres("capa_restored")
            stack.callback(_drop_postgres, name)
            url = _with_database(POSTGRES_URL, name)
        else:
            url = f"sqlite:///{folder / 'restored.sqlite3'}"
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "CAPA_INSTANCE_PATH": str(folder / "instance")})
        app.test_client_class = RequestScopedClient
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()  # before the database is dropped


@dataclass
class Plant:
    """What the people of the instance in use need: a quality manager's API token, a supervisor's name."""

    token: str
    supervisor: str
    quality_manager: str


def set_up_plant(app: Flask) -> Plant:
    with app.app_context():
        masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
        masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
        masterdata.create_batch(parse(NewBatch, {"number": "B-1", "style": "RMP-2301", "line": "L1"}))
        qm = new_user("quality_manager", "qm.wang")
        supervisor = new_user("supervisor", "sup.li")
        return Plant(accounts.create_token(qm), supervisor.username, qm.username)


def login(app: Flask, username: str):
    """A browser of ``username`` logged in to ``app``."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Committed:
    """Something a writer was told was stored: an NC with its photo, or with its evidence file."""

    number: str
    data: bytes
    attachment: int | None = None


def file_with_photo(client, label: str) -> Committed:
    """File an NC through the filing form with one photo."""
    photo = jpeg(label)
    response = client.post(
        "/nc/new", data={**FILING, "title": f"Loose snap {label}", "photos": [(io.BytesIO(photo), f"{label}.jpg")]}
    )
    assert response.status_code == 302, errors_in(response.text) or response.status_code
    return Committed(response.headers["Location"].rsplit("/", 1)[1], photo)


def file_with_evidence(client, token: str, label: str) -> Committed:
    """File an NC through the API, then add a PDF as evidence of its closing."""
    headers = bearer(token)
    body = {**FILING, "title": f"Snap pull test {label}"}
    number = ok(client.post("/api/v1/nonconformances", json=body, headers=headers), 201)["number"]
    document = pdf(label)
    answer = client.post(
        f"/api/v1/nonconformances/{number}/attachments",
        data={"purpose": "closing", "file": [(io.BytesIO(document), f"{label}.pdf")]},
        headers=headers,
    )
    return Committed(number, document, ok(answer, 201)["items"][0]["id"])


def backup(app: Flask, path: Path):
    return app.test_cli_runner().invoke(args=["backup", str(path)])


def restore(app: Flask, path: Path):
    return app.test_cli_runner().invoke(args=["restore", str(path)])


def fetch(client, path: str) -> bytes:
    """The body of a file answered at ``path`` (which must be there), the response closed after reading it."""
    response = client.get(path)
    try:
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data()
    finally:
        response.close()


def table_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {name: connection.scalar(select(func.count()).select_from(table(name))) for name in names}


def stored_files(app: Flask) -> list[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


# Writers -----------------------------------------------------------------------------------------------------


@dataclass
class Writers:
    """Threads that file NCs (with a photo through the form; through the API with an evidence file) until
    stopped, each noting what it was told was stored, in order."""

    app: Flask
    plant: Plant
    committed: list[Committed] = field(default_factory=list)
    per_writer: dict[str, int] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        photos = login(self.app, self.plant.supervisor)
        evidence = self.app.test_client()
        self._spawn("photos", lambda n: file_with_photo(photos, f"photo-{n}"))
        self._spawn("evidence", lambda n: file_with_evidence(evidence, self.plant.token, f"evidence-{n}"))

    def _spawn(self, name: str, write: Callable[[int], Committed]) -> None:
        self.per_writer[name] = 0

        def run() -> None:
            n = 0
            try:
                while not self.stop.is_set():
                    done = write(n)
                    n += 1
                    with self.changed:
                        self.committed.append(done)
                        self.per_writer[name] += 1
                        self.changed.notify_all()
            except BaseException as error:
                with self.changed:
                    self.errors.append(error)
                    self.changed.notify_all()

        thread = threading.Thread(target=run, name=f"writer-{name}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def wait_for_each(self, count: int, since: dict[str, int] | None = None) -> None:
        """Wait until each writer has committed ``count`` more than ``since``."""
        since = since or dict.fromkeys(self.per_writer, 0)
        with self.changed:
            reached = self.changed.wait_for(
                lambda: self.errors or all(self.per_writer[name] >= since[name] + count for name in since), WAIT
            )
        assert not self.errors, self.errors
        assert reached, f"the writers stalled at {self.per_writer}"

    def snapshot(self) -> tuple[list[Committed], dict[str, int]]:
        with self.changed:
            return list(self.committed), dict(self.per_writer)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(WAIT)
        assert not self.errors, self.errors


# Backing up while people write, and restoring ------------------------------------------------------------


@dataclass
class Restored:
    source: Flask
    restored: Flask
    plant: Plant
    before: list[Committed]
    manifest: dict
    backup_output: str
    restore_output: str


@pytest.fixture(scope="module")
def scenario(pristine_database, tmp_path_factory) -> Iterator[Restored]:
    """An instance in use, backed up while two writers commit NCs, photos and evidence files, and the backup
    restored into a new, empty instance. Its tests only read."""
    folder = tmp_path_factory.mktemp("backup")
    with (
        instance(pristine_database, folder / "source") as source,
        instance(pristine_database, folder / "restored", empty=True) as restored,
    ):
        plant = set_up_plant(source)
        writers = Writers(source, plant)
        writers.start()
        try:
            writers.wait_for_each(BEFORE)
            # Everything noted so far was committed before the backup started.
            before, counts = writers.snapshot()
            taken = backup(source, folder / "backup")
            writers.wait_for_each(AFTER, since=counts)
        finally:
            writers.finish()
        assert taken.exit_code == 0, taken.output
        manifest = json.loads((folder / "backup" / "manifest.json").read_text(encoding="utf-8"))
        put_back = restore(restored, folder / "backup")
        assert put_back.exit_code == 0, put_back.output
        yield Restored(source, restored, plant, before, manifest, taken.output, put_back.output)


def test_every_record_committed_before_the_backup_is_restored_with_its_history_and_files(scenario):
    before = scenario.before
    assert len({c.number for c in before}) == len(before) >= 2 * BEFORE
    source, restored = scenario.source.test_client(), scenario.restored.test_client()
    # The token, kept as a digest in the database, works on the restored instance as it did before.
    headers = bearer(scenario.plant.token)
    page, source_page = (
        login(scenario.restored, scenario.plant.supervisor),
        login(scenario.source, scenario.plant.supervisor),
    )
    for committed in before:
        record = ok(restored.get(f"/api/v1/nonconformances/{committed.number}", headers=headers))
        history = record["history"]
        # History is only ever appended to: what was restored is how the record began, and the filing and its
        # file are in it.
        original = ok(source.get(f"/api/v1/nonconformances/{committed.number}", headers=headers))["history"]
        assert history
        assert history == original[: len(history)]
        if committed.attachment is None:
            [photo] = record["photos"]
            # The app stores a photo written anew: the restored one is the one the instance in use serves.
            path = f"/nc/{committed.number}/photos/{photo['id']}"
            assert fetch(page, path) == fetch(source_page, path)
        else:
            assert [a["id"] for a in record["attachments"]] == [committed.attachment]
            download = restored.get(f"/api/v1/attachments/{committed.attachment}", headers=headers)
            assert download.status_code == 200
            assert download.get_data() == committed.data
            assert any(event["kind"] == "evidence" for event in history)


def test_every_file_a_restored_record_names_is_there(scenario):
    """Records committed while the backup ran may be in it or not; those in it have their files."""
    client = scenario.restored.test_client()
    headers = bearer(scenario.plant.token)
    page = login(scenario.restored, scenario.plant.supervisor)
    listed = ok(client.get("/api/v1/nonconformances?per_page=500", headers=headers))
    assert listed["total"] >= len(scenario.before)
    for item in listed["items"]:
        record = ok(client.get(f"/api/v1/nonconformances/{item['number']}", headers=headers))
        for photo in record["photos"]:
            assert len(fetch(page, f"/nc/{item['number']}/photos/{photo['id']}")) == photo["size"]
        for attachment in record["attachments"]:
            download = client.get(f"/api/v1/attachments/{attachment['id']}", headers=headers)
            assert download.status_code == 200, (item["number"], attachment)
            assert len(download.get_data()) == attachment["size"]


def test_the_restored_database_holds_the_rows_the_manifest_counts(scenario):
    manifest = scenario.manifest
    assert manifest["database"]["kind"] == ("postgresql" if POSTGRES_URL else "sqlite")
    assert manifest["alembic_revision"]
    assert manifest["file_count"] == len(manifest["files"]) >= 2 * BEFORE
    assert table_counts(scenario.restored) == manifest["tables"]
    assert manifest["tables"]["nonconformances"] >= len(scenario.before)
    # Every file listed is in the restored upload folder, and nothing else is.
    assert stored_files(scenario.restored) == sorted(manifest["files"])
    assert f"{manifest['file_count']} files into" in scenario.backup_output
    assert f"{manifest['file_count']} files from" in scenario.restore_output


def test_the_restored_history_chains_verify(scenario):
    if "audit" not in scenario.restored.cli.commands:
        pytest.skip("`flask --app capa audit verify` is not registered in this app yet")
    verified = scenario.restored.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


# Refusals ----------------------------------------------------------------------------------------------------


@pytest.fixture
def instances(pristine_database, tmp_path) -> Iterator[Callable[..., Flask]]:
    """``instances("name")``: a new instance in use; ``instances("name", empty=True)``: a new empty one."""
    with ExitStack() as stack:

        def make(name: str, *, empty: bool = False) -> Flask:
            return stack.enter_context(instance(pristine_database, tmp_path / name, empty=empty))

        yield make


@pytest.fixture
def source(instances) -> Flask:
    """An instance in use, with one NC and its photo."""
    app = instances("source")
    plant = set_up_plant(app)
    file_with_photo(login(app, plant.supervisor), "one")
    return app


@pytest.fixture
def taken(source, tmp_path) -> Path:
    path = tmp_path / "backup"
    result = backup(source, path)
    assert result.exit_code == 0, result.output
    return path


def test_backup_refuses_an_existing_path_that_is_not_an_empty_folder(source, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    refused = backup(source, occupied)
    assert refused.exit_code != 0
    assert "exists already and is not an empty folder" in refused.output
    assert sorted(p.name for p in occupied.iterdir()) == ["notes.txt"]

    a_file = tmp_path / "backup.tar"
    a_file.write_bytes(b"something")
    refused = backup(source, a_file)
    assert refused.exit_code != 0
    assert "exists already" in refused.output
    assert a_file.read_bytes() == b"something"
    # Nothing half-made is left beside them.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    # An empty folder is a new backup's place.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert backup(source, empty).exit_code == 0
    assert (empty / "manifest.json").is_file()


def test_restore_refuses_an_instance_that_is_not_empty(source, taken, instances):
    refused = restore(source, taken)
    assert refused.exit_code != 0
    assert "not empty" in refused.output

    # An empty database, but files in the upload folder.
    target = instances("target", empty=True)
    leftover = Path(target.config["UPLOAD_FOLDER"]) / "files" / "leftover.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(pdf("left over"))
    refused = restore(target, taken)
    assert refused.exit_code != 0
    assert "upload folder" in refused.output
    assert stored_files(target) == ["files/leftover.pdf"]
    assert not any(table_counts(target).values())


def tampered(taken: Path, name: str, change: Callable[[Path], None]) -> Path:
    copy = taken.parent / f"tampered-{name}-{uuid.uuid4().hex[:6]}"
    shutil.copytree(taken, copy)
    change(copy)
    return copy


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _a_photo(backup_path: Path) -> Path:
    manifest = json.loads((backup_path / "manifest.json").read_text())
    [name] = [name for name in manifest["files"] if name.endswith(".jpg")]
    return backup_path / "uploads" / name


def _database(backup_path: Path) -> Path:
    return next(backup_path.glob("database.*"))


def _escaping_manifest(backup_path: Path) -> None:
    manifest = json.loads((backup_path / "manifest.json").read_text())
    manifest["files"]["../../outside.jpg"] = next(iter(manifest["files"].values()))
    (backup_path / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("case", "change", "said"),
    [
        ("photo changed", lambda b: _flip_last_byte(_a_photo(b)), "does not match its manifest"),
        ("photo removed", lambda b: _a_photo(b).unlink(), "does not match its manifest"),
        ("file added", lambda b: (b / "uploads" / "extra.jpg").write_bytes(jpeg("extra")), "uploads/extra.jpg"),
        ("database changed", lambda b: _flip_last_byte(_database(b)), "database."),
        ("path out of the folder", _escaping_manifest, "is not a backup"),
    ],
)
def test_restore_refuses_a_backup_that_does_not_match_its_manifest(taken, instances, case, change, said):
    target = instances("target", empty=True)
    refused = restore(target, tampered(taken, case.replace(" ", "-"), change))
    assert refused.exit_code != 0
    assert said in refused.output
    # Nothing was put into the instance.
    assert stored_files(target) == []
    assert not any(table_counts(target).values())
    assert not (Path(target.config["UPLOAD_FOLDER"]) / ".." / ".." / "outside.jpg").exists()


def test_restore_refuses_a_backup_of_the_other_database_kind(taken, instances):
    def other_kind(backup_path: Path) -> None:
        manifest = json.loads((backup_path / "manifest.json").read_text())
        manifest["database"]["kind"] = "sqlite" if POSTGRES_URL else "postgresql"
        (backup_path / "manifest.json").write_text(json.dumps(manifest))

    target = instances("target", empty=True)
    refused = restore(target, tampered(taken, "kind", other_kind))
    assert refused.exit_code != 0
    assert "restore it into an instance whose DATABASE_URL is of the same kind" in refused.output
    assert stored_files(target) == []


def test_a_restored_backup_restores_again_only_into_another_empty_instance(taken, instances):
    target = instances("target", empty=True)
    assert restore(target, taken).exit_code == 0
    assert stored_files(target) == sorted(json.loads((taken / "manifest.json").read_text())["files"])
    again = restore(target, taken)
    assert again.exit_code != 0
    assert "not empty" in again.output


@pytest.mark.skipif(not POSTGRES_URL, reason="pg_dump backs up PostgreSQL only")
def test_backup_without_pg_dump_says_so(source, tmp_path, monkeypatch):
    nowhere = tmp_path / "no-programs"
    nowhere.mkdir()
    monkeypatch.setenv("PATH", str(nowhere))
    refused = backup(source, tmp_path / "backup")
    assert refused.exit_code != 0
    assert "pg_dump was not found on the PATH" in refused.output
    assert not (tmp_path / "backup").exists()
