"""What the inspection services and the sampling plan accept, declared once (see :mod:`capa.common.commands`)."""

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from capa.capas.commands import ParameterCodes, photo_uploads
from capa.common.clock import plant_zone
from capa.common.commands import (
    REQUIRED,
    Boolean,
    Choice,
    Code,
    Command,
    Day,
    Integer,
    Items,
    Measure,
    Moment,
    Text,
    refuse,
)
from capa.common.errors import ValidationError
from capa.inspections import shifts
from capa.inspections.dhu import Tally, tally_problems
from capa.inspections.fourpoint import LengthUnit, WidthUnit
from capa.inspections.measurements import (
    LARGEST_TOLERANCE,
    LARGEST_VALUE,
    MAX_POINTS,
    MAX_SIZES,
    MeasureUnit,
    NotANumber,
    read_number,
)
from capa.inspections.models import CheckStage, DefectArea, DefectClass, PackingCheck
from capa.inspections.photos import TOO_MANY_PHOTOS
from capa.inspections.sampling import AQL_SERIES, SMALLEST_LOT, Level, Severity, aql_from
from capa.masterdata.models import LotKind


def _aql(value: Any) -> Decimal:
    try:
        return aql_from(value)
    except ValidationError as error:
        raise refuse(error.fields["aql"]) from None


def _optional_aql(value: Any) -> Decimal | None:
    return None if value is None or (isinstance(value, str) and not value.strip()) else _aql(value)


_AQL_SCHEMA = {"type": "number", "enum": [float(text) for text in AQL_SERIES]}
#: An AQL of the standard's series, given as a number or as its text (``2.5``, ``0.010``).
Aql = Annotated[Decimal, BeforeValidator(_aql), WithJsonSchema(_AQL_SCHEMA)]
#: The same, or nothing (null or blank): the default applies.
OptionalAql = Annotated[
    Decimal | None, BeforeValidator(_optional_aql), WithJsonSchema({"anyOf": [_AQL_SCHEMA, {"type": "null"}]})
]


class SamplingPlanQuery(Command):
    """A lot and how it is to be inspected: the query of ``GET /api/v1/sampling-plan``."""

    #: Units in the lot offered for inspection.
    lot_size: Integer(minimum=SMALLEST_LOT)
    #: Acceptance quality limit: percent nonconforming up to 10, nonconformities per hundred units above.
    aql: Aql
    #: Inspection level; II unless given.
    level: Choice(Level, required=False) = None
    #: normal, tightened or reduced; normal unless given.
    severity: Choice(Severity, required=False) = None


DEFECT_CODE = Code(20)


class ActiveFilter(StrEnum):
    TRUE = "true"
    FALSE = "false"


class NewDefectCode(Command):
    """A coded defect of the library."""

    code: DEFECT_CODE
    name: Text(120)
    #: The name in Simplified Chinese, shown on Chinese pages; the English name stands in when empty.
    name_zh: Text(120, required=False) = None
    defect_class: Choice(DefectClass)
    area: Choice(DefectArea)
    #: The defect type an NC raised for this defect is filed under (its code).
    defect_type: Text(40, required=False, lower=True) = None
    #: The safety parameters the defect concerns.
    parameters: ParameterCodes = None
    active: Boolean = True


class DefectCodeChanges(Command):
    """A change of a coded defect: only the fields given change; its code never does."""

    name: Text(120) = None
    name_zh: Text(120, required=False) = None
    defect_class: Choice(DefectClass, required=False) = None
    area: Choice(DefectArea, required=False) = None
    #: An empty text unlinks the defect type.
    defect_type: Text(40, required=False, lower=True) = None
    parameters: ParameterCodes = None
    active: Boolean = None


class DefectCodeFilters(Command):
    """The filters of the defect library's list (query parameters)."""

    defect_class: Choice(DefectClass, required=False) = None
    area: Choice(DefectArea, required=False) = None
    #: Only the codes in use (``true``), only those retired (``false``), or all (not given).
    active: Choice(ActiveFilter, required=False) = None


class DefectsFound(Command):
    """Defects of one code found in an inspection's sample."""

    code: DEFECT_CODE
    count: Integer(minimum=1, maximum=1_000_000)


class PackingChecks(Command):
    """The carton and packing checks of a final inspection: the cartons of the lot, those opened, and the checks
    that failed (the others passed)."""

    cartons_offered: Integer(minimum=1, maximum=1_000_000)
    cartons_opened: Integer(minimum=1, maximum=1_000_000)
    failed: Items(Choice(PackingCheck), max_items=len(PackingCheck)) = Field(default_factory=list)


