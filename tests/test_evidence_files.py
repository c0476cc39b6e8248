"""Evidence as files: an action's evidence and the closing's are PDFs, XLSX workbooks and photos, judged by their
bytes, stored through the app's storage, listed on the NC page and in the API, and served back to those who may
read the NC. A standard revision names its document and new revision; a retraining names who was trained. A
refused form keeps what was typed and the files chosen, so that nobody chooses them again.

Everything goes through the pages (the test client) and the API (JSON and multipart); what was stored is read
back in an app context of its own and from the storage folder itself.
"""

import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pillow_heif
import pytest
from openpyxl import Workbook
from PIL import Image
from werkzeug.http import parse_options_header

from capa.accounts import service as accounts
from capa.capas import lookup, steps
from capa.capas.commands import Cancel, CompleteAction, Contain, FileNC, NewAction, Retest, Review, RootCause
from capa.capas.filing import file_nc
from capa.capas.photos import Upload, check_photo
from capa.common import images
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.conftest import PASSWORD, ApiClient
from tests.images import jpeg
from tests.pages import (
    errors_in,
    field_block,
    form_at,
    image_sources,
    input_value,
    link_texts,
    logged_in,
    parsed,
    section,
    text,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The files ---------------------------------------------------------------------------------------------------


def pdf_bytes(body: str = "Stitch-density standard QS-ACC-07, revision C") -> bytes:
    return f"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% {body}\ntrailer << >>\n%%EOF\n".encode()


def xlsx_bytes() -> bytes:
    """A training record as Excel saves it."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Operator", "Trained on", "Signed"])
    sheet.append(["Zhang Wei", "2026-03-02", "yes"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PDF = pdf_bytes()
XLSX = xlsx_bytes()
JPEG = jpeg()
#: The photo as the app stores it: decoded and written anew (capa.common.images).
STORED_JPEG = images.rewrite(JPEG).data
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
#: A JPEG's first bytes, then anything at all.
JPEG_HEADER_AND_JUNK = b"\xff\xd8\xff" + b"not really an image" * 20
#: A PDF whose end is missing (an upload cut short).
PDF_CUT_SHORT = PDF[: len(PDF) // 2]


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


WORKBOOK_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
#: A workbook's two parts, and a sheet of 24 MB of one repeated byte: it packs into a few kilobytes.
ZIP_BOMB = zip_of(
    {
        "[Content_Types].xml": WORKBOOK_TYPES,
        "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": bytes(24 << 20),
    }
)
#: A Word document is a zip too, but holds no workbook.
DOCX = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"})


def sent(*files: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    """Files as the test client sends them in a multipart body."""
    return [(io.BytesIO(data), name) for data, name in files]


# The plant, its people and a CAPA in its action step ----------------------------------------------------------


@pytest.fixture
def plant(app, make_user) -> SimpleNamespace:
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAP-01", "name": "Snap Co"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-1",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "SN-1", "kind": "trim", "supplier": "SNAP-01"}],
            },
        )
    )
    people = SimpleNamespace(
        qm=make_user("quality_manager", "qm.wang"),
        sup=make_user("supervisor", "sup.li"),
        other=make_user("supervisor", "sup.zhao"),
    )
    client = app.test_client()
    return SimpleNamespace(
        **vars(people),
        api_qm=ApiClient(client, accounts.create_token(people.qm)),
        api_sup=ApiClient(client, accounts.create_token(people.sup)),
        api_other=ApiClient(client, accounts.create_token(people.other)),
        api_anonymous=ApiClient(client, None),
        qm_page=logged_in(app, people.qm),
        sup_page=logged_in(app, people.sup),
        other_page=logged_in(app, people.other),
    )


@pytest.fixture
def capa(app, plant) -> SimpleNamespace:
    """An NC waiting for its actions: a standard revision (the quality manager's), a retraining and a corrective
    action (the supervisor's). Nothing is on hold, and a retest of its one parameter will pass."""
    nc = file_nc(
        parse(
            FileNC,
            {
                "title": "Snap buttons come off the infant romper",
                "defect_type": "loose_button",
                "line": "L1",
                "source": "end_of_line",
                "batch": "B-1",
                "parameters": ["CN-ATT-GT6"],
            },
        ),
        plant.sup,
    )
    steps.contain(nc, parse(Contain, {"description": "Batch B-1 checked piece by piece."}), plant.qm)
    steps.submit_root_cause(
        nc,
        parse(
            RootCause,
            {"whys": ["Stitch density below standard."], "category": "machine", "statement": "Density set too low."},
        ),
        plant.sup,
    )
    steps.review(nc, parse(Review, {"password": PASSWORD, "decision": "approve"}), plant.qm)
    actions = {}
    for kind, description, owner in (
        ("standard_revision", "Revise the stitch-density standard", plant.qm),
        ("training", "Retrain the button-machine operators", plant.sup),
        ("corrective", "Reset the stitch density", plant.sup),
    ):
        command = parse(
            NewAction, {"kind": kind, "description": description, "owner": owner.username, "due_date": "2030-01-31"}
        )
        actions[kind] = steps.add_action(nc, command, plant.qm).id
    return SimpleNamespace(number=nc.number, **actions)


def to_verification(plant, capa) -> None:
    """Every action done and the retest passing: the CAPA waits for its closing."""
    nc = lookup.get_nc(capa.number)
    done = {
        "standard_revision": {"document": "QS-ACC-07", "revision": "C"},
        "training": {"trained": "Zhang Wei, Li Na"},
        "corrective": {},
    }
    for action in [action for action in nc.actions if action.status == "open"]:
        owner = plant.qm if action.owner_id == plant.qm.id else plant.sup
        command = parse(CompleteAction, {"evidence": f"Done: {action.description}", **done[action.kind]})
        steps.complete_action(action, command, owner)
    steps.record_test(nc, parse(Retest, {"parameter": "CN-ATT-GT6", "value": "95", "lab": "SGS"}), plant.qm)
    assert lookup.get_nc(capa.number).status == "verification"


# Reading what was stored -----------------------------------------------------------------------------------


@pytest.fixture
def stored(app):
    """What the database and the storage folder hold: the NC's attachments (purpose, action id, name, type,
    size), and the names of the files in storage."""

    def read(number: str) -> SimpleNamespace:
        with app.app_context():
            nc = lookup.get_nc(number)
            rows = [(a.purpose, a.action_id, a.original_name, a.content_type, a.size) for a in nc.attachments]
            keys = [a.key for a in nc.attachments]
        folder = Path(app.config["UPLOAD_FOLDER"]) / "files"
        names = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
        return SimpleNamespace(rows=rows, keys=keys, files=names)

    return read


def kept_in_pending(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "pending" / "evidence"
    return sorted(path for path in folder.rglob("*.data")) if folder.is_dir() else []


def upload(client: ApiClient, number: str, *files: tuple[bytes, str], **form):
    return client.post(f"/api/v1/nonconformances/{number}/attachments", data={**form, "file": sent(*files)})


def detail(client: ApiClient, number: str) -> dict:
    response = client.get(f"/api/v1/nonconformances/{number}")
    assert response.status_code == 200, response.text
    return response.json


def action_record(record: dict, action_id: int) -> dict:
    return next(action for action in record["actions"] if action["id"] == action_id)


def nc_page_form(client, number: str, action: str):
    page = client.get(f"/nc/{number}")
    assert page.status_code == 200, page.text
    return page.text, form_at(page.text, action)


# Through the API --------------------------------------------------------------------------------------------


def test_a_pdf_an_xlsx_and_a_photo_are_stored_as_an_actions_evidence_and_listed(plant, capa, stored):
    response = upload(
        plant.api_qm,
        capa.number,
        (PDF, "QS-ACC-07 rev C.pdf"),
        (XLSX, "training record.xlsx"),
        (JPEG, "after.jpg"),
        purpose="action",
        action=str(capa.standard_revision),
    )
    assert response.status_code == 201, response.text
    items = response.json["items"]
    assert [(i["name"], i["content_type"], i["size"], i["purpose"], i["action"]) for i in items] == [
        ("QS-ACC-07 rev C.pdf", "application/pdf", len(PDF), "action", capa.standard_revision),
        ("training record.xlsx", XLSX_TYPE, len(XLSX), "action", capa.standard_revision),
        ("after.jpg", "image/jpeg", len(STORED_JPEG), "action", capa.standard_revision),
    ]
    assert {i["uploaded_by"] for i in items} == {"qm.wang"}
    assert all(i["url"] == f"/api/v1/attachments/{i['id']}" for i in items)

    record = detail(plant.api_sup, capa.number)
    assert [a["id"] for a in action_record(record, capa.standard_revision)["attachments"]] == [i["id"] for i in items]
    assert action_record(record, capa.training)["attachments"] == []
    assert [a["id"] for a in record["attachments"]] == [i["id"] for i in items]
    assert [e["new"] for e in record["history"] if e["kind"] == "evidence"] == [
        "QS-ACC-07 rev C.pdf",
        "training record.xlsx",
        "after.jpg",
    ]
    # Stored under keys the app chose, never the names sent.
    found = stored(capa.number)
    assert sorted(found.keys) == found.files
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(pdf|xlsx|jpg)", name) for name in found.files)


def test_a_minimal_xlsx_zip_is_accepted_and_a_word_document_is_not(plant, capa, stored):
    minimal = zip_of({"[Content_Types].xml": WORKBOOK_TYPES, "xl/workbook.xml": b"<workbook/>"})
    response = upload(plant.api_qm, capa.number, (minimal, "record.xlsx"), purpose="closing")
    assert response.status_code == 201, response.text
    assert response.json["items"][0]["content_type"] == XLSX_TYPE

    response = upload(plant.api_qm, capa.number, (DOCX, "record.xlsx"), purpose="closing")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"file[0]": "record.xlsx is not a PDF, XLSX or photo."}
    assert len(stored(capa.number).rows) == 1


def test_files_that_are_not_what_they_say_are_refused_each_by_its_position_and_nothing_is_stored(plant, capa, stored):
    response = upload(
        plant.api_qm,
        capa.number,
        (PDF, "good.pdf"),
        (HTML, "report.pdf"),
        (PDF_CUT_SHORT, "cut.pdf"),
        (ZIP_BOMB, "bomb.xlsx"),
        (b"", "empty.pdf"),
        purpose="action",
        action=str(capa.standard_revision),
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert response.json["error"]["fields"] == {
        "file[1]": "report.pdf is not a PDF, XLSX or photo.",
        "file[2]": "cut.pdf is a PDF cut short: its end is missing.",
        "file[3]": "bomb.xlsx unpacks to far more than its size: refused.",
        "file[4]": "empty.pdf is not a PDF, XLSX or photo.",
    }
    found = stored(capa.number)
    assert (found.rows, found.files) == ([], [])
    assert "evidence" not in [e["kind"] for e in detail(plant.api_qm, capa.number)["history"]]


def test_a_jpeg_header_followed_by_junk_is_refused_as_the_defect_photos_refuse_it(app, plant, capa, stored):
    """photos.py decodes a photo to store it; evidence judges a photo by the same rule, not another."""
    with pytest.raises(ValidationError) as as_a_photo:
        check_photo(Upload("junk.jpg", JPEG_HEADER_AND_JUNK), 10**6)
    assert as_a_photo.value.fields == {"photos": "junk.jpg cannot be read as a photo: it is cut short or damaged."}

    response = upload(plant.api_qm, capa.number, (JPEG_HEADER_AND_JUNK, "junk.jpg"), purpose="closing")
    assert response.status_code == 400, response.text
    assert response.json["error"]["fields"] == {"file[0]": as_a_photo.value.fields["photos"]}
    found = stored(capa.number)
    assert (found.rows, found.files) == ([], [])


@pytest.fixture
def small_limits(app_config, request):
    """An app taking evidence files of at most 1000 bytes and page bodies of at most 70,000 bytes (set before the
    app is built)."""
    app_config["CAPA_EVIDENCE_MAX_BYTES"] = 1000
    app_config["MAX_CONTENT_LENGTH"] = 70_000
    app = request.getfixturevalue("app")
    assert app.config["CAPA_EVIDENCE_MAX_BYTES"] == 1000
    return app


def test_a_file_over_the_limit_is_refused_and_a_body_over_the_limit_answers_413_storing_nothing(
    small_limits, plant, capa, stored
):
    large = pdf_bytes("x" * 2000)
    response = upload(plant.api_qm, capa.number, (PDF, "small.pdf"), (large, "large.pdf"), purpose="closing")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"file[1]": "large.pdf is larger than 1000 bytes."}

    huge = pdf_bytes("x" * 200_000)
    response = upload(plant.api_qm, capa.number, (huge, "huge.pdf"), purpose="closing")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"

    # The page's form: too large a body is refused whole, too large a file beside the file input.
    action = f"/actions/{capa.training}/complete"
    form = {"evidence": "Trained.", "trained": "Zhang Wei"}
    response = plant.sup_page.post(action, data={**form, "files": sent((huge, "huge.pdf"))})
    assert response.status_code == 413
    response = plant.sup_page.post(action, data={**form, "files": sent((large, "large.pdf"))})
    assert response.status_code == 400
    assert errors_in(field_block(form_at(response.text, action), "files")) == ["large.pdf is larger than 1000 bytes."]

    found = stored(capa.number)
    assert (found.rows, found.files) == ([], [])
    assert action_record(detail(plant.api_qm, capa.number), capa.training)["status"] == "open"


def test_too_many_files_for_one_action_are_refused(plant, capa, stored):
    response = upload(
        plant.api_qm,
        capa.number,
        *[(PDF, f"page{n}.pdf") for n in range(8)],
        purpose="action",
        action=str(capa.corrective),
    )
    assert response.status_code == 201, response.text
    response = upload(
        plant.api_qm,
        capa.number,
        *[(PDF, f"more{n}.pdf") for n in range(3)],
        purpose="action",
        action=str(capa.corrective),
    )
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"file": "At most 10 evidence files here; 8 are attached already."}
    assert len(stored(capa.number).rows) == 8


def test_an_upload_names_what_is_missing_or_unknown(plant, capa):
    def refused(response) -> dict:
        assert response.status_code == 400, response.text
        return response.json["error"]["fields"]

    assert set(refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf")))) == {"purpose"}
    assert set(refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="effectiveness"))) == {"purpose"}
    assert set(refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="action"))) == {"action"}
    assert set(refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="action", action="999999"))) == {
        "action"
    }
    assert set(
        refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="closing", action=str(capa.training)))
    ) == {"action"}
    assert set(refused(upload(plant.api_qm, capa.number, purpose="closing"))) == {"file"}
    assert set(refused(upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="closing", note="x"))) == {"note"}
    json_body = plant.api_qm.post(f"/api/v1/nonconformances/{capa.number}/attachments", json={"purpose": "closing"})
    assert set(refused(json_body)) == {"file"}
    # A JSON step cannot carry files: they are uploaded apart and named by id.
    completing = plant.api_qm.post(
        f"/api/v1/actions/{capa.corrective}/complete", json={"evidence": "Done.", "files": ["a.pdf"]}
    )
    assert set(refused(completing)) == {"files"}


