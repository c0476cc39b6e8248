"""A process killed in the middle of its work leaves nothing half-written: a lab-report import, a weekly summary
build, a CAPA step with files (closing) and a filing with photos, each run by a real child process of the app
(the ``flask`` command line, or a browser's form sent through the app) and killed with SIGKILL.

"The middle" is found deterministically: the child registers, on SQLAlchemy's Session, a ``before_commit``
listener (the child's own, never the app's) that sends everything of the unit of work to the database (a
flush) and then, when the unit of work wrote the record this test waits for (``new:LabReport``: a LabReport was
inserted), writes a marker file and sleeps. The test waits for the marker, kills the child, and reads what the
database holds: the whole change was written but not committed, so none of it may be found.

Files the killed step had already written to the upload folder stay there, unreferenced by any record (the
rollback that would remove them never ran); the tests check that no record names them.

Runs on SQLite (the test's database file) and on PostgreSQL (the test's own database).
"""

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from capa.capas import lookup
from capa.capas.models import Attachment, NonConformance, Photo
from capa.common.errors import NotFound
from capa.common.types import utcnow
from capa.extensions import db
from capa.safety.importing import import_lab_reports
from capa.trends import service as summaries
from capa.trends.models import SummaryStatus, WeeklySummary
from capa.trends.weeks import Week
from tests.conftest import PASSWORD
from tests.pages import form_at, parsed
from tests.test_evidence_files import JPEG, PDF, capa, plant, to_verification  # noqa: F401 (fixtures)
from tests.test_lab_report_import import EXAMPLE, counts, world  # noqa: F401 (the fixture)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: How long the child may take to reach the pause (it starts Python and the app first, on a busy machine).
REACH_PAUSE = 120

#: The child: the pause listener, then the real command line, or one form sent as a logged-in browser sends it.
CHILD = r"""
import json, os, sys, time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

WANTED = os.environ.get("CAPA_TEST_PAUSE_WHEN", "")
MARKER = Path(os.environ.get("CAPA_TEST_PAUSE_MARKER", "/nonexistent"))
TOUCHED = "capa.test.touched"


def noted(session, _context, _instances):
    touched = session.info.setdefault(TOUCHED, set())
    touched.update(f"new:{type(record).__name__}" for record in session.new)
    touched.update(f"dirty:{type(record).__name__}" for record in session.dirty)


def pause(session):
    session.flush()  # the whole unit of work sent to the database, not committed
    if WANTED and WANTED in session.info.get(TOUCHED, ()):
        MARKER.write_text(str(os.getpid()))
        time.sleep(600)


def forget(session, *_args):
    session.info.pop(TOUCHED, None)


event.listen(Session, "before_flush", noted)
event.listen(Session, "before_commit", pause)
event.listen(Session, "after_commit", forget)
event.listen(Session, "after_rollback", forget)

mode, argument = sys.argv[1], sys.argv[2:]
if mode == "cli":
    from flask.cli import main

    sys.argv = ["flask", "--app", "capa", *argument]
    main()
else:
    from capa import create_app

    spec = json.loads(argument[0])
    browser = create_app({"WTF_CSRF_ENABLED": False}).test_client()  # as the tests' own browsers
    login = browser.post("/login", data={"username": spec["user"], "password": spec["password"]})
    assert login.status_code == 302, login.text
    data = dict(spec["data"])
    for name, paths in spec["files"].items():
        data[name] = [(open(path, "rb"), Path(path).name) for path in paths]
    answer = browser.post(spec["path"], data=data)
    print(answer.status_code)
"""


class Child:
    """The app in a process of its own, on the test's database and instance folder."""

    def __init__(self, app, tmp_path: Path):
        self.marker = tmp_path / f"paused-{uuid.uuid4().hex}"
        self.environment = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "CAPA_INSTANCE_PATH": app.instance_path,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "CAPA_TEST_PAUSE_MARKER": str(self.marker),
        }
        self.environment.pop("CAPA_TEST_DATABASE_URL", None)

    def killed_when(self, wanted: str, *arguments: str) -> str:
        """Run the child with ``arguments`` until its unit of work that wrote ``wanted`` is about to commit, then
        kill it with SIGKILL; what it printed."""
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, *arguments],
            env={**self.environment, "CAPA_TEST_PAUSE_WHEN": wanted},
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + REACH_PAUSE
            while not self.marker.exists():
                if process.poll() is not None:
                    output, _ = process.communicate()
                    pytest.fail(f"the child ended before its pause ({process.returncode}): {output}")
                if time.monotonic() > deadline:
                    pytest.fail("the child did not reach its pause")
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == -signal.SIGKILL, output
        return output


@pytest.fixture
def child(app, tmp_path) -> Child:
    return Child(app, tmp_path)


def fresh() -> None:
    """Forget what this process read before: the next queries see what the database holds now."""
    db.session.rollback()
    db.session.expire_all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.is_file()} if folder.is_dir() else set()


