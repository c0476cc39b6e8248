"""Non-conformances taken in from a factory's earlier spreadsheets (CSV or XLSX): the history from before the app.

The file (:mod:`capa.common.sheets`): XLSX (the first sheet), or CSV in UTF-8 with or without a byte-order mark,
or in GB18030 as Chinese Excel saves it. Its first row names the columns, in English or in Chinese
(:data:`COLUMNS`, compared without case, spaces or ``_``); a column nobody knows is not imported, and says so
(the page shows it, the command line prints it); the person may choose what any column holds instead
(``columns``: position → field, or ``""`` for none). Required: the defect type, the line, the source, the report
date, and a title or a description (a blank title takes the description's first line).

The rules:
- every row is checked before anything is written, by the same vocabulary as the app's own forms: defect types
  by code or name (English or Chinese), lines and styles by code or name, batches by number (of the style, when
  both are given), sources, severities, states and action kinds by code or as the pages and the glossary write
  them (巡检, 严重, 已关闭, 纠正措施…), dates as 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, 20260305, Mar 5, 2026 or
  as Excel dates (a day and month that could be either way round, 05/03/2026, is refused: write the year first),
  none in the future. Each problem is reported with its row as the spreadsheet numbers it (the header is row 1),
  its column as the file writes it, and the reason;
- by default nothing is imported when any row is bad; with ``skip_invalid`` the NCs of the valid rows are, and
  the rows left out are returned (:func:`rejected_csv` writes them, with their problems, for correcting);
- an NC is known by its number in the sheet, kept as its ``import_reference``; a row without one by a
  fingerprint of what it says (the same row says the same thing whatever the column order or the header
  language). An NC whose reference was imported before is skipped and reported as already imported: importing
  the same file twice adds nothing;
- rows with the same number are one NC: the first gives the NC, and each may add an action (action, kind,
  owner, due date, completion date) and a lab result (parameter, result, unit, laboratory, report number, test
  date); their NC columns must be blank or repeat the first row's;
- imported NCs get the app's numbers in the year of their report (plant time), after the numbers issued so far
  and without gaps, in the order of their report dates (then of their rows);
- each keeps its state. A closed NC needs its closing date (``closed_at``); a cancelled one takes it as its
  cancelling date when given. An open NC is imported as ``reported`` (or ``open``, 未关闭, 处理中) or
  ``investigation``: its root cause is then submitted and reviewed in the app (an NC waiting for the review of
  a root cause the app never saw could not move on, nor close). A blank state is ``closed`` when a closing date
  is given, else ``reported``;
- an action is done when it has a completion date or its NC is closed (completed then), else open; an open one
  needs a due date and an active owner. The owner is a user named by user name or full name; a blank owner is
  the importing user. A lab result is judged as every result is (:mod:`capa.safety.judging`), against the
  style's category or the safety category column, and linked to the NC with its parameter, beside the defect
  type's usual parameters (as at filing); an NC linked to a parameter on a category A garment is
  safety-critical;
- the history before the app is taken as it was: no recurrence is flagged, no closing gate is checked, and no
  effectiveness review falls due;
- each imported NC gets one history entry by the importing user, "imported from <file>, row N", chained like
  every other entry (:mod:`capa.audit.chain`: its place and hash are computed here, with the same rule, and the
  new chain's head written beside it, so ``flask --app capa audit verify`` verifies it);
- everything is written in one unit of work, with bulk statements (a few thousand rows per statement, never
  one ORM object per NC), so a failed or interrupted import leaves nothing; filings of the same years wait for
  the numbering counters meanwhile.

:func:`import_ncs` imports bytes, :func:`import_path` a file on disk (the command line, the benchmark),
:func:`preview` checks without writing and shows the first rows. The page keeps the uploaded file in the app's
file storage between its preview and its import (:class:`ImportJob`), so any web host may take either step.
"""

import contextlib
import csv
import functools
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import STAFF, User
from capa.audit.chain import canonical, chain_name_of, entry_hash
from capa.audit.models import AuditChain
from capa.capas import filing
from capa.capas.models import (
    Action,
    ActionKind,
    ActionStatus,
    DefectType,
    Event,
    NonConformance,
    Severity,
    Source,
    nc_parameters,
)
from capa.capas.states import State
from capa.common import files, pending, sheets
from capa.common.clock import plant_today, plant_zone
from capa.common.errors import DomainError, NotFound, ValidationError
from capa.common.transaction import note_write, unit_of_work
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import Batch, ProductionLine, SafetyCategory, Style
from capa.safety import service as safety

#: Each field an imported NC may have, and the headers it may be written under.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": (
        "number",
        "nc number",
        "nc no",
        "nc no.",
        "reference",
        "ref",
        "编号",
        "不合格编号",
        "不合格项编号",
        "nc编号",
    ),
    "title": ("title", "summary", "标题", "主题", "不合格标题"),
    "description": ("description", "details", "描述", "问题描述", "不合格描述", "详细描述"),
    "defect_type": ("defect type", "defect", "缺陷类型", "缺陷", "不良类型", "疵点类型"),
    "line": ("line", "production line", "生产线", "产线", "线别"),
    "style": ("style", "style code", "款式", "款号", "款式编号"),
    "batch": ("batch", "batch number", "批次", "批号", "生产批次"),
    "severity": ("severity", "严重程度", "严重度"),
    "source": ("source", "found at", "来源", "发现环节", "发现来源"),
    "reported_on": (
        "report date",
        "reported",
        "reported on",
        "reported at",
        "date",
        "报告日期",
        "发现日期",
        "提报日期",
        "日期",
    ),
    "status": ("status", "state", "状态"),
    "closed_on": ("closed", "closed on", "closed at", "closing date", "close date", "关闭日期", "结案日期"),
    "quantity": ("quantity", "quantity affected", "qty", "数量", "不良数量", "影响数量"),
    "category": ("category", "safety category", "安全类别"),
    "containment": ("containment", "围堵措施", "遏制措施"),
    "effectiveness": ("effectiveness", "有效性验证", "效果验证"),
    "action": ("action", "corrective action", "纠正措施", "措施"),
    "action_kind": ("action kind", "action type", "措施类型"),
    "owner": ("owner", "action owner", "responsible", "责任人", "负责人"),
    "due_on": ("due date", "due", "due on", "截止日期", "计划完成日期"),
    "done_on": ("completed", "completed on", "done on", "completion date", "完成日期", "实际完成日期"),
    "parameter": ("parameter", "safety parameter", "参数", "检测项目"),
    "result": ("result", "value", "结果", "检测结果"),
    "unit": ("unit", "单位"),
    "lab": ("laboratory", "lab", "检测机构"),
    "report_number": ("lab report", "lab report number", "report number", "报告编号"),
    "tested_on": ("test date", "tested on", "检测日期"),
}
#: How each field is named to a person (the page's column choices, problems about a missing column).
FIELD_LABELS = {
    "number": _l("Number in the sheet"),
    "title": _l("Title"),
    "description": _l("Description"),
    "defect_type": _l("Defect type"),
    "line": _l("Line"),
    "style": _l("Style"),
    "batch": _l("Batch"),
    "severity": _l("Severity"),
    "source": _l("Source"),
    "reported_on": _l("Report date"),
    "status": _l("State"),
    "closed_on": _l("Closing date"),
    "quantity": _l("Quantity affected"),
    "category": _l("Safety category"),
    "containment": _l("Containment"),
    "effectiveness": _l("Effectiveness"),
    "action": _l("Corrective action"),
    "action_kind": _l("Kind of action"),
    "owner": _l("Owner"),
    "due_on": _l("Due date"),
    "done_on": _l("Completed on"),
    "parameter": _l("Safety parameter"),
    "result": _l("Result"),
    "unit": _l("Unit"),
    "lab": _l("Laboratory"),
    "report_number": _l("Lab report number"),
    "tested_on": _l("Test date"),
}
REQUIRED = ("defect_type", "line", "source", "reported_on")
ACTION_FIELDS = ("action", "action_kind", "owner", "due_on", "done_on")
RESULT_FIELDS = ("parameter", "result", "unit", "lab", "report_number", "tested_on")
#: The fields that describe the NC itself: the same on every row of one NC.
NC_FIELDS = tuple(name for name in COLUMNS if name not in ACTION_FIELDS + RESULT_FIELDS + ("number",))
DATE_FIELDS = frozenset({"reported_on", "closed_on", "due_on", "done_on", "tested_on"})
#: More rows than this are refused (a million-row sheet is a database export: split it).
MAX_ROWS = 1_000_000
#: NCs written per bulk statement.
CHUNK = 2000
#: What an NC imported keeps of its reference at most (the column's size).
MAX_REFERENCE = 200
FINGERPRINT_PREFIX = "sha256:"

