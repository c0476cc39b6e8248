"""Reading NCs for lists, queues and the pages of other records; nothing here changes anything.

- the list filters are an NCFilters command (400 naming the field) and combined with AND; text search is
  literal (``%`` and ``_`` are searched for, not wildcards);
- an action is overdue when it is open, due before today in plant time, and its NC was not cancelled;
- a quality manager's queue holds the NCs to contain, the root causes to review, the late actions and the
  CAPAs whose only unmet gate is the effectiveness note, and the closed CAPAs whose effectiveness review is due;
- an NC in investigation whose latest root cause was returned shows the question beside it in every queue
  (its reporter's list of their NCs, and a quality manager's list of returned root causes), read in one query.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import Role, User
from capa.capas import effectiveness, rounds
from capa.capas.commands import NCFilters
from capa.capas.gates import unmet_gates
from capa.capas.models import (
    Action,
    ActionStatus,
    DefectType,
    Hold,
    NonConformance,
    RootCauseAnalysis,
)
from capa.capas.states import State
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier, batch_lots
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult, ResultRejudgement, SafetyParameter


def held_numbers(batch: Batch) -> list[str]:
    """The numbers of the NCs that hold this batch, or one of its lots, and have not released it."""
    return held_numbers_for([batch])[batch.id]


def held_numbers_for(batches: list[Batch]) -> dict[int, list[str]]:
    """held_numbers for many batches at once, in one query."""
    result: dict[int, set[str]] = {batch.id: set() for batch in batches}
    if not batches:
        return {}
    batch_ids = list(result)
    lot_batches = (
        select(batch_lots.c.batch_id.label("batch_id"), Hold.nc_id.label("nc_id"))
        .join(Hold, Hold.lot_id == batch_lots.c.lot_id)
        .where(batch_lots.c.batch_id.in_(batch_ids), Hold.released_at.is_(None))
    )
    direct = select(Hold.batch_id.label("batch_id"), Hold.nc_id.label("nc_id")).where(
        Hold.batch_id.in_(batch_ids), Hold.released_at.is_(None)
    )
    holds = lot_batches.union(direct).subquery()
    rows = db.session.execute(
        select(holds.c.batch_id, NonConformance.number).join(NonConformance, NonConformance.id == holds.c.nc_id)
    )
    for batch_id, number in rows:
        result[batch_id].add(number)
    return {batch_id: sorted(numbers) for batch_id, numbers in result.items()}


# D4 root cause and its review ------------------------------------------------------------------------------


def tests_of(nc: NonConformance) -> list[LabResult]:
    """The NC's retests, newest first (the first of a parameter is its latest)."""
    query = select(LabResult).where(LabResult.nc_id == nc.id).options(selectinload(LabResult.parameter))
    return list(db.session.scalars(safety.newest_first(query)))


def rejudged_failures(nc: NonConformance) -> list[ResultRejudgement]:
    """The results linked to ``nc`` (its retests and the result it was raised from) that a later change of
    the rule turned from a pass into a failure and that still fail: an open CAPA showing one is flagged."""
    linked = or_(LabResult.nc_id == nc.id, LabResult.id == nc.source_result_id)
    query = (
        select(ResultRejudgement)
        .join(LabResult, LabResult.id == ResultRejudgement.result_id)
        .where(
            linked,
            ResultRejudgement.new_verdict == Outcome.FAIL,
            ResultRejudgement.old_verdict != Outcome.FAIL,
            LabResult.verdict == Outcome.FAIL,
        )
        .options(
            selectinload(ResultRejudgement.result).selectinload(LabResult.parameter),
            selectinload(ResultRejudgement.changed_by),
        )
        .order_by(ResultRejudgement.id)
    )
    return list(db.session.scalars(query))


def overdue_clause():
    """An NC with an action open past its due date, unless the NC was cancelled."""
    open_late = select(Action.id).where(
        Action.nc_id == NonConformance.id, Action.status == ActionStatus.OPEN, Action.due_date < plant_today()
    )
    return and_(open_late.exists(), NonConformance.status != State.CANCELLED)


def filtered(filters: NCFilters):
    """The select() of NCs matching ``filters``, newest first."""
    query = select(NonConformance)
    if filters.status:
        query = query.where(NonConformance.status == filters.status)
    if filters.line:
        query = query.join(NonConformance.line).where(ProductionLine.code == filters.line)
    if filters.style:
        query = query.join(NonConformance.style).where(Style.code == filters.style)
    if filters.defect_type:
        query = query.join(NonConformance.defect_type).where(DefectType.code == filters.defect_type)
    if filters.parameter:
        query = query.where(NonConformance.parameters.any(SafetyParameter.code == filters.parameter))
    if filters.supplier:
        lots_of_supplier = (
            select(batch_lots.c.batch_id)
            .join(MaterialLot, MaterialLot.id == batch_lots.c.lot_id)
            .join(Supplier, Supplier.id == MaterialLot.supplier_id)
            .where(Supplier.code == filters.supplier)
        )
        query = query.where(NonConformance.batch_id.in_(lots_of_supplier))
    if filters.overdue in ("true", "1"):
        query = query.where(overdue_clause())
    elif filters.overdue in ("false", "0"):
        query = query.where(~overdue_clause())
    zone = plant_zone()
    if filters.reported_from:
        start = datetime.combine(filters.reported_from, datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at >= start)
    if filters.reported_to:
        end = datetime.combine(filters.reported_to + timedelta(days=1), datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at < end)
    if filters.q:
        # Taken literally: a % or _ typed is searched for, not a wildcard.
        text = filters.q.lower()
        query = query.where(
            or_(
                func.lower(NonConformance.title).contains(text, autoescape=True),
                func.lower(NonConformance.description).contains(text, autoescape=True),
                func.lower(NonConformance.number).contains(text, autoescape=True),
            )
        )
    return query