def _measured(largest: Decimal, *, zero: bool):
    """A measurement or tolerance: a number, or text read by :func:`capa.inspections.measurements.read_number`
    (``30.5``, ``30 1/4``), above 0 (or 0, with ``zero``) and at most ``largest``."""

    def clean(value: Any) -> Decimal:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise refuse(REQUIRED)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise refuse(_l("Must be a number such as 30, 30.5 or 30 1/4."))
        try:
            number = read_number(repr(value) if isinstance(value, float) else str(value))
        except NotANumber:
            raise refuse(_l("Must be a number such as 30, 30.5 or 30 1/4.")) from None
        if number > largest or (number == 0 and not zero):
            raise refuse(
                _l("Must be 0 to %(n)s.", n=largest) if zero else _l("Must be above 0 and at most %(n)s.", n=largest)
            )
        return number

    schema = {"anyOf": [{"type": "number", "minimum": 0, "maximum": float(largest)}, {"type": "string"}]}
    return Annotated[Decimal, BeforeValidator(clean), WithJsonSchema(schema)]


#: A garment's measurement or a spec's target: up to 3 decimals, or a fraction of halves, quarters or eighths.
MeasuredValue = _measured(LARGEST_VALUE, zero=False)
#: A tolerance below or above the target.
Tolerance = _measured(LARGEST_TOLERANCE, zero=True)
SIZE_CODE = Code(16)
#: The most points an inspection measures, all garments together.
MOST_MEASUREMENTS = 2000
POINT_CODE = Code(12)


class MeasuredPoint(Command):
    """A point of measure measured on one garment of the sample, in the unit of the style's spec."""

    #: The garment's number among the garments of its size measured, from 1.
    garment: Integer(minimum=1, maximum=10_000)
    size: SIZE_CODE
    point: POINT_CODE
    value: MeasuredValue


def _sizes_once(targets: Any) -> Any:
    """Sizes are codes, compared upper-cased: ``s`` and ``S`` given side by side would silently be one size."""
    if isinstance(targets, Mapping):
        seen: set[str] = set()
        for key in targets:
            size = key.strip().upper() if isinstance(key, str) else key
            if size in seen:
                raise refuse(_l("Size %(size)s is given twice.", size=size))
            seen.add(size)
    return targets


class SpecPoint(Command):
    """A point of measure of a style's spec: its tolerances and its target for each size of the spec."""

    point: POINT_CODE
    description: Text(120, required=False) = None
    tol_minus: Tolerance
    tol_plus: Tolerance
    #: The target of each size of the spec, by size (sizes compared upper-cased: each once).
    targets: Annotated[dict[SIZE_CODE, MeasuredValue], BeforeValidator(_sizes_once)]


class MeasurementSpecChange(Command):
    """A style's measurement spec (its tech pack's grid) replaced whole, with the reason."""

    unit: Choice(MeasureUnit)
    #: The sizes, in order.
    sizes: Items(SIZE_CODE, max_items=MAX_SIZES, required=True)
    points: Items(SpecPoint, max_items=MAX_POINTS, required=True)
    reason: Text(1000)


class NewFinalInspection(Command):
    """A final inspection of a batch by ISO 2859-1 sampling: the lot offered, how it was inspected, and the defects
    found by code (none for a clean sample)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    #: The batch's number.
    batch: Code(40)
    #: Units in the lot offered for inspection (the quantity a rejection holds: at most 10,000,000).
    lot_size: Integer(minimum=SMALLEST_LOT, maximum=10_000_000)
    level: Choice(Level, required=False) = None
    severity: Choice(Severity, required=False) = None
    #: The AQL of major defects; 2.5 unless given.
    aql_major: OptionalAql = None
    #: The AQL of minor defects; 4.0 unless given.
    aql_minor: OptionalAql = None
    defects: Items(DefectsFound, max_items=200) = Field(default_factory=list)
    note: Text(2000, required=False) = None
    #: The rejected inspection of the same batch this one inspects again.
    reinspection_of: Integer(required=False, minimum=1) = None
    #: The defect type of the NC a rejection raises, where no code found names one.
    defect_type: Text(40, required=False, lower=True) = None
    #: The carton and packing checks, when made: any failed check rejects the lot.
    packing: PackingChecks | None = None
    #: Points measured on garments of the sample, against the spec of the batch's style: each garment with a
    #: point out of tolerance counts as one MEA-01 defect.
    measurements: Items(MeasuredPoint, max_items=MOST_MEASUREMENTS) = Field(default_factory=list)
    #: Photos from the tally sheet (the JSON API records the inspection, then adds its photos).
    photos: photo_uploads(TOO_MANY_PHOTOS) = Field(default_factory=list)


class InspectionFilters(Command):
    """The filters of the inspection list (query parameters)."""

    #: The batch's number.
    batch: Code(40, required=False) = None


class ResumeInspection(Command):
    """A line's discontinued final inspection resumed: what was corrected."""

    reason: Text(2000)
    #: The buyer (its code) whose series of lots on the line resumes; none for the lots of styles without a buyer.
    buyer: Code(required=False) = None