#: How a sheet may write each state; the open ones past investigation are refused (see the module's rules).
STATE_NAMES = {
    "reported": State.REPORTED,
    "已提报": State.REPORTED,
    "open": State.REPORTED,
    "new": State.REPORTED,
    "未关闭": State.REPORTED,
    "处理中": State.REPORTED,
    "进行中": State.REPORTED,
    "investigation": State.INVESTIGATION,
    "调查中": State.INVESTIGATION,
    "closed": State.CLOSED,
    "已关闭": State.CLOSED,
    "关闭": State.CLOSED,
    "结案": State.CLOSED,
    "已结案": State.CLOSED,
    "cancelled": State.CANCELLED,
    "canceled": State.CANCELLED,
    "已取消": State.CANCELLED,
    "取消": State.CANCELLED,
    "review": State.REVIEW,
    "审核": State.REVIEW,
    "审核中": State.REVIEW,
    "action": State.ACTION,
    "措施": State.ACTION,
    "措施中": State.ACTION,
    "verification": State.VERIFICATION,
    "验证": State.VERIFICATION,
    "验证中": State.VERIFICATION,
}
IMPORTED_STATES = frozenset({State.REPORTED, State.INVESTIGATION, State.CLOSED, State.CANCELLED})
SOURCE_NAMES = {
    **{source.value: source for source in Source},
    "inline inspection": Source.INLINE,
    "ipqc": Source.INLINE,
    "巡检": Source.INLINE,
    "end of line": Source.END_OF_LINE,
    "end of line inspection": Source.END_OF_LINE,
    "尾查": Source.END_OF_LINE,
    "final audit": Source.FINAL_AUDIT,
    "final inspection": Source.FINAL_AUDIT,
    "终检": Source.FINAL_AUDIT,
    "出货前检验": Source.FINAL_AUDIT,
    "lab test": Source.LAB_TEST,
    "lab": Source.LAB_TEST,
    "实验室检测": Source.LAB_TEST,
    "customer complaint": Source.CUSTOMER_COMPLAINT,
    "客户投诉": Source.CUSTOMER_COMPLAINT,
    "incoming material": Source.INCOMING_MATERIAL,
    "incoming": Source.INCOMING_MATERIAL,
    "iqc": Source.INCOMING_MATERIAL,
    "来料": Source.INCOMING_MATERIAL,
    "来料检验": Source.INCOMING_MATERIAL,
}
SEVERITY_NAMES = {
    **{severity.value: severity for severity in Severity},
    "轻微": Severity.MINOR,
    "严重": Severity.MAJOR,
    "致命": Severity.CRITICAL,
}
ACTION_KIND_NAMES = {
    **{kind.value: kind for kind in ActionKind},
    "corrective action": ActionKind.CORRECTIVE,
    "纠正措施": ActionKind.CORRECTIVE,
    "纠正": ActionKind.CORRECTIVE,
    "preventive action": ActionKind.PREVENTIVE,
    "预防措施": ActionKind.PREVENTIVE,
    "预防": ActionKind.PREVENTIVE,
    "standard revision": ActionKind.STANDARD_REVISION,
    "标准修订": ActionKind.STANDARD_REVISION,
    "supplier corrective action request": ActionKind.SCAR,
    "supplier corrective action request (scar)": ActionKind.SCAR,
    "供应商纠正措施要求": ActionKind.SCAR,
    "retraining": ActionKind.TRAINING,
    "培训": ActionKind.TRAINING,
    "再培训": ActionKind.TRAINING,
}

Progress = Callable[[str, int, int], None]
#: The stages an import reports its progress in.
CHECKING, STORING = "checking", "storing"


@functools.lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """Text as names are compared: case, spaces, ``_`` and ``-`` do not count (a sheet repeats its names, so
    each is worked out once)."""
    return _SEPARATORS.sub(" ", text.strip().casefold()).strip()


_SEPARATORS = re.compile(r"[\s_\-]+")


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.:：]+", "", text.strip().casefold())


_HEADERS = {_header_key(written): name for name, spellings in COLUMNS.items() for written in spellings}
_STATES = {_key(name): state for name, state in STATE_NAMES.items()}
_SOURCES = {_key(name): source for name, source in SOURCE_NAMES.items()}
_SEVERITIES = {_key(name): severity for name, severity in SEVERITY_NAMES.items()}
_ACTION_KINDS = {_key(name): kind for name, kind in ACTION_KIND_NAMES.items()}


