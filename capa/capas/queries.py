"""Reading NCs for lists, queues and the pages of other records; nothing here changes anything.

- the list filters are an NCFilters command (400 naming the field) and combined with AND; text search is
  literal (``%`` and ``_`` are searched for, not wildcards);
- an action is overdue when it is open, due before today in plant time, and its NC was not cancelled;
- a quality manager's queue holds the NCs to contain, the root causes to review, the late actions and the
  CAPAs whose only unmet gate is the effectiveness note, and the closed CAPAs whose effectiveness review is due;
- an NC in investigation whose latest root cause was returned shows the question beside it in every queue
  (its reporter's list of their NCs, and a quality manager's list of returned root causes), read in one query;
- every queue shows at most QUEUE_ROWS rows with its true count; each is also an NC list filter (``status``,
  ``overdue``, ``open`` with ``reported_by``, ``action_owner``, ``queue``), so the full queue is one link away;
- text search (``q``) finds the text in the number, title or description, ignoring case, taken literally: one
  rule (:func:`text_clause`), served by an index on each engine (trigram indexes on PostgreSQL, an FTS5 table on
  SQLite); the pages of the list are read by :mod:`capa.capas.paging`;
- the number of SQL statements a list or a queue takes does not grow with its rows: what a row shows is loaded
  with the rows (LISTED), never one query per row;
- a download reads the NCs by keyset, a chunk at a time (:func:`exported`): its statements grow with the rows
  divided by the chunk, and it holds one chunk at a time, whatever the number of rows.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    column,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload, selectinload

from capa.accounts.models import Role, User
from capa.capas import effectiveness, rounds
from capa.capas.commands import NCFilters, QueueName
from capa.capas.models import (
    SEARCH_TABLE,
    Action,
    ActionStatus,
    DefectType,
    Hold,
    NonConformance,
    ReviewDecision,
    RootCauseAnalysis,
    nc_parameters,
    stated,
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


def _open_late():
    """An action of the NC (in the enclosing query) open past its due date (as :attr:`Action.overdue`)."""
    return and_(Action.nc_id == NonConformance.id, Action.status == ActionStatus.OPEN, Action.due_date < plant_today())


def overdue_clause():
    """An NC with an action open past its due date, unless the NC was cancelled."""
    return and_(select(Action.id).where(_open_late()).exists(), NonConformance.status != State.CANCELLED)


def overdue_count():
    """How many actions of the NC (in the enclosing query) are overdue: those of :func:`overdue_clause`, counted
    (none for a cancelled NC), as :attr:`NonConformance.overdue_actions` counts them."""
    late = select(func.count(Action.id)).where(_open_late()).scalar_subquery()
    return case((NonConformance.status == State.CANCELLED, 0), else_=late)


#: How many rows each queue of the home page shows; its count and a link to the NC list tell the rest.
QUEUE_ROWS = 20

#: What a row of an NC list, a queue or an export shows, loaded with the rows (a few queries, never one per row).
LISTED = (
    joinedload(NonConformance.line),
    selectinload(NonConformance.style),
    selectinload(NonConformance.batch),
    joinedload(NonConformance.defect_type),
    selectinload(NonConformance.parameters),
    selectinload(NonConformance.actions),
    selectinload(NonConformance.recurrence_of),
    joinedload(NonConformance.reported_by),
)


def open_clause():
    """An NC neither closed nor cancelled."""
    return NonConformance.status.not_in(stated([State.CLOSED, State.CANCELLED]))


def _user_ids(username: str):
    return select(User.id).where(User.username == username)


def open_action_clause(username: str):
    """An NC with an open action owned by the user ``username``."""
    return (
        select(Action.id)
        .where(
            Action.nc_id == NonConformance.id,
            Action.status == ActionStatus.OPEN,
            Action.owner_id.in_(_user_ids(username)),
        )
        .exists()
    )


def _latest_analysis_decided(decision: str):
    """The NC's latest root-cause round (no later round exists) has ``decision``."""
    later = aliased(RootCauseAnalysis)
    newer = select(later.id).where(later.nc_id == RootCauseAnalysis.nc_id, later.round > RootCauseAnalysis.round)
    return (
        select(RootCauseAnalysis.id)
        .where(
            RootCauseAnalysis.nc_id == NonConformance.id,
            RootCauseAnalysis.decision == stated(decision),
            ~newer.exists(),
        )
        .exists()
    )


