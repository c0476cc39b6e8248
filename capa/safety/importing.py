"""Lab reports imported from a laboratory's export: a CSV or XLSX file with one row per result.

The file (judged by its bytes, never its name):
- XLSX (the first sheet), or CSV in UTF-8 with or without a byte-order mark, or in GB18030 as Chinese Excel
  saves it; every cell is read as text, as written;
- the first row names the columns, in English or in Chinese (:data:`COLUMNS`, in any order, in any case); a
  column nobody knows is refused, so that a misspelt column is never silently left out;
- each further row is one result; the rows sharing a laboratory and a report number are one report, and their
  report columns must agree (a blank one in a later row repeats the first row's);
- ``lots`` lists lot numbers separated by ``;``; dates are written 2026-03-05 (2026/3/5 and 2026年3月5日 are
  read too); ``component`` is whole_garment, print, trim or fabric (成衣, 印花, 辅料, 面料); ``parameter`` is
  a catalog code (CN-FORM) or the parameter's name as the catalog writes it (甲醛含量).

Every row is checked first, by the same checks as a report entered by hand (:mod:`capa.safety.reports`), and
each problem is reported with its row number in the spreadsheet (the header is row 1), its column and the
reason. Nothing is stored when any problem is found; otherwise every report of the file is stored in one unit
of work.
"""

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openpyxl
import pandas as pd
from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.common import pending
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.common.sheets import decoded
from capa.common.transaction import unit_of_work
from capa.safety.commands import NewLabReport
from capa.safety.judging import format_decimal
from capa.safety.models import Component, LabReport
from capa.safety.reports import CheckedReport, review, store_report
from capa.safety.service import list_parameters

#: The columns of a report (the same on every row of one report), and the names each may be written with.
REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "laboratory": ("laboratory", "lab", "检测机构", "检测单位", "实验室"),
    "cnas_number": ("cnas_number", "cnas", "cnas编号", "cnas号"),
    "cma_number": ("cma_number", "cma", "cma编号", "cma号"),
    "iso17025": ("iso17025", "iso/iec 17025", "iso 17025", "其他认可"),
    "report_number": ("report_number", "report number", "report no", "报告编号", "报告号"),
    "sample_description": ("sample_description", "sample description", "sample", "样品描述", "样品名称"),
    "colourway": ("colourway", "colorway", "colour", "color", "颜色"),
    "component": ("component", "部位", "测试部位"),
    "batch": ("batch", "批次", "生产批次"),
    "category": ("category", "安全类别"),
    "lots": ("lots", "物料批号"),
    "sample_date": ("sample_date", "sample date", "收样日期", "取样日期"),
    "test_date": ("test_date", "test date", "检测日期", "测试日期"),
    "report_date": ("report_date", "report date", "报告日期", "签发日期"),
}
#: The columns of one result.
RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "parameter": ("parameter", "检测项目", "测试项目"),
    "value": ("value", "result", "结果", "检测结果"),
    "reporting_limit": ("reporting_limit", "reporting limit", "报告限", "检出限"),
    "na_reason": ("na_reason", "n/a reason", "不适用原因"),
    "lot": ("lot", "试样批号"),
}
COLUMNS = REPORT_COLUMNS | RESULT_COLUMNS
REQUIRED_COLUMNS = ("laboratory", "report_number", "component", "test_date", "report_date", "parameter", "value")
#: A file longer than this is refused: 200 results per report, and a lab's export holds a few reports.
MAX_ROWS = 2000
#: How labs write the component sampled.
COMPONENT_NAMES = {
    "成衣": Component.WHOLE_GARMENT,
    "整件": Component.WHOLE_GARMENT,
    "whole garment": Component.WHOLE_GARMENT,
    "garment": Component.WHOLE_GARMENT,
    "印花": Component.PRINT,
    "辅料": Component.TRIM,
    "附件": Component.TRIM,
    "面料": Component.FABRIC,
}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?")
_LOT_SEPARATORS = re.compile(r"[;；]")
_RESULT_FIELD = re.compile(r"results\[(\d+)\]\.(\w+)")
_XLSX = b"PK\x03\x04"
_OLD_EXCEL = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True, order=True)
class RowError:
    """A problem in the file: its row in the spreadsheet (the header is row 1), its column, and why."""

    row: int
    column: str
    reason: str


