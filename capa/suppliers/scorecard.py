"""A supplier's scorecard: what its records say of it per quarter and over the rolling 12 months, scored and graded.

The rules:

- periods are in plant days (``CAPA_TIMEZONE``): the quarter in progress (to today), the four quarters before it,
  and the rolling 12 months (the day after today's date a year ago, to today);
- lots received: its material lots registered in the period;
- incoming fabric: its lots' 4-point inspections in the period, accepted or rejected, and points per 100 square
  yards over the whole area inspected (as :mod:`capa.inspections.fabric` counts them);
- incoming inspections by attributes: its trim, label, thread and packaging lots' ISO 2859-1 inspections on receipt
  in the period, accepted or rejected (:mod:`capa.inspections.incoming`), each lot's first only (a lot inspected
  again after it was rejected, sorted or reworked by the supplier, is the same lot: its first verdict counts);
- lab results: the results on its lots tested in the period, per safety parameter, results judged not applicable
  left out. A **safety** result is one of a chemical or physical parameter (the chemistry, burning, small parts,
  sharp points, cords: what harms a child) or of a parameter always mandatory where it applies (GB 18401's
  saliva fastness among them); the others (colour fastness, labelling) are quality results;
- NCs: those reported in the period charged to it by the weekly summary's rule (:mod:`capa.capas.attribution`),
  cancelled NCs left out (filed in error, they say nothing of the supplier);
- SCARs: the corrective action requests sent to it (:mod:`capa.suppliers.scars`), and the SCAR actions of the NCs
  charged to it that were sent to no supplier (recorded before requests were sent through the app), raised in the
  period, and those due in it up to yesterday (one due today is not late yet), those of cancelled NCs left out; a
  request is due the day its answer was first due and answered on time when its first answer came by the end of
  that day (a later day given with a returned answer changes neither), an action when it was done by then;
- the score is 100 less what each part takes off, at most its weight (``CAPA_SCORECARD_WEIGHTS``):
  ``incoming`` the share of incoming inspections rejected (fabric and by attributes together); ``lab`` the share
  of quality results failed; ``safety`` ``CAPA_SCORECARD_SAFETY_FAILURE_POINTS`` per failed safety result (one
  failure costs as much however many results passed); ``ncs`` the NCs per lot received (at most one); ``scars``
  the share of SCARs due that were late. A part with nothing to count takes nothing off. Rounded half up to a tenth;
- a period with no record at all has no score and no grade;
- the grade is the first of ``CAPA_SCORECARD_GRADES`` whose lowest score the score reaches; the suggested
  approval is the rolling 12 months' grade's (a quality manager decides: :mod:`capa.suppliers.decisions`);
- the trend compares the last two whole quarters: ``improving`` or ``worsening`` when their scores differ by 5
  or more, else ``steady``; none when either has no score.

Each figure is aggregated in the database over the five quarters at once (a CASE puts each record in its quarter,
another flags the rolling 12 months): seven statements whatever the number of records.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import aliased

from capa.capas.attribution import charged_lots
from capa.capas.models import Action, ActionKind, ActionStatus, NonConformance
from capa.capas.states import State
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.inspections.models import FabricInspection, IncomingInspection, InspectionVerdict
from capa.masterdata.models import MaterialLot, Supplier
from capa.safety.judging import Outcome
from capa.safety.models import LabResult, ParameterKind, SafetyParameter
from capa.suppliers.models import ScarAnswer, ScarRequest
from capa.suppliers.settings import PARTS, ScorecardSettings

#: Quarters shown: the one in progress and the four before.
QUARTERS = 5
#: The score difference between the last two whole quarters that makes a trend.
TREND_STEP = Decimal(5)
SAFETY_KINDS = frozenset({ParameterKind.CHEMICAL, ParameterKind.PHYSICAL})
TENTH = Decimal("0.1")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def containing(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    def shifted(self, quarters: int) -> "Quarter":
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


def year_before(day: date) -> date:
    """The first day of the rolling 12 months ending on ``day``: the day after its date a year earlier."""
    try:
        earlier = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        earlier = date(day.year - 1, 2, 28)
    return earlier + timedelta(days=1)


@dataclass
class ParameterFigure:
    code: str
    name: str
    safety: bool
    results: int = 0
    failed: int = 0


@dataclass
class PeriodFigures:
    """One period's counts, score and grade (the module's rules)."""

    label: str
    first_day: date
    last_day: date
    #: The quarter in progress: counted to today.
    to_date: bool = False
    lots_received: int = 0
    fabric_inspected: int = 0
    fabric_accepted: int = 0
    fabric_points: int = 0
    fabric_square_yards: Decimal = Decimal(0)
    #: Incoming inspections by attributes (AQL) of its other lots.
    aql_inspected: int = 0
    aql_accepted: int = 0
    quality_results: int = 0
    quality_failed: int = 0
    safety_results: int = 0
    safety_failed: int = 0
    ncs: int = 0
    scars_raised: int = 0
    scars_due: int = 0
    scars_on_time: int = 0
    parameters: dict[str, ParameterFigure] = field(default_factory=dict)
    #: What each part took off, by PARTS; empty without a score.
    deductions: dict[str, Decimal] = field(default_factory=dict)
    score: Decimal | None = None
    grade: str | None = None

    @property
    def fabric_rejected(self) -> int:
        return self.fabric_inspected - self.fabric_accepted

    @property
    def aql_rejected(self) -> int:
        return self.aql_inspected - self.aql_accepted

    @property
    def incoming_inspected(self) -> int:
        """Incoming inspections of every kind: 4-point and by attributes."""
        return self.fabric_inspected + self.aql_inspected

    @property
    def incoming_rejected(self) -> int:
        return self.fabric_rejected + self.aql_rejected

    @property
    def points_per_100(self) -> Decimal | None:
        if not self.fabric_square_yards:
            return None
        return (Decimal(self.fabric_points * 100) / self.fabric_square_yards).quantize(Decimal("0.01"))

    @property
    def scars_late(self) -> int:
        return self.scars_due - self.scars_on_time

    @property
    def has_records(self) -> bool:
        return any(
            (
                self.lots_received,
                self.fabric_inspected,
                self.aql_inspected,
                self.quality_results,
                self.safety_results,
                self.ncs,
                self.scars_raised,
                self.scars_due,
            )
        )

    @property
    def failed_parameters(self) -> list[ParameterFigure]:
        """The parameters with a failure, most failures first."""
        failed = [figure for figure in self.parameters.values() if figure.failed]
        return sorted(failed, key=lambda figure: (-figure.failed, figure.code))


@dataclass
class Scorecard:
    supplier: Supplier
    today: date
    settings: ScorecardSettings
    #: Oldest first; the last is the quarter in progress.
    quarters: list[PeriodFigures]
    rolling: PeriodFigures
    #: ``improving``, ``worsening``, ``steady``; None without two scored whole quarters.
    trend: str | None
    #: The approval the rolling 12 months' grade suggests; None without a grade.
    suggested_approval: str | None

    @property
    def periods(self) -> list[PeriodFigures]:
        return [*self.quarters, self.rolling]

    @property
    def failed_parameters(self) -> list[tuple[ParameterFigure, list[int]]]:
        """Each parameter failed in any period, with its failures per period (as :attr:`periods`), most failures
        over the rolling 12 months first."""
        found: dict[str, ParameterFigure] = {}
        for period in self.periods:
            for figure in period.failed_parameters:
                found.setdefault(figure.code, figure)
        rows = [
            (figure, [period.parameters[code].failed if code in period.parameters else 0 for period in self.periods])
            for code, figure in found.items()
        ]
        return sorted(rows, key=lambda row: (-row[1][-1], -sum(row[1]), row[0].code))


def score(period: PeriodFigures, settings: ScorecardSettings) -> None:
    """Score and grade ``period`` in place by the module's rules (nothing for a period without records)."""
    if not period.has_records:
        return
    weights = {part: Decimal(settings.weights[part]) for part in PARTS}

    def share(count: int, whole: int) -> Decimal:
        return Decimal(count) / Decimal(whole) if whole else Decimal(0)

    taken = {
        "incoming": weights["incoming"] * share(period.incoming_rejected, period.incoming_inspected),
        "lab": weights["lab"] * share(period.quality_failed, period.quality_results),
        "safety": min(weights["safety"], Decimal(settings.safety_failure_points * period.safety_failed)),
        "ncs": weights["ncs"] * min(Decimal(1), share(period.ncs, max(period.lots_received, 1))),
        "scars": weights["scars"] * share(period.scars_late, period.scars_due),
    }
    period.deductions = {part: value.quantize(TENTH, ROUND_HALF_UP) for part, value in taken.items()}
    period.score = max(Decimal(0), Decimal(100) - sum(taken.values())).quantize(TENTH, ROUND_HALF_UP)
    period.grade = settings.grade_of(period.score).letter