def returned_clause():
    """In investigation, its latest root cause returned with a question (as :func:`rounds.returned_rounds`)."""
    return and_(NonConformance.status == State.INVESTIGATION, _latest_analysis_decided(ReviewDecision.RETURN))


def _latest_retests_pass():
    """The latest retest on the NC of every linked parameter passes (``latest`` as
    :func:`capa.safety.service.newest_first` orders: test date, recording time, id)."""
    result, other = aliased(LabResult), aliased(LabResult)
    newer = select(other.id).where(
        other.nc_id == result.nc_id,
        other.parameter_id == result.parameter_id,
        or_(
            other.tested_at > result.tested_at,
            and_(
                other.tested_at == result.tested_at,
                or_(
                    other.recorded_at > result.recorded_at,
                    and_(other.recorded_at == result.recorded_at, other.id > result.id),
                ),
            ),
        ),
    )
    # Correlated to the link's row (its NC and parameter), not to the NC of the outermost query, which a
    # subquery two levels down does not see: naming it here would read "some NC's retest passes".
    latest_passes = select(result.id).where(
        result.nc_id == nc_parameters.c.nc_id,
        result.parameter_id == nc_parameters.c.parameter_id,
        result.verdict == Outcome.PASS,
        ~newer.exists(),
    )
    without_pass = select(nc_parameters.c.parameter_id).where(
        nc_parameters.c.nc_id == NonConformance.id, ~latest_passes.exists()
    )
    return ~without_pass.exists()


def ready_to_close_clause():
    """In verification with every closing gate of :func:`capa.capas.gates.unmet_gates` met but the effectiveness
    note: the latest root cause approved, actions and all done, the latest retest of every linked parameter
    passing, no hold left in quarantine. The same rules, read in SQL so the queue is counted and bounded there."""
    action = select(Action.id).where(Action.nc_id == NonConformance.id)
    return and_(
        NonConformance.status == State.VERIFICATION,
        _latest_analysis_decided(ReviewDecision.APPROVE),
        action.exists(),
        ~action.where(Action.status != ActionStatus.DONE).exists(),
        _latest_retests_pass(),
        ~select(Hold.id).where(Hold.nc_id == NonConformance.id, Hold.released_at.is_(None)).exists(),
    )


def queue_clause(queue: QueueName):
    """The NCs of one home page queue that no other filter names."""
    if queue == QueueName.RETURNED:
        return returned_clause()
    if queue == QueueName.READY_TO_CLOSE:
        return ready_to_close_clause()
    return effectiveness.due_clause(plant_today())


def filtered(filters: NCFilters):
    """The select() of NCs matching ``filters``, newest first."""
    query = select(NonConformance)
    if filters.status:
        query = query.where(NonConformance.status == filters.status)
    # A code names at most one record: compared with its id (a scalar subquery the database reads once), the
    # NCs come from the index on (that id, reported_at, id) already in order, rather than joined and sorted.
    if filters.line:
        query = query.where(NonConformance.line_id == _id_of(ProductionLine.id, ProductionLine.code, filters.line))
    if filters.style:
        query = query.where(NonConformance.style_id == _id_of(Style.id, Style.code, filters.style))
    if filters.defect_type:
        query = query.where(
            NonConformance.defect_type_id == _id_of(DefectType.id, DefectType.code, filters.defect_type)
        )
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
    if filters.open in ("true", "1"):
        query = query.where(open_clause())
    elif filters.open in ("false", "0"):
        query = query.where(~open_clause())
    if filters.reported_by:
        query = query.where(NonConformance.reported_by_id == _user_ids(filters.reported_by).scalar_subquery())
    if filters.action_owner:
        query = query.where(open_action_clause(filters.action_owner))
    if filters.queue:
        query = query.where(queue_clause(filters.queue))
    zone = plant_zone()
    if filters.reported_from:
        start = datetime.combine(filters.reported_from, datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at >= start)
    if filters.reported_to:
        end = datetime.combine(filters.reported_to + timedelta(days=1), datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at < end)
    if filters.q:
        query = query.where(text_clause(filters.q))
    return query


def _id_of(id_column, code_column, code: str):
    return select(id_column).where(code_column == code).scalar_subquery()


# Text search ----------------------------------------------------------------------------------------------

#: The fewest characters the search index serves (it keeps every run of 3 characters); shorter text is looked for
#: row by row, with the same rule.
INDEXED_TEXT = 3


