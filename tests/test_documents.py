"""The document register: documents with revisions whose files, authors and approvers are kept, the revision in
effect shown as current while earlier ones stay readable, the periodic reviews coming due, and a CAPA's standard
revision action completed by linking an approved revision, which the 8D report names."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from capa.common.clock import plant_today
from capa.common.display import local_date
from capa.common.errors import ValidationError
from capa.documents import service
from tests.conftest import PASSWORD
from tests.pages import cells, fields_with_errors, one, row_linking
from tests.test_capa_stories_api import floor, play_loose_button_story  # noqa: F401 (floor: the fixture)


def pdf(text: str = "QP-07") -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".encode()


def revision_form(revision: str, effective_on: date, content: bytes | None = None, **more) -> dict:
    form = {"revision": revision, "changes": f"Revision {revision}", "effective_on": effective_on.isoformat(), **more}
    if content is not None:
        form["file"] = (io.BytesIO(content), f"qp07-{revision}.pdf")
    return form


def add_revision(client, revision: str, effective_on: date, content: bytes | None = None, **more):
    return client.post(
        "/api/v1/documents/QP-07/revisions",
        data=revision_form(revision, effective_on, content if content is not None else pdf(revision), **more),
        content_type="multipart/form-data",
    )


@pytest.fixture
def register(api):
    """QP-07, the incoming-inspection procedure, registered by one quality manager; another approves."""
    author, approver = api("quality_manager"), api("quality_manager")
    created = author.post(
        "/api/v1/documents", json={"code": "qp-07", "title": "Incoming inspection procedure", "kind": "procedure"}
    )
    assert created.status_code == 201, created.json
    return author, approver


def test_a_revision_takes_effect_once_another_manager_approves_it_and_the_earlier_stays_readable(app, register, api):
    author, approver = register
    today = plant_today()
    assert author.get("/api/v1/documents/QP-07").json | {"revisions": []} == {
        "code": "QP-07",
        "title": "Incoming inspection procedure",
        "kind": "procedure",
        "review_months": 12,
        "current": None,
        "review_due_on": None,
        "review_overdue": True,
        "reviewed_on": None,
        "revisions": [],
    }
    assert add_revision(author, "3", today - timedelta(days=400), pdf("rev 3")).status_code == 201
    # Not in effect before it is approved; its author may not approve it.
    assert author.get("/api/v1/documents/QP-07").json["current"] is None
    own = author.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    assert own.status_code == 403 and set(own.json["error"]["fields"]) == {"approved_by"}
    # The approval is an electronic signature: the approver's password, or nothing is approved.
    unsigned = approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={})
    assert unsigned.status_code == 400 and set(unsigned.json["error"]["fields"]) == {"password"}
    wrong = approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": "not the password"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "signature_refused"
    assert author.get("/api/v1/documents/QP-07").json["revisions"][0]["approved_at"] is None
    approved = approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    approver_name = approver.get("/api/v1/me").json["username"]
    assert approved.status_code == 200 and approved.json["approved_by"] == approver_name
    assert approved.json["approved_by_name"] == approver_name  # no full name given: the user name signs
    twice = approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    assert twice.status_code == 409 and set(twice.json["error"]["fields"]) == {"revision"}
    document = author.get("/api/v1/documents/QP-07").json
    # Effective 400 days ago with a 12-month review: overdue.
    assert (document["current"], document["review_overdue"]) == ("3", True)

    # Revision 4 approved but effective next week: 3 stays current until then.
    add_revision(author, "4", today + timedelta(days=7), pdf("rev 4"), changes="Saliva fastness on every dye lot")
    approver.post("/api/v1/documents/QP-07/revisions/4/approval", json={"password": PASSWORD})
    assert author.get("/api/v1/documents/QP-07").json["current"] == "3"
    with app.app_context():
        document = service.get_document("QP-07")
        assert service.current_revision(document, today + timedelta(days=7)).revision == "4"
    old = author.get("/api/v1/documents/QP-07/revisions/3/file")
    assert old.status_code == 200 and b"rev 3" in old.data
    assert old.headers["Content-Type"] == "application/pdf"
    history = author.get("/api/v1/documents/QP-07").json["revisions"]
    assert [(r["revision"], r["changes"]) for r in history] == [
        ("3", "Revision 3"),
        ("4", "Saliva fastness on every dye lot"),
    ]


def test_bad_revisions_are_refused_naming_the_field_and_nothing_is_stored(app, register, api):
    author, _ = register
    today = plant_today()
    assert add_revision(author, "1", today).status_code == 201
    again = add_revision(author, "1", today)
    assert again.status_code == 400 and set(again.json["error"]["fields"]) == {"revision"}
    not_a_file = add_revision(author, "2", today, b"MZ\x90\x00 not a document")
    assert not_a_file.status_code == 400 and set(not_a_file.json["error"]["fields"]) == {"file"}
    none = author.post(
        "/api/v1/documents/QP-07/revisions",
        data=revision_form("2", today),
        content_type="multipart/form-data",
    )
    assert none.status_code == 400 and set(none.json["error"]["fields"]) == {"file"}
    no_changes = author.post(
        "/api/v1/documents/QP-07/revisions",
        data={"revision": "2", "effective_on": "soon", "file": (io.BytesIO(pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert no_changes.status_code == 400 and set(no_changes.json["error"]["fields"]) == {"changes", "effective_on"}
    assert [r["revision"] for r in author.get("/api/v1/documents/QP-07").json["revisions"]] == ["1"]
    assert (
        api("supervisor").post("/api/v1/documents", json={"code": "X", "title": "X", "kind": "form"}).status_code == 403
    )
    taken = author.post("/api/v1/documents", json={"code": "QP-07", "title": "Again", "kind": "procedure"})
    assert taken.status_code == 409 and set(taken.json["error"]["fields"]) == {"code"}
    assert author.get("/api/v1/documents/QP-07/revisions/9/file").status_code == 404


def test_documents_due_for_review_are_listed_soonest_first(app, register, api):
    author, approver = register
    today = plant_today()
    author.post("/api/v1/documents", json={"code": "WI-12", "title": "Needle policy", "kind": "policy"})
    author.post(
        "/api/v1/documents",
        json={"code": "ST-02", "title": "Stitch density", "kind": "standard", "review_months": 24},
    )
    # QP-07 effective 11 months and 20 days ago: due within 30 days. ST-02 a year ago on a 24-month cycle: not due.
    add_revision(author, "1", today - timedelta(days=355))
    approver.post("/api/v1/documents/QP-07/revisions/1/approval", json={"password": PASSWORD})
    st02 = author.post(
        "/api/v1/documents/ST-02/revisions",
        data=revision_form("1", today - timedelta(days=365), pdf("ST-02")),
        content_type="multipart/form-data",
    )
    assert st02.status_code == 201
    approver.post("/api/v1/documents/ST-02/revisions/1/approval", json={"password": PASSWORD})
    due = author.get("/api/v1/documents?due=true").json["items"]
    # WI-12 has no revision in effect: due at once, listed first.
    assert [(d["code"], d["review_overdue"]) for d in due] == [("WI-12", True), ("QP-07", False)]
    assert [d["code"] for d in author.get("/api/v1/documents").json["items"]] == ["QP-07", "ST-02", "WI-12"]
    with app.app_context():
        reviews = {review.document.code: review for review in service.due_for_review()}
        assert reviews["QP-07"].due_on == service.review_of(service.get_document("QP-07")).due_on
        assert reviews["QP-07"].due_soon and not reviews["QP-07"].overdue


def test_the_pages_register_a_document_record_and_approve_its_revisions(app, client, auth, make_user):
    other = make_user("quality_manager")
    auth.as_role("quality_manager")
    refused = client.post("/documents/new", data={"code": "QP-07", "title": "", "kind": "procedure"})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"title"}
    form = {"code": "QP-07", "title": "Incoming inspection procedure", "kind": "procedure", "review_months": "6"}
    assert client.post("/documents/new", data=form).status_code == 302

    today = plant_today()
    bad = client.post(
        "/documents/QP-07/revisions",
        data=revision_form("4", today, b"not a pdf", changes="Saliva fastness on every dye lot"),
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and fields_with_errors(bad.text) == {"file"}
    # What was typed comes back; a refused file is not kept.
    assert "Saliva fastness on every dye lot" in one(bad.text, "textarea").text()
    assert "File kept from before" not in bad.text
    # A good file sent with a bad date is kept: the form is sent again without choosing it.
    undated = client.post(
        "/documents/QP-07/revisions",
        data=revision_form("4", today, pdf("rev 4"), changes="Saliva fastness on every dye lot")
        | {"effective_on": "soon"},
        content_type="multipart/form-data",
    )
    assert undated.status_code == 400 and fields_with_errors(undated.text) == {"effective_on"}
    assert "File kept from before: qp07-4.pdf" in undated.text
    token = one(undated.text, 'input[name="file_token"]').attributes["value"]
    saved = client.post(
        "/documents/QP-07/revisions",
        data={
            "revision": "4",
            "effective_on": today.isoformat(),
            "changes": "Saliva fastness on every dye lot",
            "file_token": token,
        },
    )
    assert saved.status_code == 302
    page = client.get("/documents/QP-07").text
    # Its author sees no approve button: it waits for another quality manager.
    assert "/documents/QP-07/revisions/4/approval" not in page
    assert client.post("/documents/QP-07/revisions/4/approval", data={"password": PASSWORD}).status_code == 403

    auth.logout()
    auth.login(other.username)
    wrong = client.post("/documents/QP-07/revisions/4/approval", data={"password": "not the password"})
    assert wrong.status_code == 401 and "The password is not correct." in wrong.text
    assert client.post("/documents/QP-07/revisions/4/approval", data={"password": PASSWORD}).status_code == 302
    page = client.get("/documents/QP-07").text
    assert "current" in cells(one(page, "tr.revision.current"))[0]
    download = client.get("/documents/QP-07/revisions/4/file")
    assert download.status_code == 200 and b"rev 4" in download.data
    listed = row_linking(client.get("/documents").text, "/documents/QP-07")
    assert cells(listed)[3] == "4"
    with app.test_request_context():
        # Reviewed every 6 months from the day revision 4 took effect.
        due_on = service.review_of(service.get_document("QP-07")).due_on
        assert due_on.month == (today.month + 5) % 12 + 1
        assert cells(listed)[4] == local_date(due_on)

    auth.logout()
    auth.as_role("supervisor")
    assert client.get("/documents/new").status_code == 403
    assert client.get("/documents/QP-07").status_code == 200
    client.post("/language", data={"language": "zh_Hans_CN"})
    assert one(client.get("/documents").text, "h1").text(strip=True) == "文件"


def test_a_standard_revision_names_an_approved_revision_of_a_registered_document(app, register):
    author, approver = register
    add_revision(author, "3", plant_today())
    with app.app_context():
        # A document not in the register is named in words only.
        assert service.registered_revision("QS-OTHER", "2") is None
        with pytest.raises(ValidationError) as refused:
            service.registered_revision("qp-07", "3")
        assert set(refused.value.fields) == {"revision"}
        assert refused.value.fields["revision"] == "QP-07 has no approved revision 3 (approved: —)."
    approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    with app.app_context():
        assert service.registered_revision("QP-07", "3").revision == "3"


def test_the_loose_button_storys_standard_revision_links_the_registered_revision_and_the_8d_report_names_it(
    app,
    floor,  # noqa: F811
    api,
    auth,
    client,
):
    """Story 1 with its stitch-density standard QS-ACC-07 in the register: revision C, approved, in effect."""
    author, approver = api("quality_manager"), api("quality_manager")
    author.post(
        "/api/v1/documents", json={"code": "QS-ACC-07", "title": "Snap attachment standard", "kind": "standard"}
    )
    revised = author.post(
        "/api/v1/documents/QS-ACC-07/revisions",
        data=revision_form("C", plant_today(), pdf("QS-ACC-07 C")),
        content_type="multipart/form-data",
    )
    assert revised.status_code == 201
    approver.post("/api/v1/documents/QS-ACC-07/revisions/C/approval", json={"password": PASSWORD})
    number = play_loose_button_story(floor)
    auth.login(floor.qm_name)
    report = one(client.get(f"/nc/{number}/report").text, "main").text()
    report = " ".join(report.split())
    assert "QS-ACC-07 · revision C (Snap attachment standard, in effect from" in report
    # The revision's approval is signed: the report names who signed it.
    signer = approver.get("/api/v1/me").json["username"]
    assert f"approved and signed by {signer})" in report


def test_a_periodic_review_that_changes_nothing_moves_the_next_review_on(app, register, api, client, auth):
    author, approver = register
    today = plant_today()
    nothing = author.post("/api/v1/documents/QP-07/review", json={"note": "Checked against GB 31701"})
    assert nothing.status_code == 409 and set(nothing.json["error"]["fields"]) == {"document"}
    add_revision(author, "3", today - timedelta(days=400))
    approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    assert author.get("/api/v1/documents/QP-07").json["review_overdue"] is True
    no_note = author.post("/api/v1/documents/QP-07/review", json={"note": " "})
    assert no_note.status_code == 400 and set(no_note.json["error"]["fields"]) == {"note"}
    assert api("supervisor").post("/api/v1/documents/QP-07/review", json={"note": "x"}).status_code == 403
    reviewed = author.post("/api/v1/documents/QP-07/review", json={"note": "Checked against GB 31701; no change"})
    assert reviewed.status_code == 200
    assert (reviewed.json["current"], reviewed.json["reviewed_on"], reviewed.json["review_overdue"]) == (
        "3",
        today.isoformat(),
        False,
    )
    assert date.fromisoformat(reviewed.json["review_due_on"]) > today + timedelta(days=360)
    history = author.get("/api/v1/documents/QP-07").json
    assert "QP-07" not in [d["code"] for d in author.get("/api/v1/documents?due=true").json["items"]]
    assert history["revisions"][0]["revision"] == "3"

    # The page offers the review while a revision is in effect, and keeps a refused note's field marked.
    auth.as_role("quality_manager")
    refused = client.post("/documents/QP-07/review", data={"review-note": ""})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"review-note"}
    assert client.post("/documents/QP-07/review", data={"review-note": "Second look"}).status_code == 302
    assert "confirmed unchanged" in one(client.get("/documents/QP-07").text, "dl.facts").text()


def test_the_register_downloads_as_csv_and_xlsx(app, api, auth, client):
    """The register with each document's revision in effect, its signed approver and its next review."""
    author, approver = api("quality_manager"), api("quality_manager")
    created = author.post(
        "/api/v1/documents", json={"code": "QP-07", "title": "Incoming inspection", "kind": "procedure"}
    )
    assert created.status_code == 201
    today = plant_today()
    assert add_revision(author, "3", today - timedelta(days=30), pdf("rev 3")).status_code == 201
    approver.post("/api/v1/documents/QP-07/revisions/3/approval", json={"password": PASSWORD})
    name = approver.get("/api/v1/me").json["username"]
    author.post("/api/v1/documents", json={"code": "WI-12", "title": "Needle policy", "kind": "work_instruction"})
    auth.as_role("supervisor")
    listing = client.get("/documents")
    assert "/documents?format=csv" in listing.text
    download = client.get("/documents?format=csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Code", "Title", "Kind", "Current revision"]
    assert rows[1][:6] == [
        "QP-07",
        "Incoming inspection",
        "Procedure",
        "3",
        (today - timedelta(days=30)).isoformat(),
        name,
    ]
    assert rows[2][:4] == ["WI-12", "Needle policy", "Work instruction", ""] and rows[2][-1] == "yes"
    workbook = load_workbook(io.BytesIO(client.get("/documents?format=xlsx").data))
    sheet = workbook.active
    assert [cell.value for cell in sheet[2]][:4] == ["QP-07", "Incoming inspection", "Procedure", "3"]
