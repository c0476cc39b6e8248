"""The disk refusing a file: the step is refused whole with 503 and a clear message naming the field the file came
in (``photos``, ``files``, ``pdf``), nothing of it is written, and the form comes back with everything typed.
Sent again once the disk takes files, the same request succeeds: a filing with its photos included, under the
same idempotency key.

The refusal is real, not imitated: the upload folder is set to a path that runs through a regular file, so every
folder or file the app makes there fails with ENOTDIR from the operating system. (The tests run as root, for whom
a folder without write permission is still writable, and a full disk cannot be had without mounting one.)
"""

import errno
import io
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from capa.capas import lookup
from capa.capas.models import Attachment, NonConformance, Photo
from capa.common import files
from capa.extensions import db
from tests.answers import ok, refused
from tests.pages import errors_in, field_block, form_at, input_value, parsed, textarea_text
from tests.test_evidence_files import JPEG, PDF, capa, detail, nc_page_form, plant, sent, upload  # noqa: F401 (fixtures)

REFUSED = (
    "The server could not store the file (its storage refused it); nothing was saved. Send it again later, "
    "or tell your administrator."
)
FULL = (
    "The server's disk is full, so the file could not be stored; nothing was saved. Send it again later, "
    "or tell your administrator."
)
FILING = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-1",
    "quantity_affected": "12",
    "description": "12 of 40 rompers lost a snap in the hand pull.",
}


@pytest.fixture
def refusing_disk(app, tmp_path):
    """The upload folder made impossible to write (see the module's docstring); ``mend()`` gives the folder back."""
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    working = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(blocker / "uploads")

    def mend() -> None:
        app.config["UPLOAD_FOLDER"] = working

    yield SimpleNamespace(mend=mend, folder=Path(working))
    mend()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def files_on_disk(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_an_evidence_upload_the_disk_refuses_answers_503_naming_the_file(plant, capa, refusing_disk):  # noqa: F811
    before = detail(plant.api_qm, capa.number)
    response = upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing")
    error = refused(response, 503, "storage_unavailable")
    assert error == {"code": "storage_unavailable", "message": REFUSED, "fields": {"file": REFUSED}}
    after = detail(plant.api_qm, capa.number)
    assert (after["attachments"], after["version"], after["history"]) == ([], before["version"], before["history"])
    assert count(Attachment) == 0

    refusing_disk.mend()
    stored = ok(upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing"), 201)
    assert [item["name"] for item in stored["items"]] == ["pull tests.pdf"]


def test_completing_an_action_the_disk_refuses_keeps_the_form_as_typed(plant, capa, refusing_disk):  # noqa: F811
    action = f"/actions/{capa.standard_revision}/complete"
    _page, form = nc_page_form(plant.qm_page, capa.number, action)
    typed = {
        "version": parsed(form).css_first('input[name="version"]').attributes["value"],
        "evidence": "Standard QS-ACC-07 revised: stitch density 12 per cm.",
        "document": "QS-ACC-07",
        "revision": "C",
    }
    response = plant.qm_page.post(action, data={**typed, "files": sent((PDF, "QS-ACC-07 rev C.pdf"))})
    assert response.status_code == 503, response.text
    form = form_at(response.text, action)
    assert errors_in(field_block(form, "files")) == [REFUSED]
    kept = [input_value(field_block(form, name)) for name in ("evidence", "document", "revision")]
    assert kept == [typed["evidence"], "QS-ACC-07", "C"]
    record = detail(plant.api_qm, capa.number)
    assert next(a for a in record["actions"] if a["id"] == capa.standard_revision)["status"] == "open"
    assert record["attachments"] == [] and count(Attachment) == 0
    assert files_on_disk(refusing_disk.folder) == []

    refusing_disk.mend()
    response = plant.qm_page.post(action, data={**typed, "files": sent((PDF, "QS-ACC-07 rev C.pdf"))})
    assert response.status_code == 302, response.text
    record = detail(plant.api_qm, capa.number)
    assert next(a for a in record["actions"] if a["id"] == capa.standard_revision)["status"] == "done"
    assert [a["name"] for a in record["attachments"]] == ["QS-ACC-07 rev C.pdf"]


def test_a_filing_the_disk_refuses_files_nothing_and_files_whole_when_sent_again(app, plant, refusing_disk):  # noqa: F811
    key = uuid.uuid4().hex
    form = {**FILING, "idempotency_key": key}
    response = plant.sup_page.post("/nc/new", data={**form, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    assert response.status_code == 503, response.text
    assert errors_in(field_block(response.text, "photos")) == [REFUSED]
    assert input_value(field_block(response.text, "title")) == FILING["title"]
    assert textarea_text(field_block(response.text, "description")) == FILING["description"]
    # Nothing filed: not the NC without its photo, which a resend under the same key would then only find again.
    assert (count(NonConformance), count(Photo)) == (0, 0)

    refusing_disk.mend()
    response = plant.sup_page.post("/nc/new", data={**form, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    assert response.status_code == 302, response.text
    number = response.headers["Location"].rsplit("/", 1)[1]
    nc = lookup.get_nc(number)
    assert [photo.original_name for photo in nc.photos] == ["torn snap.jpg"]
    assert (count(NonConformance), count(Photo)) == (1, 1)


def test_a_lab_reports_pdf_the_disk_refuses_answers_503_naming_pdf(plant, refusing_disk):  # noqa: F811
    report = ok(
        plant.api_qm.post(
            "/api/v1/lab-reports",
            json={
                "laboratory": {"name": "SGS Shanghai", "cnas_number": "CNAS L0599"},
                "number": "SGS-SH-2026-0099",
                "component": "whole_garment",
                "test_date": "2026-03-02",
                "report_date": "2026-03-04",
                "batch": "B-1",
                "results": [{"parameter": "CN-PH", "value": "6.5"}],
            },
        ),
        201,
    )
    path = f"/api/v1/lab-reports/{report['id']}/pdf"
    response = plant.api_qm.put(path, data=PDF, content_type="application/pdf")
    error = refused(response, 503, "storage_unavailable")
    assert error["fields"] == {"pdf": REFUSED}
    assert ok(plant.api_qm.get(f"/api/v1/lab-reports/{report['id']}"))["pdf"] is None

    refusing_disk.mend()
    assert ok(plant.api_qm.put(path, data=PDF, content_type="application/pdf"))["pdf"]["size"] == len(PDF)


def test_a_full_disk_is_named_as_such(app):
    refusal = files.refused("photos", OSError(errno.ENOSPC, "No space left on device"))
    assert (refusal.status, refusal.code, refusal.message, refusal.fields) == (
        503,
        "storage_unavailable",
        FULL,
        {"photos": FULL},
    )
