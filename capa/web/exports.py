"""Every CSV and XLSX download of the app is written here, so that each follows the same rules:

- columns are headed by translated labels, and coded values (a state, a source) are written as the labels
  the pages show, not as codes;
- moments are written in plant time, ``2026-03-05 14:30``, as the pages show them;
- a text cell a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return: OWASP's CSV injection list) is written with a leading apostrophe, as text, in CSV and
  XLSX alike. Control characters XML 1.0 cannot carry (a pasted vertical tab or escape: anything below a space
  but a tab, a line feed or a carriage return) are left out first, in both: XLSX cannot hold them, and a
  formula behind one must not start the cell once it is gone;
- an export of any size runs in constant memory: its rows are read as they are written (a list's rows a chunk at
  a time, :func:`capa.capas.queries.exported`); CSV streams while the rows are read, in blocks of about
  CSV_BLOCK characters; XLSX is written in openpyxl's write-only mode (each sheet's rows go to a temporary file
  as they come) into a temporary file, which is then sent in blocks: neither the rows nor the file are ever held
  whole in memory.
"""

import csv
import io
import tempfile
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from flask import Response, stream_with_context
from flask_babel.speaklater import LazyString
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from capa.common.clock import plant_zone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A CSV download is sent in blocks of about this many characters.
CSV_BLOCK = 16 * 1024
#: An XLSX download is sent in blocks of this many bytes.
FILE_BLOCK = 64 * 1024


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
    return _cell(value, plant_zone(), {})


def _cell(value: Any, zone: tzinfo, labels: dict[int, str]) -> Any:
    # ``labels``: each translated label (a state's, a source's: lazy strings, the same few objects row after row)
    # written once per download, by the label's identity; translating it again for each cell was most of a long
    # download's time.
    if isinstance(value, LazyString):
        written = labels.get(id(value))
        if written is None:
            written = labels[id(value)] = _text(str(value))
        return written
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    return _text(str(value))


def _text(text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows_of(records: Iterable[Any], columns: list[Column]) -> Iterable[list[Any]]:
    """Each record as a row of cells, read as they are consumed (in the request that streams them): the plant's
    zone is looked up once, each label translated once."""
    zone, labels = plant_zone(), {}
    values = [column.value for column in columns]
    for record in records:
        yield [_cell(value(record), zone, labels) for value in values]


def table(title: str, records: Iterable[Any], columns: list[Column]) -> Sheet:
    return Sheet(title, [column.label for column in columns], rows_of(records, columns))


def csv_download(filename: str, sheet: Sheet) -> Response:
    """The sheet as a CSV download, streamed while the rows are read (in the request's context)."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([str(cell(label)) for label in sheet.labels])
        for row in sheet.rows:
            writer.writerow(row)
            if buffer.tell() >= CSV_BLOCK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def xlsx_download(filename: str, sheets: list[Sheet]) -> Response:
    """The sheets as one XLSX workbook, written in write-only mode into a temporary file (gone once sent, or
    if writing it fails), which the response sends in blocks."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        written = workbook.create_sheet(sheet.title[:31])
        written.append([str(cell(label)) for label in sheet.labels])
        for row in sheet.rows:
            written.append(row)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response once sent (blocks below)
    try:
        workbook.save(file)
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise

    def blocks():
        with file:  # closed once sent
            while block := file.read(FILE_BLOCK):
                yield block

    body = blocks()
    weakref.finalize(body, file.close)  # or when the answer is dropped before it is sent
    response = Response(body, mimetype=XLSX_TYPE, headers={"Content-Disposition": f"attachment; filename={filename}"})
    response.content_length = size
    return response
