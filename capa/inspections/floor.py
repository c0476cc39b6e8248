"""The inspection figures of a period for management (the weekly summary, the quality manager's home), as the JSON
a summary stores: final inspections' first-pass acceptance and their defect codes by class (a Pareto per class),
DHU by line and stage with its trend, fabric points per 100 square yards by supplier, and needle incidents.

The rules:
- each figure is aggregated in the database over the period, from ``since`` up to ``until``: five statements
  whatever the number of records;
- final inspections as :mod:`capa.inspections.figures` counts them (original inspections only);
- DHU and the defective rate of a line at a stage are its checks' sums over the period
  (:mod:`capa.inspections.dhu`), beside the same over the 4 weeks before it (``dhu_4w``: the trend; for the week
  in progress, summed from the stored summaries of the 4 weeks before, a week without one left out, so that
  only the week in progress is aggregated live); a line is ``worse`` when its DHU is above its 4-week DHU; lines
  are listed worst DHU first;
- fabric by supplier as :func:`capa.inspections.fabric.supplier_figures_between` (area-weighted);
- needle incidents: broken needles, those with a fragment missing, metal detections and the garments they
  isolated, and detector checks that missed their test piece.
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from capa.extensions import db
from capa.inspections.dhu import Tally
from capa.inspections.fabric import supplier_figures_between
from capa.inspections.figures import final_figures_between
from capa.inspections.models import DetectorCheck, LineCheck, MetalDetection, NeedleBreak
from capa.masterdata.models import ProductionLine

#: The period a line's DHU is compared with: the 4 weeks before.
TREND = timedelta(weeks=4)


def _shown(value) -> float | None:
    return None if value is None else float(value)


#: A line at a stage: (line code, stage).
LineStage = tuple[str, str]


def earlier_from(stored: Iterable[list[dict[str, Any]] | None]) -> dict[LineStage, Tally]:
    """The sums per line and stage of the ``dhu_by_line`` tables of stored summaries (None for a summary built
    before they were counted): the 4 weeks before, for a period whose own weeks are not stored yet."""
    sums: dict[LineStage, Tally] = {}
    for table in stored:
        for entry in table or []:
            key = (entry["line"], entry["stage"])
            counted = Tally(entry["units_checked"], entry["defective_units"], entry["defects"])
            sums[key] = sums.get(key, Tally()) + counted
    return sums


def _dhu_by_line(since: datetime, until: datetime, earlier: Mapping[LineStage, Tally] | None) -> list[dict[str, Any]]:
    """DHU by line and stage; the 4 weeks before are aggregated with the period unless ``earlier`` gives them."""
    first = since - TREND if earlier is None else since
    now = LineCheck.checked_at >= since

    def summed(column, condition):
        return func.coalesce(func.sum(case((condition, column), else_=0)), 0)

    rows = db.session.execute(
        select(
            ProductionLine.code,
            LineCheck.stage,
            func.count(LineCheck.id).filter(now),
            summed(LineCheck.units_checked, now),
            summed(LineCheck.defective_units, now),
            summed(LineCheck.defects, now),
            summed(LineCheck.units_checked, ~now),
            summed(LineCheck.defective_units, ~now),
            summed(LineCheck.defects, ~now),
        )
        .join(ProductionLine, ProductionLine.id == LineCheck.line_id)
        .where(LineCheck.checked_at >= first, LineCheck.checked_at < until)
        .group_by(ProductionLine.code, LineCheck.stage)
    ).all()
    lines = []
    for code, stage, checks, units, defective, defects, units_4w, defective_4w, defects_4w in rows:
        if not checks:
            continue
        week = Tally(int(units), int(defective), int(defects))
        if earlier is None:
            before = Tally(int(units_4w), int(defective_4w), int(defects_4w))
        else:
            before = earlier.get((code, stage), Tally())
        lines.append(
            {
                "line": code,
                "stage": stage,
                "checks": int(checks),
                "units_checked": week.units,
                "defective_units": week.defective,
                "defects": week.defects,
                "dhu": _shown(week.dhu_shown),
                "defective_rate": _shown(week.defective_rate_shown),
                "dhu_4w": _shown(before.dhu_shown),
                "worse": before.dhu is not None and week.dhu > before.dhu,
            }
        )
    return sorted(lines, key=lambda line: (-line["dhu"], line["line"], line["stage"]))


def _needles(since: datetime, until: datetime) -> dict[str, int]:
    """The needle incidents of the period, in one statement (a scalar subquery per figure)."""

    def within(moment) -> tuple:
        return moment >= since, moment < until

    figures = {
        "needle_breaks": select(func.count()).where(*within(NeedleBreak.broken_at)),
        "fragments_missing": select(func.count()).where(
            NeedleBreak.all_fragments_found.is_(False), *within(NeedleBreak.broken_at)
        ),
        "metal_detections": select(func.count()).where(*within(MetalDetection.detected_at)),
        "garments_detected": select(func.coalesce(func.sum(MetalDetection.garments), 0)).where(
            *within(MetalDetection.detected_at)
        ),
        "detector_checks_failed": select(func.count()).where(
            DetectorCheck.detected.is_(False), *within(DetectorCheck.checked_at)
        ),
    }
    row = db.session.execute(select(*(query.scalar_subquery() for query in figures.values()))).one()
    return {name: int(value or 0) for name, value in zip(figures, row, strict=True)}


def floor_figures(since: datetime, until: datetime, earlier: Mapping[LineStage, Tally] | None = None) -> dict[str, Any]:
    """The figures of the period from ``since`` up to ``until`` (the module's rules), as JSON; the DHU of the 4
    weeks before from ``earlier`` when given (:func:`earlier_from` stored summaries), else aggregated."""
    inspected, accepted, rate, top, by_class = final_figures_between(since, until)
    return {
        "final": {
            "inspected": inspected,
            "accepted_first_time": accepted,
            "first_pass_rate": rate,
            "top_defects": {cls: [asdict(share) for share in shares] for cls, shares in top.items()},
            "defects_by_class": by_class,
        },
        "dhu_by_line": _dhu_by_line(since, until, earlier),
        "fabric_by_supplier": [
            {
                "supplier": figure.supplier,
                "name": figure.name,
                "lots": figure.inspected,
                "accepted": figure.accepted,
                "points_per_100": float(figure.points_per_100),
            }
            for figure in supplier_figures_between(since, until)
        ],
        "needles": _needles(since, until),
    }