def test_a_standard_revision_names_its_document_and_new_revision(plant, capa):
    path = f"/api/v1/actions/{capa.standard_revision}/complete"
    response = plant.api_qm.post(path, json={"evidence": "Standard revised."})
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "document": "A standard revision names the document revised.",
        "revision": "A standard revision names the document's new revision.",
    }
    response = plant.api_qm.post(path, json={"evidence": "Standard revised.", "document": "QS-ACC-07"})
    assert set(response.json["error"]["fields"]) == {"revision"}

    response = plant.api_qm.post(path, json={"evidence": "Standard revised.", "document": "QS-ACC-07", "revision": "C"})
    assert response.status_code == 200, response.text
    assert (response.json["status"], response.json["document"], response.json["revision"]) == ("done", "QS-ACC-07", "C")


def test_a_retraining_names_who_was_trained(plant, capa):
    path = f"/api/v1/actions/{capa.training}/complete"
    response = plant.api_sup.post(path, json={"evidence": "Operators retrained.", "trained": "  "})
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"trained": "A retraining names who was trained."}
    response = plant.api_sup.post(path, json={"evidence": "Operators retrained.", "trained": "Zhang Wei, Li Na"})
    assert response.status_code == 200, response.text
    assert (response.json["kind"], response.json["trained"]) == ("training", "Zhang Wei, Li Na")
    page = plant.qm_page.get(f"/nc/{capa.number}").text
    assert "Retraining" in text(section(page, "d5"))
    assert "Zhang Wei, Li Na" in text(section(page, "d5"))