def text_clause(text: str):
    """The NCs whose number, title or description contains ``text``, ignoring case. The text is taken
    literally: ``%`` and ``_`` are looked for, not wildcards; spaces count as typed. This is the one rule of the
    list's ``q``, on both engines, and an index serves it from INDEXED_TEXT characters on:

    - PostgreSQL: ``lower(column) LIKE '%text%'``, served by the trigram GIN indexes on the lowered columns
      (``ix_nonconformances_*_trgm``; pg_trgm, migration 0014);
    - SQLite: the FTS5 table SEARCH_TABLE (trigram tokenizer: every run of 3 characters, Chinese as well,
      folded to lower case) matched by the text as one phrase, which finds exactly the rows containing the
      text. Shorter text (``扣``, ``L1``) falls back to ``lower(column) LIKE``, read row by row.

    SQLite's ``lower()`` folds only ASCII letters while the FTS table folds every letter, so from 3 characters on
    ``Ä`` also finds ``ä`` there, as PostgreSQL's ``lower()`` does.
    """
    if db.engine.dialect.name == "sqlite" and len(text) >= INDEXED_TEXT:
        phrase = '"' + text.replace('"', '""') + '"'
        search = table(SEARCH_TABLE, column("rowid"))
        return NonConformance.id.in_(select(search.c.rowid).where(literal_column(SEARCH_TABLE).op("MATCH")(phrase)))
    lowered = text.lower()
    return or_(
        func.lower(NonConformance.title).contains(lowered, autoescape=True),
        func.lower(NonConformance.description).contains(lowered, autoescape=True),
        func.lower(NonConformance.number).contains(lowered, autoescape=True),
    )


def rebuild_search_index(connection: Connection) -> None:
    """Fill SQLite's search table again from the NCs as stored, for a loader that wrote NCs around its triggers
    (call it on the loader's connection, in its transaction, after the rows are in). Nothing to do on
    PostgreSQL, whose indexes follow every write."""
    if connection.dialect.name == "sqlite":
        connection.execute(insert(table(SEARCH_TABLE, column(SEARCH_TABLE))).values({SEARCH_TABLE: "rebuild"}))


def search(filters: NCFilters) -> Pagination:
    """One page of the NCs matching ``filters`` (25 a page unless ``per_page`` says otherwise), newest first,
    with the total count; a page past the last is empty."""
    query = filtered(filters).options(*LISTED)
    return db.paginate(
        query.order_by(NonConformance.reported_at.desc(), NonConformance.id.desc()),
        page=filters.page or 1,
        per_page=filters.per_page or 25,
        error_out=False,
    )


class Choice(NamedTuple):
    """One choice of a list filter: its code, and its names for :func:`capa.common.display.local_name`."""

    code: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class FilterChoices:
    """What the NC list's filters offer, each by code (defect types by name)."""

    lines: list[Choice]
    suppliers: list[Choice]
    defect_types: list[Choice]
    parameters: list[Choice]


def filter_choices() -> FilterChoices:
    """The lines, suppliers, defect types and safety parameters the NC list may be filtered by, read in one
    statement of their codes and names (the list page is the most asked-for page; the records whole, with their
    limits and links, were a quarter of its time)."""

    def choices(kind: str, model, name=None, name_zh=None):
        return select(
            literal_column(f"'{kind}'").label("kind"),
            model.code.label("code"),
            (name if name is not None else model.code).label("name"),
            (name_zh if name_zh is not None else literal_column("''")).label("name_zh"),
        )

    rows = db.session.execute(
        union_all(
            choices("line", ProductionLine),
            choices("supplier", Supplier),
            choices("defect_type", DefectType, DefectType.name, DefectType.name_zh),
            choices("parameter", SafetyParameter),
        )
    ).all()
    by_kind: dict[str, list[Choice]] = {"line": [], "supplier": [], "defect_type": [], "parameter": []}
    for kind, code, name, name_zh in rows:
        by_kind[kind].append(Choice(code, name, name_zh or ""))
    by_name = sorted(by_kind["defect_type"], key=lambda choice: choice.name)
    by_code = {kind: sorted(found) for kind, found in by_kind.items()}
    return FilterChoices(by_code["line"], by_code["supplier"], by_name, by_code["parameter"])


#: How many NCs an export reads at a time, unless ``CAPA_EXPORT_CHUNK`` says otherwise.
EXPORT_CHUNK = 1000


class Named(NamedTuple):
    """A named record as a row reads it (a defect type), for :func:`capa.common.display.local_name`."""

    name: str
    name_zh: str


