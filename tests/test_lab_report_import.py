"""Lab reports imported from a laboratory's CSV or XLSX export: from the command line
(``flask --app capa import lab-report FILE --user NAME``) and through the upload page with its preview.

Every row is checked first; each problem is reported with its spreadsheet row (the header is row 1), its column
and the reason, and nothing is stored when there is any. The example file is tests/data/lab-report.csv (a copy
of docs/lab-report-example.csv); its GB18030 and XLSX variants are made here from the same rows.
"""

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety.importing import import_lab_reports
from capa.safety.models import Laboratory, LabReport, LabResult
from tests.pages import one, text

EXAMPLE = Path(__file__).parent / "data" / "lab-report.csv"
DOCS_EXAMPLE = Path(__file__).parent.parent / "docs" / "lab-report-example.csv"
CHINESE = {
    "laboratory": "检测机构",
    "cnas_number": "CNAS编号",
    "cma_number": "CMA编号",
    "report_number": "报告编号",
    "sample_description": "样品描述",
    "colourway": "颜色",
    "component": "部位",
    "batch": "批次",
    "lots": "物料批号",
    "sample_date": "收样日期",
    "test_date": "检测日期",
    "report_date": "报告日期",
    "parameter": "检测项目",
    "value": "结果",
    "reporting_limit": "报告限",
    "na_reason": "不适用原因",
    "lot": "试样批号",
}


@pytest.fixture
def world(app, make_user):
    """Batch B-2026-7 of the category A romper RMP-A (CMIA, no prints), which lists no colourways yet, from
    fabric lots F-2026-11 and F-2026-12 and trim lot T-2026-03; the quality manager qm1."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "MILL", "name": "Fabric mill"}))
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
                    {"number": number, "kind": kind, "supplier": "MILL"}
                    for number, kind in (("F-2026-11", "fabric"), ("F-2026-12", "fabric"), ("T-2026-03", "trim"))
                ],
            },
        )
    )
    return make_user("quality_manager", "qm1")


def example_rows() -> list[dict[str, str]]:
    with EXAMPLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def as_csv(rows: list[dict[str, str]], *, headers: dict[str, str] | None = None, encoding="utf-8") -> bytes:
    out = io.StringIO()
    names = list(rows[0])
    writer = csv.writer(out)
    writer.writerow([(headers or {}).get(name, name) for name in names])
    writer.writerows([row[name] for name in names] for row in rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: list[dict[str, str]]) -> bytes:
    """The rows as a workbook, dates as Excel date cells and numbers as number cells, as a lab's export has them."""
    frame = pd.DataFrame(rows)
    for column in ("sample_date", "test_date", "report_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame["value"] = [float(value) if value.replace(".", "", 1).isdigit() else value for value in frame["value"]]
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (LabReport, LabResult, Laboratory))


def test_the_example_in_the_docs_is_the_one_tested():
    assert EXAMPLE.read_bytes() == DOCS_EXAMPLE.read_bytes()


# The service ---------------------------------------------------------------------------------------------


def test_the_example_file_gives_two_reports_judged(app, world):
    outcome = import_lab_reports(EXAMPLE.read_bytes(), "lab-report.csv", world, dry_run=False)
    assert outcome.errors == []
    assert counts() == (2, 14, 1)
    navy, red = sorted(outcome.reports, key=lambda report: report.number)
    assert (navy.number, navy.colourway, red.colourway) == ("SGS-SH-2026-0042", "navy", "red")
    assert [lot.number for lot in navy.lots] == ["F-2026-11", "T-2026-03"]
    verdicts = {(r.report.colourway, r.parameter.code): (r.verdict, r.reported) for r in navy.results + red.results}
    assert verdicts[("navy", "CN-FORM")] == ("pass", "ND")
    assert verdicts[("navy", "CN-CF-WATER")] == ("pass", "4级")
    assert verdicts[("navy", "CN-LABEL-18401")] == ("pass", "合格")
    assert verdicts[("navy", "CN-PB")] == ("not_applicable", "N/A")
    assert verdicts[("red", "CN-FORM")] == ("pass", "<20")
    assert verdicts[("red", "CN-CF-SALIVA")] == ("fail", "3-4")
    assert navy.laboratory.accreditation == "CNAS L0599; CMA 201919000123"
    assert masterdata.get_batch("B-2026-7").colourways == ["navy", "red"]


