"""Lab reports as records: one laboratory's report with many results, judged when recorded, with its PDF.

Through the API (``/api/v1/lab-reports``, ``/api/v1/laboratories``), the service, and the pages (the new report
form of a batch, the report page). What was stored is read back through the database, so a refused request
cannot pass for a stored one.
"""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from capa.common import files
from capa.common.commands import parse
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety import reports, service
from capa.safety.commands import NewLabReport, NewResult
from capa.safety.models import Laboratory, LabReport, LabResult
from tests.pages import errors_in, field_block, input_value, one, text

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
HTML_AS_PDF = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture
def world(app):
    """Batch B-2026-7 of the category A romper RMP-A (CMIA, no prints) made in navy and red from fabric lots
    F-2026-11 and F-2026-12 and trim lot T-2026-03; batch B-2026-8 of the same style, which lists no colourway,
    from fabric lot F-2026-13."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "MILL", "name": "Fabric mill"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAPS", "name": "Snaps Co"}))
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-A", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-2026-7",
                "style": "RMP-A",
                "line": "L1",
                "lots": [
                    {"number": "F-2026-11", "kind": "fabric", "supplier": "MILL"},
                    {"number": "F-2026-12", "kind": "fabric", "supplier": "MILL"},
                    {"number": "T-2026-03", "kind": "trim", "supplier": "SNAPS"},
                ],
            },
        )
    )
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-2026-8",
                "style": "RMP-A",
                "line": "L1",
                "lots": [{"number": "F-2026-13", "kind": "fabric", "supplier": "MILL"}],
            },
        )
    )
    with unit_of_work():
        masterdata.get_batch("B-2026-7").colourways = ["navy", "red"]


def body(**overrides) -> dict:
    """A navy whole-garment report of SGS Shanghai on B-2026-7, with four results."""
    return {
        "laboratory": {"name": "SGS Shanghai", "cnas_number": "CNAS L0599", "cma_number": "201919000123"},
        "number": "SGS-SH-2026-0042",
        "sample_description": "Infant romper, 100% cotton knit",
        "colourway": "navy",
        "component": "whole_garment",
        "batch": "B-2026-7",
        "lots": ["F-2026-11"],
        "sample_date": "2026-11-02",
        "test_date": "2026-11-04",
        "report_date": "2026-11-09",
        "results": [
            {"parameter": "CN-FORM", "value": "ND"},
            {"parameter": "CN-AZO", "value": "<20"},
            {"parameter": "CN-CF-WATER", "value": "4级"},
            {"parameter": "CN-CF-SALIVA", "value": "3-4", "lot": "F-2026-11"},
        ],
        **overrides,
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def stored() -> tuple[int, int, int]:
    return count(LabReport), count(LabResult), count(Laboratory)


@pytest.fixture
def qm(api, world):
    return api("quality_manager")


def record(qm, **overrides):
    response = qm.post("/api/v1/lab-reports", json=body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def refused(qm, status=400, **overrides) -> dict[str, str]:
    before = stored()
    response = qm.post("/api/v1/lab-reports", json=body(**overrides))
    assert response.status_code == status, response.json
    assert stored() == before, "nothing is stored when the report is refused"
    return response.json["error"]["fields"]


# Recording a report -------------------------------------------------------------------------------------


def test_a_report_is_one_record_with_its_results_judged(qm):
    report = record(qm)
    assert report["number"] == "SGS-SH-2026-0042"
    assert report["laboratory"]["name"] == "SGS Shanghai"
    assert report["laboratory"]["cnas_number"] == "L0599"
    assert report["laboratory"]["accreditation"] == "CNAS L0599; CMA 201919000123"
    assert (report["batch"], report["colourway"], report["component"]) == ("B-2026-7", "navy", "whole_garment")
    assert report["lots"] == ["F-2026-11"]
    assert (report["sample_date"], report["test_date"], report["report_date"]) == (
        "2026-11-02",
        "2026-11-04",
        "2026-11-09",
    )
    assert report["pdf"] is None
    verdicts = {r["parameter"]: (r["verdict"], r["reported"]) for r in report["results"]}
    assert verdicts == {
        "CN-FORM": ("pass", "ND"),
        "CN-AZO": ("pass", "<20"),
        "CN-CF-WATER": ("pass", "4级"),
        "CN-CF-SALIVA": ("fail", "3-4"),
    }
    formaldehyde = report["results"][0]
    # ND on formaldehyde, category A: passes through the catalog's reporting limit of 20 (at the limit).
    assert formaldehyde["reporting_limit"] == "20"
    assert formaldehyde["category"] == "A"
    for result in report["results"]:
        assert result["report_id"] == report["id"]
        assert (result["lab"], result["report_number"], result["tested_at"]) == (
            "SGS Shanghai",
            "SGS-SH-2026-0042",
            "2026-11-04",
        )
        assert (result["batch"], result["colourway"], result["component"]) == ("B-2026-7", "navy", "whole_garment")
    assert report["results"][3]["lot"] == "F-2026-11"

    again = qm.get(f"/api/v1/lab-reports/{report['id']}")
    assert again.status_code == 200
    assert again.json == report
    listed = qm.get("/api/v1/lab-reports?batch=B-2026-7").json["items"]
    assert [entry["id"] for entry in listed] == [report["id"]]
    assert qm.get("/api/v1/lab-reports?batch=B-2026-8").json["items"] == []
    assert qm.get("/api/v1/lab-reports?batch=NOPE").status_code == 400
    # The batch's results show the report's rows as well.
    batch_results = qm.get("/api/v1/batches/B-2026-7/results").json["items"]
    assert {r["report_id"] for r in batch_results} == {report["id"]}


def test_an_unknown_report_is_404(qm):
    for path in ("/api/v1/lab-reports/999", "/api/v1/lab-reports/999/pdf", "/api/v1/lab-reports/x"):
        assert qm.get(path).status_code == 404, path


def test_not_applicable_needs_a_parameter_that_does_not_apply_and_a_reason(qm):
    fields = refused(qm, results=[{"parameter": "CN-FORM", "value": "N/A", "na_reason": "Not tested"}])
    assert "CN-FORM applies to this garment" in fields["results[0].value"]
    fields = refused(qm, results=[{"parameter": "CN-PB", "value": "N/A"}])
    assert "results[0].na_reason" in fields

    report = record(qm, results=[{"parameter": "CN-PB", "value": "N/A", "na_reason": "No print on this style."}])
    [lead] = report["results"]
    assert (lead["verdict"], lead["na_reason"], lead["reported"]) == (
        "not_applicable",
        "No print on this style.",
        "N/A",
    )


def test_every_bad_row_is_named_and_nothing_is_stored(qm):
    rows = [
        {"parameter": "CN-FORM", "value": "12"},
        {"parameter": "CN-PH", "value": "6.5"},
        {"parameter": "CN-FORM", "value": "lots"},
        {"parameter": "NO-SUCH", "value": "1"},
        {"parameter": "CN-PH", "value": "15"},
        {"parameter": "CN-CF-WATER", "value": ""},
    ]
    # A malformed cell is named first; the rows are judged once every cell is well formed.
    assert set(refused(qm, results=rows)) == {"results[5].value"}
    fields = refused(qm, results=[*rows[:5], {"parameter": "CN-CF-WATER", "value": "4"}])
    assert set(fields) == {
        "results[2].parameter",
        "results[3].parameter",
        "results[4].parameter",
    }
    assert "listed twice" in fields["results[2].parameter"]
    assert "NO-SUCH" in fields["results[3].parameter"]

    fields = refused(qm, results=[{"parameter": "CN-FORM", "value": "12"}, {"parameter": "CN-PH", "value": "high"}])
    assert set(fields) == {"results[1].value"}
    assert refused(qm, results=[])["results"]
    assert refused(qm, laboratory={"name": ""}, number=" ", component="sleeve").keys() >= {
        "laboratory.name",
        "number",
        "component",
    }


def test_a_report_number_is_used_once_whichever_laboratory(qm):
    record(qm)
    duplicate = qm.post("/api/v1/lab-reports", json=body(colourway="red"))
    assert duplicate.status_code == 409
    message = "Report SGS-SH-2026-0042 is already recorded: laboratory SGS Shanghai, batch B-2026-7."
    assert duplicate.json["error"]["code"] == "duplicate"
    assert duplicate.json["error"]["fields"] == {"number": message}

    other_lab = {"name": "Intertek Guangzhou", "cnas_number": "L0220"}
    before = stored()
    response = qm.post(
        "/api/v1/lab-reports",
        json=body(
            laboratory=other_lab,
            number="sgs-sh-2026-0042",
            batch="B-2026-8",
            colourway="",
            lots=[],
            results=[{"parameter": "CN-PH", "value": "6"}],
        ),
    )
    assert response.status_code == 409
    assert response.json["error"]["fields"]["number"] == message
    assert stored() == before


def test_a_report_number_of_results_entered_on_another_batch_is_refused(app, qm, make_user):
    service.record_result(
        masterdata.get_batch("B-2026-8"),
        parse(
            NewResult,
            {
                "parameter": "CN-PH",
                "value": "6",
                "lab": "CTI",
                "report_number": "CTI-9",
                "tested_at": "2026-10-01",
            },
        ),
        make_user("quality_manager"),
    )
    fields = refused(qm, 409, number="CTI-9")
    assert fields["number"] == "Report CTI-9 is already recorded: laboratory CTI, batch B-2026-8."


def test_lots_must_be_lots_of_the_batch(qm):
    fields = refused(qm, lots=["F-2026-11", "F-2026-13", "F-2026-11"])
    assert fields == {
        "lots[1]": "Lot F-2026-13 is not used in batch B-2026-7.",
        "lots[2]": "Listed twice.",
    }
    fields = refused(qm, results=[{"parameter": "CN-FORM", "value": "ND", "lot": "F-2026-13"}])
    assert fields == {"results[0].lot": "Lot F-2026-13 is not used in batch B-2026-7."}
    assert refused(qm, batch="B-404")["batch"] == "No batch B-404."


def test_dates_run_sample_then_test_then_report_and_none_is_in_the_future(qm):
    fields = refused(qm, sample_date="2026-11-05", test_date="2026-11-04", report_date="2026-11-03")
    assert fields == {
        "sample_date": "Cannot be after the test date (2026-11-04).",
        "report_date": "Cannot be before the test date (2026-11-04).",
    }
    fields = refused(qm, test_date="2099-01-01", report_date="2099-01-02")
    assert fields["test_date"] == "Cannot be in the future."
    assert fields["report_date"] == "Cannot be in the future."
    record(qm, sample_date=None, test_date="2026-11-04", report_date="2026-11-04")


def test_a_batch_that_lists_colourways_takes_reports_on_one_of_them(qm):
    fields = refused(qm, colourway="green")
    assert fields == {"colourway": "Must be one of the colourways of batch B-2026-7: navy, red."}
    assert "colourway" in refused(qm, colourway="")
    assert record(qm, colourway="RED")["colourway"] == "red"


def test_a_batch_that_lists_none_learns_the_colourway_of_its_report(qm):
    record(
        qm, batch="B-2026-8", lots=["F-2026-13"], colourway="sky blue", results=[{"parameter": "CN-PH", "value": "6"}]
    )
    assert masterdata.get_batch("B-2026-8").colourways == ["sky blue"]
    record(qm, number="X-2", batch="B-2026-8", lots=[], colourway="", results=[{"parameter": "CN-PH", "value": "6"}])
    assert masterdata.get_batch("B-2026-8").colourways == ["sky blue"]


def test_a_report_on_material_alone_is_judged_for_the_category_given(qm):
    assert refused(qm, batch=None, lots=[], colourway="")["category"].startswith("Give the batch")
    fields = refused(qm, batch=None, category="A", lots=["F-404"])
    assert fields == {"lots[0]": "No material lot F-404."}
    report = record(
        qm,
        batch=None,
        category="A",
        component="fabric",
        lots=["F-2026-13"],
        results=[{"parameter": "CN-FORM", "value": "35"}],
    )
    assert report["batch"] is None
    assert report["lots"] == ["F-2026-13"]
    assert report["results"][0]["verdict"] == "fail"
    assert refused(qm, number="Y", category="B")["category"] == "Batch B-2026-7 is of style RMP-A, category A."


def test_a_laboratory_is_found_by_name_and_keeps_its_accreditation(qm):
    record(qm)
    record(qm, number="N-2", colourway="red", laboratory={"name": "sgs shanghai"})
    assert count(Laboratory) == 1
    fields = refused(qm, number="N-3", colourway="red", laboratory={"name": "SGS SHANGHAI", "cnas_number": "L9999"})
    assert fields == {"laboratory.cnas_number": "SGS Shanghai is recorded with L0599."}
    fields = refused(qm, number="N-4", colourway="red", laboratory={"name": "Backyard lab"})
    assert "accreditation" in fields["laboratory.cnas_number"]


def test_laboratories_through_the_api(qm, api):
    created = qm.post("/api/v1/laboratories", json={"name": "TÜV SÜD Shanghai", "iso17025": "DAkkS D-PL-11321"})
    assert created.status_code == 201
    assert created.json["accreditation"] == "DAkkS D-PL-11321"
    assert qm.post("/api/v1/laboratories", json={"name": "tüv süd shanghai", "cnas_number": "L1"}).status_code == 409
    assert qm.post("/api/v1/laboratories", json={"name": "No papers"}).json["error"]["fields"].keys() == {"cnas_number"}
    listed = api("supervisor").get("/api/v1/laboratories")
    assert [lab["name"] for lab in listed.json["items"]] == ["TÜV SÜD Shanghai"]
    assert api("supervisor").post("/api/v1/laboratories", json={"name": "X", "cnas_number": "L2"}).status_code == 403


def test_a_supervisor_reads_reports_but_records_none(qm, api):
    report = record(qm)
    supervisor = api("supervisor")
    before = stored()
    assert supervisor.post("/api/v1/lab-reports", json=body(number="S-1")).status_code == 403
    assert (
        supervisor.put(f"/api/v1/lab-reports/{report['id']}/pdf", data=PDF, content_type="application/pdf").status_code
        == 403
    )
    assert stored() == before
    assert supervisor.get(f"/api/v1/lab-reports/{report['id']}").status_code == 200
    assert api(None).get(f"/api/v1/lab-reports/{report['id']}").status_code == 401


# The report's PDF ---------------------------------------------------------------------------------------


def stored_files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "files"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_the_pdf_is_attached_by_its_bytes_and_served_privately(app, qm, api, client):
    report = record(qm)
    response = client.put(
        f"/api/v1/lab-reports/{report['id']}/pdf",
        data=PDF,
        content_type="application/pdf",
        headers={**qm.headers, "Content-Disposition": 'attachment; filename="SGS-SH-2026-0042.pdf"'},
    )
    assert response.status_code == 200, response.json
    pdf = response.json["pdf"]
    assert pdf["name"] == "SGS-SH-2026-0042.pdf"
    assert pdf["size"] == len(PDF)
    assert len(pdf["sha256"]) == 64
    assert pdf["url"] == f"/api/v1/lab-reports/{report['id']}/pdf"
    [key] = stored_files(app)
    assert key.endswith(".pdf") and "SGS" not in key

    served = api("supervisor").get(pdf["url"])
    assert served.status_code == 200
    assert served.data == PDF
    assert served.mimetype == "application/pdf"
    assert "private" in served.headers["Cache-Control"]
    assert "SGS-SH-2026-0042.pdf" in served.headers["Content-Disposition"]

    # A new PDF (a form's field this time) replaces the first, whose file is removed.
    replaced = qm.put(
        f"/api/v1/lab-reports/{report['id']}/pdf",
        data={"pdf": (io.BytesIO(PDF + b"%second"), "报告.pdf")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["pdf"]["name"] == "报告.pdf"
    [new_key] = stored_files(app)
    assert new_key != key
    assert api("supervisor").get(pdf["url"]).data == PDF + b"%second"


def test_a_file_that_is_not_a_pdf_or_too_large_is_refused(app, qm):
    app.config["CAPA_REPORT_PDF_MAX_BYTES"] = 1000
    report = record(qm)
    url = f"/api/v1/lab-reports/{report['id']}/pdf"
    disguised = qm.put(url, data={"pdf": (io.BytesIO(HTML_AS_PDF), "report.pdf")}, content_type="multipart/form-data")
    assert disguised.status_code == 400
    assert disguised.json["error"]["fields"] == {"pdf": "report.pdf is not a PDF."}
    too_large = qm.put(url, data=PDF + b"0" * 1000, content_type="application/pdf")
    assert too_large.status_code == 400
    assert "larger than" in too_large.json["error"]["fields"]["pdf"]
    far_too_large = qm.put(url, data=PDF + b"0" * 200_000, content_type="application/pdf")
    assert far_too_large.status_code == 413
    assert qm.put(url, data=PDF, content_type="text/plain").json["error"]["fields"].keys() == {"pdf"}
    assert qm.put(url, data={}, content_type="multipart/form-data").status_code == 400
    assert stored_files(app) == []
    assert qm.get(url).status_code == 404
    assert qm.get(f"/api/v1/lab-reports/{report['id']}").json["pdf"] is None


def test_a_file_saved_in_a_failed_transaction_is_removed_again(app, world):
    with pytest.raises(RuntimeError), unit_of_work():
        key = files.save(PDF, ".pdf")
        assert files.read(key) == PDF
        raise RuntimeError("the record could not be stored")
    assert stored_files(app) == []
    with unit_of_work():
        kept = files.save(PDF, ".pdf")
    with pytest.raises(RuntimeError), unit_of_work():
        files.delete_after_commit(kept)
        raise RuntimeError("the change failed")
    assert files.read(kept) == PDF, "a failed change keeps the file its record still names"
    with unit_of_work():
        files.delete_after_commit(kept)
    assert stored_files(app) == []
    for key in ("../secret_key", kept, "X" * 32):
        with pytest.raises(Exception) as missing:
            files.read(key)
        assert missing.value.status == 404


def test_a_report_whose_commit_fails_leaves_no_file(app, qm, monkeypatch):
    report = reports.get_report(record(qm)["id"])

    def fail(*args, **kwargs):
        raise RuntimeError("disk full while committing")

    monkeypatch.setattr(db.session, "commit", fail)
    with pytest.raises(RuntimeError):
        reports.attach_pdf(report, "r.pdf", PDF, report.recorded_by)
    monkeypatch.undo()
    assert stored_files(app) == []
    assert reports.get_report(report.id).pdf_key == ""


def test_the_service_checks_before_it_stores(app, world):
    command = parse(NewLabReport, body())
    checked = reports.check_report(command)
    assert [row.evaluation.judgement.outcome for row in checked.rows] == ["pass", "pass", "pass", "fail"]
    assert stored() == (0, 0, 0)


# Pages --------------------------------------------------------------------------------------------------


def test_the_new_report_page_lists_the_plan_and_records_the_filled_rows(app, world, client, auth):
    auth.as_role("quality_manager")
    page = client.get("/batches/B-2026-7/lab-reports/new")
    assert page.status_code == 200
    assert one(page.text, "h1")
    plan_codes = [p.code for p in service.plan_parameters(masterdata.get_style("RMP-A"))[0]]
    rows = page.text.count('name="rows-')
    assert rows >= len(plan_codes) * 4
    for code in plan_codes:
        assert code in page.text
    index = {code: i for i, code in enumerate(plan_codes)}
    form = {
        "laboratory": "SGS Shanghai",
        "cnas_number": "L0599",
        "number": "SGS-SH-2026-0050",
        "colourway": "navy",
        "component": "whole_garment",
        "lots": ["F-2026-11"],
        "sample_date": "2026-11-02",
        "test_date": "2026-11-04",
        "report_date": "2026-11-09",
        f"rows-{index['CN-FORM']}-value": "ND",
        f"rows-{index['CN-CF-SALIVA']}-value": "4级",
        f"rows-{index['CN-CF-SALIVA']}-lot": "F-2026-11",
        f"rows-{index['CN-PH']}-value": "15",
    }
    for code, i in index.items():
        form[f"rows-{i}-parameter"] = code
    refused_page = client.post("/batches/B-2026-7/lab-reports/new", data=form)
    assert refused_page.status_code == 400
    cell = one(refused_page.text, f"#rows-{index['CN-PH']}-value").parent
    assert errors_in(cell.html), "the error is shown beside its cell"
    assert input_value(field_block(refused_page.text, "number")) == "SGS-SH-2026-0050"
    assert one(refused_page.text, f"#rows-{index['CN-FORM']}-value").attributes["value"] == "ND"
    assert count(LabReport) == 0

    form[f"rows-{index['CN-PH']}-value"] = "6.5"
    form["pdf"] = (io.BytesIO(PDF), "report.pdf")
    saved = client.post("/batches/B-2026-7/lab-reports/new", data=form, content_type="multipart/form-data")
    assert saved.status_code == 302, saved.text
    report = db.session.scalar(select(LabReport))
    assert saved.headers["Location"] == f"/lab-reports/{report.id}"
    assert sorted(r.parameter.code for r in report.results) == ["CN-CF-SALIVA", "CN-FORM", "CN-PH"]
    assert report.pdf_name == "report.pdf"

    shown = client.get(f"/lab-reports/{report.id}")
    assert shown.status_code == 200
    assert "SGS-SH-2026-0050" in one(shown.text, "h1").text()
    assert "CNAS L0599" in text(shown.text)
    assert f"/lab-reports/{report.id}/pdf" in shown.text
    assert "4级" in text(shown.text)
    pdf = client.get(f"/lab-reports/{report.id}/pdf")
    assert pdf.data == PDF and "private" in pdf.headers["Cache-Control"]
    batch_page = client.get("/batches/B-2026-7").text
    assert f"/lab-reports/{report.id}" in batch_page
    assert "/batches/B-2026-7/lab-reports/new" in batch_page


def refused_with_a_pdf(client, number: str, pdf_name: str) -> tuple[dict, str, str]:
    """A report form refused for its pH of 15 while a PDF came with it: (the form, the page, the PDF's token)."""
    plan_codes = [p.code for p in service.plan_parameters(masterdata.get_style("RMP-A"))[0]]
    index = {code: i for i, code in enumerate(plan_codes)}
    form = {
        "laboratory": "SGS Shanghai",
        "cnas_number": "L0599",
        "number": number,
        "colourway": "navy",
        "component": "whole_garment",
        "test_date": "2026-11-04",
        "report_date": "2026-11-09",
        f"rows-{index['CN-PH']}-value": "15",
        **{f"rows-{i}-parameter": code for code, i in index.items()},
    }
    refused_page = client.post(
        "/batches/B-2026-7/lab-reports/new",
        data={**form, "pdf": (io.BytesIO(PDF), pdf_name)},
        content_type="multipart/form-data",
    )
    assert refused_page.status_code == 400
    form[f"rows-{index['CN-PH']}-value"] = "6.5"
    return form, refused_page.text, one(refused_page.text, "#pdf_token").attributes["value"]


def test_a_refused_report_form_keeps_its_pdf_for_the_next_round(app, world, client, auth):
    auth.as_role("quality_manager")
    form, refused_page, token = refused_with_a_pdf(client, "SGS-SH-2026-0051", "SGS-0051.pdf")
    assert "Kept from your last try: SGS-0051.pdf" in text(refused_page)
    assert token
    assert count(LabReport) == 0

    # The next round sends no file: the kept one is attached.
    saved = client.post("/batches/B-2026-7/lab-reports/new", data={**form, "pdf_token": token})
    assert saved.status_code == 302, saved.text
    report = db.session.scalar(select(LabReport))
    assert (report.pdf_name, reports.read_pdf(report)) == ("SGS-0051.pdf", PDF)
    # Used once: the token is gone, and another person's token finds nothing.
    again = client.post(
        "/batches/B-2026-7/lab-reports/new", data={**form, "number": "SGS-SH-2026-0052", "pdf_token": token}
    )
    assert again.status_code == 302
    assert db.session.scalar(select(LabReport).where(LabReport.number == "SGS-SH-2026-0052")).pdf_key == ""


def test_a_kept_pdf_can_be_removed_before_the_next_round(app, world, client, auth):
    auth.as_role("quality_manager")
    form, _page, token = refused_with_a_pdf(client, "SGS-SH-2026-0053", "wrong.pdf")
    saved = client.post("/batches/B-2026-7/lab-reports/new", data={**form, "pdf_token": token, "pdf_discard": "y"})
    assert saved.status_code == 302, saved.text
    assert db.session.scalar(select(LabReport)).pdf_key == ""


def test_a_supervisor_may_read_the_report_page_but_not_record(app, world, client, auth, qm):
    report = record(qm)
    auth.as_role("supervisor")
    assert client.get(f"/lab-reports/{report['id']}").status_code == 200
    assert client.get("/batches/B-2026-7/lab-reports/new").status_code == 403
    assert client.post("/batches/B-2026-7/lab-reports/new", data={"number": "Z"}).status_code == 403
    assert "/lab-reports/new" not in client.get("/batches/B-2026-7").text
