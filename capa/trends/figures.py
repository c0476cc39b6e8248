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
  average; every safety-critical NC open at the week's end; every hold older than 14 days at its end;
- an NC is charged to a supplier by the rule of :mod:`capa.capas.attribution` (only through material of that
  supplier it concerns), once per supplier (``by_supplier``); an NC charged to none is counted in
  ``unattributed_ncs``;
- effectiveness reviews (``effectiveness``): ``due`` counts the closed CAPAs whose review fell due within
  the week (its Monday to its Sunday, plant dates), reviewed or not, reviewed early included; ``done`` the
  reviews recorded within the week, whenever they fell due; ``failed`` those of them found not effective;
  ``outstanding`` the reviews due on or before the week's Sunday and still not recorded at its end (the
  backlog a manager chases, earlier weeks' included). Summaries built before these figures existed have no
  ``effectiveness`` and no ``unattributed_ncs``: readers treat them as absent, not as zero;
- the inspections of the week (``inspections``): final inspections' first-pass acceptance and top codes by class,
  DHU by line and stage against its 4 weeks before, fabric points by supplier, needle incidents
  (:mod:`capa.inspections.floor`); summaries built before them have none, shown as absent;
- a stored table keeps its first :data:`TABLE_ROWS` rows, whatever the size of the plant, and ``totals`` says
  how many rows it has in all (:func:`totals_of`): the overdue actions (the longest overdue first), the
  recurrences, each breakdown and the failed and near-limit results (the largest counts first, with their
  averages; ``left_out`` counts the NCs of the keys left out, so that shares stay shares of the whole), and
  each kind of alert (``rising_defect_type``, ``rising_line``, ``rising_parameter``, ``safety_critical_open``,
  ``long_hold``). Alerts are found on the whole breakdowns before they are cut. Summaries stored before tables
  were bounded list every row and have no ``totals``: what they list is their whole;