class SwitchingQuery(Command):
    """Which series of a line's lots (query parameters)."""

    #: The buyer's code: the series of its styles' lots; none for the lots of styles without a buyer.
    buyer: Code(required=False) = None


class StyleAqlsChange(Command):
    """A style's own AQLs for its final inspections, with the reason (a buyer's tech pack, say)."""

    aql_major: Aql
    aql_minor: Aql
    reason: Text(1000)


class BuyerAqlsChange(StyleAqlsChange):
    """A buyer's AQLs for the final inspections of its styles (those without AQLs of their own), with the reason
    (the buyer's quality manual, say)."""


class AqlsRemoval(Command):
    """A style's own AQLs taken away (query parameters): why."""

    reason: Text(1000, required=False) = None


class FiguresPeriod(Command):
    """A period of plant days (query parameters): the last 28 days up to today unless given."""

    #: The first day (``YYYY-MM-DD``).
    start: Day(required=False) = None
    #: The last day (``YYYY-MM-DD``), included.
    end: Day(required=False) = None


# Incoming fabric by the 4-point system ---------------------------------------------------------------------------

#: The longest roll (in yards or metres) and the widest fabric (in inches or centimetres) taken.
LONGEST_ROLL = 100_000
WIDEST_FABRIC = 1_000


class FabricDefectMark(Command):
    """A defect marked on a roll: where it is and how big, or where a running defect ends."""

    #: Where along the roll, from its start, in the inspection's length unit (0 is the roll's start).
    at: Measure(maximum=LONGEST_ROLL, zero=True)
    #: Its size in the width unit (a hole's is its diameter); not needed for a running defect.
    size: Measure(maximum=WIDEST_FABRIC, required=False) = None
    #: A hole or opening: 2 points up to 1 in, 4 over.
    hole: Boolean = False
    #: Where a running defect ends, in the length unit: 4 points in every linear yard it touches.
    through: Measure(maximum=LONGEST_ROLL, required=False) = None
    #: The defect library's code, when the inspector gives one (``FAB-01``).
    code: Code(20, required=False) = None


class FabricRollMeasured(Command):
    """A roll as inspected: its number, the length inspected and cuttable width, its shade, its defects."""

    number: Text(40)
    length: Measure(maximum=LONGEST_ROLL)
    #: Cuttable width, edge to edge without the selvedges, in the width unit.
    width: Measure(maximum=WIDEST_FABRIC)
    #: The roll's shade matches the approved standard (shade band or lab dip).
    shade_matches: Boolean = True
    defects: Items(FabricDefectMark, max_items=1000) = Field(default_factory=list)


class NewFabricInspection(Command):
    """An incoming inspection of a fabric lot by the 4-point system: its rolls and their defects."""

    #: The material lot's number (a lot of kind ``fabric``): a lot not yet recorded is received with this
    #: inspection, from ``supplier``.
    lot: Code(64)
    #: The supplier's code: needed for a lot not yet recorded; for a recorded one, it must be the lot's.
    supplier: Code(required=False) = None
    #: The style the fabric is for: its acceptance points apply when it has its own.
    style: Code(required=False) = None
    #: ``yd`` (yards) or ``m`` (metres), for lengths and places along a roll; yards unless given.
    length_unit: Choice(LengthUnit, required=False) = None
    #: ``in`` (inches) or ``cm`` (centimetres), for widths and sizes; inches unless given.
    width_unit: Choice(WidthUnit, required=False) = None
    #: The cuttable width ordered, in the width unit: a narrower roll is rejected. No width check when absent.
    required_width: Measure(maximum=WIDEST_FABRIC, required=False) = None
    rolls: Items(FabricRollMeasured, max_items=500, required=True)
    note: Text(2000, required=False) = None


