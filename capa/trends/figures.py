"""The figures of one week's summary: aggregated in the database, finished with pandas on small results.

Every count is taken by SQL over the week and the twelve weeks before it at once (one CASE expression
puts each row in its week), so building a summary never loads the history into Python: what comes back is
at most a few thousand (week, key, count) rows. The rules:

- a week is Monday 00:00 to the next Monday 00:00 in the plant's zone (capa.trends.weeks);
- new NCs are counted by report time; closed by closing time; open at the end of a week are those reported
  before its end and neither closed nor cancelled by then;
- the trailing averages are the means over the 4 and the 12 weeks before the week, empty weeks counting 0;
- aging buckets are whole days from report to the week's end: 0–7, 8–30, 31–90, over 90;
- an action is overdue at the week's end when due on or before its Sunday and not done by its end;
- days to close are from report to closing, for CAPAs closed in the week (median and 90th percentile);
- the retest first-pass rate is the share of (NC, parameter) pairs whose first retest, tested in the week,
  passed;
- lab results count by test date; near-limit results passed within 10 % of a max, lt or min limit;
- alerts: a defect type, line or parameter with at least 3 new NCs and at least 50 % above its 4-week
  average; every safety-critical NC open at the week's end; every hold older than 14 days at its end.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from capa.accounts.models import User
from capa.capas.models import Action, ActionStatus, DefectType, Event, Hold, NonConformance, nc_parameters
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Supplier, batch_lots
from capa.safety.models import LabResult, SafetyParameter
from capa.trends.weeks import Week

TRAILING = 12
ALERT_MIN_COUNT = 3
ALERT_RISE = 1.5
HOLD_ALERT_AGE = timedelta(days=14)
AGING = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("over_90", 91, None))


def _week_case(column, bounds: Sequence[tuple[datetime, datetime]]):
    """0 for the summarized week, 1 for the week before, … TRAILING; NULL outside them."""
    return case(*[(and_(column >= start, column < end), index) for index, (start, end) in enumerate(bounds)])


def _open_at(end: datetime):
    return and_(
        NonConformance.reported_at < end,
        or_(NonConformance.closed_at.is_(None), NonConformance.closed_at >= end),
        or_(NonConformance.cancelled_at.is_(None), NonConformance.cancelled_at >= end),
    )


def _counts(rows, weeks: int) -> pd.DataFrame:
    """(week index, key, count) rows → a frame of keys by week index, missing weeks as 0."""
    frame = pd.DataFrame(rows, columns=["week", "key", "count"])
    if frame.empty:
        return pd.DataFrame(columns=range(weeks), dtype="int64")
    table = frame.pivot_table(index="key", columns="week", values="count", aggfunc="sum", fill_value=0)
    return table.reindex(columns=range(weeks), fill_value=0).astype("int64")


def _with_averages(table: pd.DataFrame) -> tuple[dict[str, int], dict[str, dict[str, float]]]:
    """This week's count per key (keys with none this week left out) and the trailing averages per key."""
    this_week = {str(k): int(v) for k, v in table[0].items() if v} if 0 in table else {}
    averages = {
        str(key): {
            "4w": round(float(row[list(range(1, 5))].mean()), 2),
            "12w": round(float(row[list(range(1, TRAILING + 1))].mean()), 2),
        }
        for key, row in table.iterrows()
    }
    return dict(sorted(this_week.items(), key=lambda item: (-item[1], item[0]))), averages


