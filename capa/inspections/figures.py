"""Figures of final inspections over a period of plant days: the first-pass acceptance rate and the defect codes
found most, by class (a Pareto per class). Aggregated in the database: two statements, whatever the number of
inspections.

The rules:
- the period runs from the start of its first plant day to the end of its last (the plant's time zone);
- first-pass acceptance counts original inspections only (a re-inspection is a lot offered again): accepted
  ones over all of them; no inspection in the period gives no rate (None), not 0 %;
- the defects counted are those found in original inspections, summed by code, and ranked within their class
  (the class the code had when it was found), with each code's share of its class's defects and the running
  (cumulative) share.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from capa.capas.lookup import invalid
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.inspections.commands import FiguresPeriod
from capa.inspections.models import (
    DefectClass,
    DefectCode,
    Inspection,
    InspectionDefect,
    InspectionKind,
    InspectionVerdict,
)

#: The codes shown per class.
TOP_CODES = 5


@dataclass(frozen=True)
class CodeShare:
    code: str
    name: str
    name_zh: str
    defect_class: str
    count: int
    #: Its share of its class's defects, and the running share down the class's ranking (percent).
    share: float
    cumulative: float


@dataclass(frozen=True)
class InspectionFigures:
    start: date
    end: date
    inspected: int
    accepted_first_time: int
    #: Percent; None when nothing was inspected.
    first_pass_rate: float | None
    #: By class (critical, major, minor), the codes found most, most first.
    top_defects: dict[str, list[CodeShare]] = field(default_factory=dict)
    #: Every defect found in the period, per class.
    defects_by_class: dict[str, int] = field(default_factory=dict)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The moments plant day ``start`` begins and plant day ``end`` ends (the next day begins)."""
    zone = plant_zone()
    return datetime.combine(start, time(0), zone), datetime.combine(end + timedelta(days=1), time(0), zone)


#: The days a period covers unless told otherwise (four weeks up to today).
DEFAULT_DAYS = 28


def period_days(period: FiguresPeriod) -> tuple[date, date]:
    """The first and last plant days of ``period``: the last DEFAULT_DAYS plant days up to today unless it says
    otherwise; raises ValidationError naming ``end`` when it ends before it starts."""
    end = period.end or (plant_today() if period.start is None else period.start + timedelta(days=DEFAULT_DAYS - 1))
    start = period.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise invalid({"end": str(_l("The period ends before it starts."))})
    return start, end


def figures_for(period: FiguresPeriod) -> InspectionFigures:
    """The figures of ``period`` (see :func:`period_days`)."""
    return inspection_figures(*period_days(period))


def inspection_figures(start: date, end: date) -> InspectionFigures:
    """The figures of the final inspections from plant day ``start`` to ``end`` (both included); raises
    ValueError when ``end`` is before ``start``."""
    if end < start:
        raise ValueError("the period ends before it starts")
    return InspectionFigures(start, end, *final_figures_between(*period_bounds(start, end)))


def final_figures_between(
    since: datetime, until: datetime
) -> tuple[int, int, float | None, dict[str, list[CodeShare]], dict[str, int]]:
    """The final inspections from ``since`` up to ``until``: how many were inspected the first time, how many of
    them accepted, the first-pass rate (percent; None for none), the top codes per class and the defects per
    class (the module's rules). Two statements."""
    original = (
        Inspection.kind == InspectionKind.FINAL.value,
        Inspection.reinspection_of_id.is_(None),
        Inspection.inspected_at >= since,
        Inspection.inspected_at < until,
    )
    inspected, accepted = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Inspection.verdict == InspectionVerdict.ACCEPTED.value, 1), else_=0)), 0),
        ).where(*original)
    ).one()
    rows = db.session.execute(
        select(
            DefectCode.code,
            DefectCode.name,
            DefectCode.name_zh,
            InspectionDefect.defect_class,
            func.sum(InspectionDefect.count).label("found"),
        )
        .join(Inspection, Inspection.id == InspectionDefect.inspection_id)
        .join(DefectCode, DefectCode.id == InspectionDefect.defect_code_id)
        .where(*original)
        .group_by(DefectCode.code, DefectCode.name, DefectCode.name_zh, InspectionDefect.defect_class)
        .order_by(func.sum(InspectionDefect.count).desc(), DefectCode.code)
    ).all()
    totals = {cls.value: 0 for cls in DefectClass}
    for row in rows:
        totals[row.defect_class] += row.found
    top: dict[str, list[CodeShare]] = {cls.value: [] for cls in DefectClass}
    running = dict.fromkeys(totals, 0)
    for row in rows:
        ranked = top[row.defect_class]
        running[row.defect_class] += row.found
        if len(ranked) < TOP_CODES:
            total = totals[row.defect_class]
            ranked.append(
                CodeShare(
                    row.code,
                    row.name,
                    row.name_zh,
                    row.defect_class,
                    int(row.found),
                    round(100 * row.found / total, 1),
                    round(100 * running[row.defect_class] / total, 1),
                )
            )
    rate = round(100 * accepted / inspected, 1) if inspected else None
    return int(inspected), int(accepted), rate, top, totals