def test_completing_and_closing_may_name_files_uploaded_before_but_only_their_own(app, plant, capa):
    own = upload(plant.api_sup, capa.number, (PDF, "sign-off.pdf"), purpose="action", action=str(capa.training))
    other = upload(plant.api_qm, capa.number, (PDF, "density.pdf"), purpose="action", action=str(capa.corrective))
    own_id, other_id = own.json["items"][0]["id"], other.json["items"][0]["id"]

    path = f"/api/v1/actions/{capa.training}/complete"
    body = {"evidence": "Retrained.", "trained": "Zhang Wei"}
    response = plant.api_sup.post(path, json={**body, "attachments": [own_id, other_id, 999999]})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"attachments[1]", "attachments[2]"}
    response = plant.api_sup.post(path, json={**body, "attachments": [own_id]})
    assert response.status_code == 200, response.text
    assert [a["name"] for a in response.json["attachments"]] == ["sign-off.pdf"]

    to_verification(plant, capa)
    closing = upload(plant.api_qm, capa.number, (XLSX, "pull tests.xlsx"), purpose="closing").json["items"][0]["id"]
    close = f"/api/v1/nonconformances/{capa.number}/close"
    signed = {"password": PASSWORD}
    response = plant.api_qm.post(
        close, json={"effectiveness": "No loose snap since.", "attachments": [own_id], **signed}
    )
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"attachments[0]"}
    response = plant.api_qm.post(
        close, json={"effectiveness": "No loose snap since.", "attachments": [closing], **signed}
    )
    assert response.status_code == 200, response.text
    assert response.json["status"] == "closed"
    assert [(a["name"], a["purpose"]) for a in response.json["attachments"] if a["purpose"] == "closing"] == [
        ("pull tests.xlsx", "closing")
    ]