def compute(week: Week, zone: ZoneInfo) -> dict[str, Any]:
    """Every figure of ``week``'s summary, as the JSON the API answers."""
    bounds = [week.shifted(-index).bounds(zone) for index in range(TRAILING + 1)]
    start, end = bounds[0]
    first = bounds[-1][0]
    session = db.session
    reported_week = _week_case(NonConformance.reported_at, bounds)
    in_window = and_(NonConformance.reported_at >= first, NonConformance.reported_at < end)

    def new_by(key_column, *joins):
        query = select(reported_week, key_column, func.count(func.distinct(NonConformance.id))).select_from(
            NonConformance
        )
        for target, on in joins:
            query = query.join(target, on)
        return _counts(session.execute(query.where(in_window).group_by(reported_week, key_column)).all(), TRAILING + 1)

    new_counts = dict(
        session.execute(select(reported_week, func.count()).where(in_window).group_by(reported_week)).all()
    )
    closed_week = _week_case(NonConformance.closed_at, bounds)
    closed_counts = dict(
        session.execute(
            select(closed_week, func.count())
            .where(NonConformance.closed_at >= first, NonConformance.closed_at < end)
            .group_by(closed_week)
        ).all()
    )
    open_row = session.execute(
        select(*[func.sum(case((_open_at(e), 1), else_=0)) for _s, e in bounds]).where(NonConformance.reported_at < end)
    ).one()
    open_counts = {index: int(value or 0) for index, value in enumerate(open_row)}

    by_defect_type = new_by(DefectType.code, (DefectType, DefectType.id == NonConformance.defect_type_id))
    by_line = new_by(ProductionLine.code, (ProductionLine, ProductionLine.id == NonConformance.line_id))
    by_source = new_by(NonConformance.source)
    by_parameter = new_by(
        SafetyParameter.code,
        (nc_parameters, nc_parameters.c.nc_id == NonConformance.id),
        (SafetyParameter, SafetyParameter.id == nc_parameters.c.parameter_id),
    )
    by_supplier = new_by(
        Supplier.code,
        (batch_lots, batch_lots.c.batch_id == NonConformance.batch_id),
        (MaterialLot, MaterialLot.id == batch_lots.c.lot_id),
        (Supplier, Supplier.id == MaterialLot.supplier_id),
    )

    def series(counts: dict) -> dict[str, Any]:
        values = [int(counts.get(index, 0)) for index in range(TRAILING + 1)]
        return {"4w": round(sum(values[1:5]) / 4, 2), "12w": round(sum(values[1:]) / TRAILING, 2)}

    figures: dict[str, Any] = {
        "week": str(week),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "new_ncs": int(new_counts.get(0, 0)),
        "closed": int(closed_counts.get(0, 0)),
        "open_at_end": open_counts[0],
    }
    averages: dict[str, Any] = {
        "new_ncs": series(new_counts),
        "closed": series(closed_counts),
        "open_at_end": series(open_counts),
    }
    for name, table in (
        ("by_defect_type", by_defect_type),
        ("by_line", by_line),
        ("by_supplier", by_supplier),
        ("by_parameter", by_parameter),
        ("by_source", by_source),
    ):
        figures[name], averages[name] = _with_averages(table)
    figures["history"] = {
        "weeks": [str(week.shifted(-index)) for index in range(TRAILING, -1, -1)],
        "new_ncs": [int(new_counts.get(index, 0)) for index in range(TRAILING, -1, -1)],
        "closed": [int(closed_counts.get(index, 0)) for index in range(TRAILING, -1, -1)],
        "open_at_end": [open_counts[index] for index in range(TRAILING, -1, -1)],
    }

    figures["aging"] = _aging(end)
    figures["by_state"] = _states_at(end)
    figures["overdue_actions"] = _overdue_actions(week, end)
    figures.update(_days_to_close(start, end))
    figures["retest_first_pass_rate"] = _first_pass_rate(week)
    figures["recurrences"] = list(
        session.scalars(
            select(NonConformance.number)
            .where(
                NonConformance.reported_at >= start,
                NonConformance.reported_at < end,
                NonConformance.recurrence_of_id.is_not(None),
            )
            .order_by(NonConformance.number)
        )
    )
    figures["failed_results"] = _results_by_parameter(week, LabResult.verdict == "fail")
    figures["near_limit_results"] = _results_by_parameter(
        week, and_(LabResult.verdict == "pass", LabResult.near_limit.is_(True))
    )
    figures["averages"] = averages
    figures["alerts"] = _alerts(figures, averages, end)
    return figures


def _aging(end: datetime) -> dict[str, int]:
    columns = []
    for _name, low, high in AGING:
        # Whole days from report to the week's end: reported within (end - (high+1) days, end - low days].
        condition = [NonConformance.reported_at <= end - timedelta(days=low)]
        if high is not None:
            condition.append(NonConformance.reported_at > end - timedelta(days=high + 1))
        columns.append(func.sum(case((and_(_open_at(end), *condition), 1), else_=0)))
    row = db.session.execute(select(*columns).where(NonConformance.reported_at < end)).one()
    return {name: int(value or 0) for (name, _low, _high), value in zip(AGING, row, strict=True)}


def _states_at(end: datetime) -> dict[str, int]:
    """Open NCs at ``end`` by the state they were in then, from their history."""
    last_move = (
        select(Event.nc_id, func.max(Event.id).label("event_id"))
        .where(Event.kind == "state", Event.at < end)
        .group_by(Event.nc_id)
        .subquery()
    )
    move = aliased(Event)
    state = func.coalesce(move.new, "reported")
    rows = db.session.execute(
        select(state, func.count())
        .select_from(NonConformance)
        .outerjoin(last_move, last_move.c.nc_id == NonConformance.id)
        .outerjoin(move, move.id == last_move.c.event_id)
        .where(_open_at(end))
        .group_by(state)
    ).all()
    return {str(name): int(count) for name, count in sorted(rows)}


