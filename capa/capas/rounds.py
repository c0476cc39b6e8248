"""Root-cause rounds that remember: what the next round starts from, and why it is needed. Reading only.

The rules:
- a new round starts from the latest analysis (its whys, fishbone, category and statement), whatever became
  of it: a returned one is answered by changing it, an approved one that a failing retest sent back is
  improved on;
- an analysis the quality manager returned asks a question (its review comment) that stays open until the
  next round is submitted: :func:`returned_round`;
- a CAPA in investigation whose latest round was approved came back from a failing retest during
  verification (the only move that sends an approved CAPA back): that retest is the reason for the next
  round, :func:`failing_retest`;
- queues read the open questions of many NCs at once, in one query: :func:`returned_rounds`.
"""

from collections.abc import Collection, Iterable

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from capa.capas.models import NonConformance, ReviewDecision, RootCauseAnalysis
from capa.capas.states import State
from capa.extensions import db
from capa.safety.judging import Outcome
from capa.safety.models import LabResult


def latest_round(nc: NonConformance) -> RootCauseAnalysis | None:
    """The latest analysis of ``nc``, which a new round starts from; None before the first."""
    return nc.analyses[-1] if nc.analyses else None


def returned_round(nc: NonConformance) -> RootCauseAnalysis | None:
    """The latest analysis when the quality manager returned it: its question waits for the next round."""
    latest = latest_round(nc)
    return latest if latest is not None and latest.decision == ReviewDecision.RETURN else None


def failing_retest(nc: NonConformance, tests: Iterable[LabResult]) -> LabResult | None:
    """The failing retest that sent ``nc`` back to investigation after its root cause was approved: the last
    failing one recorded among ``tests`` (the NC's retests); None when the CAPA is not back for that reason."""
    latest = latest_round(nc)
    if nc.status != State.INVESTIGATION or latest is None or latest.decision != ReviewDecision.APPROVE:
        return None
    failures = [result for result in tests if result.verdict == Outcome.FAIL]
    return max(failures, key=lambda result: result.id) if failures else None


def returned_rounds(nc_ids: Collection[int] | None = None) -> dict[int, RootCauseAnalysis]:
    """NC id -> its latest analysis, for the NCs in investigation whose latest analysis was returned (among
    ``nc_ids`` when given), in one query."""
    if nc_ids is not None and not nc_ids:
        return {}
    last = select(RootCauseAnalysis.nc_id, func.max(RootCauseAnalysis.round).label("round")).group_by(
        RootCauseAnalysis.nc_id
    )
    if nc_ids is not None:
        # The latest round of just these NCs: grouping every NC's analyses would read the whole table.
        last = last.where(RootCauseAnalysis.nc_id.in_(list(nc_ids)))
    last = last.subquery()
    query = (
        select(RootCauseAnalysis)
        .join(last, and_(RootCauseAnalysis.nc_id == last.c.nc_id, RootCauseAnalysis.round == last.c.round))
        .join(NonConformance, NonConformance.id == RootCauseAnalysis.nc_id)
        .where(
            RootCauseAnalysis.decision == ReviewDecision.RETURN,
            NonConformance.status == State.INVESTIGATION,
        )
        .options(selectinload(RootCauseAnalysis.reviewed_by), selectinload(RootCauseAnalysis.nc))
    )
    if nc_ids is not None:
        query = query.where(RootCauseAnalysis.nc_id.in_(list(nc_ids)))
    return {analysis.nc_id: analysis for analysis in db.session.scalars(query)}