def test_a_dry_run_checks_and_stores_nothing(app, world):
    outcome = import_lab_reports(EXAMPLE.read_bytes(), "lab-report.csv", world, dry_run=True)
    assert outcome.errors == []
    assert (len(outcome.checked), outcome.result_count) == (2, 14)
    assert counts() == (0, 0, 0)


def test_every_bad_row_is_reported_with_its_row_and_column_and_nothing_is_stored(app, world):
    rows = example_rows()
    rows[2]["value"] = "lots"  # row 4: CN-AZO
    rows[4]["parameter"] = "CN-NOPE"  # row 6
    rows[7]["na_reason"] = ""  # row 9: CN-PB N/A without a reason
    rows[9]["colourway"] = "blue"  # row 11: differs from the report's first row (row 10)
    rows[12]["test_date"] = "2026-11-20"  # row 14: differs too
    for row in rows[8:]:
        row["lots"] = "F-2026-99"  # rows 10 to 15: the red report's lot is not the batch's (named at its row 10)
    outcome = import_lab_reports(as_csv(rows), "bad.csv", world, dry_run=False)
    found = {(error.row, error.column): error.reason for error in outcome.errors}
    assert set(found) == {
        (4, "value"),
        (6, "parameter"),
        (9, "na_reason"),
        (11, "colourway"),
        (14, "test_date"),
        (10, "lots"),
    }
    assert found[(11, "colourway")] == "Differs from row 10 of the same report (red)."
    assert found[(10, "lots")] == "Lot F-2026-99 is not used in batch B-2026-7."
    assert "CN-NOPE" in found[(6, "parameter")]
    assert outcome.errors == sorted(outcome.errors)
    assert outcome.reports == [] and outcome.checked == []
    assert counts() == (0, 0, 0)
    assert masterdata.get_batch("B-2026-7").colourways == []


def test_unknown_and_missing_columns_are_problems_of_the_header(app, world):
    rows = [{k: v for k, v in row.items() if k != "report_date"} | {"remarks": "x"} for row in example_rows()]
    errors = import_lab_reports(as_csv(rows), "x.csv", world, dry_run=False).errors
    assert [(e.row, e.column, e.reason) for e in errors] == [
        (1, "remarks", "Unknown column."),
        (1, "report_date", "This column is missing."),
    ]


def test_a_report_number_already_recorded_or_twice_in_the_file_is_refused(app, world):
    import_lab_reports(EXAMPLE.read_bytes(), "lab-report.csv", world, dry_run=False)
    errors = import_lab_reports(EXAMPLE.read_bytes(), "again.csv", world, dry_run=False).errors
    assert [(e.row, e.column) for e in errors] == [(2, "report_number"), (10, "report_number")]
    assert errors[0].reason == ("Report SGS-SH-2026-0042 is already recorded: laboratory SGS Shanghai, batch B-2026-7.")
    assert counts() == (2, 14, 1)

    rows = example_rows()
    for row in rows[8:]:
        row |= {"laboratory": "Intertek Guangzhou", "report_number": "IT-1", "cnas_number": "L0220", "cma_number": ""}
    rows[9]["report_number"] = "it-1"
    rows[0:8] = []
    rows[0:0] = [dict(rows[0], laboratory="CTI Shenzhen", cnas_number="L0001", report_number="IT-1")]
    errors = import_lab_reports(as_csv(rows), "twice.csv", world, dry_run=True).errors
    assert [(e.row, e.column) for e in errors] == [(3, "report_number")]
    assert "also in row 2 of this file" in errors[0].reason