def _trend(quarters: list[PeriodFigures]) -> str | None:
    earlier, later = quarters[-3].score, quarters[-2].score
    if earlier is None or later is None:
        return None
    if later - earlier >= TREND_STEP:
        return "improving"
    if earlier - later >= TREND_STEP:
        return "worsening"
    return "steady"


class _Periods:
    """The quarters and the rolling 12 months of a scorecard as SQL: which quarter a record falls in, and whether
    it falls in the rolling 12 months, for a column of plant dates or of UTC moments."""

    def __init__(self, today: date):
        self.today = today
        current = Quarter.containing(today)
        self.quarters = [current.shifted(index - QUARTERS + 1) for index in range(QUARTERS)]
        self.rolling_from = year_before(today)
        self.first_day = self.quarters[0].first_day
        self.zone = plant_zone()

    def moment(self, day: date) -> datetime:
        return datetime.combine(day, time.min, self.zone).astimezone(UTC)

    def _bound(self, day: date, moments: bool):
        return self.moment(day) if moments else day

    def buckets(self, column, *, moments: bool):
        """(quarter index, in rolling 12 months) CASE expressions for ``column``, and the condition of the whole
        window (the first quarter's first day up to the end of today)."""
        quarter = case(
            *[
                (column >= self._bound(self.quarters[index].first_day, moments), index)
                for index in range(QUARTERS - 1, -1, -1)
            ]
        )
        rolling = case((column >= self._bound(self.rolling_from, moments), 1), else_=0)
        end = self._bound(self.today + timedelta(days=1), moments)
        return quarter, rolling, and_(column >= self._bound(self.first_day, moments), column < end)

    def new_figures(self) -> tuple[list[PeriodFigures], PeriodFigures]:
        quarters = []
        for index, quarter in enumerate(self.quarters):
            last_day = quarter.shifted(1).first_day - timedelta(days=1)
            in_progress = index == QUARTERS - 1
            quarters.append(
                PeriodFigures(str(quarter), quarter.first_day, min(last_day, self.today), to_date=in_progress)
            )
        return quarters, PeriodFigures("12m", self.rolling_from, self.today)


