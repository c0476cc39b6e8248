"""Weekly trend summaries."""

from typing import Any

from pydantic import ConfigDict, Field

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Timestamp, With
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