@dataclass(frozen=True, slots=True)
class ExportedNC:
    """What a row of the NC list's download shows (:func:`exported`): codes and numbers of what the NC names,
    and the NC's own fields as stored."""

    id: int
    number: str
    status: str
    reported_at: datetime
    title: str
    defect_type: Named
    source: str
    severity: str
    line: str
    style: str | None
    batch: str | None
    #: As :attr:`NonConformance.effective_category`: the style's category, or the NC's own without a style.
    category: str | None
    quantity_affected: int | None
    safety_critical: bool
    #: The number of the closed CAPA this NC recurs, if any.
    recurrence_of: str | None
    overdue_actions: int
    closed_at: datetime | None
    #: The linked safety parameters' codes, in code order.
    parameters: tuple[str, ...]


def exported(filters: NCFilters, chunk: int = EXPORT_CHUNK) -> Iterator[ExportedNC]:
    """Every NC matching ``filters``, newest first (``reported_at``, then ``id``, descending, as :func:`search`),
    as the rows of a download, read ``chunk`` at a time.

    Each chunk starts after the last row of the one before (keyset: no OFFSET, no count) and takes two
    statements: its rows, with what they show joined to them, and the codes of their linked parameters. The
    statements grow with rows / ``chunk``, never with the rows, and only one chunk is held at a time, whatever
    the number of rows. Rows are read as they are consumed: call it inside the request that streams them."""
    line, style, batch, defect, recurred = (
        aliased(ProductionLine),
        aliased(Style),
        aliased(Batch),
        aliased(DefectType),
        aliased(NonConformance),
    )
    nc = NonConformance
    rows = (
        filtered(filters)
        .with_only_columns(
            nc.id,
            nc.number,
            nc.status,
            nc.reported_at,
            nc.title,
            defect.name,
            defect.name_zh,
            nc.source,
            nc.severity,
            line.code,
            style.code,
            batch.number,
            case((nc.style_id.is_not(None), style.category), else_=nc.category),
            nc.quantity_affected,
            nc.safety_critical,
            recurred.number,
            overdue_count(),
            nc.closed_at,
        )
        .join(defect, defect.id == nc.defect_type_id)
        .join(line, line.id == nc.line_id)
        .outerjoin(style, style.id == nc.style_id)
        .outerjoin(batch, batch.id == nc.batch_id)
        .outerjoin(recurred, recurred.id == nc.recurrence_of_id)
        .order_by(nc.reported_at.desc(), nc.id.desc())
        .limit(chunk)
    )
    after = None
    while True:
        found = db.session.execute(rows if after is None else rows.where(tuple_(nc.reported_at, nc.id) < after)).all()
        if not found:
            return
        codes: dict[int, list[str]] = {}
        linked = (
            select(nc_parameters.c.nc_id, SafetyParameter.code)
            .join(SafetyParameter, SafetyParameter.id == nc_parameters.c.parameter_id)
            .where(nc_parameters.c.nc_id.in_([row[0] for row in found]))
            .order_by(SafetyParameter.code)
        )
        for nc_id, code in db.session.execute(linked):
            codes.setdefault(nc_id, []).append(code)
        for row in found:
            # The columns are selected in ExportedNC's order.
            (id_, number, status, reported_at, title, name, name_zh, *rest) = row
            yield ExportedNC(
                id_, number, status, reported_at, title, Named(name, name_zh or ""), *rest, tuple(codes.get(id_, ()))
            )
        if len(found) < chunk:
            return
        after = (found[-1][3], found[-1][0])


@dataclass
class Queue:
    """What waits for one person: their NCs and actions, or a quality manager's reviews, late actions,
    CAPAs ready to close and NCs still to contain. Each list holds at most QUEUE_ROWS rows; ``totals`` has the
    true count of each, by the list's name."""

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
    #: The list's name -> how many it holds in all (``my_ncs``: 35 when 20 are shown).
    totals: dict[str, int] = field(default_factory=dict)


#: A queue of the home page: the rows of one model matching ``where``, shown in ``order``.
class _QueueQuery(NamedTuple):
    where: ColumnElement[bool]
    order: tuple


def _totals(model, conditions: dict[str, ColumnElement[bool]]) -> dict[str, int]:
    """How many rows of ``model`` match each named condition, in one statement."""
    counts = [
        select(func.count()).select_from(model).where(condition).scalar_subquery().label(name)
        for name, condition in conditions.items()
    ]
    return dict(db.session.execute(select(*counts)).one()._mapping)