def test_only_a_quality_manager_or_the_actions_owner_adds_evidence_while_the_nc_is_open(app, plant, capa, stored):
    def status(client, **form) -> int:
        return upload(client, capa.number, (PDF, "x.pdf"), **form).status_code

    assert status(plant.api_other, purpose="action", action=str(capa.training)) == 403
    assert status(plant.api_sup, purpose="action", action=str(capa.standard_revision)) == 403
    assert status(plant.api_sup, purpose="closing") == 403
    assert status(plant.api_anonymous, purpose="closing") == 401
    assert stored(capa.number).rows == []
    assert status(plant.api_sup, purpose="action", action=str(capa.training)) == 201
    assert status(plant.api_qm, purpose="action", action=str(capa.training)) == 201

    # A supervisor who does not own the action is refused on the page too.
    response = plant.other_page.post(
        f"/actions/{capa.training}/complete", data={"evidence": "x", "trained": "y", "files": sent((PDF, "x.pdf"))}
    )
    assert response.status_code == 403
    assert len(stored(capa.number).rows) == 2

    steps.cancel(lookup.get_nc(capa.number), parse(Cancel, {"reason": "Duplicate."}), plant.qm)
    response = upload(plant.api_qm, capa.number, (PDF, "late.pdf"), purpose="closing")
    assert (response.status_code, response.json["error"]["code"]) == (409, "invalid_state")


