"""Building, finding and listing weekly summaries, exactly once per week.

The rule: a week's summary is built once. Building first claims the week by inserting its row; the
database's unique key on the week makes a second claim fail inside its own transaction (two schedulers
started by mistake, a repeated run), and the loser leaves the week alone. ``force`` rebuilds the figures of
a claimed week in place. A failure while computing is recorded on the row and retried by the next run.
"""

from datetime import datetime, timedelta
from typing import Any

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from capa.capas.models import NonConformance
from capa.common.clock import plant_zone
from capa.common.errors import NotFound, ValidationError
from capa.common.types import utcnow
from capa.extensions import db
from capa.inspections.floor import earlier_from, floor_figures
from capa.trends.figures import RISING, TRAILING, compute, current_alerts, current_counts
from capa.trends.models import SummaryStatus, WeeklySummary
from capa.trends.weeks import InvalidWeek, Week, last_complete_week

#: A claim (to build, or to mail) this old belongs to a process that died; it is taken over.
STALE_CLAIM = timedelta(minutes=15)
#: The figures of each week the quality manager's home shows.
HEADLINE = ("new_ncs", "closed", "open_at_end")


def parse_week(text: str) -> Week:
    """The week named ``text``; raises ValidationError naming ``week``."""
    try:
        return Week.parse(text)
    except InvalidWeek as exc:
        raise ValidationError(str(exc), fields={"week": str(exc)}) from exc


def find(week: Week) -> WeeklySummary | None:
    return db.session.scalar(select(WeeklySummary).where(WeeklySummary.week == str(week)))


def get_built(week_text: str) -> WeeklySummary:
    """The built summary of the week named ``week_text``; raises ValidationError or NotFound."""
    summary = find(parse_week(week_text))
    if summary is None or summary.status != SummaryStatus.BUILT:
        raise NotFound(str(_l("No summary has been built for %(week)s.", week=week_text)), fields={"week": "not built"})
    return summary


def list_summaries() -> list[WeeklySummary]:
    return list(db.session.scalars(select(WeeklySummary).order_by(WeeklySummary.monday.desc())))


def _claim(week: Week) -> WeeklySummary | None:
    """Insert the week's row; None when another builder holds it already."""
    session = db.session
    try:
        summary = WeeklySummary(week=str(week), monday=week.monday, status=SummaryStatus.BUILDING, figures={})
        session.add(summary)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return summary


def build(week: Week, *, force: bool = False) -> tuple[WeeklySummary, bool]:
    """Build ``week``'s summary unless it exists (or rebuild it with ``force``); returns it and whether this
    call built it. A failed build is retried by the next call."""
    session = db.session
    summary = find(week)
    if summary is not None and summary.status == SummaryStatus.BUILT and not force:
        return summary, False
    if summary is None:
        summary = _claim(week)
        if summary is None:
            return find(week), False
    else:
        # A failed or forced build, or one whose builder died: take the row over unless someone else is
        # building it right now.
        takeable = or_(
            WeeklySummary.status == SummaryStatus.FAILED,
            and_(WeeklySummary.status == SummaryStatus.BUILDING, WeeklySummary.claimed_at < utcnow() - STALE_CLAIM),
        )
        if force:
            takeable = or_(takeable, WeeklySummary.status == SummaryStatus.BUILT)
        taken = session.execute(
            update(WeeklySummary)
            .where(WeeklySummary.id == summary.id, takeable)
            .values(status=SummaryStatus.BUILDING, claimed_at=utcnow())
        ).rowcount
        session.commit()
        if not taken:
            session.refresh(summary)
            return summary, False
    try:
        figures = compute(week, plant_zone())
    except Exception as exc:
        session.rollback()
        summary.status, summary.error = SummaryStatus.FAILED, f"{type(exc).__name__}: {exc}"
        session.commit()
        raise
    summary.figures, summary.status, summary.error, summary.built_at = figures, SummaryStatus.BUILT, "", utcnow()
    session.commit()
    return summary, True


