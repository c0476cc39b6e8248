"""Inline and end-of-line checks of a line: recorded once however often they are sent, summed per shift, and a
shift over the line's DHU alert level offers an NC.

The rules:
- a check names a line, its stage (inline or end of line), the units checked, the defective units among them
  and the defects found by code; the counts must be possible (:func:`capa.inspections.dhu.tally_problem`);
- it was made when it says (``checked_at``; now when not given; never later than now), which places it in a
  shift of ``CAPA_SHIFTS`` and on the plant day that shift started on (:mod:`capa.inspections.dhu`); a phone
  that kept a check while the network was gone sends the time it was saved, so the check counts in its shift;
- a check sent with an idempotency key (the page's, the phone's outbox's, an API client's ``Idempotency-Key``)
  is recorded once per key of its sender: the same content sent again records nothing and answers the check
  recorded (``replayed``); other content under a used key is refused (IdempotencyKeyReused, 409);
- a line's DHU alert level is its own, set by a quality manager with a reason (kept in the line's history),
  else the plant's ``CAPA_DHU_ALERT_LEVEL``;
- a line's figures in a shift are per stage, over the sums of its checks; a line over its alert level at a stage,
  on at least ``CAPA_DHU_MIN_UNITS`` units checked there in the shift (too few units alert nobody), offers an NC,
  which anyone who files NCs may raise: source the stage, on the line, major, filed under the defect type of the
  shift's most frequent code that names one (or the one given), describing the figures and
  the codes found. One NC per line, shift and stage.

:func:`record_line_check` raises ValidationError naming ``line`` (unknown), ``defects[i].code`` (unknown, retired,
given twice), ``defective_units`` (more than checked; none while defects were found), ``defects`` (fewer than
the defective units), ``checked_at`` (later than now), ``idempotency_key`` (malformed), and IdempotencyKeyReused.
:func:`raise_shift_nc` raises ValidationError naming ``shift`` or ``day`` (no such shift; one without the other),
``defect_type`` (none found and none given, or unknown), and Conflict naming ``stage`` when the line is not over
its alert level in that shift (or is, on too few units) or its NC was raised already.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.errors import IdempotencyKeyReused
from capa.capas.history import Journal
from capa.capas.lookup import find_defect_type, invalid
from capa.capas.models import NonConformance, Severity, Source
from capa.capas.raising import DESCRIPTION_LENGTH
from capa.common.commands import parse
from capa.common.errors import Conflict, NotFound
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections import shifts
from capa.inspections.commands import AlertLevelChange, LineCheckFilters, NewLineCheck, RaiseShiftNC
from capa.inspections.defects import found_codes
from capa.inspections.dhu import Shift, Tally, tally_problems
from capa.inspections.models import CheckStage, DefectCode, LineAlertLevel, LineCheck, LineCheckDefect, ShiftAlertNC
from capa.masterdata.models import ProductionLine
from capa.masterdata.service import find_line

LIST_LIMIT = 200

STAGE_SOURCES = {CheckStage.INLINE: Source.INLINE, CheckStage.END_OF_LINE: Source.END_OF_LINE}

STAGE_WORDS = {CheckStage.INLINE: _l("inline"), CheckStage.END_OF_LINE: _l("end of line")}


# Alert levels ------------------------------------------------------------------------------------------------------


def _alert_level(value: object) -> Decimal:
    try:
        level = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"CAPA_DHU_ALERT_LEVEL: {value!r} is not a number") from None
    if not level > 0:
        raise ValueError("CAPA_DHU_ALERT_LEVEL must be above 0")
    return level


def plant_alert_level() -> Decimal:
    """The plant's DHU alert level (``CAPA_DHU_ALERT_LEVEL``)."""
    return _alert_level(current_app.config["CAPA_DHU_ALERT_LEVEL"])


def _min_units(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"CAPA_DHU_MIN_UNITS: {value!r} is not a whole number of units of 1 or more")
    return value


def plant_min_units() -> int:
    """The units a shift's checks at a stage must sum to before its DHU alerts (``CAPA_DHU_MIN_UNITS``)."""
    return _min_units(current_app.config["CAPA_DHU_MIN_UNITS"])


