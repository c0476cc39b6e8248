"""Needle and metal control endpoints: ``/needle-breaks`` (the needle log), ``/detector-checks`` (metal detectors
checked with their test piece), ``/metal-detections`` (garments that set a detector off) and the control board
of a shift."""

from datetime import date

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp
from capa.http.guard import request_user
from capa.inspections import needles, shifts
from capa.inspections.commands import (
    BundlePassReport,
    DetectorCheckReport,
    MetalDetectionReport,
    NeedleBreakReport,
    NeedleLogFilters,
    ShiftQuery,
)


class NeedleBreakAnswer(Record):
    """A broken needle as logged; ``nc`` is the critical safety NC a missing fragment raised."""

    id: int
    line: str = Ref("line", "code")
    broken_at: Timestamp
    shift: str
    shift_day: date
    operator: str
    machine: str
    all_fragments_found: bool
    bundle: str
    batch: str | None = Ref("batch", "number", default=None)
    note: str
    recorded_by: str = Ref("recorded_by", "username")
    nc: str | None = Ref("nc", "number", default=None)
    #: The isolated bundle's pass through a metal detector (a missing fragment only): the detector, whether it
    #: passed clean, when, by whom and a note; null until recorded.
    bundle_detector: str | None
    bundle_clean: bool | None
    bundle_checked_at: Timestamp | None
    bundle_checked_by: str | None = Ref("bundle_checked_by", "username", default=None)
    bundle_note: str


class NeedleBreaks(Answer):
    items: list[NeedleBreakAnswer]


class DetectorCheckAnswer(Record):
    id: int
    detector: str
    checked_at: Timestamp
    shift: str
    shift_day: date
    test_piece: str
    #: The test piece set the detector off: the check passed.
    detected: bool
    note: str
    checked_by: str = Ref("checked_by", "username")


class DetectorChecks(Answer):
    items: list[DetectorCheckAnswer]


class MetalDetectionAnswer(Record):
    """Garments that set a detector off: isolated, with the critical safety NC raised for them (``nc``)."""

    id: int
    detector: str
    line: str = Ref("line", "code")
    detected_at: Timestamp
    shift: str
    shift_day: date
    batch: str | None = Ref("batch", "number", default=None)
    bundle: str
    garments: int
    note: str
    recorded_by: str = Ref("recorded_by", "username")
    nc: str = Ref("nc", "number")


class MetalDetections(Answer):
    items: list[MetalDetectionAnswer]


@bp.post("/needle-breaks")
@bp.input(NeedleBreakReport, arg_name="command")
@bp.output(NeedleBreakAnswer, status_code=201)
@requires(Permission.FILE_NC)
def log_needle_break(command: NeedleBreakReport):
    """Log a broken needle

    When not every fragment was found, `bundle` is required (it is isolated and passed through a metal detector)
    and a critical safety NC (`needle_or_metal_found`, source inline) is raised with the log entry.
    """
    return needles.log_needle_break(command, request_user())


@bp.post("/needle-breaks/<int:break_id>/bundle-pass")
@bp.input(BundlePassReport, arg_name="command")
@bp.output(NeedleBreakAnswer)
@requires(Permission.FILE_NC)
def record_bundle_pass(break_id: int, command: BundlePassReport):
    """Record the isolated bundle's pass through a metal detector

    Once per broken needle whose fragment is missing, through a detector in use (its latest check passed), not
    before the needle broke; `clean` false when the bundle set the detector off. 409 naming `bundle` when no bundle
    was isolated or its pass was recorded already; 400 naming `detector` or `checked_at`.
    """
    return needles.record_bundle_pass(needles.get_needle_break(break_id), command, request_user())


@bp.get("/needle-breaks")
@bp.input(NeedleLogFilters, location="query", arg_name="filters")
@bp.output(NeedleBreaks)
@requires(Permission.VIEW)
def list_needle_breaks(filters: NeedleLogFilters):
    """Broken needles, latest first (the latest 200), by line, plant day and shift."""
    return {"items": needles.list_needle_breaks(filters)}


@bp.post("/detector-checks")
@bp.input(DetectorCheckReport, arg_name="command")
@bp.output(DetectorCheckAnswer, status_code=201)
@requires(Permission.FILE_NC)
def record_detector_check(command: DetectorCheckReport):
    """Record a metal detector's check with its test piece

    `detected` false is a failed check: the detector is out of use until a later check passes.
    """
    return needles.record_detector_check(command, request_user())


@bp.get("/detector-checks")
@bp.input(NeedleLogFilters, location="query", arg_name="filters")
@bp.output(DetectorChecks)
@requires(Permission.VIEW)
def list_detector_checks(filters: NeedleLogFilters):
    """Detector checks, latest first (the latest 200), by plant day and shift."""
    return {"items": needles.list_detector_checks(filters)}


@bp.post("/metal-detections")
@bp.input(MetalDetectionReport, arg_name="command")
@bp.output(MetalDetectionAnswer, status_code=201)
@requires(Permission.FILE_NC)
def record_metal_detection(command: MetalDetectionReport):
    """Record garments that set a metal detector off

    They are isolated: a critical safety NC (`needle_or_metal_found`, source end of line) is raised, and with
    `batch` given that many garments of it are held.
    """
    return needles.record_metal_detection(command, request_user())


@bp.get("/metal-detections")
@bp.input(NeedleLogFilters, location="query", arg_name="filters")
@bp.output(MetalDetections)
@requires(Permission.VIEW)
def list_metal_detections(filters: NeedleLogFilters):
    """Metal detections, latest first (the latest 200), by line, plant day and shift."""
    return {"items": needles.list_metal_detections(filters)}


class DetectorStateAnswer(Record):
    detector: str
    #: Its latest check passed.
    in_use: bool
    checked_this_shift: bool
    checks: list[DetectorCheckAnswer]


class NeedleControl(Answer):
    """A shift's needle and metal control: each detector's state and checks, broken needles and detections."""

    shift: str
    day: date
    detectors: list[DetectorStateAnswer]
    needle_breaks: list[NeedleBreakAnswer]
    metal_detections: list[MetalDetectionAnswer]


@bp.get("/needle-control")
@bp.input(ShiftQuery, location="query", arg_name="query")
@bp.output(NeedleControl)
@requires(Permission.VIEW)
def needle_control(query: ShiftQuery):
    """A shift's needle and metal control (the current shift unless `day` and `shift` are given)"""
    shift, day = shifts.chosen_shift(query.day, query.shift)
    filters = NeedleLogFilters(day=day, shift=shift.name)
    return {
        "shift": shift.name,
        "day": day,
        "detectors": needles.detector_states(shift.name, day),
        "needle_breaks": needles.list_needle_breaks(filters),
        "metal_detections": needles.list_metal_detections(filters),
    }