def test_one_laboratory_with_two_accreditation_numbers_in_one_file_is_refused(app, world):
    rows = example_rows()
    second = rows[-1]["report_number"]
    first_row_of_second = 2 + next(i for i, row in enumerate(rows) if row["report_number"] == second)
    for row in rows:
        if row["report_number"] == second:
            row["cnas_number"] = "CNAS L9999"
    errors = import_lab_reports(as_csv(rows), "two-numbers.csv", world, dry_run=True).errors
    assert [(e.row, e.column) for e in errors] == [(first_row_of_second, "cnas_number")]
    assert "CNAS L0599" in errors[0].reason and "row 2" in errors[0].reason
    assert counts() == (0, 0, 0)


def test_a_gb18030_file_with_chinese_headers_and_names(app, world):
    rows = example_rows()
    rows[0]["parameter"] = "甲醛含量"  # the catalog's Chinese name of CN-FORM
    for row in rows[:8]:
        row["component"] = "成衣"
    for row in rows:
        row["test_date"] = row["test_date"].replace("-", "/")
    data = as_csv(rows, headers=CHINESE, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    bad = example_rows()
    bad[1]["value"] = "很高"
    errors = import_lab_reports(as_csv(bad, headers=CHINESE, encoding="gb18030"), "x.csv", world, dry_run=True).errors
    assert [(e.row, e.column) for e in errors] == [(3, "结果")]

    outcome = import_lab_reports(data, "报告.csv", world, dry_run=False)
    assert outcome.errors == []
    assert counts() == (2, 14, 1)
    formaldehyde = db.session.scalar(select(LabResult).where(LabResult.reported == "ND").order_by(LabResult.id))
    assert formaldehyde.parameter.code == "CN-FORM"


def test_a_utf8_file_with_a_byte_order_mark(app, world):
    data = "\ufeff".encode() + EXAMPLE.read_bytes()
    assert import_lab_reports(data, "bom.csv", world, dry_run=True).errors == []


def test_an_xlsx_export(app, world):
    rows = example_rows()
    outcome = import_lab_reports(as_xlsx(rows), "lab-report.xlsx", world, dry_run=False)
    assert outcome.errors == []
    assert counts() == (2, 14, 1)
    for row in rows:
        row["report_number"] += "-B"
    rows[5]["value"] = "grey"
    errors = import_lab_reports(as_xlsx(rows), "bad.xlsx", world, dry_run=True).errors
    assert [(e.row, e.column) for e in errors] == [(7, "value")]


def test_an_xlsx_cell_formatted_as_a_percentage_is_read_as_the_lab_sees_it(app, world):
    # Excel keeps 0.5% as 0.005: read raw, a formaldehyde of "0.005" would pass; shown, it is 0.5 %, not mg/kg.
    rows = example_rows()[:1]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    sheet.append([rows[0][name] for name in rows[0]])
    value = sheet.cell(row=2, column=list(rows[0]).index("value") + 1)
    value.value, value.number_format = 0.005, "0.0%"
    out = io.BytesIO()
    workbook.save(out)
    errors = import_lab_reports(out.getvalue(), "percent.xlsx", world, dry_run=True).errors
    assert [(e.row, e.column) for e in errors] == [(2, "value")]
    assert "mg/kg" in errors[0].reason


def test_an_xlsx_whose_parts_are_broken_is_refused_not_answered_with_an_error_page(app, world, client, auth):
    good = io.BytesIO(as_xlsx(example_rows()))
    broken = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, b"<worksheet><unclosed" if item.filename.startswith("xl/worksheets/") else data)
    outcome = import_lab_reports(broken.getvalue(), "broken.xlsx", world, dry_run=True)
    assert outcome.errors and outcome.errors[0].row == 1
    auth.as_role("quality_manager")
    page = client.post(
        "/lab-reports/import",
        data={"file": (io.BytesIO(broken.getvalue()), "broken.xlsx")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 400
    assert "cannot be read as an XLSX workbook" in text(page.text)
    assert counts() == (0, 0, 0)


def test_a_file_that_is_no_table_is_refused_by_its_bytes(app, world):
    for data in (b"%PDF-1.4 not a table", b"PK\x03\x04 broken zip", b"\xd0\xcf\x11\xe0 old excel", b""):
        outcome = import_lab_reports(data, "lab-report.csv", world, dry_run=False)
        assert outcome.errors and outcome.errors[0].row == 1, data
    assert counts() == (0, 0, 0)


# The command line ----------------------------------------------------------------------------------------


def test_the_command_imports_a_good_file(app, world, runner):
    result = runner.invoke(args=["import", "lab-report", str(EXAMPLE), "--user", "qm1"])
    assert result.exit_code == 0, result.output
    assert "Stored 2 reports with 14 results" in result.output
    assert counts() == (2, 14, 1)


def test_the_command_prints_each_problem_and_exits_with_1(app, world, runner, tmp_path):
    rows = example_rows()
    rows[2]["value"] = "lots"
    rows[7]["na_reason"] = ""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(as_csv(rows))
    result = runner.invoke(args=["import", "lab-report", str(bad), "--user", "qm1"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("row ")]
    assert len(lines) == 2
    assert lines[0].startswith("row 4, value: ")
    assert lines[1].startswith("row 9, na_reason: ")
    assert "nothing was stored" in result.output
    assert counts() == (0, 0, 0)

    assert runner.invoke(args=["import", "lab-report", str(EXAMPLE), "--user", "nobody"]).exit_code == 1
    assert counts() == (0, 0, 0)


def test_the_command_refuses_a_user_who_may_not_record_results(app, world, runner, make_user):
    make_user("supervisor", "sup1")
    result = runner.invoke(args=["import", "lab-report", str(EXAMPLE), "--user", "sup1"])
    assert result.exit_code == 1
    assert "may not record lab results" in result.output
    assert counts() == (0, 0, 0)


# The upload page -----------------------------------------------------------------------------------------


def upload(client, data: bytes, name: str):
    return client.post(
        "/lab-reports/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def test_the_upload_page_previews_and_the_confirmation_imports_that_file(app, world, client, auth):
    auth.login("qm1")
    page = client.get("/lab-reports/import")
    assert page.status_code == 200
    assert one(page.text, "h1").text() == "Import lab reports"
    assert one(page.text, 'label[for="file"]')

    preview = upload(client, EXAMPLE.read_bytes(), "lab-report.csv")
    assert preview.status_code == 200
    assert "2 reports with 14 results" in text(preview.text)
    rows = preview.text.count("<tr><td>")
    assert rows == 14
    assert "verdict-fail" in preview.text
    assert counts() == (0, 0, 0)
    token = one(preview.text, 'input[name="token"]').attributes["value"]

    # Another user cannot confirm this file.
    auth.logout()
    auth.as_role("quality_manager")
    assert client.post("/lab-reports/import/confirm", data={"token": token}).status_code == 404
    auth.logout()
    auth.login("qm1")
    confirmed = client.post("/lab-reports/import/confirm", data={"token": token})
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/batches/B-2026-7"
    assert counts() == (2, 14, 1)
    # Confirmed once: the kept file is gone.
    assert client.post("/lab-reports/import/confirm", data={"token": token}).status_code == 404
    assert counts() == (2, 14, 1)


def test_the_upload_page_lists_every_problem_and_offers_no_confirmation(app, world, client, auth):
    auth.login("qm1")
    rows = example_rows()
    rows[2]["value"] = "lots"
    response = upload(client, as_xlsx(rows), "bad.xlsx")
    assert response.status_code == 400
    table = one(response.text, "table.import-errors")
    assert "4" in text(table) and "value" in text(table)
    assert 'name="token"' not in response.text
    assert counts() == (0, 0, 0)
    assert upload(client, b"", "empty.csv").status_code == 400


def test_a_supervisor_cannot_import(app, world, client, auth):
    auth.as_role("supervisor")
    assert client.get("/lab-reports/import").status_code == 403
    assert upload(client, EXAMPLE.read_bytes(), "lab-report.csv").status_code == 403
    assert counts() == (0, 0, 0)
