"""Every CSV and XLSX download of the app is written here, so that each follows the same rules:

- columns are headed by translated labels, and coded values (a state, a source) are written as the labels
  the pages show, not as codes;
- moments are written in plant time, ``2026-03-05 14:30``, as the pages show them;
- a text cell a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return: OWASP's CSV injection list) is written with a leading apostrophe, as text, in CSV and
  XLSX alike. Control characters XML 1.0 cannot carry (a pasted vertical tab or escape: anything below a space
  but a tab, a line feed or a carriage return) are left out first, in both: XLSX cannot hold them, and a
  formula behind one must not start the cell once it is gone;
- CSV streams row by row, and XLSX is written in openpyxl's write-only mode, so an export of any size never
  holds more than a row of records at once beside the file being built.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from capa.common.clock import plant_time

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column of an export: its label and how a row's value is read from a record."""

    label: Any
    value: Callable[[Any], Any]


@dataclass
class Sheet:
    """A table of an export: a title (the XLSX sheet's name), its column labels and its rows."""

    title: str
    labels: list[Any]
    rows: Iterable[list[Any]]


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: moments in plant time, dates as ``YYYY-MM-DD``, formulas as text, without
    the control characters XML cannot carry."""
    if isinstance(value, datetime):
        return plant_time(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows_of(records: Iterable[Any], columns: list[Column]) -> Iterable[list[Any]]:
    for record in records:
        yield [cell(column.value(record)) for column in columns]


def table(title: str, records: Iterable[Any], columns: list[Column]) -> Sheet:
    return Sheet(title, [column.label for column in columns], rows_of(records, columns))


def csv_download(filename: str, sheet: Sheet) -> Response:
    """The sheet as a CSV download, streamed while the rows are read (in the request's context)."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([str(cell(label)) for label in sheet.labels])
        yield buffer.getvalue()
        for row in sheet.rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def xlsx_download(filename: str, sheets: list[Sheet]) -> Response:
    """The sheets as one XLSX workbook, written in write-only mode."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        written = workbook.create_sheet(sheet.title[:31])
        written.append([str(cell(label)) for label in sheet.labels])
        for row in sheet.rows:
            written.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=filename, mimetype=XLSX_TYPE)