def search(filters: NCFilters) -> Pagination:
    """One page of the NCs matching ``filters`` (25 a page unless ``per_page`` says otherwise), newest first,
    with the total count; a page past the last is empty."""
    query = filtered(filters).options(
        selectinload(NonConformance.line),
        selectinload(NonConformance.style),
        selectinload(NonConformance.defect_type),
        selectinload(NonConformance.parameters),
        selectinload(NonConformance.actions),
        selectinload(NonConformance.recurrence_of),
        selectinload(NonConformance.reported_by),
    )
    return db.paginate(
        query.order_by(NonConformance.reported_at.desc(), NonConformance.id.desc()),
        page=filters.page or 1,
        per_page=filters.per_page or 25,
        error_out=False,
    )


@dataclass
class Queue:
    """What waits for one person: their NCs and actions, or a quality manager's reviews, late actions,
    CAPAs ready to close and NCs still to contain."""

    my_ncs: list[NonConformance]
    my_actions: list[Action]
    to_contain: list[NonConformance]
    reviews: list[NonConformance]
    overdue_actions: list[Action]
    ready_to_close: list[NonConformance]
    #: Closed CAPAs whose effectiveness review is due (capa.capas.effectiveness.reviews_due).
    effectiveness_reviews: list[NonConformance] = field(default_factory=list)
    #: NCs in investigation whose root cause was returned with a question (a quality manager's list).
    returned: list[NonConformance] = field(default_factory=list)
    #: NC id -> the returned analysis whose question waits for an answer, for every NC the queue shows.
    questions: dict[int, RootCauseAnalysis] = field(default_factory=dict)


def queue_for(user: User) -> Queue:
    my_ncs = list(
        db.session.scalars(
            select(NonConformance)
            .where(
                NonConformance.reported_by_id == user.id,
                NonConformance.status.not_in([State.CLOSED, State.CANCELLED]),
            )
            .order_by(NonConformance.reported_at.desc())
            .limit(50)
        )
    )
    my_actions = list(
        db.session.scalars(
            select(Action)
            .where(Action.owner_id == user.id, Action.status == ActionStatus.OPEN)
            .options(selectinload(Action.nc))
            .order_by(Action.due_date)
        )
    )
    queue = Queue(my_ncs, my_actions, [], [], [], [])
    if user.role != Role.QUALITY_MANAGER:
        queue.questions = rounds.returned_rounds([nc.id for nc in my_ncs])
        return queue

    def in_state(state: State) -> list[NonConformance]:
        return list(
            db.session.scalars(
                select(NonConformance).where(NonConformance.status == state).order_by(NonConformance.reported_at)
            )
        )

    queue.to_contain = in_state(State.REPORTED)
    queue.reviews = in_state(State.REVIEW)
    queue.overdue_actions = list(
        db.session.scalars(
            select(Action)
            .join(NonConformance, NonConformance.id == Action.nc_id)
            .where(
                Action.status == ActionStatus.OPEN,
                Action.due_date < plant_today(),
                NonConformance.status != State.CANCELLED,
            )
            .options(selectinload(Action.nc), selectinload(Action.owner))
            .order_by(Action.due_date)
        )
    )
    queue.ready_to_close = [
        nc for nc in in_state(State.VERIFICATION) if [gate.gate for gate in unmet_gates(nc, None)] == ["effectiveness"]
    ]
    queue.effectiveness_reviews = effectiveness.reviews_due(plant_today())
    # Every open question at once: the quality manager's list of them, and the line beside the NC in any list.
    queue.questions = rounds.returned_rounds()
    queue.returned = sorted((analysis.nc for analysis in queue.questions.values()), key=lambda nc: nc.reported_at)
    return queue


def ncs_for_parameter(parameter: SafetyParameter, *, closed_only: bool = False) -> list[NonConformance]:
    """The NCs linked to ``parameter`` (only the closed CAPAs with ``closed_only``), newest first."""
    query = select(NonConformance).where(NonConformance.parameters.any(SafetyParameter.id == parameter.id))
    if closed_only:
        query = query.where(NonConformance.status == State.CLOSED).order_by(NonConformance.closed_at.desc())
    else:
        query = query.order_by(NonConformance.reported_at.desc())
    return list(db.session.scalars(query.options(selectinload(NonConformance.style))))


def ncs_for_supplier(supplier: Supplier) -> list[NonConformance]:
    """The NCs whose batch used a lot of ``supplier``, or that held one of its lots, newest first."""
    supplier_lots = select(MaterialLot.id).where(MaterialLot.supplier_id == supplier.id)
    batches_with_lots = select(batch_lots.c.batch_id).where(batch_lots.c.lot_id.in_(supplier_lots))
    held_lots = select(Hold.nc_id).where(Hold.lot_id.in_(supplier_lots))
    query = select(NonConformance).where(
        or_(NonConformance.batch_id.in_(batches_with_lots), NonConformance.id.in_(held_lots))
    )
    return list(db.session.scalars(query.order_by(NonConformance.reported_at.desc())))
