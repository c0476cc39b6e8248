"""Spreadsheets read as rows of cells: what a factory keeps its records in, judged by its bytes, never its name.

- XLSX: the first sheet, read with openpyxl in read-only mode (rows streamed, never the whole workbook in
  memory); cells come as Excel holds them: text, numbers, dates and times (``datetime``), booleans, or None. An
  archive whose directory declares far more than its size unpacked (a zip bomb) is refused before it is read;
- CSV: text in UTF-8 (with or without a byte-order mark) or in GB18030, as Chinese Excel saves it; separated
  by commas, or by tabs or semicolons when the first line has those and no comma; every cell is text;
- an old Excel file (.xls), a file with NUL bytes, or one that is none of these is refused by
  :class:`UnreadableSheet`, whose message says why.

Rows are given as the spreadsheet numbers them: ``rows[0]`` is row 1.
"""

import csv
import io
import zipfile
from typing import Any

import openpyxl
from flask_babel import lazy_gettext as _l

XLSX_MAGIC = b"PK\x03\x04"
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
#: A workbook whose parts unpack to more than this, or to more than MAX_RATIO times its size, is refused.
MAX_UNPACKED = 1024 * 1024 * 1024
MAX_RATIO = 200
#: A smaller workbook may be as compressed as it likes: its unpacked size is harmless.
RATIO_FLOOR = 16 * 1024 * 1024


class UnreadableSheet(Exception):
    """The file cannot be read as a table; the message says why, for a person."""


def is_xlsx(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def read_rows(data: bytes) -> list[list[Any]]:
    """Every row of the file's first sheet, blank ones included, so that ``rows[i]`` is row ``i + 1``.
    Raises UnreadableSheet."""
    if data.startswith(OLD_EXCEL_MAGIC):
        raise UnreadableSheet(str(_l("An old Excel file (.xls): save it as XLSX or CSV.")))
    rows = _xlsx_rows(data) if is_xlsx(data) else _csv_rows(data)
    if not any(any(_filled(cell) for cell in row) for row in rows):
        raise UnreadableSheet(str(_l("The file is empty.")))
    return rows


def _filled(cell: Any) -> bool:
    return cell is not None and (not isinstance(cell, str) or cell.strip() != "")


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    unreadable = UnreadableSheet(str(_l("The file cannot be read as an XLSX workbook.")))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(entry.file_size for entry in archive.infolist())
    except Exception as error:  # a damaged archive signals itself with many kinds of exception
        raise unreadable from error
    if declared > MAX_UNPACKED or (declared > RATIO_FLOOR and declared > MAX_RATIO * len(data)):
        raise UnreadableSheet(str(_l("The workbook unpacks to far more than its size: refused.")))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    except Exception as error:
        raise unreadable from error


def decoded(data: bytes, refusal: type[Exception] = UnreadableSheet) -> str:
    """The text of a CSV file as spreadsheets in a Chinese factory save it: UTF-8 (with or without a byte-order
    mark) or GB18030 (Excel's "CSV" on a Chinese Windows). Raises ``refusal`` with the reason for a binary file or
    text in another encoding."""
    if b"\x00" in data:
        raise refusal(str(_l("The file is neither a CSV text nor an XLSX workbook.")))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refusal(str(_l("The file is not text in UTF-8 or GB18030.")))


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = decoded(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = next((candidate for candidate in ("\t", ";") if candidate in first_line), ",")
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise UnreadableSheet(str(_l("The file cannot be read as CSV: %(reason)s", reason=str(error)[:200]))) from error