class FabricInspectionFilters(Command):
    """The filters of the fabric inspection list (query parameters)."""

    #: The material lot's number.
    lot: Code(64, required=False) = None
    #: The supplier's code.
    supplier: Code(required=False) = None


class FabricAcceptanceChange(Command):
    """Acceptance points per 100 square yards for a supplier's or a style's fabric, with the reason."""

    points: Integer(minimum=1, maximum=1000)
    reason: Text(1000)


class RaiseFabricNC(Command):
    """An NC raised for a rejected fabric lot, which goes on hold; every field may be left out."""

    #: The line the NC is filed on: the line of the lot's batches when they share one, else required.
    line: Code(required=False) = None
    #: The defect type; by the lot's faults unless given (points, shade, width).
    defect_type: Text(40, lower=True, required=False) = None
    title: Text(200, required=False) = None
    description: Text(4000, required=False) = None


# Inline and end-of-line checks (DHU) -------------------------------------------------------------------------------

#: The most units one check may count (an end-of-line check of a whole shift's output at most).
MOST_UNITS_CHECKED = 100_000


class NewLineCheck(Command):
    """An inline or end-of-line check of a line: the units checked, the defective units among them, and the
    defects found by code (none for a clean check)."""

    #: The line's code.
    line: Code()
    #: ``inline`` (at the machines) or ``end_of_line`` (finished garments leaving the line).
    stage: Choice(CheckStage)
    units_checked: Integer(minimum=1, maximum=MOST_UNITS_CHECKED)
    #: Units with one defect or more; 0 unless given (and then no defect may be given).
    defective_units: Integer(required=False, maximum=MOST_UNITS_CHECKED) = None
    defects: Items(DefectsFound, max_items=200) = Field(default_factory=list)
    #: When the check was made (ISO 8601; plant time without an offset); now unless given. Its shift follows.
    checked_at: Moment(plant_zone, required=False) = None
    #: The bundle checked (its ticket number), when checked per bundle.
    bundle: Text(40, required=False) = None
    #: The operation or operator checked inline.
    operation: Text(80, required=False) = None
    note: Text(2000, required=False) = None

    @classmethod
    def reference_problems(cls, values: Mapping[str, Any]) -> dict[str, str]:
        """The counts that cannot be together and a time to come, among the fields that are well formed, so that
        a check with a malformed field names these in the same round."""
        problems: dict[str, str] = {}
        if "units_checked" in values:
            defective = values.get("defective_units") or 0
            if "defects" in values:
                found = sum(entry.count for entry in values["defects"] or [])
                problems |= tally_problems(Tally(values["units_checked"], defective, found))
            elif defective > values["units_checked"]:
                # The defects malformed (or not sent): only what the units alone say.
                problems |= tally_problems(Tally(values["units_checked"], defective, defective))
        if values.get("checked_at") is not None:
            shifts.place(values["checked_at"], "checked_at", problems)
        return problems


class LineCheckFilters(Command):
    """The filters of the line check list (query parameters)."""

    #: The line's code.
    line: Code(required=False) = None
    stage: Choice(CheckStage, required=False) = None
    #: The plant day its shift started on (``YYYY-MM-DD``).
    day: Day(required=False) = None
    #: The shift's name (``CAPA_SHIFTS``).
    shift: Text(20, required=False) = None


class ShiftQuery(Command):
    """A shift of the plant (query parameters): the current one unless given."""

    #: The plant day the shift started on (``YYYY-MM-DD``); with ``shift``.
    day: Day(required=False) = None
    #: The shift's name (``CAPA_SHIFTS``); with ``day``.
    shift: Text(20, required=False) = None


class AlertLevelChange(Command):
    """A line's own DHU alert level, with the reason (a new style, a buyer's target)."""

    #: Defects per hundred units above which the line is alerted.
    alert_level: Measure(maximum=1000)
    reason: Text(1000)


class RaiseShiftNC(Command):
    """An NC raised for a line over its DHU alert level in a shift, at a stage; but ``stage``, every field may be
    left out."""

    stage: Choice(CheckStage)
    #: The plant day the shift started on; with ``shift``; the current shift unless given.
    day: Day(required=False) = None
    shift: Text(20, required=False) = None
    #: The defect type; that of the shift's most frequent defect code unless given.
    defect_type: Text(40, lower=True, required=False) = None
    title: Text(200, required=False) = None
    description: Text(4000, required=False) = None


# Needle and metal control ------------------------------------------------------------------------------------------