# What an import found ----------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class RowError:
    """A problem in the file: its row as the spreadsheet numbers it (the header is row 1), its column as the file
    writes it, and why."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class AlreadyImported:
    """An NC of the file imported before: its first row, its reference, and the number the app gave it."""

    row: int
    reference: str
    number: str


@dataclass
class NCImport:
    """What an import found and did."""

    filename: str
    #: The file's columns as written, and what each is imported as (position → field; "" for none).
    headers: list[str] = field(default_factory=list)
    columns: dict[int, str] = field(default_factory=dict)
    #: Rows with something to import.
    rows: int = 0
    #: The NCs the file describes (rows with one number are one NC).
    ncs: int = 0
    #: The numbers the app gave the NCs imported, in the order of their rows.
    numbers: list[str] = field(default_factory=list)
    already: list[AlreadyImported] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: The rows left out: of the NCs with a problem (every row of such an NC).
    rejected_rows: list[int] = field(default_factory=list)
    #: Whether anything was written.
    stored: bool = False
    #: NCs that would be imported (what a check finds; after an import, the same as ``len(numbers)``).
    ready: int = 0
    #: Whether the valid rows were to be imported beside bad ones.
    skip_invalid: bool = False
    #: Whether the columns themselves are wrong (a required one missing): then no row can be imported.
    columns_refused: bool = False

    @property
    def imported(self) -> int:
        return len(self.numbers)

    @property
    def refused(self) -> bool:
        """Nothing imported because of problems: the columns' own, or any row's unless ``skip_invalid``."""
        return bool(self.errors) and not self.stored and (self.columns_refused or not self.skip_invalid)

    @property
    def ignored_columns(self) -> list[str]:
        return [header for index, header in enumerate(self.headers) if header and not self.columns.get(index)]


def describe(errors: Iterable[RowError]) -> list[str]:
    """The problems as lines of text: ``row 3, 缺陷类型: No defect type …``."""
    return [
        str(_l("row %(row)d, %(column)s: %(reason)s", row=error.row, column=error.column or "—", reason=error.reason))
        for error in errors
    ]


# Reading the file and its columns ----------------------------------------------------------------------------


@dataclass
class Sheet:
    """The file as read: its header row and its further rows, numbered as the spreadsheet numbers them."""

    headers: list[str]
    #: (row number, cells) of every row below the header that is not blank.
    rows: list[tuple[int, list[Any]]]


def read_sheet(data: bytes) -> Sheet:
    """Raises ValidationError naming ``file`` when the file cannot be read as a table, or has too many rows."""
    try:
        cells = sheets.read_rows(data)
    except sheets.UnreadableSheet as refusal:
        raise _file_refused(str(refusal)) from None
    headers = [_text(cell) for cell in cells[0]]
    rows = [(number, row) for number, row in enumerate(cells[1:], start=2) if any(_filled(cell) for cell in row)]
    if len(rows) > MAX_ROWS:
        raise _file_refused(str(_l("At most %(n)d rows.", n=MAX_ROWS)))
    return Sheet(headers, rows)


def _file_refused(message: str) -> ValidationError:
    return ValidationError(message, fields={"file": message})


def detect_columns(headers: Sequence[str]) -> dict[int, str]:
    """What each column holds by its header (position → field), "" for a header nobody knows; the first of
    two columns with the same meaning is taken."""
    columns: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        name = _HEADERS.get(_header_key(header), "") if header else ""
        if name in taken:
            name = ""
        columns[index] = name
        if name:
            taken.add(name)
    return columns


def columns_by_header(headers: Sequence[str], chosen: Mapping[str, str]) -> dict[int, str]:
    """The detected columns with the person's choices applied: ``{"序号": "number", "备注": ""}`` (a header as
    written → a field, or "" for none). Raises ValidationError naming ``columns`` for a header the file does not
    have or a field that does not exist."""
    columns = detect_columns(headers)
    problems = []
    for header, name in chosen.items():
        positions = [index for index, written in enumerate(headers) if written == header.strip()]
        if not positions:
            problems.append(str(_l("The file has no column %(header)s.", header=header)))
        elif name and name not in COLUMNS:
            problems.append(str(_l("No field %(name)s; the fields are: %(all)s.", name=name, all=", ".join(COLUMNS))))
        else:
            for index in positions:
                columns[index] = name
    if problems:
        raise ValidationError(" ".join(problems), fields={"columns": " ".join(problems)})
    return columns


def _column_problems(headers: Sequence[str], columns: Mapping[int, str]) -> list[RowError]:
    """Problems of the columns themselves (row 1): a field given twice, a required one missing."""
    problems = []
    seen: dict[str, int] = {}
    for index in sorted(columns):
        name = columns[index]
        if not name:
            continue
        if name not in COLUMNS or index >= len(headers):
            problems.append(RowError(1, _shown_header(headers, index), str(_l("Unknown column."))))
        elif name in seen:
            problems.append(
                RowError(
                    1,
                    _shown_header(headers, index),
                    str(
                        _l(
                            "%(field)s is given twice: in this column and in %(other)s.",
                            field=FIELD_LABELS[name],
                            other=_shown_header(headers, seen[name]),
                        )
                    ),
                )
            )
        else:
            seen[name] = index
    for name in REQUIRED:
        if name not in seen:
            problems.append(RowError(1, str(FIELD_LABELS[name]), str(_l("This column is missing."))))
    if "title" not in seen and "description" not in seen:
        problems.append(
            RowError(1, str(FIELD_LABELS["title"]), str(_l("This column is missing (or a description column).")))
        )
    return problems


def _shown_header(headers: Sequence[str], index: int) -> str:
    header = headers[index] if index < len(headers) else ""
    return header or str(_l("column %(n)d", n=index + 1))


def _filled(cell: Any) -> bool:
    if cell.__class__ is str:
        return cell != "" and not cell.isspace()
    return cell is not None


def _text(cell: Any) -> str:
    """A cell as text, the way the sheet shows it."""
    if cell.__class__ is str:
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == clock_time() else cell.isoformat(sep=" ", timespec="minutes")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell).strip()


# Values as sheets write them ------------------------------------------------------------------------------------


class _Bad(Exception):
    """A cell that cannot be taken; the message says why."""


_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_WORDS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y")


def _moment(cell: Any) -> datetime:
    """A date (or date and time) as the sheet writes it, naive, in plant time; raises _Bad."""
    if isinstance(cell, datetime):
        moment = (
            cell.replace(tzinfo=None) if cell.tzinfo is None else cell.astimezone(plant_zone()).replace(tzinfo=None)
        )
    elif isinstance(cell, date):
        moment = datetime.combine(cell, clock_time())
    else:
        moment = _moment_from_text(_text(cell))
    if not 1900 <= moment.year <= 9998:
        raise _Bad(str(_l("Out of range.")))
    return moment


def _moment_from_text(text: str) -> datetime:
    try:
        match = _YMD.fullmatch(text)
        if match is not None:
            year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
            return datetime(year, month, day, hour, minute, second)
        match = _COMPACT.fullmatch(text)
        if match is not None:
            return datetime(*(int(part) for part in match.groups()))
        match = _DMY.fullmatch(text)
        if match is not None:
            first, second, year = (int(part) for part in match.groups())
            if first <= 12 and second <= 12 and first != second:
                raise _Bad(
                    str(
                        _l(
                            "%(text)s may be either day and month: write the year first (2026-03-05).",
                            text=text,
                        )
                    )
                )
            day, month = (first, second) if first > 12 or first == second else (second, first)
            return datetime(year, month, day)
    except ValueError:
        raise _Bad(str(_l("No such date."))) from None
    for pattern in _WORDS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise _Bad(str(_l("Not a date: write it 2026-03-05.")))


def _choice(text: str, names: Mapping[str, Any], allowed: Iterable[str]) -> Any:
    found = names.get(_key(text))
    if found is None:
        raise _Bad(str(_l("Must be one of: %(choices)s.", choices=", ".join(allowed))))
    return found


def _quantity(text: str) -> int:
    digits = text.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", digits):
        digits = digits.replace(",", "")
    if re.fullmatch(r"\d+\.0+", digits):
        digits = digits.split(".")[0]
    if not re.fullmatch(r"\d{1,9}", digits) or int(digits) > 10_000_000:
        raise _Bad(str(_l("Must be a whole number between %(low)d and %(high)d.", low=0, high=10_000_000)))
    return int(digits)


def _limited(text: str, limit: int) -> str:
    if len(text) > limit:
        raise _Bad(str(_l("At most %(n)d characters.", n=limit)))
    if "\x00" in text:
        raise _Bad(str(_l("Contains a character that is not allowed.")))
    return text


# The records a file names ---------------------------------------------------------------------------------------


class _Records:
    """The app's records a file may name, looked up once per import: by code, number or name as sheets write
    them (a name only where one record has it)."""

    def __init__(self, batches: Iterable[str], actor: User):
        session = db.session
        self.actor = actor
        self.defect_types: dict[str, DefectType] = {}
        defect_types = list(session.scalars(select(DefectType).options(selectinload(DefectType.parameters))))
        for defect_type in defect_types:
            for written in (defect_type.name, defect_type.name_zh):
                if written:
                    self.defect_types.setdefault(_key(written), defect_type)
        for defect_type in defect_types:
            self.defect_types[_key(defect_type.code)] = defect_type
        self.lines = _named(session.execute(select(ProductionLine.id, ProductionLine.code, ProductionLine.name)))
        self.styles = _named((style, style.code, style.name) for style in session.scalars(select(Style)))
        wanted = sorted({number.strip().upper() for number in batches if number.strip()})
        self.batches: dict[str, Batch] = {}
        for start in range(0, len(wanted), 1000):
            for batch in session.scalars(select(Batch).where(Batch.number.in_(wanted[start : start + 1000]))):
                self.batches[batch.number] = batch
        self.users: dict[str, User] = {}
        by_name: dict[str, list[User]] = {}
        # Owners are the factory's people: a supplier's account owns nothing of its CAPAs.
        for user in session.scalars(select(User).where(User.role.in_([role.value for role in STAFF]))):
            self.users[user.username.casefold()] = user
            if user.full_name:
                by_name.setdefault(_key(user.full_name), []).append(user)
        for name, users in by_name.items():
            if len(users) == 1:
                self.users.setdefault(name, users[0])
        self.parameters: dict[str, Any] = {}
        catalog = safety.list_parameters()
        for parameter in catalog:
            for written in (parameter.name, parameter.name_zh):
                if written:
                    self.parameters.setdefault(_key(written), parameter)
        for parameter in catalog:
            self.parameters[_key(parameter.code)] = parameter
        #: The defect type's usual parameters for a category, as filing links them.
        self._usual: dict[tuple[int, str | None], list[int]] = {}

    def usual_parameters(self, defect_type: DefectType, category: str | None) -> list[int]:
        key = (defect_type.id, category)
        if key not in self._usual:
            self._usual[key] = [
                parameter.id
                for parameter in defect_type.parameters
                if category is None or parameter.limit_for(category) is not None
            ]
        return self._usual[key]


def _named(rows: Iterable[tuple[Any, str, str]]) -> dict[str, Any]:
    """Records by code, and by name where the name is one record's only."""
    by_code: dict[str, Any] = {}
    by_name: dict[str, list[Any]] = {}
    for record, code, name in rows:
        by_code[_key(code)] = record
        if name:
            by_name.setdefault(_key(name), []).append(record)
    named = {name: records[0] for name, records in by_name.items() if len(records) == 1}
    return named | by_code