def _first_rows(model, queues: dict[str, _QueueQuery], options) -> dict[str, list]:
    """The first QUEUE_ROWS rows of each queue in its order: their ids in one statement (a branch per queue,
    each numbering its rows), then the rows themselves with ``options`` in one more, shared by queues that show
    the same record."""
    branches = [
        select(
            literal(name).label("queue"),
            model.id.label("id"),
            func.row_number().over(order_by=queue.order).label("position"),
        )
        .where(queue.where)
        .order_by(*queue.order)
        .limit(QUEUE_ROWS)
        .subquery()
        for name, queue in queues.items()
    ]
    placed = db.session.execute(union_all(*(select(*branch.c) for branch in branches))).all()
    records = {}
    if placed:
        ids = {row.id for row in placed}
        records = {
            record.id: record for record in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))
        }
    rows: dict[str, list] = {name: [] for name in queues}
    for row in sorted(placed, key=lambda row: (row.queue, row.position)):
        rows[row.queue].append(records[row.id])
    return rows


def queue_for(user: User) -> Queue:
    """The queues of ``user``'s home page, each bounded (QUEUE_ROWS) with its true count. The statements it takes
    do not grow with the queues' lengths nor with their number: the NC queues' counts, ids and rows are three
    statements (and the rows' own loading), the actions' three more."""
    newest_first = (NonConformance.reported_at.desc(), NonConformance.id.desc())
    oldest_first = (NonConformance.reported_at, NonConformance.id)
    earliest_due = (Action.due_date, Action.id)
    nc_queues = {"my_ncs": _QueueQuery(and_(NonConformance.reported_by_id == user.id, open_clause()), newest_first)}
    action_queues = {
        "my_actions": _QueueQuery(
            and_(Action.owner_id == user.id, Action.status == stated(ActionStatus.OPEN)), earliest_due
        )
    }
    manager = user.role == Role.QUALITY_MANAGER
    today = plant_today()
    if manager:
        nc_queues |= {
            "to_contain": _QueueQuery(NonConformance.status == State.REPORTED, oldest_first),
            "reviews": _QueueQuery(NonConformance.status == State.REVIEW, oldest_first),
            "ready_to_close": _QueueQuery(ready_to_close_clause(), oldest_first),
            "returned": _QueueQuery(returned_clause(), oldest_first),
        }
        # "Not of a cancelled NC" rather than a join to the NCs: the few cancelled NCs are found in their
        # partial index, where a join would read every NC that is not cancelled.
        cancelled = select(NonConformance.id).where(
            NonConformance.id == Action.nc_id, NonConformance.status == stated(State.CANCELLED)
        )
        action_queues["overdue_actions"] = _QueueQuery(
            and_(Action.status == stated(ActionStatus.OPEN), Action.due_date < today, ~cancelled.exists()),
            earliest_due,
        )
    nc_counts = {name: queue.where for name, queue in nc_queues.items()}
    if manager:  # its rows come in the order of their due dates, from capa.capas.effectiveness
        nc_counts["effectiveness_reviews"] = effectiveness.due_clause(today)
    totals = _totals(NonConformance, nc_counts) | _totals(
        Action, {name: queue.where for name, queue in action_queues.items()}
    )
    ncs = _first_rows(NonConformance, nc_queues, LISTED)
    actions = _first_rows(Action, action_queues, (selectinload(Action.nc), selectinload(Action.owner)))
    queue = Queue(
        ncs["my_ncs"],
        actions["my_actions"],
        ncs.get("to_contain", []),
        ncs.get("reviews", []),
        actions.get("overdue_actions", []),
        ncs.get("ready_to_close", []),
        returned=ncs.get("returned", []),
        totals=totals,
    )
    if manager:
        queue.effectiveness_reviews = effectiveness.reviews_due(today, limit=QUEUE_ROWS)
    # The open questions of the NCs shown, in one query: the line beside the NC in any list.
    shown = {nc.id for nc in [*queue.my_ncs, *queue.to_contain, *queue.reviews, *queue.returned]}
    queue.questions = rounds.returned_rounds(shown)
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
    # The page names each NC's parameters: read with the NCs, not one query per NC.
    query = query.options(selectinload(NonConformance.parameters))
    return list(db.session.scalars(query.order_by(NonConformance.reported_at.desc())))