@dataclass
class ImportedReport:
    """One report of the file, checked: its rows in the spreadsheet, in the order of its results."""

    rows: list[int]
    checked: CheckedReport


@dataclass
class ImportOutcome:
    """What an import found: every report checked, the reports stored (none on a dry run or with any error),
    and the problems."""

    checked: list[ImportedReport] = field(default_factory=list)
    reports: list[LabReport] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def result_count(self) -> int:
        return sum(len(entry.checked.rows) for entry in self.checked)


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message says why."""


@dataclass
class _Table:
    #: Each column's canonical name → the header as written in the file.
    headers: dict[str, str]
    #: (spreadsheet row number, canonical name → cell text) for every row that is not blank.
    rows: list[tuple[int, dict[str, str]]]


@dataclass
class _Group:
    rows: list[int] = field(default_factory=list)
    cells: list[dict[str, str]] = field(default_factory=list)


def import_lab_reports(data: bytes, filename: str, actor: User, dry_run: bool) -> ImportOutcome:
    """Check every row of the file and, unless ``dry_run`` or any row is bad, store all its reports in one unit
    of work. ``filename`` is shown in messages only; the file's kind is judged by its bytes."""
    try:
        table, errors = _read(data)
    except UnreadableFile as exc:
        return ImportOutcome(errors=[RowError(1, "", str(exc))])
    if errors:
        return ImportOutcome(errors=errors)
    outcome = ImportOutcome()
    groups = _groups(table, outcome.errors)
    names = _parameter_names()
    numbers: dict[str, int] = {}
    laboratories: dict[str, tuple[int, Any]] = {}
    for group in groups:
        first = group.rows[0]
        command = _command(group, table, names, outcome.errors)
        if command is None:
            continue
        outcome.errors += _laboratory_disagreements(command, first, laboratories, table)
        found = review(command)
        outcome.errors += [RowError(*_locate(name, group, table), message) for name, message in found.errors.items()]
        other_row = numbers.setdefault(command.number.casefold(), first)
        if other_row != first:
            outcome.errors.append(
                RowError(
                    first,
                    table.headers.get("report_number", "report_number"),
                    str(
                        _l(
                            "Report %(number)s is also in row %(row)d of this file, from another laboratory.",
                            number=command.number,
                            row=other_row,
                        )
                    ),
                )
            )
        elif found.duplicate is not None:
            outcome.errors.append(
                RowError(first, table.headers.get("report_number", "report_number"), found.duplicate.message)
            )
        if found.checked is not None:
            outcome.checked.append(ImportedReport(group.rows, found.checked))
    outcome.errors.sort()
    if outcome.errors:
        outcome.checked = []
        return outcome
    if not dry_run:
        with unit_of_work() as session:
            outcome.reports = [store_report(entry.checked, actor, session) for entry in outcome.checked]
    return outcome


def _laboratory_disagreements(
    command: NewLabReport, row: int, seen: dict[str, tuple[int, Any]], table: "_Table"
) -> list[RowError]:
    """A laboratory named by several reports of one file gives the same accreditation numbers in each: the
    first report would record them, and a different number in a later one would be lost."""
    laboratory = command.laboratory
    first_row, first = seen.setdefault(laboratory.name.casefold(), (row, laboratory))
    problems = []
    for column in ("cnas_number", "cma_number", "iso17025"):
        mine, theirs = getattr(laboratory, column), getattr(first, column)
        if mine and theirs and mine.casefold() != theirs.casefold():
            problems.append(
                RowError(
                    row,
                    table.headers.get(column, column),
                    str(
                        _l(
                            "%(laboratory)s is given %(number)s in row %(row)d of this file.",
                            laboratory=laboratory.name,
                            number=theirs,
                            row=first_row,
                        )
                    ),
                )
            )
    return problems