# Checking ------------------------------------------------------------------------------------------------------


@dataclass
class _Group:
    """The rows of one NC: the first gives the NC, each may add an action and a result."""

    rows: list[int] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    reference: str = ""
    #: The sheet's number (empty for an NC known by its fingerprint).
    number: str = ""
    problems: list[RowError] = field(default_factory=list)


@dataclass
class _Planned:
    """One NC checked, ready to be written."""

    group: _Group
    reported_at: datetime
    values: dict[str, Any]
    parameter_ids: list[int]
    actions: list[dict[str, Any]]
    results: list[tuple[Any, dict[str, Any]]]


class _Check:
    """Checks the groups of one file against the records, gathering every problem."""

    def __init__(self, headers: dict[str, str], records: _Records, today: date):
        self.headers = headers
        self.records = records
        self.today = today
        self.zone = plant_zone()
        self._moments: dict[Any, datetime | str] = {}

    def column(self, name: str) -> str:
        return self.headers.get(name) or str(FIELD_LABELS[name])

    def moment(self, cell: Any) -> datetime:
        """A date cell read once per distinct value (a sheet repeats its dates), not in the future."""
        try:
            known = self._moments.get(cell)
        except TypeError:  # an unhashable cell
            known = None
        if known is None:
            try:
                moment = _moment(cell)
                known = moment if moment.date() <= self.today else str(_l("Cannot be in the future."))
            except _Bad as bad:
                known = str(bad)
            with contextlib.suppress(TypeError):  # an unhashable cell is read each time
                self._moments[cell] = known
        if isinstance(known, str):
            raise _Bad(known)
        return known

    def aware(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=self.zone).astimezone(UTC)

    def group(self, group: _Group) -> _Planned | None:
        problems = list(group.problems)
        row = group.rows[0]
        cells = group.cells[0]

        def bad(name: str, message: str, at: int = row) -> None:
            problems.append(RowError(at, self.column(name), message))

        def text(name: str, limit: int, cells: dict[str, Any] = cells, at: int = row) -> str:
            try:
                return _limited(_text(cells.get(name)), limit)
            except _Bad as refusal:
                bad(name, str(refusal), at)
                return ""

        records = self.records
        title = text("title", 200)
        description = text("description", 4000)
        if not title and description:
            first_line = description.splitlines()[0].strip()
            title = first_line if len(first_line) <= 200 else first_line[:199] + "…"
        if not title:
            bad("title", str(_l("Give a title or a description.")))

        def known(name: str, found: dict, unknown, *, required: bool = False, key=_key):
            """The record a cell names, looked up in ``found``; None (and the problem noted) when the cell is
            empty but required or names nothing known."""
            written = _text(cells.get(name))
            if not written:
                if required:
                    bad(name, str(_l("This field is required.")))
                return None
            record = found.get(key(written))
            if record is None:
                bad(name, unknown(written))
            return record

        defect_type = known(
            "defect_type",
            records.defect_types,
            lambda code: str(_l("No defect type %(code)s.", code=code)),
            required=True,
        )
        line_id = known("line", records.lines, lambda value: str(_l("No line %(value)s.", value=value)), required=True)
        style = known("style", records.styles, lambda value: str(_l("No style %(value)s.", value=value)))
        batch = known(
            "batch", records.batches, lambda value: str(_l("No batch %(value)s.", value=value)), key=str.upper
        )
        if batch is not None:
            if style is not None and batch.style_id != style.id:
                bad(
                    "batch",
                    str(_l("Batch %(batch)s is of style %(style)s.", batch=batch.number, style=batch.style.code)),
                )
            elif style is None and not _text(cells.get("style")):
                style = batch.style
        category = style.category if style is not None else None
        written = _text(cells.get("category"))
        if written and style is None:
            candidate = written.upper().removesuffix("类").strip()
            if candidate in {member.value for member in SafetyCategory}:
                category = candidate
            else:
                bad("category", str(_l("Must be one of: %(choices)s.", choices="A, B, C")))
        source = severity = None
        written = _text(cells.get("source"))
        try:
            if not written:
                raise _Bad(str(_l("This field is required.")))
            source = _choice(written, _SOURCES, (member.value for member in Source))
        except _Bad as refusal:
            bad("source", str(refusal))
        written = _text(cells.get("severity"))
        severity = Severity.MAJOR
        if written:
            try:
                severity = _choice(written, _SEVERITIES, (member.value for member in Severity))
            except _Bad as refusal:
                bad("severity", str(refusal))
        quantity = None
        written = _text(cells.get("quantity"))
        if written:
            try:
                quantity = _quantity(written)
            except _Bad as refusal:
                bad("quantity", str(refusal))
        reported = None
        if not _filled(cells.get("reported_on")):
            bad("reported_on", str(_l("This field is required.")))
        else:
            try:
                reported = self.moment(cells.get("reported_on"))
            except _Bad as refusal:
                bad("reported_on", str(refusal))
        closed = None
        if _filled(cells.get("closed_on")):
            try:
                closed = self.moment(cells.get("closed_on"))
            except _Bad as refusal:
                bad("closed_on", str(refusal))
        state = State.CLOSED if _filled(cells.get("closed_on")) else State.REPORTED
        written = _text(cells.get("status"))
        if written:
            state = _STATES.get(_key(written))
            if state is None:
                bad(
                    "status",
                    str(_l("Must be one of: %(choices)s.", choices="reported, investigation, closed, cancelled")),
                )
            elif state not in IMPORTED_STATES:
                bad(
                    "status",
                    str(
                        _l(
                            "An open NC is imported as reported or investigation: its root cause is then submitted "
                            "and reviewed in the app."
                        )
                    ),
                )
                state = None
        if state == State.CLOSED and not _filled(cells.get("closed_on")):
            bad("closed_on", str(_l("A closed NC needs its closing date.")))
        if state in (State.REPORTED, State.INVESTIGATION) and _filled(cells.get("closed_on")):
            bad("closed_on", str(_l("An open NC has no closing date: give its state as closed, or leave this empty.")))
        if reported is not None and closed is not None and closed.date() < reported.date():
            bad("closed_on", str(_l("Before the report date.")))
        containment = text("containment", 4000)
        effectiveness = text("effectiveness", 4000)
        reported_at = self.aware(reported) if reported is not None else None
        closed_at = max(self.aware(closed), reported_at) if closed is not None and reported_at is not None else None
        parameter_ids: list[int] = []
        if defect_type is not None:
            parameter_ids = list(records.usual_parameters(defect_type, category))
        actions = []
        results = []
        for at, row_cells in zip(group.rows, group.cells, strict=True):
            action = self._action(row_cells, at, state, reported, closed_at, bad, text)
            if action is not None:
                actions.append(action)
            result = self._result(row_cells, at, style, category, reported, batch, bad, text)
            if result is not None:
                results.append(result)
                if result[0].parameter.id not in parameter_ids:
                    parameter_ids.append(result[0].parameter.id)
        if problems:
            group.problems = problems
            return None
        year = reported_at.astimezone(self.zone).year
        values = {
            "year": year,
            "status": state.value,
            "title": title,
            "description": description,
            "defect_type_id": defect_type.id,
            "source": source.value,
            "severity": severity.value,
            "line_id": line_id,
            "style_id": style.id if style is not None else None,
            "batch_id": batch.id if batch is not None else None,
            "category": None if style is not None else category,
            "quantity_affected": quantity,
            "safety_critical": bool(parameter_ids) and category == "A",
            "reported_at": reported_at,
            "import_reference": group.reference,
            "containment": containment,
            "effectiveness": effectiveness,
            "closed_at": closed_at if state == State.CLOSED else None,
            "cancelled_at": (closed_at or reported_at) if state == State.CANCELLED else None,
        }
        return _Planned(group, reported_at, values, parameter_ids, actions, results)

    def _action(self, cells, at, state, reported, closed_at, bad, text) -> dict[str, Any] | None:
        if not any(_filled(cells.get(name)) for name in ACTION_FIELDS):
            return None
        records = self.records
        description = text("action", 4000, cells, at)
        if not description:
            bad("action", str(_l("Give the action's description.")), at)
        kind = ActionKind.CORRECTIVE
        written = _text(cells.get("action_kind"))
        if written:
            try:
                kind = _choice(written, _ACTION_KINDS, (member.value for member in ActionKind))
            except _Bad as refusal:
                bad("action_kind", str(refusal), at)
        owner = records.actor
        written = _text(cells.get("owner"))
        if written:
            owner = records.users.get(written.casefold()) or records.users.get(_key(written))
            if owner is None:
                bad("owner", str(_l("No user %(name)s (a user name or a full name).", name=written)), at)
        due = done = None
        for name in ("due_on", "done_on"):
            if _filled(cells.get(name)):
                try:
                    moment = self.moment(cells.get(name)) if name == "done_on" else _moment(cells.get(name))
                except _Bad as refusal:
                    bad(name, str(refusal), at)
                    continue
                if name == "due_on":
                    due = moment.date()
                else:
                    done = moment
        completed_at = None
        if done is not None:
            completed_at = self.aware(done)
            if reported is not None and done.date() < reported.date():
                bad("done_on", str(_l("Before the report date.")), at)
        elif state == State.CLOSED:
            completed_at = closed_at
        if completed_at is None and due is None and not _filled(cells.get("due_on")):
            bad("due_on", str(_l("An open action needs its due date.")), at)
        if completed_at is None and owner is not None and not owner.active:
            bad("owner", str(_l("No active user %(name)s.", name=owner.username)), at)
        created_at = self.aware(reported) if reported is not None else None
        if due is None and completed_at is not None:
            due = completed_at.astimezone(self.zone).date()
        return {
            "kind": kind.value,
            "description": description,
            "owner_id": owner.id if owner is not None else None,
            "due_date": due,
            "status": (ActionStatus.DONE if completed_at is not None else ActionStatus.OPEN).value,
            "created_at": created_at,
            "completed_at": completed_at,
            "completed_by_id": owner.id if owner is not None and completed_at is not None else None,
        }

    def _result(self, cells, at, style, category, reported, batch, bad, text) -> tuple[Any, dict[str, Any]] | None:
        if not any(_filled(cells.get(name)) for name in RESULT_FIELDS):
            return None
        records = self.records
        written = _text(cells.get("parameter"))
        value = _text(cells.get("result"))
        parameter = records.parameters.get(_key(written)) if written else None
        if not written:
            bad("parameter", str(_l("Name the safety parameter of this result.")), at)
        elif parameter is None:
            bad("parameter", str(_l("No safety parameter %(code)s.", code=written)), at)
        if not value:
            bad("result", str(_l("This field is required.")), at)
        unit = text("unit", 32, cells, at)
        lab = text("lab", 120, cells, at)
        report_number = text("report_number", 64, cells, at)
        tested = reported
        if _filled(cells.get("tested_on")):
            try:
                tested = self.moment(cells.get("tested_on"))
            except _Bad as refusal:
                bad("tested_on", str(refusal), at)
                return None
        if parameter is None or not value:
            return None
        if style is None and category is None:
            bad("parameter", str(_l("Give the style or the safety category to judge this result against.")), at)
            return None
        if unit and re.fullmatch(r"[<>\uff1c\uff1e]?\s*[\d.,]+", value):
            value = f"{value} {unit}"
        try:
            evaluation = safety.evaluate(parameter, style or category, value)
        except ValidationError as refusal:
            bad("result", next(iter(refusal.fields.values()), refusal.message), at)
            return None
        report = SimpleNamespace(lab=lab, report_number=report_number, tested_at=tested.date() if tested else None)
        return evaluation, {"report": report, "batch": batch}