def check_settings(config: Mapping[str, Any]) -> None:
    """Raise ValueError (ShiftsMalformed for the shifts) when ``CAPA_SHIFTS``, ``CAPA_DHU_ALERT_LEVEL`` or
    ``CAPA_DHU_MIN_UNITS`` cannot be read: the app does not start on them."""
    shifts.check_settings(config)
    _alert_level(config["CAPA_DHU_ALERT_LEVEL"])
    _min_units(config["CAPA_DHU_MIN_UNITS"])


def own_alert_level(line: ProductionLine) -> Decimal | None:
    """``line``'s own DHU alert level, if it has one (else the plant's applies)."""
    return db.session.scalar(select(LineAlertLevel.alert_level).where(LineAlertLevel.line_id == line.id))


def set_alert_level(line: ProductionLine, command: AlertLevelChange, actor: User) -> Decimal:
    """Set ``line``'s own DHU alert level (kept in the line's history with the reason)."""
    with unit_of_work() as session:
        own = session.get(LineAlertLevel, line.id)
        before = own.alert_level if own is not None else None
        if own is None:
            own = LineAlertLevel(line_id=line.id)
            session.add(own)
        own.alert_level = command.alert_level
        records.note_changes("line", line, actor, {"dhu_alert_level": (before, command.alert_level)}, command.reason)
    return command.alert_level


# Recording ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    check: LineCheck
    #: True when the check had been recorded before under the same key (a resend): nothing new was recorded.
    replayed: bool = False