class NeedleBreakReport(Command):
    """A broken needle: where and when, at whose machine, and whether every fragment was found."""

    #: The line's code.
    line: Code()
    #: When it broke (ISO 8601; plant time without an offset); now unless given.
    broken_at: Moment(plant_zone, required=False) = None
    #: The operator's name or number.
    operator: Text(80)
    machine: Text(40, required=False) = None
    #: Every fragment of the broken needle was found (and kept with the log).
    all_fragments_found: Boolean
    #: The bundle being sewn (its ticket number): required when a fragment is missing, as it is isolated.
    bundle: Text(40, required=False) = None
    #: The batch being sewn, when known: the NC names it.
    batch: Code(40, required=False) = None
    note: Text(2000, required=False) = None


class BundlePassReport(Command):
    """An isolated bundle passed through a metal detector after a needle broke with a fragment missing."""

    #: The metal detector's code (``CAPA_METAL_DETECTORS``).
    detector: Code(20)
    #: The bundle passed without setting the detector off; no default: the person who passed it says.
    clean: Boolean
    #: When it was passed (ISO 8601; plant time without an offset); now unless given.
    checked_at: Moment(plant_zone, required=False) = None
    note: Text(2000, required=False) = None


class DetectorCheckReport(Command):
    """A metal detector's check with its test piece (at the start of a shift)."""

    #: The detector's code (one of ``CAPA_METAL_DETECTORS``).
    detector: Code(40)
    #: When it was checked; now unless given.
    checked_at: Moment(plant_zone, required=False) = None
    #: The test piece passed through (``Fe 1.0 mm``).
    test_piece: Text(60)
    #: The test piece set the detector off.
    detected: Boolean
    note: Text(2000, required=False) = None


class MetalDetectionReport(Command):
    """Garments that set off a metal detector."""

    detector: Code(40)
    #: The line that made them.
    line: Code()
    detected_at: Moment(plant_zone, required=False) = None
    #: Their batch, when known: that many garments of it are held.
    batch: Code(40, required=False) = None
    bundle: Text(40, required=False) = None
    garments: Integer(minimum=1, maximum=100_000) = 1
    note: Text(2000, required=False) = None


class NeedleLogFilters(Command):
    """The filters of the needle control lists (query parameters)."""

    line: Code(required=False) = None
    #: The plant day the shift started on.
    day: Day(required=False) = None
    shift: Text(20, required=False) = None


# Incoming inspection by attributes ----------------------------------------------------------------------------------

#: The largest lot of trims, labels or thread received at once, in pieces.
LARGEST_INCOMING_LOT = 10_000_000


class NewIncomingInspection(Command):
    """An incoming inspection by attributes of a lot counted in pieces (trims, labels, thread, packaging): the lot
    received, how it was sampled, and the defects found per class."""

    #: The material lot's number: a lot not yet recorded is received with this inspection, of ``kind`` from
    #: ``supplier``.
    lot: Code(64)
    #: The supplier's code: needed for a lot not yet recorded; for a recorded one, it must be the lot's.
    supplier: Code(required=False) = None
    #: The lot's kind (``trim``, ``thread``, ``label``, ``packaging``, ``other``): needed for a lot not yet recorded.
    kind: Choice(LotKind, required=False) = None
    #: Pieces in the lot received.
    lot_size: Integer(minimum=SMALLEST_LOT, maximum=LARGEST_INCOMING_LOT)
    #: Inspection level; II unless given.
    level: Choice(Level, required=False) = None
    #: The AQL of major defects; 2.5 unless given.
    aql_major: OptionalAql = None
    #: The AQL of minor defects; 4.0 unless given.
    aql_minor: OptionalAql = None
    #: What was found per class, each in its own plan's sample: nonconforming units up to AQL 10 (a unit with two
    #: major defects is one; never more than the sample), nonconformities above it (per hundred units).
    critical_found: Integer(required=False, maximum=LARGEST_INCOMING_LOT) = 0
    major_found: Integer(required=False, maximum=LARGEST_INCOMING_LOT) = 0
    minor_found: Integer(required=False, maximum=LARGEST_INCOMING_LOT) = 0
    #: What was found, in the inspector's words.
    note: Text(2000, required=False) = None


class IncomingInspectionFilters(FabricInspectionFilters):
    """The filters of the incoming inspection list (query parameters): a ``lot`` or a ``supplier``."""


class RaiseIncomingNC(RaiseFabricNC):
    """An NC raised for a lot rejected at its inspection by attributes, which goes on hold: the defect type is
    needed (what was found names none), the rest may be left out."""