def _fingerprint(cells: Mapping[str, Any]) -> str:
    """What a row without a number says, as one hash: its fields (not its columns' order or headers' language),
    dates read as dates."""
    content = {}
    for name, cell in cells.items():
        if not _filled(cell):
            continue
        if name in DATE_FIELDS:
            try:
                content[name] = _moment(cell).isoformat()
                continue
            except _Bad:
                pass
        content[name] = _key(_text(cell))
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    return FINGERPRINT_PREFIX + digest


def _groups(sheet: Sheet, columns: Mapping[int, str], headers: dict[str, str]) -> list[_Group]:
    """The file's rows as NCs: rows with the same number are one NC; a row without a number is one of its own,
    known by its fingerprint."""
    mapped = [(index, name) for index, name in sorted(columns.items()) if name]
    groups: list[_Group] = []
    by_reference: dict[str, _Group] = {}
    for number, row in sheet.rows:
        width = len(row)
        cells = {}
        for index, name in mapped:
            cell = row[index] if index < width else None
            cells[name] = "" if cell is None else cell.strip() if cell.__class__ is str else cell
        if not any(cell != "" for cell in cells.values()):
            continue
        written = _text(cells.get("number"))
        reference = written or _fingerprint(cells)
        group = by_reference.get(reference)
        if group is None:
            group = _Group(reference=reference, number=written)
            by_reference[reference] = group
            groups.append(group)
            if len(written) > MAX_REFERENCE:
                group.problems.append(
                    RowError(number, headers.get("number", "number"), str(_l("At most %(n)d characters.", n=200)))
                )
        elif not written:
            group.problems.append(
                RowError(
                    number,
                    "",
                    str(
                        _l(
                            "Says the same as row %(row)d: a row without a number is told apart only by what it says.",
                            row=group.rows[0],
                        )
                    ),
                )
            )
        else:
            first = group.cells[0]
            for name in NC_FIELDS:
                mine = _text(cells.get(name))
                theirs = _text(first.get(name))
                if mine and _key(mine) != _key(theirs):
                    group.problems.append(
                        RowError(
                            number,
                            headers.get(name, name),
                            str(
                                _l(
                                    "Differs from row %(row)d of the same NC (%(value)s).",
                                    row=group.rows[0],
                                    value=theirs or "—",
                                )
                            ),
                        )
                    )
        group.rows.append(number)
        group.cells.append(cells)
    return groups