def missing_weeks(now: datetime, *, limit: int = 104) -> list[Week]:
    """Weeks without a built summary, oldest first, from the week of the first non-conformance ever reported
    to the last complete week, at most ``limit`` weeks back: the catch-up after downtime. A database with
    no NC at all needs only the last complete week."""
    zone = plant_zone()
    last = last_complete_week(now, zone)
    built = {s.week for s in list_summaries() if s.status == SummaryStatus.BUILT}
    first_report = db.session.scalar(select(func.min(NonConformance.reported_at)))
    earliest = Week.containing(first_report.astimezone(zone).date()) if first_report else last
    weeks = []
    week = last
    for _ in range(limit):
        if week < earliest:
            break
        if str(week) not in built:
            weeks.append(week)
        week = week.shifted(-1)
    return list(reversed(weeks))


def recent(*, alerts: bool = True) -> dict[str, Any]:
    """The last 12 weeks and the week in progress, for the quality manager's home: ``history`` (``weeks``,
    ``new_ncs``, ``closed``, ``open_at_end``, oldest first, the week in progress last), ``missing`` (the completed
    weeks without a built summary) and, with ``alerts``, the week in progress's ``alerts`` and ``totals``.

    The rule: a completed week's figures are those of its built summary, read in one statement (only the few
    figures shown, taken out of the stored JSON by the database); only the week in progress is aggregated, as of
    now (:func:`capa.trends.figures.current_counts`, :func:`~capa.trends.figures.current_alerts`). A completed
    week without a built summary is shown as missing (None), neither as zero nor built by the page: building
    is the scheduler's (its catch-up on start, its hourly retry of failures; ``summary run``), so that a request
    aggregates one week at most, however many quality managers open the page at once. Computed once per
    request however often asked."""
    cache = g.setdefault("recent_weeks", {}) if has_request_context() else {}
    if alerts not in cache:
        cache[alerts] = _recent(alerts)
    return cache[alerts]


def floor_this_week() -> dict[str, Any]:
    """The inspection figures of the week in progress, as of now (:mod:`capa.inspections.floor`): its DHU trend
    from the stored summaries of the 4 weeks before (one statement), as the week's alerts take their averages."""
    zone = plant_zone()
    now = utcnow()
    current = Week.containing(now.astimezone(zone).date())
    before = [str(current.shifted(-back)) for back in range(1, 5)]
    stored = db.session.scalars(
        select(WeeklySummary.figures[("inspections", "dhu_by_line")]).where(
            WeeklySummary.week.in_(before), WeeklySummary.status == SummaryStatus.BUILT
        )
    )
    start, _end = current.bounds(zone)
    return floor_figures(start, now, earlier_from(stored))


def _recent(alerts: bool) -> dict[str, Any]:
    zone = plant_zone()
    now = utcnow()
    current = Week.containing(now.astimezone(zone).date())
    completed = [current.shifted(-back) for back in range(TRAILING, 0, -1)]
    figures = WeeklySummary.figures
    columns = [WeeklySummary.week, *(figures[name].as_integer() for name in HEADLINE)]
    if alerts:
        columns += [figures[name] for name, _kind in RISING]
    stored = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(*columns).where(
                WeeklySummary.week.in_([str(week) for week in completed]), WeeklySummary.status == SummaryStatus.BUILT
            )
        )
    }
    now_counts = current_counts(current, zone)
    history: dict[str, list] = {"weeks": [str(week) for week in (*completed, current)]}
    for index, name in enumerate(HEADLINE):
        history[name] = [stored[str(week)][index] if str(week) in stored else None for week in completed]
        history[name].append(now_counts[name])
    answer: dict[str, Any] = {
        "history": history,
        "missing": [str(week) for week in completed if str(week) not in stored],
    }
    if alerts:
        earlier = [
            {name: stored[str(week)][len(HEADLINE) + index] for index, (name, _kind) in enumerate(RISING)}
            for week in completed[-4:]
            if str(week) in stored
        ]
        answer["alerts"], answer["totals"] = current_alerts(current, zone, now, earlier)
    return answer