def test_an_import_killed_before_its_commit_stores_no_report_and_runs_again(app, world, child, tmp_path):  # noqa: F811
    export = tmp_path / "lab-report.csv"
    export.write_bytes(EXAMPLE.read_bytes())
    child.killed_when("new:LabReport", "cli", "import", "lab-report", str(export), "--user", "qm1")
    fresh()
    assert counts() == (0, 0, 0)  # no report, no result, no laboratory: the file's two reports were one unit

    # Nothing of it blocks the import sent again: its report numbers are not taken.
    outcome = import_lab_reports(EXAMPLE.read_bytes(), "lab-report.csv", world, dry_run=False)
    assert outcome.errors == []
    assert counts() == (2, 14, 1)


def test_a_summary_build_killed_before_its_commit_leaves_only_its_claim_which_is_built_later(app, child):
    week = Week.parse("2026-W10")
    child.killed_when("dirty:WeeklySummary", "cli", "summary", "run", "--week", str(week))
    fresh()
    # The figures were never committed: the row is the claim of a build in progress, not a summary.
    rows = [(s.week, s.status, s.figures, s.built_at) for s in db.session.scalars(select(WeeklySummary))]
    assert rows == [("2026-W10", SummaryStatus.BUILDING, {}, None)]
    with pytest.raises(NotFound):
        summaries.get_built("2026-W10")
    # A claim this fresh is taken for a build in progress and left alone...
    assert summaries.build(week) == (summaries.find(week), False)
    # ...until it is older than a build takes (the scheduler retries hourly): set here as if that time had passed.
    db.session.execute(update(WeeklySummary).values(claimed_at=utcnow() - summaries.STALE_CLAIM - timedelta(minutes=1)))
    db.session.commit()
    summary, built = summaries.build(week)
    assert built and summary.status == SummaryStatus.BUILT and summary.figures["new_ncs"] == 0


def test_a_closing_killed_before_its_commit_leaves_it_open_and_names_no_file(app, plant, capa, child, tmp_path):  # noqa: F811
    to_verification(plant, capa)
    nc = lookup.get_nc(capa.number)
    before = (nc.status, nc.version, len(nc.events))
    action = f"/nc/{capa.number}/close"
    version = parsed(form_at(plant.qm_page.get(f"/nc/{capa.number}").text, action)).css_first('input[name="version"]')
    (tmp_path / "pull tests.pdf").write_bytes(PDF)
    (tmp_path / "batch 3.jpg").write_bytes(JPEG)
    closing = {
        "version": version.attributes["value"],
        "effectiveness": "Three batches passed the 100% pull test.",
        "password": PASSWORD,
    }
    spec = {
        "user": "qm.wang",
        "password": PASSWORD,
        "path": action,
        "data": closing,
        "files": {"files": [str(tmp_path / "pull tests.pdf"), str(tmp_path / "batch 3.jpg")]},
    }
    child.killed_when("new:Attachment", "page", json.dumps(spec))
    fresh()
    nc = lookup.get_nc(capa.number)
    assert (nc.status, nc.version, len(nc.events)) == before
    assert (nc.closed_at, nc.effectiveness or "") == (None, "")
    assert count(Attachment) == 0
    # The two files written before the kill stay in the folder, named by no record.
    storage = Path(app.config["UPLOAD_FOLDER"]) / "files"
    orphans = files_in(storage)
    assert len(orphans) == 2
    assert orphans.isdisjoint(db.session.scalars(select(Attachment.key)))

    # Sent again, the closing is taken whole.
    sent = [(io.BytesIO(PDF), "pull tests.pdf"), (io.BytesIO(JPEG), "batch 3.jpg")]
    response = plant.qm_page.post(action, data={**closing, "files": sent})
    assert response.status_code == 302, response.text
    fresh()
    nc = lookup.get_nc(capa.number)
    assert nc.status == "closed"
    assert sorted(a.original_name for a in nc.attachments) == ["batch 3.jpg", "pull tests.pdf"]


def test_a_filing_killed_before_its_commit_files_nothing_and_takes_no_number(app, plant, child, tmp_path):  # noqa: F811
    (tmp_path / "torn snap.jpg").write_bytes(JPEG)
    filing = {
        "title": "Snap buttons come off the infant romper",
        "defect_type": "loose_button",
        "line": "L1",
        "source": "end_of_line",
        "batch": "B-1",
        "idempotency_key": uuid.uuid4().hex,
    }
    spec = {
        "user": "sup.li",
        "password": PASSWORD,
        "path": "/nc/new",
        "data": filing,
        "files": {"photos": [str(tmp_path / "torn snap.jpg")]},
    }
    child.killed_when("new:Photo", "page", json.dumps(spec))
    fresh()
    # Neither the NC without its photo nor its number: the filing and its photos are one unit of work.
    assert (count(NonConformance), count(Photo)) == (0, 0)
    photos_folder = Path(app.config["UPLOAD_FOLDER"])
    orphans = files_in(photos_folder)
    assert len(orphans) == 1  # the photo written before the kill, named by no record

    # Sent again under the same key, it is filed with its photo, under the first number of the year.
    response = plant.sup_page.post("/nc/new", data={**filing, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    assert response.status_code == 302, response.text
    fresh()
    nc = db.session.scalar(select(NonConformance))
    assert nc.number.endswith("-00001")
    assert [photo.original_name for photo in nc.photos] == ["torn snap.jpg"]
    assert orphans.isdisjoint(photo.stored_name for photo in nc.photos)