# Reading the file -----------------------------------------------------------------------------------------


def _read(data: bytes) -> tuple[_Table, list[RowError]]:
    if data.startswith(_OLD_EXCEL):
        raise UnreadableFile(str(_l("An old Excel file (.xls): save it as XLSX or CSV.")))
    frame = _excel(data) if data.startswith(_XLSX) else _csv(data)
    cells = [[_cell(value) for value in row] for row in frame.itertuples(index=False, name=None)]
    if not cells:
        raise UnreadableFile(str(_l("The file is empty.")))
    headers, errors = _headers(cells[0])
    rows = [
        (number, {name: (row[index] if index < len(row) else "") for name, index in headers.items()})
        for number, row in enumerate(cells[1:], start=2)
        if any(value for value in row)
    ]
    if not errors and not rows:
        errors.append(RowError(2, "", str(_l("No results below the header row."))))
    if len(rows) > MAX_ROWS:
        errors.append(RowError(MAX_ROWS + 2, "", str(_l("At most %(n)d rows.", n=MAX_ROWS))))
    written = {name: cells[0][index] for name, index in headers.items()}
    return _Table(written, rows), errors


def _excel(data: bytes) -> pd.DataFrame:
    """The first sheet as the lab sees it: each cell as its text, a percentage as a percentage (a cell showing
    0.5% holds 0.005; read raw, it would pass a 0.1 % limit)."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = [[_excel_cell(cell) for cell in row] for row in sheet.iter_rows()]
        finally:
            workbook.close()
    except Exception as exc:
        raise UnreadableFile(str(_l("The file cannot be read as an XLSX workbook."))) from exc
    width = max((len(row) for row in rows), default=0)
    return pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype=str)


def _excel_cell(cell: Any) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and "%" in (getattr(cell, "number_format", "") or ""):
        return f"{format_decimal(Decimal(repr(value)) * 100)} %"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(data: bytes) -> pd.DataFrame:
    text = decoded(data, UnreadableFile)
    if not text.strip():
        raise UnreadableFile(str(_l("The file is empty.")))
    try:
        return pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise UnreadableFile(str(_l("The file cannot be read as CSV: %(reason)s", reason=str(exc)[:200]))) from exc


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().casefold())


_NAMES = {_header_key(written): name for name, spellings in COLUMNS.items() for written in spellings}


def _headers(row: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Each known column's position; a column unknown, or given twice, is a problem of row 1."""
    positions: dict[str, int] = {}
    errors = []
    for index, written in enumerate(row):
        if not written:
            continue
        name = _NAMES.get(_header_key(written))
        if name is None:
            errors.append(RowError(1, written, str(_l("Unknown column."))))
        elif name in positions:
            errors.append(RowError(1, written, str(_l("The same column is given twice."))))
        else:
            positions[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            errors.append(RowError(1, name, str(_l("This column is missing."))))
    return positions, errors


# Rows to reports ------------------------------------------------------------------------------------------


def _groups(table: _Table, errors: list[RowError]) -> list[_Group]:
    """The rows by report (laboratory and report number), in the order of their first rows; a report column
    that differs from the report's first row is a problem of that row."""
    groups: dict[tuple[str, str], _Group] = {}
    for number, cells in table.rows:
        key = (cells.get("laboratory", "").casefold(), cells.get("report_number", "").casefold())
        group = groups.setdefault(key, _Group())
        if group.cells:
            first = group.cells[0]
            for name in REPORT_COLUMNS:
                value = cells.get(name, "")
                if not value:
                    cells[name] = first.get(name, "")
                elif value.casefold() != first.get(name, "").casefold():
                    errors.append(
                        RowError(
                            number,
                            table.headers.get(name, name),
                            str(
                                _l(
                                    "Differs from row %(row)d of the same report (%(value)s).",
                                    row=group.rows[0],
                                    value=first.get(name, "") or "—",
                                )
                            ),
                        )
                    )
        group.rows.append(number)
        group.cells.append(cells)
    return list(groups.values())


def _parameter_names() -> dict[str, str]:
    """Each way the file may name a parameter (its code, its name, its Chinese name) → its code."""
    names: dict[str, str] = {}
    for parameter in list_parameters():
        for written in (parameter.name, parameter.name_zh):
            if written:
                names.setdefault(written.strip().casefold(), parameter.code)
    for parameter in list_parameters():
        names[parameter.code.casefold()] = parameter.code
    return names


def _command(group: _Group, table: _Table, names: dict[str, str], errors: list[RowError]) -> NewLabReport | None:
    """The report the group's rows describe, parsed; None, with its problems added, when it cannot be."""
    first = group.cells[0]
    data = {
        "laboratory": {
            "name": first.get("laboratory", ""),
            **{name: first.get(name, "") for name in ("cnas_number", "cma_number", "iso17025")},
        },
        "number": first.get("report_number", ""),
        "sample_description": first.get("sample_description", ""),
        "colourway": first.get("colourway", ""),
        "component": _component(first.get("component", "")),
        "batch": first.get("batch", ""),
        "category": first.get("category", "").upper().removesuffix("类").strip(),
        "lots": [lot.strip() for lot in _LOT_SEPARATORS.split(first.get("lots", "")) if lot.strip()],
        "sample_date": _date(first.get("sample_date", "")),
        "test_date": _date(first.get("test_date", "")),
        "report_date": _date(first.get("report_date", "")),
        "results": [
            {
                "parameter": names.get(cells.get("parameter", "").strip().casefold(), cells.get("parameter", "")),
                "value": cells.get("value", ""),
                "reporting_limit": cells.get("reporting_limit", ""),
                "na_reason": cells.get("na_reason", ""),
                "lot": cells.get("lot", ""),
            }
            for cells in group.cells
        ],
    }
    try:
        return parse(NewLabReport, data)
    except ValidationError as exc:
        errors.extend(RowError(*_locate(name, group, table), message) for name, message in exc.fields.items())
        return None


def _component(text: str) -> str:
    return COMPONENT_NAMES.get(text.strip().casefold(), text.strip().lower().replace(" ", "_"))


def _date(text: str) -> str:
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return text
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


#: A field of the report command → the column it comes from.
_FIELD_COLUMNS = {"laboratory.name": "laboratory", "laboratory": "laboratory", "number": "report_number"}


def _locate(name: str, group: _Group, table: _Table) -> tuple[int, str]:
    """The row and column (as the file writes it) that a field of the report command comes from."""
    match = _RESULT_FIELD.fullmatch(name)
    if match is not None:
        index, column = int(match[1]), match[2]
        row = group.rows[index] if index < len(group.rows) else group.rows[0]
    else:
        row = group.rows[0]
        column = _FIELD_COLUMNS.get(name) or re.split(r"[.\[]", name.removeprefix("laboratory."), maxsplit=1)[0]
        if column == "results":
            column = "parameter"
    return row, table.headers.get(column, column)


def describe(errors: Iterable[RowError]) -> list[str]:
    """The problems as lines of text: ``row 3, 结果: Cannot read …``."""
    return [
        str(_l("row %(row)d, %(column)s: %(reason)s", row=error.row, column=error.column or "—", reason=error.reason))
        for error in errors
    ]


# A file kept between its preview and its confirmation ------------------------------------------------------

#: Previewed import files, kept for their confirmation (capa.common.pending).
PENDING_KIND = "imports"


def keep_pending(data: bytes, filename: str, owner: User) -> str:
    """Keep a previewed file for ``owner`` until it is confirmed (a day at most); its unguessable token. The
    confirmation imports exactly these bytes, checked again."""
    return pending.keep(PENDING_KIND, owner.id, data, filename)


def load_pending(token: str, owner: User) -> tuple[str, bytes] | None:
    """``owner``'s kept file ``token`` (its name and bytes), or None: malformed, unknown, expired, another's."""
    return pending.load(PENDING_KIND, owner.id, token)


def discard_pending(token: str, owner: User) -> None:
    pending.discard(PENDING_KIND, owner.id, token)
