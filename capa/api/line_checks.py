"""Inline and end-of-line check endpoints: ``/line-checks`` (counts of units, defective units and defects by code
per line), the shift's figures (DHU per line and stage against the alert level), a line's own alert level, and
the NC a shift over it raises."""

from datetime import date

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.capas import KEY_HEADER, FilingHeaders, NCDetail, replayed
from capa.api.models import Answer, Measured, Record, Ref, Timestamp
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.errors import DomainError
from capa.http.guard import request_user
from capa.inspections import line_checks, shifts
from capa.inspections.commands import AlertLevelChange, LineCheckFilters, NewLineCheck, RaiseShiftNC, ShiftQuery
from capa.inspections.models import CheckStage
from capa.masterdata import service as masterdata


class LineCheckDefectAnswer(Record):
    code: str = Ref("defect_code", "code")
    defect_class: str = Ref("defect_code", "defect_class")
    count: int


class LineCheckAnswer(Record):
    """A check of a line: its counts, its own DHU and defective rate, and the shift it counts in."""

    id: int
    line: str = Ref("line", "code")
    stage: CheckStage
    checked_at: Timestamp
    #: The shift of ``CAPA_SHIFTS`` it fell in, and the plant day that shift started on.
    shift: str
    shift_day: date
    bundle: str
    operation: str
    units_checked: int
    defective_units: int
    #: The defects found in all (the sum of ``found``).
    defects: int
    #: Defects per hundred units, rounded half up to hundredths.
    dhu: Measured = Ref("tally", "dhu_shown")
    #: Defective units per hundred units, rounded half up to hundredths.
    defective_rate: Measured = Ref("tally", "defective_rate_shown")
    found: list[LineCheckDefectAnswer]
    note: str
    recorded_by: str = Ref("recorded_by", "username")
    recorded_at: Timestamp


class LineChecks(Answer):
    items: list[LineCheckAnswer]


REPLAYED = replayed(
    "LineCheckAnswer",
    "The `Idempotency-Key` recorded this check before, with the same body: nothing new was recorded.",
)


@bp.post("/line-checks")
@bp.input(FilingHeaders, location="headers", arg_name="headers")
@bp.input(NewLineCheck, arg_name="command")
@bp.output(LineCheckAnswer, status_code=201)
@bp.doc(
    responses={
        200: REPLAYED,
        409: "The `Idempotency-Key` recorded another check with a different body (`idempotency_key_reused`); "
        "nothing was recorded.",
    }
)
@requires(Permission.FILE_NC)
def record_line_check(command: NewLineCheck, headers: FilingHeaders):
    """Record an inline or end-of-line check of a line

    DHU = defects * 100 / units checked; defective rate = defective units * 100 / units checked. The check counts
    in the shift its `checked_at` falls in (now unless given). Send an `Idempotency-Key` to make resending safe.
    """
    try:
        recorded = line_checks.record_line_check(command, request_user(), headers.idempotency_key)
    except DomainError as error:
        if "idempotency_key" not in error.fields:
            raise
        raise error.renamed(KEY_HEADER) from None
    if recorded.replayed:
        return recorded.check, 200, {"Idempotent-Replayed": "true"}
    return recorded.check


@bp.get("/line-checks")
@bp.input(LineCheckFilters, location="query", arg_name="filters")
@bp.output(LineChecks)
@requires(Permission.VIEW)
def list_line_checks(filters: LineCheckFilters):
    """Line checks, latest first (the latest 200), filtered by line, stage, plant day and shift."""
    return {"items": line_checks.list_line_checks(filters)}


@bp.get("/line-checks/<int:check_id>")
@bp.output(LineCheckAnswer)
@requires(Permission.VIEW)
def get_line_check(check_id: int):
    return line_checks.get_line_check(check_id)


class ShiftFigureAnswer(Record):
    line: str
    line_name: str
    stage: CheckStage
    checks: int
    units_checked: int = Ref("tally", "units")
    defective_units: int = Ref("tally", "defective")
    defects: int = Ref("tally", "defects")
    dhu: Measured = Ref("tally", "dhu_shown")
    defective_rate: Measured = Ref("tally", "defective_rate_shown")
    alert_level: Measured
    #: DHU above the alert level on at least ``min_units`` units: an NC may be raised
    #: (``POST /lines/<code>/shift-nc``).
    over_alert: bool
    #: The units the checks must sum to before the DHU alerts (``CAPA_DHU_MIN_UNITS``).
    min_units: int
    #: Fewer units checked than ``min_units``: the DHU alerts nobody yet.
    too_few_units: bool
    nc: str | None = Ref("nc_number", default=None)


class ShiftFigures(Answer):
    """Each line's figures per stage in a shift: the sums of its checks, never an average of checks."""

    shift: str
    day: date
    start: Timestamp
    end: Timestamp
    items: list[ShiftFigureAnswer]


@bp.get("/line-checks/figures")
@bp.input(ShiftQuery, location="query", arg_name="query")
@bp.output(ShiftFigures)
@requires(Permission.VIEW)
def shift_figures(query: ShiftQuery):
    """DHU and defective rate per line and stage in a shift (the current one unless `day` and `shift` are given)"""
    shift, day = shifts.chosen_shift(query.day, query.shift)
    start, end = shifts.window(shift, day)
    return {
        "shift": shift.name,
        "day": day,
        "start": start,
        "end": end,
        "items": line_checks.shift_figures(shift.name, day),
    }


class AlertLevel(Answer):
    """A line's DHU alert level."""

    #: The line's own level; null when it has none and the plant's applies.
    alert_level: Measured | None
    #: The plant's level (``CAPA_DHU_ALERT_LEVEL``).
    plant_alert_level: Measured


@bp.get("/lines/<code>/dhu-alert-level")
@bp.output(AlertLevel)
@requires(Permission.VIEW)
def get_alert_level(code: str):
    line = masterdata.get_line(code)
    return AlertLevel(alert_level=line_checks.own_alert_level(line), plant_alert_level=line_checks.plant_alert_level())


@bp.put("/lines/<code>/dhu-alert-level")
@bp.input(AlertLevelChange, arg_name="command")
@bp.output(AlertLevel)
@requires(Permission.MAINTAIN_CATALOG)
def set_alert_level(code: str, command: AlertLevelChange):
    """Set the line's own DHU alert level, with the reason (kept in the line's history)."""
    level = line_checks.set_alert_level(masterdata.get_line(code), command, request_user())
    return AlertLevel(alert_level=level, plant_alert_level=line_checks.plant_alert_level())


@bp.post("/lines/<code>/shift-nc")
@bp.input(RaiseShiftNC, arg_name="command")
@bp.output(NCDetail, status_code=201)
@requires(step_permission(Step.FILE))
def raise_shift_nc(code: str, command: RaiseShiftNC):
    """Raise the NC of a line over its DHU alert level in a shift, at a stage

    Filed with the stage as its source, on the line, major, under the defect type of the shift's most frequent
    code that names one unless given. 409 naming `stage` when the line is not over its level in that shift or
    its NC was raised already.
    """
    return line_checks.raise_shift_nc(masterdata.get_line(code), command, request_user())