def _fingerprint(command: NewLineCheck) -> str:
    return hashlib.sha256(json.dumps(command.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def recorded_with(actor: User, key: str) -> LineCheck | None:
    """The check ``actor`` recorded with the idempotency key ``key``, if any."""
    return db.session.scalar(select(LineCheck).where(LineCheck.recorded_by_id == actor.id, LineCheck.filing_key == key))


def _resent(earlier: LineCheck, fingerprint: str) -> Recorded:
    if earlier.filing_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            str(_l("This key already recorded check %(id)d, with other counts; nothing was recorded.", id=earlier.id)),
            fields={"idempotency_key": str(_l("Already used for check %(id)d.", id=earlier.id))},
            number=str(earlier.id),
        )
    return Recorded(earlier, replayed=True)


def record_line_check(command: NewLineCheck, actor: User, idempotency_key: str | None = None) -> Recorded:
    """Record a line check, once per idempotency key of ``actor`` (the module's rules; the errors it names)."""
    key = filing.check_filing_key(idempotency_key) if idempotency_key is not None else None
    fingerprint = _fingerprint(command)
    if key is not None and (earlier := recorded_with(actor, key)) is not None:
        return _resent(earlier, fingerprint)
    problems: dict[str, str] = {}
    line = find_line(command.line)
    if line is None:
        problems["line"] = str(_l("No line %(code)s.", code=command.line))
    codes = found_codes(command.defects, problems)
    defects = sum(entry.count for entry in command.defects)
    tally = Tally(command.units_checked, command.defective_units or 0, defects)
    problems.update(tally_problems(tally))
    placed = shifts.place(command.checked_at, "checked_at", problems)
    if problems:
        raise invalid(problems)
    check = LineCheck(
        line=line,
        stage=command.stage.value,
        checked_at=placed.at,
        shift=placed.shift.name,
        shift_day=placed.day,
        bundle=command.bundle or "",
        operation=command.operation or "",
        units_checked=tally.units,
        defective_units=tally.defective,
        defects=tally.defects,
        note=command.note or "",
        recorded_by=actor,
        filing_key=key,
        filing_fingerprint=fingerprint if key is not None else None,
    )
    for code, entry in zip(codes, command.defects, strict=True):
        check.found.append(LineCheckDefect(defect_code=code, count=entry.count))
    try:
        with unit_of_work() as session:
            session.add(check)
    except Conflict:
        # Two sends of one key racing: the unique (sender, key) decided; this one answers as a resend.
        earlier = recorded_with(actor, key) if key is not None else None
        if earlier is None:
            raise
        return _resent(earlier, fingerprint)
    return Recorded(check)


def get_line_check(check_id: int) -> LineCheck:
    check = (
        db.session.scalar(select(LineCheck).options(*_loaded()).where(LineCheck.id == check_id))
        if 0 < check_id < 2**31
        else None
    )
    if check is None:
        raise NotFound(str(_l("No line check %(id)d.", id=check_id)))
    return check


def _loaded():
    return (
        selectinload(LineCheck.line),
        selectinload(LineCheck.recorded_by),
        selectinload(LineCheck.found).selectinload(LineCheckDefect.defect_code),
    )


def _filtered(filters: LineCheckFilters):
    query = select(LineCheck).options(*_loaded()).order_by(LineCheck.checked_at.desc(), LineCheck.id.desc())
    if filters.line:
        query = query.join(ProductionLine, ProductionLine.id == LineCheck.line_id).where(
            ProductionLine.code == filters.line
        )
    if filters.stage:
        query = query.where(LineCheck.stage == filters.stage.value)
    if filters.day:
        query = query.where(LineCheck.shift_day == filters.day)
    if filters.shift:
        query = query.where(LineCheck.shift == filters.shift)
    return query


def list_line_checks(filters: LineCheckFilters, limit: int = LIST_LIMIT) -> list[LineCheck]:
    """The checks matching ``filters``, latest first."""
    return list(db.session.scalars(_filtered(filters).limit(limit)))


def exported_line_checks(filters: LineCheckFilters) -> Iterable[LineCheck]:
    """Every check matching ``filters``, latest first, read a chunk at a time (an export of years of them runs in
    constant memory)."""
    return db.session.scalars(_filtered(filters).execution_options(yield_per=500))


# A shift's figures -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftFigure:
    """A line's checks at one stage in one shift, summed, against the line's alert level."""

    line: str
    line_name: str
    stage: CheckStage
    shift: str
    day: date
    checks: int
    tally: Tally
    alert_level: Decimal
    #: The NC raised for this line, shift and stage, if one was.
    nc_number: str | None
    #: The units the checks must sum to before the DHU alerts.
    min_units: int = 1

    @property
    def too_few_units(self) -> bool:
        return self.tally.units < self.min_units

    @property
    def over_alert(self) -> bool:
        """Over the alert level on enough units: an NC may be raised."""
        return not self.too_few_units and self.tally.over(self.alert_level)


def shift_figures(shift: str, day: date, line: ProductionLine | None = None) -> list[ShiftFigure]:
    """Each line's figures per stage in the shift named ``shift`` of ``day`` (only ``line``'s when given), by line
    code."""
    raised = ShiftAlertNC
    query = (
        select(
            ProductionLine.code,
            ProductionLine.name,
            LineCheck.stage,
            func.count(LineCheck.id),
            func.sum(LineCheck.units_checked),
            func.sum(LineCheck.defective_units),
            func.sum(LineCheck.defects),
            LineAlertLevel.alert_level,
            NonConformance.number,
        )
        .join(ProductionLine, ProductionLine.id == LineCheck.line_id)
        .outerjoin(LineAlertLevel, LineAlertLevel.line_id == LineCheck.line_id)
        .outerjoin(
            raised,
            and_(
                raised.line_id == LineCheck.line_id,
                raised.shift_day == LineCheck.shift_day,
                raised.shift == LineCheck.shift,
                raised.stage == LineCheck.stage,
            ),
        )
        .outerjoin(NonConformance, NonConformance.id == raised.nc_id)
        .where(LineCheck.shift_day == day, LineCheck.shift == shift)
        .group_by(
            ProductionLine.code, ProductionLine.name, LineCheck.stage, LineAlertLevel.alert_level, NonConformance.number
        )
        .order_by(ProductionLine.code, LineCheck.stage.desc())
    )
    if line is not None:
        query = query.where(LineCheck.line_id == line.id)
    plant, min_units = plant_alert_level(), plant_min_units()
    return [
        ShiftFigure(
            code,
            name,
            CheckStage(stage),
            shift,
            day,
            int(checks),
            Tally(int(units), int(defective), int(defects)),
            own if own is not None else plant,
            number,
            min_units,
        )
        for code, name, stage, checks, units, defective, defects, own, number in db.session.execute(query)
    ]


def shift_codes(line: ProductionLine, stage: CheckStage, shift: Shift, day: date) -> list[tuple[DefectCode, int]]:
    """The codes found on ``line`` at ``stage`` in the shift, most frequent first (then by code)."""
    total = func.sum(LineCheckDefect.count)
    rows = db.session.execute(
        select(DefectCode, total)
        .join(LineCheckDefect, LineCheckDefect.defect_code_id == DefectCode.id)
        .join(LineCheck, LineCheck.id == LineCheckDefect.check_id)
        .where(
            LineCheck.line_id == line.id,
            LineCheck.stage == stage.value,
            LineCheck.shift_day == day,
            LineCheck.shift == shift.name,
        )
        .group_by(DefectCode)
        .order_by(total.desc(), DefectCode.code)
        .options(selectinload(DefectCode.defect_type))
    )
    return [(code, int(count)) for code, count in rows]


# Raising an NC -----------------------------------------------------------------------------------------------------


def _description(figure: ShiftFigure, codes: list[tuple[DefectCode, int]]) -> str:
    lines = [
        str(
            _l(
                "DHU %(dhu)s over the alert level %(level)s (%(stage)s, shift %(shift)s of %(day)s): %(defects)d "
                "defects in %(units)d units checked in %(checks)d checks; %(defective)d defective units "
                "(%(rate)s%%).",
                dhu=figure.tally.dhu_shown,
                level=figure.alert_level,
                stage=STAGE_WORDS[figure.stage],
                shift=figure.shift,
                day=figure.day.isoformat(),
                defects=figure.tally.defects,
                units=figure.tally.units,
                checks=figure.checks,
                defective=figure.tally.defective,
                rate=figure.tally.defective_rate_shown,
            )
        )
    ]
    if codes:
        listed = ", ".join(f"{code.code} {code.name}: {count}" for code, count in codes)
        lines.append(str(_l("Defects found: %(listed)s.", listed=listed)))
    text = "\n".join(lines)
    return text if len(text) <= DESCRIPTION_LENGTH else text[: DESCRIPTION_LENGTH - 1] + "…"


def raise_shift_nc(line: ProductionLine, command: RaiseShiftNC, actor: User) -> NonConformance:
    """Raise the NC of ``line`` over its DHU alert level at a stage in a shift (the module's rules; the errors it
    names)."""
    shift, day = shifts.chosen_shift(command.day, command.shift)
    stage = command.stage
    figure = next((entry for entry in shift_figures(shift.name, day, line) if entry.stage is stage), None)
    if figure is not None and figure.too_few_units and figure.tally.over(figure.alert_level):
        raise Conflict(
            str(
                _l(
                    "%(line)s has %(units)d units checked in this shift: its DHU alerts from %(min)d units.",
                    line=line.code,
                    units=figure.tally.units,
                    min=figure.min_units,
                )
            ),
            fields={"stage": str(_l("Too few units checked."))},
        )
    if figure is None or not figure.over_alert:
        raise Conflict(
            str(_l("%(line)s is not over its DHU alert level in this shift: no NC to raise.", line=line.code)),
            fields={"stage": str(_l("Not over the alert level."))},
        )
    if figure.nc_number is not None:
        raise Conflict(
            str(_l("This shift's NC was raised already: %(number)s.", number=figure.nc_number)),
            fields={"stage": str(_l("Already raised."))},
        )
    codes = shift_codes(line, stage, shift, day)
    defect_type = command.defect_type or next(
        (code.defect_type.code for code, _count in codes if code.defect_type is not None and code.defect_type.active),
        None,
    )
    if defect_type is None:
        raise invalid({"defect_type": str(_l("No defect code found names a defect type: choose the defect type."))})
    if find_defect_type(defect_type) is None:
        raise invalid({"defect_type": str(_l("No defect type %(code)s.", code=defect_type))})
    filed = parse(
        FileNC,
        {
            "title": command.title
            or str(
                _l(
                    "%(line)s: DHU %(dhu)s over the alert level in shift %(shift)s of %(day)s",
                    line=line.code,
                    dhu=figure.tally.dhu_shown,
                    shift=shift.name,
                    day=day.isoformat(),
                )
            ),
            "description": command.description or _description(figure, codes),
            "defect_type": defect_type,
            "source": STAGE_SOURCES[stage].value,
            "line": line.code,
            "severity": Severity.MAJOR.value,
            "quantity_affected": figure.tally.defective or None,
        },
    )

    def mark_raised(nc: NonConformance, journal: Journal) -> None:
        # The primary key (line, day, shift, stage) refuses a second NC raised at the same time (409).
        db.session.add(ShiftAlertNC(line_id=line.id, shift_day=day, shift=shift.name, stage=stage.value, nc=nc))

    return filing.file_nc(filed, actor, also=mark_raised)
