"""Non-conformances imported from a factory's earlier spreadsheets (rules: :mod:`capa.capas.importing`).

The file is sent as ``multipart/form-data`` (a JSON body cannot carry it), with ``skip_invalid``; the answer says
what was imported, what was imported before, and each problem by row, column and reason.
"""

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer
from capa.capas import importing
from capa.capas.commands import ImportNCs
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import ValidationError
from capa.http.guard import request_user

FORM_FIELDS = ("skip_invalid",)
FILE_FIELD = "file"
#: How a form writes true and false.
FLAGS = {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False, "": False}

IMPORT_BODY = {
    "required": True,
    "description": "The spreadsheet in the field `file` (CSV in UTF-8 or GB18030, or XLSX: judged by its content; one "
    'row per NC, headers in English or Chinese, see the README\'s "Importing earlier records"), and `skip_invalid` '
    "(`true` to import the valid rows and leave the bad ones out; by default nothing is imported when any row is "
    "bad). At most MAX_CONTENT_LENGTH (50 MB by default).",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "skip_invalid": {"type": "boolean", "default": False},
                },
            }
        }
    },
}


class RowProblem(Answer):
    """A problem in the file: its row as the spreadsheet numbers it (the header is row 1), its column as the file
    writes it, and why."""

    row: int
    column: str
    reason: str


class ImportedBefore(Answer):
    """An NC of the file imported before, skipped: its first row, its number in the sheet (empty for a row known by
    its content), and the number the app gave it."""

    row: int
    reference: str
    number: str


class ImportedNCs(Answer):
    """What an import did."""

    file: str
    #: Rows with something to import, and the NCs they describe (rows with the same number are one NC).
    rows: int
    ncs: int
    #: The numbers the app gave the NCs imported, in the order of their rows.
    imported: list[str]
    imported_before: list[ImportedBefore]
    #: The rows left out (with ``skip_invalid``), and their problems.
    rejected_rows: list[int]
    errors: list[RowProblem]
    #: The file's columns that were not imported (their header names no field).
    ignored_columns: list[str]


@bp.post("/imports/ncs")
@bp.output(ImportedNCs)
@bp.doc(
    extensions={"requestBody": IMPORT_BODY},
    responses={
        400: "The file cannot be read, or (without `skip_invalid`) rows have problems: `rows` names each, "
        "`{row, column, reason}`; nothing was imported.",
        409: "Another import or a filing took a number or a reference at the same moment (`conflict`); nothing was "
        "imported: send it again.",
        413: "The body is larger than MAX_CONTENT_LENGTH (`payload_too_large`); nothing was imported.",
    },
)
@requires(Permission.IMPORT_NCS)
def import_ncs():
    """Import non-conformances from a spreadsheet

    Every row is checked first. NCs imported before (the same number in the sheet, or the same row) are skipped, so
    sending the same file twice imports nothing the second time. Imported NCs are numbered in the year of their
    report, after the numbers issued so far.
    """
    request.max_content_length = current_app.config["MAX_CONTENT_LENGTH"]
    if request.mimetype != "multipart/form-data":
        raise ValidationError(
            str(PLEASE_CORRECT),
            fields={FILE_FIELD: str(_l("Send the spreadsheet as multipart/form-data, in the field file."))},
        )
    unknown = (set(request.form) - set(FORM_FIELDS)) | (set(request.files) - {FILE_FIELD})
    if unknown:
        raise ValidationError(str(PLEASE_CORRECT), fields={name: str(_l("Unknown field.")) for name in sorted(unknown)})
    written = request.form.get("skip_invalid", "")
    command = parse(ImportNCs, {"skip_invalid": FLAGS.get(written.strip().lower(), written)})
    upload = request.files.get(FILE_FIELD)
    data = upload.read() if upload is not None else b""
    if not data:
        message = str(_l("Choose the spreadsheet (CSV or XLSX)."))
        raise ValidationError(str(PLEASE_CORRECT), fields={FILE_FIELD: message})
    name = (upload.filename or "import.csv").replace("\\", "/").rsplit("/", 1)[-1][:200]
    outcome = importing.import_ncs(data, name, request_user(), skip_invalid=command.skip_invalid)
    problems = [{"row": error.row, "column": error.column, "reason": error.reason} for error in outcome.errors]
    if outcome.refused:
        message = str(_l("%(name)s has %(n)d problems; nothing was imported.", name=name, n=len(outcome.errors)))
        raise ValidationError(message, fields={FILE_FIELD: message}, rows=problems)
    return {
        "file": name,
        "rows": outcome.rows,
        "ncs": outcome.ncs,
        "imported": outcome.numbers,
        "imported_before": [
            {"row": entry.row, "reference": entry.reference, "number": entry.number} for entry in outcome.already
        ],
        "rejected_rows": outcome.rejected_rows,
        "errors": problems,
        "ignored_columns": outcome.ignored_columns,
    }