def _add(quarters: list[PeriodFigures], rolling: PeriodFigures, rows, add) -> None:
    """Add each (quarter index, in rolling, …) row to its quarter, and to the rolling 12 months when in them."""
    for quarter_index, in_rolling, *values in rows:
        add(quarters[quarter_index], *values)
        if in_rolling:
            add(rolling, *values)


def scorecard(supplier: Supplier, settings: ScorecardSettings, today: date | None = None) -> Scorecard:
    """The scorecard of ``supplier`` as of ``today`` (plant today unless given), by the module's rules."""
    periods = _Periods(today or plant_today())
    quarters, rolling = periods.new_figures()
    session = db.session

    quarter, in_rolling, window = periods.buckets(MaterialLot.created_at, moments=True)
    rows = session.execute(
        select(quarter, in_rolling, func.count())
        .where(MaterialLot.supplier_id == supplier.id, window)
        .group_by(quarter, in_rolling)
    )

    def lots(period: PeriodFigures, count: int) -> None:
        period.lots_received += count

    _add(quarters, rolling, rows, lots)

    quarter, in_rolling, window = periods.buckets(FabricInspection.inspected_at, moments=True)
    rows = session.execute(
        select(
            quarter,
            in_rolling,
            func.count(),
            func.count().filter(FabricInspection.verdict == InspectionVerdict.ACCEPTED.value),
            func.sum(FabricInspection.points),
            func.sum(FabricInspection.square_yards),
        )
        .join(MaterialLot, MaterialLot.id == FabricInspection.lot_id)
        .where(MaterialLot.supplier_id == supplier.id, window)
        .group_by(quarter, in_rolling)
    )

    def fabric(period: PeriodFigures, inspected: int, accepted: int, points: int, area) -> None:
        period.fabric_inspected += inspected
        period.fabric_accepted += accepted
        period.fabric_points += int(points or 0)
        period.fabric_square_yards += Decimal(area or 0)

    _add(quarters, rolling, rows, fabric)

    quarter, in_rolling, window = periods.buckets(IncomingInspection.inspected_at, moments=True)
    earlier = aliased(IncomingInspection)
    first_of_its_lot = ~exists().where(earlier.lot_id == IncomingInspection.lot_id, earlier.id < IncomingInspection.id)
    rows = session.execute(
        select(
            quarter,
            in_rolling,
            func.count(),
            func.count().filter(IncomingInspection.verdict == InspectionVerdict.ACCEPTED.value),
        )
        .join(MaterialLot, MaterialLot.id == IncomingInspection.lot_id)
        .where(MaterialLot.supplier_id == supplier.id, window, first_of_its_lot)
        .group_by(quarter, in_rolling)
    )

    def by_attributes(period: PeriodFigures, inspected: int, accepted: int) -> None:
        period.aql_inspected += inspected
        period.aql_accepted += accepted

    _add(quarters, rolling, rows, by_attributes)

    quarter, in_rolling, window = periods.buckets(LabResult.tested_at, moments=False)
    safety = case(
        (SafetyParameter.kind.in_([kind.value for kind in SAFETY_KINDS]), True),
        (SafetyParameter.mandatory.is_(True), True),
        else_=False,
    )
    rows = session.execute(
        select(
            quarter,
            in_rolling,
            SafetyParameter.code,
            SafetyParameter.name,
            safety,
            func.count(),
            func.count().filter(LabResult.verdict == Outcome.FAIL.value),
        )
        .join(MaterialLot, MaterialLot.id == LabResult.lot_id)
        .join(SafetyParameter, SafetyParameter.id == LabResult.parameter_id)
        .where(MaterialLot.supplier_id == supplier.id, LabResult.verdict != Outcome.NOT_APPLICABLE.value, window)
        .group_by(quarter, in_rolling, SafetyParameter.code, SafetyParameter.name, safety)
    )

    def results(period: PeriodFigures, code: str, name: str, is_safety: bool, count: int, failed: int) -> None:
        figure = period.parameters.setdefault(code, ParameterFigure(code, name, bool(is_safety)))
        figure.results += count
        figure.failed += failed
        if is_safety:
            period.safety_results += count
            period.safety_failed += failed
        else:
            period.quality_results += count
            period.quality_failed += failed

    _add(quarters, rolling, rows, results)

    quarter, in_rolling, window = periods.buckets(NonConformance.reported_at, moments=True)
    counted = and_(window, NonConformance.status != State.CANCELLED.value)
    charged = charged_lots(counted)
    rows = session.execute(
        select(quarter, in_rolling, func.count(func.distinct(NonConformance.id)))
        .join(charged, charged.c.nc_id == NonConformance.id)
        .join(MaterialLot, MaterialLot.id == charged.c.lot_id)
        .where(MaterialLot.supplier_id == supplier.id, counted)
        .group_by(quarter, in_rolling)
    )

    def ncs(period: PeriodFigures, count: int) -> None:
        period.ncs += count

    _add(quarters, rolling, rows, ncs)

    _count_scars(supplier, periods, quarters, rolling)

    for period in [*quarters, rolling]:
        score(period, settings)
    grade = settings.grade_of(rolling.score) if rolling.score is not None else None
    return Scorecard(
        supplier=supplier,
        today=periods.today,
        settings=settings,
        quarters=quarters,
        rolling=rolling,
        trend=_trend(quarters),
        suggested_approval=grade.suggests if grade else None,
    )