def test_a_done_action_takes_no_more_evidence(plant, capa, stored):
    to_verification(plant, capa)
    before = stored(capa.number).rows
    response = upload(plant.api_qm, capa.number, (PDF, "late.pdf"), purpose="action", action=str(capa.corrective))
    assert (response.status_code, response.json["error"]["code"]) == (409, "invalid_state")
    assert stored(capa.number).rows == before


def test_an_evidence_file_is_served_as_a_private_download_with_its_type(plant, capa):
    [pdf, photo] = upload(
        plant.api_sup,
        capa.number,
        (PDF, "sign-off.pdf"),
        (JPEG, "after.jpg"),
        purpose="action",
        action=str(capa.training),
    ).json["items"]

    response = plant.api_other.get(pdf["url"])
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert parse_options_header(response.headers["Content-Disposition"]) == ("attachment", {"filename": "sign-off.pdf"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert plant.api_anonymous.get(pdf["url"]).status_code == 401
    assert plant.api_other.get("/api/v1/attachments/999999").status_code == 404

    # The pages: the PDF as a download, the photo in place (the NC page's thumbnail), both private.
    page_pdf = plant.other_page.get(f"/nc/{capa.number}/attachments/{pdf['id']}")
    assert (page_pdf.status_code, page_pdf.data) == (200, PDF)
    assert page_pdf.headers["Content-Disposition"].startswith("attachment;")
    page_photo = plant.other_page.get(f"/nc/{capa.number}/attachments/{photo['id']}")
    assert (page_photo.status_code, page_photo.data, page_photo.mimetype) == (200, STORED_JPEG, "image/jpeg")
    assert page_photo.headers["Content-Disposition"].startswith("inline;")
    for response in (page_pdf, page_photo):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        cache = response.headers["Cache-Control"]
        assert "private" in cache and "public" not in cache
    # Not to someone logged out, and only under its own NC.
    anonymous = plant.api_anonymous._client.get(f"/nc/{capa.number}/attachments/{pdf['id']}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_attachment_is_served_only_under_its_own_nc(app, plant, capa):
    [pdf] = upload(plant.api_qm, capa.number, (PDF, "a.pdf"), purpose="closing").json["items"]
    other = file_nc(
        parse(FileNC, {"title": "Open seam", "defect_type": "open_seam", "line": "L1", "source": "inline"}),
        plant.sup,
    ).number
    assert plant.qm_page.get(f"/nc/{other}/attachments/{pdf['id']}").status_code == 404


# Through the pages ---------------------------------------------------------------------------------------------


def test_the_nc_page_lists_each_actions_files_photos_as_thumbnails(plant, capa):
    upload(
        plant.api_qm,
        capa.number,
        (PDF, "QS-ACC-07.pdf"),
        (XLSX, "pull tests.xlsx"),
        (JPEG, "after.jpg"),
        purpose="action",
        action=str(capa.standard_revision),
    )
    record = detail(plant.api_qm, capa.number)
    pdf, xlsx, photo = (f"/nc/{capa.number}/attachments/{a['id']}" for a in record["attachments"])
    d5 = section(plant.sup_page.get(f"/nc/{capa.number}").text, "d5")
    [row] = [row for row in parsed(d5).css("tr") if "Revise the stitch-density standard" in text(row)]
    assert (photo, "after.jpg") in image_sources(row)
    assert [src for src, _ in image_sources(row)] == [photo]
    links = link_texts(row)
    assert (links[pdf], links[xlsx], links[photo]) == ("QS-ACC-07.pdf", "pull tests.xlsx", "after.jpg")
    shown = text(row)
    assert f"PDF · {len(PDF)} bytes" in shown
    assert f"Excel workbook (XLSX) · {len(XLSX) / 1024:.0f} KB" in shown
    assert "JPEG photo" in shown


def test_an_action_is_completed_on_its_page_with_the_fields_of_its_kind_and_files(plant, capa, stored):
    action = f"/actions/{capa.standard_revision}/complete"
    _page, form = nc_page_form(plant.qm_page, capa.number, action)
    assert form.attributes["enctype"] == "multipart/form-data"
    for name in ("evidence", "document", "revision", "files"):
        field_block(form, name)
    _page, other = nc_page_form(plant.qm_page, capa.number, f"/actions/{capa.corrective}/complete")
    assert "document" not in [node.attributes.get("name") for node in parsed(other).css("input")]

    response = plant.qm_page.post(
        action,
        data={
            "version": parsed(form).css_first('input[name="version"]').attributes["value"],
            "evidence": "Standard QS-ACC-07 revised.",
            "document": "QS-ACC-07",
            "revision": "C",
            "files": sent((PDF, "QS-ACC-07 rev C.pdf"), (JPEG, "machine setting.jpg")),
        },
    )
    assert response.status_code == 302, response.text
    assert stored(capa.number).rows == [
        ("action", capa.standard_revision, "QS-ACC-07 rev C.pdf", "application/pdf", len(PDF)),
        ("action", capa.standard_revision, "machine setting.jpg", "image/jpeg", len(STORED_JPEG)),
    ]
    d5 = text(section(plant.qm_page.get(f"/nc/{capa.number}").text, "d5"))
    assert "QS-ACC-07" in d5 and "QS-ACC-07 rev C.pdf" in d5


def test_a_refused_form_keeps_the_typed_text_and_the_chosen_files_for_the_resend(app, plant, capa, stored):
    action = f"/actions/{capa.training}/complete"
    # The retraining without who was trained, with a training record and a file that is no evidence.
    response = plant.sup_page.post(
        action,
        data={
            "evidence": "Six operators retrained on the pull test.",
            "files": sent((XLSX, "training record.xlsx"), (HTML, "notes.pdf")),
        },
    )
    assert response.status_code == 400
    form = form_at(response.text, action)
    assert input_value(field_block(form, "evidence")) == "Six operators retrained on the pull test."
    assert errors_in(field_block(form, "trained")) == ["A retraining names who was trained."]
    assert errors_in(field_block(form, "files")) == ["notes.pdf is not a PDF, XLSX or photo."]
    # The valid file is kept on the server for its sender and named in the form; the other is not.
    tokens = [node.attributes["value"] for node in parsed(form).css('input[name="kept_file"]')]
    assert len(tokens) == 1
    assert "training record.xlsx" in text(form) and "notes.pdf" not in text(parsed(form).css_first("fieldset"))
    assert stored(capa.number).rows == []
    assert len(kept_in_pending(app)) == 1

    # Someone else cannot use the token.
    response = plant.qm_page.post(action, data={"evidence": "x", "trained": "y", "kept_file": tokens[0]})
    assert response.status_code == 400
    assert stored(capa.number).rows == []

    # Sent again with who was trained, without choosing the file again: stored with the action.
    response = plant.sup_page.post(
        action,
        data={"evidence": "Six operators retrained on the pull test.", "trained": "Zhang Wei", "kept_file": tokens},
    )
    assert response.status_code == 302, response.text
    assert stored(capa.number).rows == [("action", capa.training, "training record.xlsx", XLSX_TYPE, len(XLSX))]
    assert kept_in_pending(app) == []
    record = action_record(detail(plant.api_sup, capa.number), capa.training)
    assert (record["status"], record["trained"]) == ("done", "Zhang Wei")


def test_a_step_refused_to_its_sender_or_in_its_state_keeps_none_of_the_files_sent(app, plant, capa, stored):
    action = f"/actions/{capa.training}/complete"
    form = {"evidence": "Retrained.", "trained": "Zhang Wei", "files": sent((PDF, "sign-off.pdf"))}
    # Not the action's owner: no form to send again, so nothing is kept for it.
    assert plant.other_page.post(action, data=form).status_code == 403
    assert kept_in_pending(app) == []
    # The NC was cancelled meanwhile: the step is not possible any more.
    steps.cancel(lookup.get_nc(capa.number), parse(Cancel, {"reason": "Duplicate."}), plant.qm)
    form = {"evidence": "Retrained.", "trained": "Zhang Wei", "files": sent((PDF, "sign-off.pdf"))}
    assert plant.sup_page.post(action, data=form).status_code == 409
    assert kept_in_pending(app) == []
    assert stored(capa.number).rows == [] and stored(capa.number).files == []


def test_a_kept_file_ticked_remove_is_not_stored(app, plant, capa, stored):
    action = f"/actions/{capa.training}/complete"
    response = plant.sup_page.post(action, data={"evidence": "Retrained.", "files": sent((PDF, "wrong.pdf"))})
    assert response.status_code == 400
    [token] = [
        node.attributes["value"] for node in parsed(form_at(response.text, action)).css('input[name="kept_file"]')
    ]
    response = plant.sup_page.post(
        action, data={"evidence": "Retrained.", "trained": "Zhang Wei", "kept_file": token, "remove_file": token}
    )
    assert response.status_code == 302, response.text
    assert stored(capa.number).rows == []
    assert kept_in_pending(app) == []


def test_the_closing_takes_files_and_lists_them_in_d8(app, plant, capa, stored):
    to_verification(plant, capa)
    action = f"/nc/{capa.number}/close"
    _page, form = nc_page_form(plant.qm_page, capa.number, action)
    assert form.attributes["enctype"] == "multipart/form-data"
    version = parsed(form).css_first('input[name="version"]').attributes["value"]

    # Refused for its missing note, the form keeps the file.
    response = plant.qm_page.post(
        action, data={"version": version, "files": sent((PDF, "pull tests.pdf")), "password": PASSWORD}
    )
    assert response.status_code == 400
    form = form_at(response.text, action)
    tokens = [node.attributes["value"] for node in parsed(form).css('input[name="kept_file"]')]
    assert len(tokens) == 1 and "pull tests.pdf" in text(form)

    response = plant.qm_page.post(
        action,
        data={
            "version": version,
            "effectiveness": "Three batches passed the 100% pull test.",
            "kept_file": tokens,
            "files": sent((JPEG, "batch 3.jpg")),
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302, response.text
    assert stored(capa.number).rows == [
        ("closing", None, "pull tests.pdf", "application/pdf", len(PDF)),
        ("closing", None, "batch 3.jpg", "image/jpeg", len(STORED_JPEG)),
    ]
    d8 = section(plant.sup_page.get(f"/nc/{capa.number}").text, "d8")
    assert "pull tests.pdf" in text(d8)
    assert [alt for _src, alt in image_sources(d8)] == ["batch 3.jpg"]


def test_evidence_check_names_every_bad_file_at_once(app):
    from capa.capas.evidence import check_evidence

    with pytest.raises(ValidationError) as refused:
        check_evidence([Upload("a.html", HTML), Upload("b.pdf", PDF), Upload("c", b"")])
    assert set(refused.value.fields) == {"files[0]", "files[2]"}
    checked = check_evidence([Upload("b.pdf", PDF), Upload("t.xlsx", XLSX), Upload("p.jpg", JPEG)])
    assert [(c.content_type, c.extension) for c in checked] == [
        ("application/pdf", ".pdf"),
        (XLSX_TYPE, ".xlsx"),
        ("image/jpeg", ".jpg"),
    ]


def test_a_heic_photo_is_stored_as_a_jpeg_and_downloaded_under_a_jpeg_name(plant, capa, stored):
    picture = Image.new("RGB", (40, 30), (30, 60, 200))
    heic = io.BytesIO()
    pillow_heif.from_pillow(picture).save(heic, quality=90)
    response = upload(
        plant.api_sup, capa.number, (heic.getvalue(), "IMG_0042.HEIC"), purpose="action", action=str(capa.training)
    )
    assert response.status_code == 201, response.text
    [item] = response.json["items"]
    assert (item["name"], item["content_type"]) == ("IMG_0042.HEIC", "image/jpeg")
    download = plant.api_qm.get(item["url"])
    assert download.data.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(download.data)).size == (40, 30)
    assert parse_options_header(download.headers["Content-Disposition"])[1]["filename"] == "IMG_0042.HEIC.jpg"
