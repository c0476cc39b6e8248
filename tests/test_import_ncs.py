"""Earlier non-conformances imported from a factory's spreadsheets (capa.capas.importing): from the command line
(``flask --app capa import ncs FILE --as USER [--skip-invalid]``), through the upload page with its preview and
column choices, and through ``POST /api/v1/imports/ncs``.

One sheet is used throughout, written with English or Chinese headers, as CSV in UTF-8 with a byte-order mark or
in GB18030, or as XLSX with real Excel dates: two NCs of 2025 (one closed with its action, one in investigation
with a failing formaldehyde result over two rows) and one of 2024 without a number in the sheet.
"""

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.audit import chain
from capa.capas import importing
from capa.capas.models import Action, Event, NonConformance, NumberCounter
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety.models import LabResult
from capa.web.capas.imports import wait_for_import
from tests.answers import ok, refused
from tests.conftest import PASSWORD, ApiClient
from tests.pages import one, options, selected_value, text, texts

PLANT = ZoneInfo("Asia/Shanghai")
ENGLISH = [
    "number", "title", "description", "defect type", "line", "style", "batch", "severity", "source",
    "report date", "status", "closed", "action", "owner", "due date", "parameter", "result", "unit", "remarks",
]  # fmt: skip
CHINESE = [
    "编号", "标题", "描述", "缺陷类型", "产线", "款号", "批次", "严重程度", "来源",
    "报告日期", "状态", "关闭日期", "纠正措施", "责任人", "截止日期", "参数", "结果", "单位", "备注",
]  # fmt: skip
#: The sheet as an English-speaking office writes it; dates as text (the XLSX writes them as Excel dates).
ROWS_EN = [
    ["H-1", "Loose snap on romper", "Snap came off at 50 N", "loose_button", "L1", "RMP-A", "B-2026-7", "major",
     "inline", "2025-03-05", "closed", "2025-03-20", "Re-set the snap press", "qm1", "2025-03-15", "", "", "", "ok"],
    ["H-2", "Formaldehyde over limit", "", "Formaldehyde over limit", "Sewing line 1", "RMP-A", "", "critical",
     "lab test", "2025/4/1", "investigation", "", "", "", "", "CN-FORM", "95", "mg/kg", ""],
    ["H-2", "", "", "", "", "", "", "", "", "", "", "", "Change the fixing agent", "Wang Fang", "2026-12-31",
     "", "", "", ""],
    ["", "", "Broken stitch at the side seam", "broken_stitch", "L1", "", "", "minor", "end of line",
     "2024-12-31", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip
#: The same sheet as a Chinese office writes it.
ROWS_ZH = [
    ["H-1", "连体衣四合扣松脱", "拉力50 N时脱落", "纽扣松脱", "L1", "RMP-A", "B-2026-7", "严重", "巡检",
     "2025年3月5日", "已关闭", "2025-03-20", "重新调整四合扣机", "qm1", "2025.3.15", "", "", "", "已核对"],
    ["H-2", "甲醛超标", "", "甲醛超标", "Sewing line 1", "RMP-A", "", "致命", "实验室检测", "2025/4/1", "调查中",
     "", "", "", "", "甲醛含量", "95", "mg/kg", ""],
    ["H-2", "", "", "", "", "", "", "", "", "", "", "", "更换固色剂", "Wang Fang", "2026-12-31", "", "", "", ""],
    ["", "", "侧缝断线", "断线", "L1", "", "", "轻微", "尾查", "20241231", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip
DATE_COLUMNS = {9: "reported", 11: "closed", 14: "due"}


def csv_bytes(headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([headers, *rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(headers: list[str], rows: list[list[str]]) -> bytes:
    """The sheet as Excel saves it: dates as Excel dates, the result as a number."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        cells: list = list(row)
        for index in DATE_COLUMNS:
            if cells[index]:
                cells[index] = excel_date(cells[index])
        if cells[16]:
            cells[16] = int(cells[16])
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_date(written: str) -> datetime:
    """A date written as the sheets here write them (2025年3月5日, 2025.3.15, 20241231…) as Excel holds it."""
    parts = re.findall(r"\d+", written)
    if len(parts) == 1:
        parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
    return datetime(*(int(part) for part in parts))


SHEETS = {
    "english-csv-utf8-bom": lambda: csv_bytes(ENGLISH, ROWS_EN),
    "chinese-csv-gb18030": lambda: csv_bytes(CHINESE, ROWS_ZH, "gb18030"),
    "chinese-xlsx": lambda: xlsx_bytes(CHINESE, ROWS_ZH),
}


@pytest.fixture
def world(app):
    """Line L1 ("Sewing line 1"); the category A romper RMP-A and its batch B-2026-7; the quality manager qm1
    (full name Wang Fang) and a supervisor."""
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
                "lots": [{"number": "T-2026-03", "kind": "trim", "supplier": "MILL"}],
            },
        )
    )
    qm = accounts.create_user(
        parse(NewUser, {"username": "qm1", "role": "quality_manager", "password": PASSWORD, "full_name": "Wang Fang"})
    )
    supervisor = accounts.create_user(parse(NewUser, {"username": "sup1", "role": "supervisor", "password": PASSWORD}))
    return qm, supervisor


def ncs() -> dict[str, NonConformance]:
    return {nc.number: nc for nc in db.session.scalars(select(NonConformance))}


def counters() -> dict[int, int]:
    return {counter.year: counter.last for counter in db.session.scalars(select(NumberCounter))}


def plant_date(moment: datetime):
    return moment.astimezone(PLANT).date()


@pytest.mark.parametrize("sheet", SHEETS)
def test_a_sheet_is_imported_with_states_actions_results_and_history_and_once_only(world, sheet):
    qm, _supervisor = world
    data = SHEETS[sheet]()

    outcome = importing.import_ncs(data, "history.file", qm)

    assert outcome.errors == []
    # Numbered in the year of their report, 2025 by report date; answered in the order of their rows.
    assert outcome.numbers == ["NC-2025-00001", "NC-2025-00002", "NC-2024-00001"]
    assert (outcome.rows, outcome.ncs) == (4, 3)
    assert outcome.ignored_columns == [ENGLISH[-1] if sheet.startswith("english") else CHINESE[-1]]
    stored = ncs()
    snap, formaldehyde, stitch = stored["NC-2025-00001"], stored["NC-2025-00002"], stored["NC-2024-00001"]
    assert (snap.status, plant_date(snap.reported_at).isoformat(), plant_date(snap.closed_at).isoformat()) == (
        "closed",
        "2025-03-05",
        "2025-03-20",
    )
    assert (snap.import_reference, snap.severity, snap.source, snap.batch.number, snap.style.code) == (
        "H-1",
        "major",
        "inline",
        "B-2026-7",
        "RMP-A",
    )
    # The defect type's usual parameters, as at filing; on a category A style: safety-critical.
    assert [p.code for p in snap.parameters] == ["CN-ATT-3TO6", "CN-ATT-GT6"]
    assert snap.safety_critical
    assert [(a.status, a.owner.username, a.due_date.isoformat()) for a in snap.actions] == [
        ("done", "qm1", "2025-03-15")
    ]
    assert snap.actions[0].completed_at == snap.closed_at
    assert (formaldehyde.status, formaldehyde.severity, formaldehyde.closed_at) == ("investigation", "critical", None)
    assert [p.code for p in formaldehyde.parameters] == ["CN-FORM"]
    # The second row of H-2 added its action; its owner named by full name.
    assert [(a.status, a.owner.username, a.due_date.isoformat()) for a in formaldehyde.actions] == [
        ("open", "qm1", "2026-12-31")
    ]
    result = db.session.scalar(select(LabResult).where(LabResult.nc_id == formaldehyde.id))
    assert (result.parameter.code, result.value, result.verdict, result.category) == ("CN-FORM", "95", "fail", "A")
    # A row without a number: known by its content; its description gives the title.
    assert stitch.import_reference.startswith("sha256:")
    assert (stitch.status, stitch.style, stitch.severity, stitch.source) == ("reported", None, "minor", "end_of_line")
    assert stitch.title in ("Broken stitch at the side seam", "侧缝断线")
    # One history entry each, by the importing user, chained.
    history = [(e.kind, e.actor.username, e.new, e.note) for nc in (snap, formaldehyde, stitch) for e in nc.events]
    assert history == [
        ("imported", "qm1", "H-1", "Imported from history.file, row 2."),
        ("imported", "qm1", "H-2", "Imported from history.file, row 3."),
        ("imported", "qm1", "", "Imported from history.file, row 5."),
    ]
    assert chain.verify() == []
    assert counters() == {2024: 1, 2025: 2}

    again = importing.import_ncs(data, "history.file", qm)

    assert (again.numbers, again.errors, again.stored) == ([], [], False)
    assert [(entry.row, entry.reference, entry.number) for entry in again.already] == [
        (2, "H-1", "NC-2025-00001"),
        (3, "H-2", "NC-2025-00002"),
        (5, "", "NC-2024-00001"),
    ]
    assert len(ncs()) == 3
    assert counters() == {2024: 1, 2025: 2}


BAD_ROWS = [
    ["B-1", "纽扣松脱", "", "纽扣掉了", "L1", "", "", "严重", "巡检", "2025-03-05", "", "", "", "", "", "", "", "", ""],
    ["B-2", "断线", "", "断线", "L1", "", "", "严重", "巡检", "2025-13-01", "", "", "", "", "", "", "", "", ""],
    ["B-3", "断线", "", "断线", "L1", "", "", "严重", "巡检", "05/03/2025", "", "", "", "", "", "", "", "", ""],
    ["B-4", "断线", "", "断线", "L1", "", "", "严重", "巡检", "2025-03-05", "审核中", "", "", "", "", "", "", "", ""],
    ["B-5", "断线", "", "断线", "L1", "", "", "严重", "巡检", "2025-03-05", "已关闭", "", "", "", "", "", "", "", ""],
    ["B-6", "断线", "", "断线", "L1", "", "", "严重", "巡检", "2025-03-05", "", "", "补线", "张三", "2025-04-01",
     "", "", "", ""],
    ["B-7", "断线", "", "断线", "L9", "", "", "重要", "巡检", "2099-01-01", "", "", "", "", "", "", "", "", ""],
    ["G-1", "开缝", "", "开缝", "L1", "", "", "轻微", "尾查", "2025-05-06", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip


def test_the_command_refuses_a_sheet_with_bad_rows_then_imports_the_valid_ones_and_writes_the_rest(
    world, runner, tmp_path
):
    path = tmp_path / "旧记录.csv"
    path.write_bytes(csv_bytes(CHINESE, BAD_ROWS, "gb18030"))

    refused_run = runner.invoke(args=["import", "ncs", str(path), "--as", "qm1"])

    assert refused_run.exit_code == 1
    problems = [line for line in refused_run.output.splitlines() if line.startswith("row ")]
    assert problems == [
        "row 2, 缺陷类型: No defect type 纽扣掉了.",
        "row 3, 报告日期: No such date.",
        "row 4, 报告日期: 05/03/2025 may be either day and month: write the year first (2026-03-05).",
        "row 5, 状态: An open NC is imported as reported or investigation: its root cause is then submitted and "
        "reviewed in the app.",
        "row 6, 关闭日期: A closed NC needs its closing date.",
        "row 7, 责任人: No user 张三 (a user name or a full name).",
        "row 8, 严重程度: Must be one of: minor, major, critical.",
        "row 8, 产线: No line L9.",
        "row 8, 报告日期: Cannot be in the future.",
    ]
    assert "9 problems in 旧记录.csv: nothing was imported." in refused_run.output
    assert "Columns not imported: 备注." in refused_run.output
    assert ncs() == {} and counters() == {}

    partial = runner.invoke(args=["import", "ncs", str(path), "--as", "qm1", "--skip-invalid"])

    assert partial.exit_code == 0, partial.output
    assert "Imported 1 NCs from 旧记录.csv: NC-2025-00001 to NC-2025-00001" in partial.output
    rejects = tmp_path / "旧记录.rejected.csv"
    assert f"7 rows with problems were left out: written to {rejects}." in partial.output
    assert [(nc.number, nc.import_reference) for nc in ncs().values()] == [("NC-2025-00001", "G-1")]
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == [*CHINESE, "sheet_row", "import_problems"]
    assert [row[0] for row in written[1:]] == ["B-1", "B-2", "B-3", "B-4", "B-5", "B-6", "B-7"]
    assert written[1][-2:] == ["2", "缺陷类型: No defect type 纽扣掉了."]
    assert written[7][-1].startswith("严重程度: Must be one of")

    again = runner.invoke(args=["import", "ncs", str(path), "--as", "qm1", "--skip-invalid"])

    assert again.exit_code == 0, again.output
    assert "Imported no NCs from 旧记录.csv." in again.output
    assert "1 NCs were imported before and were skipped." in again.output
    assert (tmp_path / "旧记录.rejected-2.csv").exists()
    assert len(ncs()) == 1 and counters() == {2025: 1}


def test_the_command_needs_a_user_who_may_import_and_takes_column_choices(world, runner, tmp_path):
    path = tmp_path / "history.csv"
    headers = ["ref no", *ENGLISH[1:]]
    path.write_bytes(csv_bytes(headers, ROWS_EN))

    assert "may not import" in runner.invoke(args=["import", "ncs", str(path), "--as", "sup1"]).output
    unknown = runner.invoke(args=["import", "ncs", str(path), "--as", "qm1", "--column", "ref no=numero"])
    assert unknown.exit_code == 1 and "No field numero" in unknown.output

    # Without the choice, "ref no" is left out: the rows of H-2 are then two NCs, and the second has no title.
    imported = runner.invoke(args=["import", "ncs", str(path), "--as", "qm1", "--column", "ref no=number"])

    assert imported.exit_code == 0, imported.output
    assert sorted(nc.import_reference[:7] for nc in ncs().values()) == ["H-1", "H-2", "sha256:"]


def test_numbering_continues_without_gaps_around_an_import_and_every_chain_verifies(world, client, runner):
    qm, _supervisor = world
    api = ApiClient(client, accounts.create_token(qm))
    filing = {"title": "Open seam", "defect_type": "open_seam", "source": "inline", "line": "L1"}
    before = ok(client_post(api, {**filing, "reported_at": "2025-02-01T10:00"}), 201)
    assert before["number"] == "NC-2025-00001"

    outcome = importing.import_ncs(SHEETS["english-csv-utf8-bom"](), "history.csv", qm)

    assert outcome.numbers == ["NC-2025-00002", "NC-2025-00003", "NC-2024-00001"]
    after = ok(client_post(api, {**filing, "reported_at": "2025-06-01T10:00"}), 201)
    now = ok(client_post(api, filing), 201)
    assert after["number"] == "NC-2025-00004"
    assert now["number"] == f"NC-{plant_today().year}-00001"
    assert counters() == {2024: 1, 2025: 4, plant_today().year: 1}
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "Every history chain verifies." in verified.output


def client_post(api: ApiClient, body: dict):
    return api.post("/api/v1/nonconformances", json=body)


def test_the_page_previews_lets_columns_be_chosen_and_imports_with_progress(world, client, auth, app):
    auth.login("qm1")
    assert client.get("/imports/ncs").status_code == 200
    rows = [*ROWS_ZH, ["", "纽扣脱落", "", "纽扣掉了", "L1", "", "", "严重", "巡检", "2025-03-05", *[""] * 9]]
    sent = client.post(
        "/imports/ncs",
        data={"file": (io.BytesIO(xlsx_bytes(CHINESE, rows)), "旧记录.xlsx")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    page_url = sent.headers["Location"]

    preview = client.get(page_url).text

    assert "旧记录.xlsx" in text(one(preview, "h2"))
    assert texts(preview, "table.preview thead tr:first-child th") == ["Row", *CHINESE]
    assert selected_value(one(preview, "#column-0")) == "number"
    assert selected_value(one(preview, "#column-3")) == "defect_type"
    assert selected_value(one(preview, "#column-18")) == ""  # 备注: not imported
    assert "containment" in options(one(preview, "#column-18"))
    assert [cells[:2] for cells in table_rows(preview, "table.preview")] == [
        ["2", "H-1"],
        ["3", "H-2"],
        ["4", "H-2"],
        ["5", ""],
        ["6", ""],
    ]
    assert table_rows(preview, "table.import-errors") == [["6", "缺陷类型", "No defect type 纽扣掉了."]]
    columns = {f"column-{index}": selected_value(one(preview, f"#column-{index}")) for index in range(len(CHINESE))}

    # 备注 taken as the containment, checked again: nothing imported yet.
    chosen = client.post(page_url, data={**columns, "column-18": "containment", "action": "check"})
    assert chosen.status_code == 303
    assert selected_value(one(client.get(page_url).text, "#column-18")) == "containment"
    assert ncs() == {}

    started = client.post(
        page_url, data={**columns, "column-18": "containment", "action": "import", "skip_invalid": "y"}
    )
    assert started.status_code == 303
    token = page_url.rstrip("/").rsplit("/", 1)[-1]
    wait_for_import(app, token, timeout=60)

    progress = client.get(f"{page_url}/progress").json
    assert (progress["state"], progress["stage"], progress["done"], progress["total"]) == ("finished", "storing", 3, 3)
    result = client.get(page_url).text
    assert "Imported 3 NCs from 旧记录.xlsx" in text(one(result, "h2"))
    assert table_rows(result, "table.import-errors") == [["6", "缺陷类型", "No defect type 纽扣掉了."]]
    download = client.get(f"{page_url}/rejected.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.data.decode("utf-8-sig").splitlines()[1].endswith(",6,缺陷类型: No defect type 纽扣掉了.")
    stored = ncs()
    assert sorted(stored) == ["NC-2024-00001", "NC-2025-00001", "NC-2025-00002"]
    assert stored["NC-2025-00001"].containment == "已核对"
    assert stored["NC-2025-00001"].reported_by.username == "qm1"
    nc_page = client.get("/nc/NC-2025-00001").text
    assert "imported from a spreadsheet: H-1" in text(one(nc_page, "#history"))
    assert "Imported from 旧记录.xlsx, row 2." in text(one(nc_page, "#history"))


def table_rows(page: str, selector: str) -> list[list[str]]:
    """The text of each cell of each row of the table's body."""
    return [[text(cell) for cell in row.css("td")] for row in one(page, selector).css("tbody tr")]


def test_a_line_supervisor_may_not_import(world, client, auth):
    _qm, supervisor = world
    auth.login("sup1")
    data = SHEETS["english-csv-utf8-bom"]()

    assert client.get("/imports/ncs").status_code == 403
    upload = client.post(
        "/imports/ncs", data={"file": (io.BytesIO(data), "history.csv")}, content_type="multipart/form-data"
    )
    assert upload.status_code == 403
    assert "/imports/ncs" not in client.get("/nc").text
    api = ApiClient(client, accounts.create_token(supervisor))
    answer = api.post(
        "/api/v1/imports/ncs", data={"file": (io.BytesIO(data), "history.csv")}, content_type="multipart/form-data"
    )
    refused(answer, 403, "forbidden")
    assert ncs() == {}


def test_the_api_answers_the_row_problems_and_imports_the_valid_rows_when_told(world, client):
    qm, _supervisor = world
    api = ApiClient(client, accounts.create_token(qm))
    data = csv_bytes(CHINESE, [BAD_ROWS[0], BAD_ROWS[-1]])

    def send(**form):
        body = {"file": (io.BytesIO(data), "old.csv"), **form}
        return api.post("/api/v1/imports/ncs", data=body, content_type="multipart/form-data")

    error = refused(send(), 400, "invalid")
    assert error["fields"] == {"file": "old.csv has 1 problems; nothing was imported."}
    assert error["rows"] == [{"row": 2, "column": "缺陷类型", "reason": "No defect type 纽扣掉了."}]
    assert ncs() == {}
    refused(send(skip_invalid="perhaps"), 400, "invalid")

    answer = ok(send(skip_invalid="true"))

    assert answer == {
        "file": "old.csv",
        "rows": 2,
        "ncs": 2,
        "imported": ["NC-2025-00001"],
        "imported_before": [],
        "rejected_rows": [2],
        "errors": [{"row": 2, "column": "缺陷类型", "reason": "No defect type 纽扣掉了."}],
        "ignored_columns": ["备注"],
    }
    again = ok(send(skip_invalid="true"))
    assert again["imported"] == []
    assert again["imported_before"] == [{"row": 3, "reference": "G-1", "number": "NC-2025-00001"}]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
    assert db.session.scalar(select(func.count()).select_from(Action)) == 0
    document = client.get("/api/v1/openapi.json").json
    assert "post" in document["paths"]["/api/v1/imports/ncs"]


def test_an_unreadable_file_is_refused_by_name(world):
    qm, _supervisor = world
    for data, reason in [
        (b"\xd0\xcf\x11\xe0old excel", "An old Excel file (.xls): save it as XLSX or CSV."),
        (b"PK\x03\x04not really a zip", "The file cannot be read as an XLSX workbook."),
        (b"\x00\x01binary", "The file is neither a CSV text nor an XLSX workbook."),
    ]:
        with pytest.raises(ValidationError) as refusal:
            importing.import_ncs(data, "x", qm)
        assert refusal.value.fields == {"file": reason}


def test_a_file_missing_required_columns_is_refused_at_row_one(world):
    qm, _supervisor = world
    outcome = importing.import_ncs(csv_bytes(["number", "title"], [["X-1", "Loose snap"]]), "x.csv", qm)
    assert outcome.refused
    assert [(e.row, e.column, e.reason) for e in outcome.errors] == [
        (1, "Defect type", "This column is missing."),
        (1, "Line", "This column is missing."),
        (1, "Source", "This column is missing."),
        (1, "Report date", "This column is missing."),
    ]
