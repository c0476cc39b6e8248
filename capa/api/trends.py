"""Weekly trend summaries."""

from typing import Any

from pydantic import ConfigDict, Field

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Timestamp, With
from capa.inspections import floor
from capa.inspections.commands import FiguresPeriod
from capa.inspections.figures import period_bounds, period_days
from capa.trends import service
from capa.trends.figures import with_totals


class SummaryListed(Record):
    #: ISO week, e.g. ``2026-W09``.
    week: str
    start: str | None
    end: str | None
    status: str
    built_at: Timestamp | None
    mail_status: str


class Summaries(Answer):
    items: list[SummaryListed]


class EffectivenessFigures(Answer):
    """The week's effectiveness reviews of closed CAPAs (the rule: :mod:`capa.trends.figures`)."""

    #: Closed CAPAs whose review fell due within the week (Monday to Sunday, plant dates), reviewed or not.
    due: int
    #: Reviews recorded within the week, whenever they fell due.
    done: int
    #: Those of them that found the CAPA not effective.
    failed: int
    #: Reviews due on or before the week's Sunday and still not recorded at its end.
    outstanding: int


class CodeShareFigure(Answer):
    code: str
    name: str
    name_zh: str
    defect_class: str
    count: int
    #: Percent of its class's defects, and the running percent down the class's ranking.
    share: float
    cumulative: float


class FinalFigures(Answer):
    #: Original final inspections (re-inspections left out), and those accepted.
    inspected: int
    accepted_first_time: int
    #: Percent; null when nothing was inspected.
    first_pass_rate: float | None
    #: Per class (critical, major, minor), the 5 codes found most.
    top_defects: dict[str, list[CodeShareFigure]]
    defects_by_class: dict[str, int]


class LineDHU(Answer):
    line: str
    stage: str
    checks: int
    units_checked: int
    defective_units: int
    defects: int
    dhu: float
    defective_rate: float
    #: The line's DHU at this stage over the 4 weeks before; null when it was not checked then.
    dhu_4w: float | None
    #: DHU above ``dhu_4w``.
    worse: bool


class SupplierFabric(Answer):
    supplier: str
    name: str
    lots: int
    accepted: int
    #: Over the whole area inspected.
    points_per_100: float


class NeedleIncidents(Answer):
    needle_breaks: int
    fragments_missing: int
    metal_detections: int
    garments_detected: int
    detector_checks_failed: int


class FloorFigures(Answer):
    """The inspections of a period (the rule: :mod:`capa.inspections.floor`)."""

    final: FinalFigures
    #: Worst DHU first.
    dhu_by_line: list[LineDHU]
    fabric_by_supplier: list[SupplierFabric]
    needles: NeedleIncidents


class WeeklyFigures(Answer):
    """The figures of one built week, as stored when it was built; the tables (``by_defect_type``, ``by_line``,
    ``by_supplier``, ``by_parameter``, ``by_source``, ``history``, ``aging``, ``overdue_actions``…) come beside
    these totals, each with its first 50 rows at most (``totals`` says how many it has in all)."""

    model_config = ConfigDict(extra="allow")

    week: str
    #: The week's first and last moments (Monday 00:00 and the next Monday, plant time), in ISO 8601.
    start: str
    end: str
    new_ncs: int
    closed: int
    open_at_end: int
    #: New NCs of the week charged to no supplier: they name no lot and concern no material of their batch
    #: (``by_supplier`` counts the others per supplier); null in summaries built before it was counted.
    unattributed_ncs: int | None = None
    #: Null in summaries built before effectiveness reviews were counted.
    effectiveness: EffectivenessFigures | None = None
    #: Null in summaries built before inspections were counted.
    inspections: FloorFigures | None = None
    averages: dict[str, Any] = Field(default_factory=dict)
    #: How many rows each table has in all, where the summary keeps only its first 50: ``overdue_actions``
    #: (the longest overdue first), ``recurrences``, the breakdowns and ``failed_results``,
    #: ``near_limit_results`` (the largest counts first), and each kind of alert (``rising_defect_type``,
    #: ``rising_line``, ``rising_parameter``, ``safety_critical_open``, ``long_hold``). Summaries built before
    #: tables were bounded list every row: their totals are what they list.
    totals: dict[str, int] = Field(default_factory=dict)
    #: Per breakdown, the NCs counted under the keys left out (0 when none was): the shares of those kept are
    #: shares of their sum and this.
    left_out: dict[str, int] = Field(default_factory=dict)


@bp.get("/summaries")
@bp.output(Summaries)
@requires(Permission.VIEW)
def summaries():
    return {
        "items": [
            With(summary, start=summary.figures.get("start"), end=summary.figures.get("end"))
            for summary in service.list_summaries()
        ]
    }


@bp.get("/summaries/<week>")
@bp.output(WeeklyFigures)
@requires(Permission.VIEW)
def summary(week: str):
    return with_totals(service.get_built(week).figures)


@bp.get("/inspections/floor-figures")
@bp.input(FiguresPeriod, location="query", arg_name="period")
@bp.output(FloorFigures)
@requires(Permission.VIEW)
def floor_figures(period: FiguresPeriod):
    """The inspections of a period of plant days, as a weekly summary counts them

    Final inspections' first-pass acceptance and top codes by class, DHU by line and stage against the 4 weeks
    before `start`, fabric points per 100 square yards by supplier, needle incidents; from `start` to `end` (both
    included; the last 28 days unless given). 400 naming `end` when it is before `start`.
    """
    return floor.floor_figures(*period_bounds(*period_days(period)))