def _overdue_actions(week: Week, end: datetime) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(NonConformance.number, Action.description, Action.due_date, Action.kind, Action.owner_id)
        .select_from(Action)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(
            Action.due_date <= week.sunday,
            Action.created_at < end,
            or_(Action.status == ActionStatus.OPEN, Action.completed_at >= end),
            # A cancelled NC's open actions are nobody's to do any more.
            or_(NonConformance.cancelled_at.is_(None), NonConformance.cancelled_at >= end),
        )
        .order_by(Action.due_date, NonConformance.number)
    ).all()
    owners = _usernames({row.owner_id for row in rows})
    return [
        {
            "nc": row.number,
            "action": row.description,
            "kind": row.kind,
            "owner": owners.get(row.owner_id),
            "due_date": row.due_date.isoformat(),
            "days_late": (week.sunday - row.due_date).days,
        }
        for row in rows
    ]


def _usernames(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _days_to_close(start: datetime, end: datetime) -> dict[str, float | None]:
    rows = db.session.execute(
        select(NonConformance.reported_at, NonConformance.closed_at).where(
            NonConformance.closed_at >= start, NonConformance.closed_at < end
        )
    ).all()
    if not rows:
        return {"median_days_to_close": None, "p90_days_to_close": None}
    days = pd.Series([(closed - reported).total_seconds() / 86400 for reported, closed in rows])
    return {
        "median_days_to_close": round(float(days.median()), 1),
        "p90_days_to_close": round(float(days.quantile(0.9)), 1),
    }


def _first_pass_rate(week: Week) -> float | None:
    first = (
        select(func.min(LabResult.id).label("result_id"))
        .where(LabResult.nc_id.is_not(None))
        .group_by(LabResult.nc_id, LabResult.parameter_id)
        .subquery()
    )
    row = db.session.execute(
        select(func.count(), func.sum(case((LabResult.verdict == "pass", 1), else_=0)))
        .select_from(LabResult)
        .join(first, first.c.result_id == LabResult.id)
        .where(LabResult.tested_at >= week.monday, LabResult.tested_at <= week.sunday)
    ).one()
    total, passed = int(row[0] or 0), int(row[1] or 0)
    return round(passed / total, 3) if total else None


def _results_by_parameter(week: Week, condition) -> dict[str, int]:
    rows = db.session.execute(
        select(SafetyParameter.code, func.count())
        .select_from(LabResult)
        .join(SafetyParameter, SafetyParameter.id == LabResult.parameter_id)
        .where(LabResult.tested_at >= week.monday, LabResult.tested_at <= week.sunday, condition)
        .group_by(SafetyParameter.code)
    ).all()
    return {code: int(count) for code, count in sorted(rows, key=lambda row: (-row[1], row[0]))}


def _alerts(figures: dict[str, Any], averages: dict[str, Any], end: datetime) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    for name, kind in (("by_defect_type", "defect_type"), ("by_line", "line"), ("by_parameter", "parameter")):
        for key, count in figures[name].items():
            average = averages[name].get(key, {}).get("4w", 0.0)
            if count >= ALERT_MIN_COUNT and count >= ALERT_RISE * average:
                alerts.append({"kind": f"rising_{kind}", "key": key, "count": count, "average_4w": average})
    for number, title in db.session.execute(
        select(NonConformance.number, NonConformance.title)
        .where(NonConformance.safety_critical.is_(True), _open_at(end))
        .order_by(NonConformance.number)
    ):
        alerts.append({"kind": "safety_critical_open", "nc": number, "title": title})
    batch = aliased(Batch)
    lot = aliased(MaterialLot)
    for number, batch_number, lot_number, held_at in db.session.execute(
        select(NonConformance.number, batch.number, lot.number, Hold.held_at)
        .select_from(Hold)
        .join(NonConformance, NonConformance.id == Hold.nc_id)
        .outerjoin(batch, batch.id == Hold.batch_id)
        .outerjoin(lot, lot.id == Hold.lot_id)
        .where(Hold.held_at < end - HOLD_ALERT_AGE, or_(Hold.released_at.is_(None), Hold.released_at >= end))
        .order_by(Hold.held_at)
    ):
        alerts.append(
            {"kind": "long_hold", "nc": number, "batch": batch_number, "lot": lot_number, "days": (end - held_at).days}
        )
    return alerts