- the week in progress (the quality manager's home: :func:`current_counts`, :func:`current_alerts`) is
  aggregated over that week alone, as of now: its new and closed NCs, the NCs open now (by their state), and
  its alerts (holds older than 14 days now), whose 4-week averages come from the stored summaries of the 4
  weeks before (a week without one is left out of the mean; with none, a key is compared with 0).
"""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from capa.accounts.models import User
from capa.capas.attribution import charged_lots
from capa.capas.models import (
    Action,
    ActionStatus,
    DefectType,
    EffectivenessVerdict,
    Event,
    Hold,
    NonConformance,
    nc_parameters,
    stated,
)
from capa.capas.states import State
from capa.extensions import db
from capa.inspections.floor import floor_figures
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Supplier
from capa.safety.models import LabResult, SafetyParameter
from capa.trends.weeks import Week

TRAILING = 12
ALERT_MIN_COUNT = 3
ALERT_RISE = 1.5
HOLD_ALERT_AGE = timedelta(days=14)
AGING = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("over_90", 91, None))
#: The rows a stored table keeps (the rule: this module's docstring); ``totals`` has the true count.
TABLE_ROWS = 50
BREAKDOWNS = ("by_defect_type", "by_line", "by_supplier", "by_parameter", "by_source")
#: The breakdowns whose rise is an alert, and the alert's kind.
RISING = (("by_defect_type", "rising_defect_type"), ("by_line", "rising_line"), ("by_parameter", "rising_parameter"))
ALERT_KINDS = (*(kind for _name, kind in RISING), "safety_critical_open", "long_hold")
#: The tables cut to their first rows: lists, then tables keyed by a code.
LISTED = ("overdue_actions", "recurrences")
KEYED = (*BREAKDOWNS, "failed_results", "near_limit_results")


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
    # The effectiveness reviews are counted in the same pass: every CAPA they count was reported before the end.
    reviews = _effectiveness(week, start, end)
    open_row = session.execute(
        select(
            *[func.sum(case((_open_at(e), 1), else_=0)) for _s, e in bounds],
            *[func.sum(case((condition, 1), else_=0)) for condition in reviews.values()],
        ).where(NonConformance.reported_at < end)
    ).one()
    open_counts = {index: int(value or 0) for index, value in enumerate(open_row[: len(bounds)])}
    review_counts = {name: int(value or 0) for name, value in zip(reviews, open_row[len(bounds) :], strict=True)}

    by_defect_type = new_by(DefectType.code, (DefectType, DefectType.id == NonConformance.defect_type_id))
    by_line = new_by(ProductionLine.code, (ProductionLine, ProductionLine.id == NonConformance.line_id))
    by_source = new_by(NonConformance.source)
    by_parameter = new_by(
        SafetyParameter.code,
        (nc_parameters, nc_parameters.c.nc_id == NonConformance.id),
        (SafetyParameter, SafetyParameter.id == nc_parameters.c.parameter_id),
    )
    by_supplier, unattributed_counts = _by_supplier(reported_week, in_window)

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
        "unattributed_ncs": int(unattributed_counts.get(0, 0)),
    }
    averages: dict[str, Any] = {
        "new_ncs": series(new_counts),
        "closed": series(closed_counts),
        "open_at_end": series(open_counts),
        "unattributed_ncs": series(unattributed_counts),
    }
    tables = {
        "by_defect_type": by_defect_type,
        "by_line": by_line,
        "by_supplier": by_supplier,
        "by_parameter": by_parameter,
        "by_source": by_source,
    }
    for name in BREAKDOWNS:
        figures[name], averages[name] = _with_averages(tables[name])
    figures["history"] = {
        "weeks": [str(week.shifted(-index)) for index in range(TRAILING, -1, -1)],
        "new_ncs": [int(new_counts.get(index, 0)) for index in range(TRAILING, -1, -1)],
        "closed": [int(closed_counts.get(index, 0)) for index in range(TRAILING, -1, -1)],
        "open_at_end": [open_counts[index] for index in range(TRAILING, -1, -1)],
    }

    totals: dict[str, int] = {}
    figures["aging"] = _aging(end)
    figures["by_state"] = _states_at(end)
    figures["overdue_actions"], totals["overdue_actions"] = _overdue_actions(week, end)
    figures.update(_days_to_close(start, end))
    figures["retest_first_pass_rate"] = _first_pass_rate(week)
    recurring = and_(
        NonConformance.reported_at >= start,
        NonConformance.reported_at < end,
        NonConformance.recurrence_of_id.is_not(None),
    )
    recurrences, totals["recurrences"] = _first_rows(
        select(NonConformance.number).where(recurring).order_by(NonConformance.number),
        select(func.count()).select_from(NonConformance).where(recurring),
    )
    figures["recurrences"] = [number for (number,) in recurrences]
    figures["failed_results"] = _results_by_parameter(week, LabResult.verdict == "fail")
    figures["near_limit_results"] = _results_by_parameter(
        week, and_(LabResult.verdict == "pass", LabResult.near_limit.is_(True))
    )
    figures["effectiveness"] = review_counts
    figures["inspections"] = floor_figures(start, end)
    # Alerts look at the whole breakdowns; the tables are cut after.
    alerts, alert_totals = _rising_alerts(figures, {name: averages[name] for name, _kind in RISING})
    for found, total in (_safety_critical_alerts(_open_at(end)), _long_hold_alerts(end)):
        alerts.extend(found)
        alert_totals.update(total)
    figures["alerts"] = alerts
    totals.update(alert_totals)
    left_out: dict[str, int] = {}
    for name in KEYED:
        figures[name], kept_averages, totals[name], left_out[name] = _cut(figures[name], averages.get(name))
        if name in averages:
            averages[name] = kept_averages
    figures["averages"] = averages
    figures["totals"] = totals
    figures["left_out"] = left_out
    return figures


def _first_rows(rows_query, count_query) -> tuple[list, int]:
    """The first :data:`TABLE_ROWS` rows of ``rows_query`` (ordered) and the count ``count_query`` takes of all
    of them: two statements, neither of which brings the whole table back."""
    rows = list(db.session.execute(rows_query.limit(TABLE_ROWS)).all())
    return rows, int(db.session.scalar(count_query) or 0)


def _cut(
    counts: dict[str, int], averages: dict[str, dict[str, float]] | None
) -> tuple[dict[str, int], dict[str, dict[str, float]], int, int]:
    """A table keyed by a code (largest counts first) cut to its first :data:`TABLE_ROWS` keys: the counts kept,
    the averages kept (those of the keys kept, and of the :data:`TABLE_ROWS` other keys of the highest
    averages: what fell to nothing this week), the true number of keys and the sum of the counts left out."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = dict(ranked[:TABLE_ROWS])
    left_out = sum(count for _key, count in ranked[TABLE_ROWS:])
    if averages is None:
        return kept, {}, len(counts), left_out
    others = sorted(
        (key for key in averages if key not in kept),
        key=lambda key: (-averages[key].get("4w", 0), -averages[key].get("12w", 0), key),
    )
    kept_averages = {key: averages[key] for key in (*kept, *others[:TABLE_ROWS]) if key in averages}
    return kept, kept_averages, len(counts), left_out


def totals_of(figures: dict[str, Any]) -> dict[str, int]:
    """How many rows each table of a stored summary has in all (the tables of the module's docstring, and each
    kind of alert): as stored, or, for a summary built before its tables were bounded (no ``totals``), what it
    lists, which is everything. A table the summary does not have at all is left out."""
    stored = figures.get("totals") or {}
    found = {}
    for name in (*LISTED, *KEYED):
        if name in stored:
            found[name] = int(stored[name])
        elif isinstance(figures.get(name), list | dict):
            found[name] = len(figures[name])
    listed = Counter(alert.get("kind") for alert in figures.get("alerts") or [])
    for kind in ALERT_KINDS:
        found[kind] = int(stored.get(kind, listed.get(kind, 0)))
    return found


def with_totals(figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` with ``totals`` complete (see :func:`totals_of`) and ``left_out`` (none, when not stored):
    what the summary page, its mail and the API read, whenever the summary was built."""
    return {**figures, "totals": totals_of(figures), "left_out": figures.get("left_out") or {}}


def _by_supplier(reported_week, in_window) -> tuple[pd.DataFrame, dict[int, int]]:
    """New NCs per week index and supplier by the attribution rule (:mod:`capa.capas.attribution`), and per
    week index those charged to no supplier; one statement. The NCs of the window are joined to their charged
    lots from the outside, so those with none come back under no supplier."""
    charged = charged_lots(in_window)
    rows = db.session.execute(
        select(reported_week, Supplier.code, func.count(func.distinct(NonConformance.id)))
        .select_from(NonConformance)
        .outerjoin(charged, charged.c.nc_id == NonConformance.id)
        .outerjoin(MaterialLot, MaterialLot.id == charged.c.lot_id)
        .outerjoin(Supplier, Supplier.id == MaterialLot.supplier_id)
        .where(in_window)
        .group_by(reported_week, Supplier.code)
    ).all()
    unattributed = {week: int(count) for week, code, count in rows if code is None}
    return _counts([row for row in rows if row[1] is not None], TRAILING + 1), unattributed


def _effectiveness(week: Week, start: datetime, end: datetime) -> dict[str, Any]:
    """The conditions that count a CAPA among the week's effectiveness reviews (due, done, failed,
    outstanding), by the rule of the module's docstring: due, done and failed as
    :func:`capa.capas.effectiveness.review_counts` counts them, written as conditions so that they are counted
    in the pass over the NCs that counts the open ones (each implies a report before the week's end)."""
    nc = NonConformance
    done = and_(nc.effectiveness_reviewed_at >= start, nc.effectiveness_reviewed_at < end)
    return {
        # A review date is set at closing, for a later day: a CAPA due within the week was closed before its end.
        "due": and_(nc.effectiveness_due >= week.monday, nc.effectiveness_due <= week.sunday),
        # A CAPA closed before review dates existed has none: it is never due, but a review of it still counts.
        "done": done,
        "failed": and_(done, nc.effectiveness_verdict == EffectivenessVerdict.NOT_EFFECTIVE),
        "outstanding": and_(
            nc.effectiveness_due <= week.sunday,
            or_(nc.effectiveness_reviewed_at.is_(None), nc.effectiveness_reviewed_at >= end),
        ),
    }


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


def _overdue_actions(week: Week, end: datetime) -> tuple[list[dict[str, Any]], int]:
    """The actions overdue at the week's end, the longest overdue first (its first rows), and how many they are."""
    overdue = (
        Action.due_date <= week.sunday,
        Action.created_at < end,
        or_(Action.status == ActionStatus.OPEN, Action.completed_at >= end),
        # A cancelled NC's open actions are nobody's to do any more.
        or_(NonConformance.cancelled_at.is_(None), NonConformance.cancelled_at >= end),
    )
    rows, total = _first_rows(
        select(NonConformance.number, Action.description, Action.due_date, Action.kind, Action.owner_id)
        .select_from(Action)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(*overdue)
        .order_by(Action.due_date, NonConformance.number, Action.id),
        select(func.count())
        .select_from(Action)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(*overdue),
    )
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
    ], total


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


def _rising_alerts(
    counts: dict[str, Any], averages: dict[str, dict[str, dict[str, float]]]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A defect type, line or parameter of ``counts`` (by_defect_type, by_line, by_parameter: this week's) with at
    least ALERT_MIN_COUNT new NCs and at least ALERT_RISE times its 4-week average in ``averages`` (key -> {"4w"});
    each kind cut to its first rows, the largest counts first, and how many each kind has in all."""
    alerts: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for name, kind in RISING:
        found = []
        for key, count in counts.get(name, {}).items():
            average = averages.get(name, {}).get(key, {}).get("4w", 0.0)
            if count >= ALERT_MIN_COUNT and count >= ALERT_RISE * average:
                found.append({"kind": kind, "key": key, "count": count, "average_4w": average})
        found.sort(key=lambda alert: (-alert["count"], alert["key"]))
        alerts.extend(found[:TABLE_ROWS])
        totals[kind] = len(found)
    return alerts, totals


def _safety_critical_alerts(still_open) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every safety-critical NC for which ``still_open`` holds (its first rows, by number), and how many."""
    condition = and_(NonConformance.safety_critical.is_(True), still_open)
    rows, total = _first_rows(
        select(NonConformance.number, NonConformance.title).where(condition).order_by(NonConformance.number),
        select(func.count()).select_from(NonConformance).where(condition),
    )
    alerts = [{"kind": "safety_critical_open", "nc": number, "title": title} for number, title in rows]
    return alerts, {"safety_critical_open": total}


def _long_hold_alerts(end: datetime, *, now: bool = False) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every hold older than HOLD_ALERT_AGE and not released at ``end`` (the oldest first), and how many. ``now``:
    ``end`` is the present, when a hold not released is one without a release (read from the partial index of
    the holds in quarantine, not from every hold ever placed)."""
    still_held = Hold.released_at.is_(None) if now else or_(Hold.released_at.is_(None), Hold.released_at >= end)
    held = (Hold.held_at < end - HOLD_ALERT_AGE, still_held)
    batch = aliased(Batch)
    lot = aliased(MaterialLot)
    rows, total = _first_rows(
        select(NonConformance.number, batch.number, lot.number, Hold.held_at)
        .select_from(Hold)
        .join(NonConformance, NonConformance.id == Hold.nc_id)
        .outerjoin(batch, batch.id == Hold.batch_id)
        .outerjoin(lot, lot.id == Hold.lot_id)
        .where(*held)
        .order_by(Hold.held_at, Hold.id),
        select(func.count()).select_from(Hold).where(*held),
    )
    alerts = [
        {"kind": "long_hold", "nc": number, "batch": batch_number, "lot": lot_number, "days": (end - held_at).days}
        for number, batch_number, lot_number, held_at in rows
    ]
    return alerts, {"long_hold": total}


def current_counts(week: Week, zone: ZoneInfo) -> dict[str, int]:
    """New and closed NCs of ``week``, the week in progress, and the NCs open now: one statement over that week
    (and the open NCs, by their state)."""
    start, end = week.bounds(zone)

    def count(*conditions):
        return select(func.count()).select_from(NonConformance).where(*conditions).scalar_subquery()

    new_ncs, closed, still_open = db.session.execute(
        select(
            count(NonConformance.reported_at >= start, NonConformance.reported_at < end),
            count(NonConformance.closed_at >= start, NonConformance.closed_at < end),
            count(NonConformance.status.not_in(stated([State.CLOSED, State.CANCELLED]))),
        )
    ).one()
    return {"new_ncs": int(new_ncs or 0), "closed": int(closed or 0), "open_at_end": int(still_open or 0)}


def current_alerts(
    week: Week, zone: ZoneInfo, now: datetime, earlier: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The alerts of ``week``, the week in progress, as of ``now`` (each kind cut to its first rows) and how many
    of each kind there are, aggregated over this week alone. ``earlier`` holds the stored breakdowns
    (by_defect_type, by_line, by_parameter) of those of the 4 weeks before that have a summary: a rising alert's
    average is their mean; with none stored, every key is compared with 0, as one never seen before."""
    start, end = week.bounds(zone)
    reported = and_(NonConformance.reported_at >= start, NonConformance.reported_at < end)

    def by(name: str, column, *joins):
        query = select(literal(name).label("name"), column.label("key"), func.count(func.distinct(NonConformance.id)))
        for target, on in joins:
            query = query.join(target, on)
        return query.where(reported).group_by(column)

    keyed = union_all(
        by("by_defect_type", DefectType.code, (DefectType, DefectType.id == NonConformance.defect_type_id)),
        by("by_line", ProductionLine.code, (ProductionLine, ProductionLine.id == NonConformance.line_id)),
        by(
            "by_parameter",
            SafetyParameter.code,
            (nc_parameters, nc_parameters.c.nc_id == NonConformance.id),
            (SafetyParameter, SafetyParameter.id == nc_parameters.c.parameter_id),
        ),
    )
    counts: dict[str, dict[str, int]] = {name: {} for name, _kind in RISING}
    for name, key, number in db.session.execute(keyed).all():
        counts[name][str(key)] = int(number)
    averages = {
        name: {
            key: {"4w": round(sum((stored.get(name) or {}).get(key, 0) for stored in earlier) / len(earlier), 2)}
            for key in counts[name]
        }
        if earlier
        else {}
        for name, _kind in RISING
    }
    alerts, totals = _rising_alerts(counts, averages)
    for found, total in (
        _safety_critical_alerts(NonConformance.status.not_in(stated([State.CLOSED, State.CANCELLED]))),
        _long_hold_alerts(now, now=True),
    ):
        alerts.extend(found)
        totals.update(total)
    return alerts, totals