def _count_scars(supplier: Supplier, periods: _Periods, quarters: list[PeriodFigures], rolling: PeriodFigures) -> None:
    """Count the supplier's SCARs (the module's rule): the requests sent to it, and the SCAR actions of the NCs
    charged to it that were sent to no supplier. A supplier has few: their rows are read (two statements) and put
    in their periods here, where plant days are at hand."""
    raised_from = periods.moment(periods.first_day)
    first_answer = (
        select(func.min(ScarAnswer.submitted_at)).where(ScarAnswer.request_id == ScarRequest.id).scalar_subquery()
    )
    not_cancelled = (
        select(Action.id)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(NonConformance.status != State.CANCELLED.value)
    )
    sent = db.session.execute(
        select(ScarRequest.sent_at, ScarRequest.first_answer_due, first_answer).where(
            ScarRequest.supplier_id == supplier.id,
            ScarRequest.action_id.in_(not_cancelled),
            (ScarRequest.sent_at >= raised_from) | (ScarRequest.first_answer_due >= periods.first_day),
        )
    ).all()
    scars = and_(
        Action.kind == ActionKind.SCAR.value,
        (Action.created_at >= raised_from) | (Action.due_date >= periods.first_day),
        ~exists().where(ScarRequest.action_id == Action.id),
    )
    with_scar = NonConformance.id.in_(select(Action.nc_id).where(scars))
    charged = charged_lots(and_(with_scar, NonConformance.status != State.CANCELLED.value))
    of_supplier = (
        select(charged.c.nc_id)
        .join(MaterialLot, MaterialLot.id == charged.c.lot_id)
        .where(MaterialLot.supplier_id == supplier.id)
    )
    actions = db.session.execute(
        select(Action.created_at, Action.due_date, Action.status, Action.completed_at).where(
            scars, Action.nc_id.in_(of_supplier)
        )
    ).all()
    quarter_days = [quarter.first_day for quarter in periods.quarters]

    def periods_of(day: date) -> list[PeriodFigures]:
        if not periods.first_day <= day <= periods.today:
            return []
        index = max(index for index, first in enumerate(quarter_days) if first <= day)
        return [quarters[index], rolling] if day >= periods.rolling_from else [quarters[index]]

    def day_of(moment: datetime | None) -> date | None:
        return moment.astimezone(periods.zone).date() if moment is not None else None

    # (raised, due, answered or done): a request is answered with its first round, an action when done.
    counted = [(sent_at, due, day_of(answered)) for sent_at, due, answered in sent]
    counted += [
        (created_at, due, day_of(completed_at) if status == ActionStatus.DONE.value else None)
        for created_at, due, status, completed_at in actions
    ]
    for raised, due, answered in counted:
        for period in periods_of(day_of(raised)):
            period.scars_raised += 1
        if due >= periods.today:
            continue
        on_time = answered is not None and answered <= due
        for period in periods_of(due):
            period.scars_due += 1
            period.scars_on_time += int(on_time)


