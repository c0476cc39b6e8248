"""Lab reports: one laboratory's report, recorded as one record with its many results, and its PDF.

Rules that live here:
- a report names its laboratory, which is found by name in any case or created with its accreditation (a new
  laboratory needs at least one of its CNAS, CMA or ISO/IEC 17025 numbers); numbers given for a known
  laboratory must agree with those recorded (a blank one is filled in);
- its number is unique in the whole app: a number already used by a report of any laboratory, or by results
  of another batch entered one by one, is refused naming that record;
- sample date ≤ test date ≤ report date ≤ today (the plant's);
- the lots sampled are lots of the batch, when a batch is given; a batch that lists its colourways takes only
  reports on one of them, and one that lists none learns the colourway a report names;
- each result is judged like any other (:func:`capa.safety.service.evaluate`) against the batch's style, or
  against the category given for a report on material alone; a parameter appears once per report;
- everything is checked before anything is stored, and every problem is named at once (``results[3].value``);
  the report and all its results are stored in one unit of work, or nothing is.

Checking (:func:`review`, :func:`check_report`) and storing (:func:`store_report`) are apart, so that the import
of a lab's spreadsheet checks every report of the file first and stores them all in one unit of work.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from capa.accounts.models import User
from capa.common import files
from capa.common.errors import Duplicate, NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, MaterialLot
from capa.safety.commands import NewLaboratory, NewLabReport
from capa.safety.models import Laboratory, LabReport, LabResult
from capa.safety.service import PLEASE_CORRECT, Evaluation, evaluate, find_parameter, result_from

#: A leading "CNAS" or "CMA" typed before the number itself, with what separates it.
_PREFIX = {"cnas_number": re.compile(r"^CNAS[\s:：#-]*", re.I), "cma_number": re.compile(r"^CMA[\s:：#-]*", re.I)}
ACCREDITATIONS = ("cnas_number", "cma_number", "iso17025")


@dataclass(frozen=True)
class Origin:
    """What each result copies from its report (see :func:`capa.safety.service.result_from`)."""

    lab: str
    report_number: str
    tested_at: date


@dataclass(frozen=True)
class CheckedRow:
    evaluation: Evaluation
    lot: MaterialLot | None


@dataclass
class CheckedReport:
    """A report that passed every check, with the records it names, ready to be stored."""

    command: NewLabReport
    #: The accreditation as it will be recorded (prefixes dropped).
    accreditation: dict[str, str]
    batch: Batch | None
    category: str
    colourway: str
    lots: list[MaterialLot]
    rows: list[CheckedRow]
    #: The batch lists no colourways yet: the report's is added to them.
    add_colourway: bool = False


@dataclass
class Review:
    """What checking a report found: the report ready to store, or the problems (field → message), and the
    record whose number it repeats."""

    checked: CheckedReport | None
    errors: dict[str, str] = field(default_factory=dict)
    duplicate: Duplicate | None = None


# Laboratories ---------------------------------------------------------------------------------------------


def find_laboratory(name: str) -> Laboratory | None:
    """The laboratory called ``name``, in any case."""
    # Compared in Python: SQLite's lower() knows only ASCII letters (TÜV SÜD), and laboratories are few.
    wanted = name.strip().casefold()
    if not wanted or "\x00" in wanted:
        return None
    return next((lab for lab in db.session.scalars(select(Laboratory)) if lab.name.casefold() == wanted), None)


def list_laboratories() -> list[Laboratory]:
    return list(db.session.scalars(select(Laboratory).order_by(Laboratory.name)))


def _accreditation(command: NewLaboratory) -> dict[str, str]:
    given = {name: (getattr(command, name) or "").strip() for name in ACCREDITATIONS}
    for name, prefix in _PREFIX.items():
        given[name] = prefix.sub("", given[name]).strip()
    return given


def _laboratory_problems(command: NewLaboratory, accreditation: dict[str, str]) -> dict[str, str]:
    known = find_laboratory(command.name)
    if known is None:
        if not any(accreditation.values()):
            return {
                "laboratory.cnas_number": str(
                    _l("Give the laboratory's accreditation: its CNAS, CMA or ISO/IEC 17025 number.")
                )
            }
        return {}
    problems = {}
    for name, value in accreditation.items():
        recorded = getattr(known, name)
        if value and recorded and value.casefold() != recorded.casefold():
            problems[f"laboratory.{name}"] = str(
                _l("%(laboratory)s is recorded with %(number)s.", laboratory=known.name, number=recorded)
            )
    return problems


def _laboratory_for(name: str, accreditation: dict[str, str]) -> Laboratory:
    """The laboratory to link, created when new; blank numbers of a known one are filled in. Inside a unit of
    work: a laboratory created by an earlier report of the same import is found (the session flushes first)."""
    laboratory = find_laboratory(name)
    if laboratory is None:
        laboratory = Laboratory(name=name.strip(), **accreditation)
        db.session.add(laboratory)
        return laboratory
    for attribute, value in accreditation.items():
        if value and not getattr(laboratory, attribute):
            setattr(laboratory, attribute, value)
    return laboratory


def add_laboratory(command: NewLaboratory) -> Laboratory:
    """Record a laboratory with its accreditation. Raises Duplicate for a name taken (in any case) and
    ValidationError when no accreditation is given."""
    if find_laboratory(command.name) is not None:
        raise Duplicate(
            str(_l("A laboratory %(name)s exists already.", name=command.name)),
            fields={"name": str(_l("Already in use."))},
        )
    accreditation = _accreditation(command)
    problems = _laboratory_problems(command, accreditation)
    if problems:
        raise ValidationError(
            str(PLEASE_CORRECT), fields={k.removeprefix("laboratory."): v for k, v in problems.items()}
        )
    with unit_of_work():
        laboratory = _laboratory_for(command.name, accreditation)
    return laboratory


# Checking -------------------------------------------------------------------------------------------------


def review(command: NewLabReport) -> Review:
    """Check ``command`` against the records it names, without storing anything: every problem is found."""
    errors: dict[str, str] = {}
    accreditation = _accreditation(command.laboratory)
    errors |= _laboratory_problems(command.laboratory, accreditation)

    batch = None
    if command.batch:
        batch = masterdata.find_batch(command.batch)
        if batch is None:
            errors["batch"] = str(_l("No batch %(number)s.", number=command.batch))
    category = _category(command, batch, command.batch is not None, errors)
    lots = _lots(command, batch, errors)
    _check_dates(command, errors)
    colourway, add_colourway = _colourway(command, batch, errors)
    rows = _rows(command, batch, category, errors)

    duplicate = _duplicate(command.number, batch)
    if errors:
        return Review(None, errors, duplicate)
    row_lots = [row.lot for row in rows if row.lot is not None]
    lots += [lot for lot in dict.fromkeys(row_lots) if lot not in lots]
    checked = CheckedReport(command, accreditation, batch, category, colourway, lots, rows, add_colourway)
    return Review(checked, errors, duplicate)


def check_report(command: NewLabReport) -> CheckedReport:
    """The report checked and ready to store. Raises ValidationError naming every bad field, else Duplicate
    (field ``number``) naming the record that has its number already."""
    found = review(command)
    if found.errors:
        raise ValidationError(str(PLEASE_CORRECT), fields=found.errors)
    if found.duplicate is not None:
        raise found.duplicate
    return found.checked  # type: ignore[return-value]  (no errors: it was checked)


def _category(command: NewLabReport, batch: Batch | None, batch_given: bool, errors: dict[str, str]) -> str:
    if batch is not None:
        category = batch.style.category
        if command.category and command.category != category:
            errors["category"] = str(
                _l(
                    "Batch %(batch)s is of style %(style)s, category %(category)s.",
                    batch=batch.number,
                    style=batch.style.code,
                    category=category,
                )
            )
        return category
    if command.category:
        return command.category
    if not batch_given:
        errors["category"] = str(_l("Give the batch, or the safety category to judge the results against."))
    return ""


def _lot_named(number: str, batch: Batch | None) -> tuple[MaterialLot | None, str]:
    """The lot ``number`` (one of ``batch``'s when a batch is given), or None with the reason."""
    if batch is not None:
        lot = next((lot for lot in batch.lots if lot.number == number), None)
        reason = _l("Lot %(lot)s is not used in batch %(batch)s.", lot=number, batch=batch.number)
    else:
        lot = masterdata.find_lot(number)
        reason = _l("No material lot %(lot)s.", lot=number)
    return lot, "" if lot is not None else str(reason)


def _lots(command: NewLabReport, batch: Batch | None, errors: dict[str, str]) -> list[MaterialLot]:
    lots: list[MaterialLot] = []
    if command.batch and batch is None:
        return lots  # the batch is named wrong already; its lots cannot be told
    for index, number in enumerate(command.lots):
        if number in command.lots[:index]:
            errors[f"lots[{index}]"] = str(_l("Listed twice."))
            continue
        lot, reason = _lot_named(number, batch)
        if lot is None:
            errors[f"lots[{index}]"] = reason
        else:
            lots.append(lot)
    return lots


def _check_dates(command: NewLabReport, errors: dict[str, str]) -> None:
    if command.sample_date and command.sample_date > command.test_date:
        errors["sample_date"] = str(_l("Cannot be after the test date (%(day)s).", day=command.test_date.isoformat()))
    if command.test_date > command.report_date:
        errors["report_date"] = str(_l("Cannot be before the test date (%(day)s).", day=command.test_date.isoformat()))


def _colourway(command: NewLabReport, batch: Batch | None, errors: dict[str, str]) -> tuple[str, bool]:
    """The colourway as the report records it, and whether it is new to the batch."""
    given = command.colourway or ""
    if batch is None:
        return given, False
    listed = list(batch.colourways or [])
    if not listed:
        return given, bool(given)
    match = next((name for name in listed if name.casefold() == given.casefold()), None)
    if match is None and not given and len(listed) == 1:
        match = listed[0]
    if match is None:
        errors["colourway"] = str(
            _l(
                "Must be one of the colourways of batch %(batch)s: %(colourways)s.",
                batch=batch.number,
                colourways=", ".join(listed),
            )
        )
        return given, False
    return match, False


def _rows(command: NewLabReport, batch: Batch | None, category: str, errors: dict[str, str]) -> list[CheckedRow]:
    rows: list[CheckedRow] = []
    seen: set[str] = set()
    target = batch.style if batch is not None else category
    for index, row in enumerate(command.results):
        at = f"results[{index}]"
        parameter = find_parameter(row.parameter)
        if parameter is None:
            errors[f"{at}.parameter"] = str(_l("No safety parameter %(code)s.", code=row.parameter))
            continue
        if parameter.code in seen:
            errors[f"{at}.parameter"] = str(_l("%(code)s is listed twice in this report.", code=parameter.code))
            continue
        seen.add(parameter.code)
        lot = None
        if row.lot:
            if command.batch and batch is None:
                continue
            lot, reason = _lot_named(row.lot, batch)
            if lot is None:
                errors[f"{at}.lot"] = reason
        if not target:
            continue  # nothing to judge against: the batch or the category is named wrong already
        try:
            evaluation = evaluate(
                parameter, target, row.value, reporting_limit=row.reporting_limit, na_reason=row.na_reason
            )
        except ValidationError as exc:
            errors.update({f"{at}.{name}": message for name, message in exc.fields.items()})
            continue
        rows.append(CheckedRow(evaluation, lot))
    return rows


def _duplicate(number: str, batch: Batch | None) -> Duplicate | None:
    """The refusal of a report number recorded already: by a report of any laboratory, or by results entered
    one by one on another batch."""
    if "\x00" in number:
        return None
    same_number = func.lower(LabReport.number) == number.lower()
    other = db.session.scalar(select(LabReport).where(same_number).order_by(LabReport.id).limit(1))
    if other is not None:
        number, laboratory = other.number, other.laboratory.name
        other_batch = other.batch.number if other.batch else None
    else:
        query = select(LabResult).where(
            LabResult.report_id.is_(None),
            LabResult.batch_id.is_not(None),
            func.lower(LabResult.report_number) == number.lower(),
        )
        if batch is not None:
            query = query.where(LabResult.batch_id != batch.id)
        result = db.session.scalar(query.order_by(LabResult.id).limit(1))
        if result is None:
            return None
        number, laboratory = result.report_number, result.lab
        other_batch = result.batch.number if result.batch else None
    if other_batch:
        message = _l(
            "Report %(number)s is already recorded: laboratory %(laboratory)s, batch %(batch)s.",
            number=number,
            laboratory=laboratory,
            batch=other_batch,
        )
    else:
        message = _l(
            "Report %(number)s is already recorded: laboratory %(laboratory)s.", number=number, laboratory=laboratory
        )
    return Duplicate(str(message), fields={"number": str(message)})


# Storing --------------------------------------------------------------------------------------------------


def store_report(checked: CheckedReport, actor: User, session: Session) -> LabReport:
    """Add the checked report and its judged results to ``session`` (the caller's unit of work)."""
    command = checked.command
    laboratory = _laboratory_for(command.laboratory.name, checked.accreditation)
    batch = checked.batch
    if batch is not None and checked.add_colourway and checked.colourway not in (batch.colourways or []):
        batch.colourways = [*(batch.colourways or []), checked.colourway]  # a new list: JSON changes are seen so
    report = LabReport(
        laboratory=laboratory,
        number=command.number,
        sample_description=command.sample_description or "",
        colourway=checked.colourway,
        component=command.component,
        batch=batch,
        sample_date=command.sample_date,
        test_date=command.test_date,
        report_date=command.report_date,
        recorded_by=actor,
        lots=list(checked.lots),
    )
    session.add(report)
    origin = Origin(lab=laboratory.name, report_number=command.number, tested_at=command.test_date)
    for row in checked.rows:
        result = result_from(row.evaluation, batch=batch, lot=row.lot, report=origin, actor=actor)
        result.colourway = checked.colourway
        result.component = command.component
        report.results.append(result)
    return report


def record_report(command: NewLabReport, actor: User, *, pdf: tuple[str, bytes] | None = None) -> LabReport:
    """Record a lab report with its results, each judged (see the module's rules), and its PDF when given
    (``(filename, data)``, see :func:`check_pdf`), all in one unit of work.

    Raises ValidationError naming every bad field (``results[3].value``, ``pdf``), or Duplicate (409, field
    ``number``) naming the record that has the number already; nothing is stored then.
    """
    found = review(command)
    problems = dict(found.errors)
    if pdf is not None:
        try:
            check_pdf(*pdf)
        except ValidationError as exc:
            problems |= exc.fields
    if problems:
        raise ValidationError(str(PLEASE_CORRECT), fields=problems)
    if found.duplicate is not None:
        raise found.duplicate
    with unit_of_work() as session:
        report = store_report(found.checked, actor, session)
        if pdf is not None:
            _store_pdf(report, *pdf)
    return report


# Reading --------------------------------------------------------------------------------------------------


def get_report(report_id: int) -> LabReport:
    """The report with ``report_id``; raises NotFound."""
    report = db.session.get(LabReport, report_id) if 0 < report_id < 2**31 else None  # ids are 32-bit integers
    if report is None:
        raise NotFound(str(_l("No lab report %(id)s.", id=report_id)), fields={"report": "unknown"})
    return report


def list_reports(*, batch: Batch | None = None) -> list[LabReport]:
    """Reports, newest test first; only ``batch``'s when given."""
    query = select(LabReport).options(
        selectinload(LabReport.laboratory),
        selectinload(LabReport.batch),
        selectinload(LabReport.lots),
        selectinload(LabReport.results).selectinload(LabResult.parameter),
    )
    if batch is not None:
        query = query.where(LabReport.batch_id == batch.id)
    return list(db.session.scalars(query.order_by(LabReport.test_date.desc(), LabReport.id.desc())))


# The report's PDF ------------------------------------------------------------------------------------------


def pdf_limit_bytes() -> int:
    return current_app.config["CAPA_REPORT_PDF_MAX_BYTES"]


def check_pdf(filename: str, data: bytes) -> None:
    """Raises ValidationError naming ``pdf`` unless ``data`` is a PDF (by its first bytes, never its name) of at
    most CAPA_REPORT_PDF_MAX_BYTES."""
    shown = display_name(filename)
    if not data:
        raise ValidationError(str(PLEASE_CORRECT), fields={"pdf": str(_l("Choose the report's PDF."))})
    if len(data) > pdf_limit_bytes():
        raise ValidationError(
            str(PLEASE_CORRECT),
            fields={"pdf": str(_l("%(name)s is larger than %(size)s.", name=shown, size=_size(pdf_limit_bytes())))},
        )
    if not data.startswith(files.PDF_SIGNATURE):
        raise ValidationError(str(PLEASE_CORRECT), fields={"pdf": str(_l("%(name)s is not a PDF.", name=shown))})


def attach_pdf(report: LabReport, filename: str, data: bytes, actor: User) -> LabReport:
    """Attach the report's PDF (see :func:`check_pdf`), stored in the app's file storage; a PDF attached
    before is replaced, its file removed once the change is committed. Raises StorageRefused (503) naming ``pdf``
    when the storage refuses the file; the report is left as it was."""
    check_pdf(filename, data)
    with unit_of_work():
        _store_pdf(report, filename, data)
    return report


def _store_pdf(report: LabReport, filename: str, data: bytes) -> None:
    """Inside a unit of work: the checked PDF saved and named on ``report``, an earlier one to be removed."""
    earlier = report.pdf_key
    report.pdf_key = files.save(data, ".pdf", field="pdf")
    report.pdf_name = display_name(filename)
    report.pdf_size = len(data)
    report.pdf_sha256 = hashlib.sha256(data).hexdigest()
    if earlier:
        files.delete_after_commit(earlier)


def read_pdf(report: LabReport) -> bytes:
    """The report's PDF; raises NotFound when none is attached."""
    if not report.pdf_key:
        raise NotFound(
            str(_l("No PDF is attached to report %(number)s.", number=report.number)), fields={"pdf": "unknown"}
        )
    return files.read(report.pdf_key)


def open_pdf(report: LabReport) -> files.Stored:
    """The report's PDF opened to be read in pieces (served as a stream); raises NotFound when none is attached
    or the storage lost it, StorageRefused (503) when the storage cannot give it back for now."""
    if not report.pdf_key:
        raise NotFound(
            str(_l("No PDF is attached to report %(number)s.", number=report.number)), fields={"pdf": "unknown"}
        )
    return files.open_stored(report.pdf_key)


def display_name(filename: str) -> str:
    """A file name as sent, reduced to its last part and printable characters, for display only."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"')[:200]
    return name or "report.pdf"


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"