def _imported_before(references: Sequence[str]) -> dict[str, str]:
    """The references imported before, with the numbers the app gave them."""
    found: dict[str, str] = {}
    for start in range(0, len(references), 1000):
        chunk = references[start : start + 1000]
        rows = db.session.execute(
            select(NonConformance.import_reference, NonConformance.number).where(
                NonConformance.import_reference.in_(chunk)
            )
        )
        found.update(rows.all())
    return found


# Importing -----------------------------------------------------------------------------------------------------


def import_ncs(
    data: bytes,
    filename: str,
    actor: User,
    *,
    skip_invalid: bool = False,
    columns: Mapping[int, str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> NCImport:
    """Check every row of the file and import its NCs (see the module's rules); ``filename`` is shown in the
    history and messages only (the file's kind is judged by its bytes). ``columns`` (position → field, or "")
    replaces what the headers say; ``dry_run`` checks and writes nothing; ``progress(stage, done, total)`` is
    told how far the check (CHECKING) and the writing (STORING) are.

    Answers what was found and done: the problems of a file refused (the default when any row is bad) are in
    ``errors`` with ``stored`` false. Raises ValidationError naming ``file`` when the file cannot be read as a
    table, and Conflict (409) when another import or a filing took a reference or a number at the same moment
    (nothing is written then; the same import may be run again)."""
    return _import(read_sheet(data), filename, actor, skip_invalid, columns, dry_run, progress)


def _import(
    sheet: Sheet,
    filename: str,
    actor: User,
    skip_invalid: bool,
    columns: Mapping[int, str] | None,
    dry_run: bool,
    progress: Progress | None,
) -> NCImport:
    outcome = NCImport(filename=filename, headers=sheet.headers, skip_invalid=skip_invalid)
    outcome.columns = dict(detect_columns(sheet.headers) if columns is None else columns)
    for index in range(len(sheet.headers)):
        outcome.columns.setdefault(index, "")
    column_problems = _column_problems(sheet.headers, outcome.columns)
    if column_problems:
        outcome.errors, outcome.columns_refused = column_problems, True
        return outcome
    headers = {name: _shown_header(sheet.headers, index) for index, name in outcome.columns.items() if name}
    tell = progress or (lambda stage, done, total: None)
    groups = _groups(sheet, outcome.columns, headers)
    outcome.rows = sum(len(group.rows) for group in groups)
    outcome.ncs = len(groups)
    earlier = _imported_before([group.reference for group in groups])
    batches = [_text(group.cells[0].get("batch")) for group in groups if group.reference not in earlier]
    check = _Check(headers, _Records(batches, actor), plant_today())
    planned: list[_Planned] = []
    tell(CHECKING, 0, len(groups))
    for done, group in enumerate(groups, start=1):
        if group.reference in earlier:
            outcome.already.append(AlreadyImported(group.rows[0], group.number, earlier[group.reference]))
        else:
            checked = check.group(group)
            if checked is None:
                outcome.errors.extend(group.problems)
                outcome.rejected_rows.extend(group.rows)
            else:
                planned.append(checked)
        if done % 1000 == 0:
            tell(CHECKING, done, len(groups))
    tell(CHECKING, len(groups), len(groups))
    outcome.errors.sort()
    outcome.rejected_rows.sort()
    outcome.ready = len(planned)
    if dry_run or not planned or (outcome.errors and not skip_invalid):
        return outcome
    outcome.numbers = _store(planned, filename, actor, tell)
    outcome.stored = True
    return outcome


def import_path(path: str | Path, actor: User, **options: Any) -> NCImport:
    """Import the file at ``path`` as :func:`import_ncs` does (the command line, the benchmark)."""
    path = Path(path)
    return import_ncs(path.read_bytes(), path.name, actor, **options)


def _store(planned: list[_Planned], filename: str, actor: User, tell: Progress) -> list[str]:
    """Write the checked NCs in one unit of work; answers their numbers, in the order of their rows."""
    now = utcnow()
    order = sorted(planned, key=lambda item: (item.values["year"], item.reported_at, item.group.rows[0]))
    tell(STORING, 0, len(order))
    with unit_of_work() as session:
        connection = session.connection()
        years: dict[int, list[_Planned]] = {}
        for item in order:
            years.setdefault(item.values["year"], []).append(item)
        for year, items in years.items():
            # Taken as filing takes them, so numbers stay unique and gapless while filings go on.
            first = filing.take_numbers(year, len(items))
            for sequence, item in enumerate(items, start=first):
                item.values["sequence"] = sequence
                item.values["number"] = filing.nc_number(year, sequence)
        table = NonConformance.__table__
        reference = table.c.import_reference
        common = {
            "version": 1,
            "reported_by_id": actor.id,
            "created_at": now,
            "recurrence_of_id": None,
            "effectiveness_review": "",
            "cancel_reason": "",
        }
        # Translated once, filled in per NC: "Imported from <file>, row N."
        note = _("Imported from %(file)s, row %(row)d.")
        # The time of every entry, as the chain's hash reads it (capa.audit.chain.canonical), worked out once.
        at = canonical(now)
        written = 0
        results = []
        for start in range(0, len(order), CHUNK):
            chunk = order[start : start + CHUNK]
            _bulk_insert(connection, table, [{**common, **item.values} for item in chunk])
            # Read back by reference: RETURNING in the order of many rows costs a statement per row on SQLite.
            references = [item.group.reference for item in chunk]
            ids = dict(connection.execute(select(reference, table.c.id).where(reference.in_(references))).all())
            links, events, chains, actions = [], [], [], []
            for item in chunk:
                nc_id = ids[item.group.reference]
                links.extend({"nc_id": nc_id, "parameter_id": parameter_id} for parameter_id in item.parameter_ids)
                event, chain = _history_entry(nc_id, item, filename, actor, (now, at), note)
                events.append(event)
                chains.append(chain)
                actions.extend({**action, "nc_id": nc_id} for action in item.actions)
                results.extend((nc_id, evaluation, context) for evaluation, context in item.results)
            _bulk_insert(connection, nc_parameters, links)
            _bulk_insert(connection, Event.__table__, events)
            _bulk_insert(connection, AuditChain.__table__, chains)
            _bulk_insert(connection, Action.__table__, [_action_row(action) for action in actions])
            written += len(chunk)
            tell(STORING, written, len(order))
        for nc_id, evaluation, context in results:
            result = safety.result_from(
                evaluation, batch=context["batch"], lot=None, report=context["report"], actor=actor
            )
            result.nc_id = nc_id
            session.add(result)
    return [item.values["number"] for item in sorted(planned, key=lambda item: item.group.rows[0])]


def _bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys, every value as the database takes it: aware datetimes) into
    ``table``: with COPY on PostgreSQL, several times quicker than INSERT for thousands of rows; with one
    statement run for every row (executemany) elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    names = list(rows[0])
    note_write(connection)
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def _action_row(action: dict[str, Any]) -> dict[str, Any]:
    return {**action, "evidence": "", "round": None, "document": "", "revision": "", "trained": ""}


def _history_entry(
    nc_id: int, item: _Planned, filename: str, actor: User, now: tuple[datetime, str], note: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The NC's one history entry and the head of its new chain, hashed by the chain's rule
    (:func:`capa.audit.chain.entry_hash`): the first entry of the chain ``nc_events:<id>``. ``now`` is the
    entry's time and that time as the hash reads it."""
    moment, hashed_moment = now
    values = {
        "nc_id": nc_id,
        "at": hashed_moment,
        "actor_id": actor.id,
        "kind": "imported",
        "field": "",
        "old": "",
        "new": item.group.number,
        "note": note % {"file": filename, "row": item.group.rows[0]},
        "version": 1,
    }
    name = chain_name_of(Event, [nc_id])
    digest = entry_hash(name, 1, "", values)
    entry = {**values, "at": moment, "chain_seq": 1, "chain_hash": digest}
    return entry, {"name": name, "head": digest, "length": 1}


# Previews and the rows left out ---------------------------------------------------------------------------------


@dataclass
class Preview:
    """A file checked, not imported: its first rows as read, and what importing it would do."""

    outcome: NCImport
    #: (row number, cells as text) of the first rows below the header.
    first_rows: list[tuple[int, list[str]]]


def preview(
    data: bytes, filename: str, actor: User, *, columns: Mapping[int, str] | None = None, rows: int = 10
) -> Preview:
    """Check the file as :func:`import_ncs` would, writing nothing; with its first ``rows`` rows. Raises
    ValidationError naming ``file`` when the file cannot be read as a table."""
    sheet = read_sheet(data)
    outcome = _import(sheet, filename, actor, False, columns, True, None)
    width = len(sheet.headers)
    first = [(number, [_text(cell) for cell in (row + [None] * width)[:width]]) for number, row in sheet.rows[:rows]]
    return Preview(outcome, first)


def rejected_csv(data: bytes, outcome: NCImport) -> bytes:
    """The rows left out, as a CSV file to correct and import again (UTF-8 with a byte-order mark, as Excel
    opens it): the file's own columns, then the row's number in the file and its problems."""
    sheet = read_sheet(data)
    problems: dict[int, list[str]] = {}
    for error in outcome.errors:
        problems.setdefault(error.row, []).append(f"{error.column}: {error.reason}" if error.column else error.reason)
    rejected = set(outcome.rejected_rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([*sheet.headers, "sheet_row", "import_problems"])
    width = len(sheet.headers)
    for number, row in sheet.rows:
        if number in rejected:
            cells = [_text(cell) for cell in (row + [None] * width)[:width]]
            writer.writerow([*cells, number, "; ".join(problems.get(number, [str(_l("Rejected with its NC."))]))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# A file kept between its preview and its import -----------------------------------------------------------------

#: Uploads kept for their import from the page (capa.common.pending, in the app's file storage).
PENDING_KIND = "nc-imports"
#: An import job's states: checked and shown, being imported, finished (imported, or refused).
PREVIEWED, RUNNING, FINISHED, FAILED = "previewed", "running", "finished", "failed"
#: A job not heard of for this long while running has stopped (its process ended); nothing of it was written.
STALLED_AFTER = 600


@dataclass
class ImportJob:
    """An uploaded file waiting for (or going through) its import from the page. The file is kept for its owner
    by :mod:`capa.common.pending` (in the app's file storage, which every web host shares, for a day); this record
    lies beside it (``<token>.job``, and the rows an import left out in ``<token>.rejects``), in the same folder,
    so it expires with it. Only its owner finds it."""

    token: str
    owner_id: int
    filename: str
    columns: dict[int, str] | None = None
    state: str = PREVIEWED
    stage: str = ""
    done: int = 0
    total: int = 0
    updated: float = 0.0
    skip_invalid: bool = False
    #: Why the last import stopped, when it failed.
    message: str = ""
    #: What the import did (see :func:`summary`).
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def stalled(self) -> bool:
        return self.state == RUNNING and time.time() - self.updated > STALLED_AFTER


def _beside(owner_id: int, token: str, suffix: str) -> str:
    """Where a job's own files lie in the storage: beside its kept upload (pending/<kind>/<owner>/<token>)."""
    return f"pending/{PENDING_KIND}/{int(owner_id)}/{token}{suffix}"


def new_job(data: bytes, filename: str, owner: User) -> ImportJob:
    """Keep ``data`` for ``owner``'s import; raises StorageRefused (503) naming ``file`` when the storage
    refuses it."""
    token = pending.keep(PENDING_KIND, owner.id, data, filename)
    job = ImportJob(token, owner.id, filename[:200])
    save_job(job)
    return job


def load_job(token: str, owner: User) -> ImportJob:
    """``owner``'s job ``token``; raises NotFound for a malformed, unknown or expired token, or another's job
    (whose token names nothing in this owner's folder), and StorageRefused (503) when the storage cannot answer."""
    missing = NotFound(str(_l("No such import: upload the file again.")), fields={"token": "unknown"})
    if not isinstance(token, str) or not pending.TOKEN.fullmatch(token):
        raise missing
    try:
        stored = json.loads(files.backend().open(_beside(owner.id, token, ".job")).read())
    except FileNotFoundError:
        raise missing from None
    except OSError as error:
        raise files.unreadable(error) from error
    except ValueError:
        raise missing from None
    if stored.get("columns") is not None:
        stored["columns"] = {int(index): name for index, name in stored["columns"].items()}
    return ImportJob(**stored)


def save_job(job: ImportJob) -> None:
    """Write the job's record (replacing the one before); raises StorageRefused naming ``file``."""
    job.updated = time.time()
    record = json.dumps(asdict(job), ensure_ascii=False).encode("utf-8")
    try:
        files.backend().save(_beside(job.owner_id, job.token, ".job"), record)
    except OSError as error:
        raise files.refused("file", error) from error


def job_data(job: ImportJob) -> bytes:
    """The job's file; raises NotFound when it is gone (imported, or expired)."""
    kept = pending.load(PENDING_KIND, job.owner_id, job.token)
    if kept is None:
        raise NotFound(
            str(_l("The file is no longer kept (files wait a day): upload it again.")), fields={"file": "unknown"}
        )
    return kept[1]


def job_rejects(job: ImportJob) -> bytes:
    """The rows the job's import left out, as :func:`rejected_csv` wrote them; raises NotFound when there are none."""
    missing = NotFound(str(_l("This import left no rows out.")), fields={"token": "unknown"})
    if job.state != FINISHED or not job.summary.get("rejected"):
        raise missing
    try:
        return files.backend().open(_beside(job.owner_id, job.token, ".rejects")).read()
    except FileNotFoundError:
        raise missing from None
    except OSError as error:
        raise files.unreadable(error) from error


def summary(outcome: NCImport, shown: int = 200) -> dict[str, Any]:
    """What an import did, to keep with its job and show: counts, the first and last numbers, the first
    problems."""
    return {
        "stored": outcome.stored,
        "imported": outcome.imported,
        "first": outcome.numbers[0] if outcome.numbers else "",
        "last": outcome.numbers[-1] if outcome.numbers else "",
        "already": len(outcome.already),
        "rejected": len(outcome.rejected_rows),
        "error_count": len(outcome.errors),
        "errors": [[error.row, error.column, error.reason] for error in outcome.errors[:shown]],
    }


def run_job(job: ImportJob, actor: User, *, every: float = 0.5) -> NCImport | None:
    """Import the job's file with its columns, telling the job's record how far it is (at most every ``every``
    seconds); keeps what it did in the job (and the rows left out, as a CSV file), and lets the file go once it
    is imported. A refusal or a failure is kept in the job too; answers the outcome, or None when the import
    failed."""
    last = [0.0]

    def tell(stage: str, done: int, total: int) -> None:
        if time.time() - last[0] >= every or done == total:
            job.stage, job.done, job.total = stage, done, total
            save_job(job)
            last[0] = time.time()

    job.state, job.message, job.summary = RUNNING, "", {}
    save_job(job)
    try:
        data = job_data(job)
        outcome = import_ncs(
            data, job.filename, actor, skip_invalid=job.skip_invalid, columns=job.columns, progress=tell
        )
        if outcome.rejected_rows and not outcome.refused:
            files.backend().save(_beside(job.owner_id, job.token, ".rejects"), rejected_csv(data, outcome))
    except Exception as error:  # kept for the person who started it; nothing of the import was written
        db.session.rollback()
        if not isinstance(error, DomainError):
            current_app.logger.exception("The import of %s failed", job.filename)
        job.state = FAILED
        job.message = (
            error.message if isinstance(error, DomainError) else str(_l("The import failed; nothing was imported."))
        )
        save_job(job)
        return None
    job.summary = summary(outcome)
    job.state = PREVIEWED if outcome.refused else FINISHED
    job.message = str(_l("Nothing was imported: the file has problems.")) if outcome.refused else ""
    if outcome.stored:
        pending.discard(PENDING_KIND, job.owner_id, job.token)
    save_job(job)
    return outcome