def as_json(card: Scorecard) -> dict[str, Any]:
    """The scorecard as the API answers it."""

    def period(figures: PeriodFigures) -> dict[str, Any]:
        return {
            "period": figures.label,
            "first_day": figures.first_day,
            "last_day": figures.last_day,
            "to_date": figures.to_date,
            "lots_received": figures.lots_received,
            "fabric": {
                "inspected": figures.fabric_inspected,
                "accepted": figures.fabric_accepted,
                "rejected": figures.fabric_rejected,
                "points_per_100": figures.points_per_100,
            },
            "incoming": {
                "inspected": figures.aql_inspected,
                "accepted": figures.aql_accepted,
                "rejected": figures.aql_rejected,
            },
            "lab": {
                "safety_results": figures.safety_results,
                "safety_failed": figures.safety_failed,
                "quality_results": figures.quality_results,
                "quality_failed": figures.quality_failed,
                "parameters": [
                    {
                        "parameter": figure.code,
                        "name": figure.name,
                        "safety": figure.safety,
                        "results": figure.results,
                        "failed": figure.failed,
                    }
                    for figure in sorted(figures.parameters.values(), key=lambda item: item.code)
                ],
            },
            "ncs": figures.ncs,
            "scars": {
                "raised": figures.scars_raised,
                "due": figures.scars_due,
                "on_time": figures.scars_on_time,
                "late": figures.scars_late,
            },
            "deductions": figures.deductions or None,
            "score": figures.score,
            "grade": figures.grade,
        }

    settings = card.settings
    return {
        "supplier": card.supplier.code,
        "as_of": card.today,
        "quarters": [period(figures) for figures in card.quarters],
        "rolling_12_months": period(card.rolling),
        "trend": card.trend,
        "suggested_approval": card.suggested_approval,
        "settings": {
            "weights": settings.weights,
            "safety_failure_points": settings.safety_failure_points,
            "grades": [
                {"grade": grade.letter, "lowest_score": grade.floor, "suggests": grade.suggests}
                for grade in settings.grades
            ],
        },
    }
