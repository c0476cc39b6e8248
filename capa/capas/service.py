"""Filing non-conformances and driving their CAPAs through the 8D workflow.

The rules, each enforced here for the pages and the API alike:
- numbers are NC-<year>-<5 digits>, per year of the report in plant time, unique and without gaps;
- linked safety parameters default from the defect type; an NC linked to a safety parameter on a
  category A style (or category A given without a style) is safety-critical;
- a new NC of the same defect type on the same style, or on material of the same supplier, as a CAPA
  closed within RECURRENCE_WINDOW before it is a recurrence of that CAPA (the latest such);
- a retest is judged against the NC's style category (or its given category); a failing retest during
  verification sends the CAPA back to investigation; when every linked parameter's latest retest passes,
  the NC's holds are released;
- the last action done moves the CAPA to verification; closing needs an approved root cause, every action
  done, the latest retest of every linked parameter passing, and an effectiveness note.
Every change goes through :func:`capa.capas.history.changing`, which writes the history.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from capa.accounts import service as accounts
from capa.accounts.models import Role, User
from capa.capas.errors import GatesUnmet
from capa.capas.history import Journal, authorize, changing
from capa.capas.models import (
    Action,
    ActionKind,
    ActionStatus,
    DefectType,
    FishboneCategory,
    Hold,
    NonConformance,
    NumberCounter,
    Photo,
    RootCauseAnalysis,
    Severity,
    Source,
)
from capa.capas.states import State, Step, role_may
from capa.common.clock import plant_today, plant_zone
from capa.common.errors import Duplicate, NotFound, PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.common.validation import (
    Anything,
    Boolean,
    Choice,
    Code,
    Date,
    FieldError,
    Integer,
    Moment,
    Schema,
    Strings,
    Text,
)
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier, batch_lots
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult, SafetyParameter

RECURRENCE_WINDOW = timedelta(days=90)
PLEASE_CORRECT = _l("Please correct the fields marked.")


def _invalid(fields: dict[str, str]) -> ValidationError:
    return ValidationError(str(PLEASE_CORRECT), fields=fields)


# Looking up ------------------------------------------------------------------------------------------------


def get_nc(number: str) -> NonConformance:
    """The NC numbered ``number`` (case-insensitive); raises NotFound."""
    nc = db.session.scalar(select(NonConformance).where(NonConformance.number == number.strip().upper()))
    if nc is None:
        raise NotFound(str(_l("No non-conformance %(number)s.", number=number)), fields={"number": "unknown"})
    return nc


def get_action(action_id: int) -> Action:
    action = db.session.get(Action, action_id) if 0 < action_id < 2**31 else None
    if action is None:
        raise NotFound(str(_l("No action %(id)s.", id=action_id)), fields={"id": "unknown"})
    return action


def list_defect_types(*, active_only: bool = False) -> list[DefectType]:
    query = select(DefectType).options(selectinload(DefectType.parameters)).order_by(DefectType.name)
    if active_only:
        query = query.where(DefectType.active.is_(True))
    return list(db.session.scalars(query))


def _defect_type(code: str) -> DefectType | None:
    return db.session.scalar(select(DefectType).where(DefectType.code == code.strip().lower()))


def _parameters(codes: list[str], field: str, *, category: str | None = None) -> list[SafetyParameter]:
    """The parameters named; each must exist and, when the category is known, have a limit for it (a
    parameter without one could never pass a retest, so the CAPA could never close)."""
    found = []
    for index, code in enumerate(dict.fromkeys(codes)):
        parameter = safety.find_parameter(code)
        if parameter is None:
            raise _invalid({f"{field}[{index}]": str(_l("No safety parameter %(code)s.", code=code))})
        if category is not None and parameter.limit_for(category) is None:
            raise _invalid(
                {
                    f"{field}[{index}]": str(
                        _l("%(code)s has no limit for category %(category)s.", code=code, category=category)
                    )
                }
            )
        found.append(parameter)
    return found


# Filing ----------------------------------------------------------------------------------------------------

FILE_SCHEMA = Schema(
    title=Text(200),
    description=Text(4000, required=False),
    defect_type=Text(40, lower=True),
    source=Choice([s.value for s in Source]),
    line=Code(),
    style=Code(required=False),
    batch=Code(64, required=False),
    category=Choice(["A", "B", "C"], required=False),
    severity=Choice([s.value for s in Severity], required=False, default=Severity.MAJOR.value),
    quantity_affected=Integer(required=False, maximum=10_000_000),
    parameters=Strings(Code(40)),
    reported_at=Moment(plant_zone, required=False),
)


def _next_number(year: int) -> tuple[int, str]:
    """Take the next number of ``year`` inside the caller's transaction. The counter row's lock (PostgreSQL)
    or the database write lock (SQLite) makes concurrent filers wait for each other, so numbers are unique;
    a failed filing rolls its number back, so there are no gaps."""
    session = db.session
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(dialect_insert(NumberCounter).values(year=year, last=0).on_conflict_do_nothing())
    sequence = session.execute(
        update(NumberCounter)
        .where(NumberCounter.year == year)
        .values(last=NumberCounter.last + 1)
        .returning(NumberCounter.last)
    ).scalar_one()
    return sequence, f"NC-{year}-{sequence:05d}"


def _suppliers_of(batch: Batch | None) -> set[int]:
    return {lot.supplier_id for lot in batch.lots} if batch is not None else set()


def find_recurrence(
    defect_type: DefectType, style_id: int | None, batch: Batch | None, reported_at: datetime
) -> NonConformance | None:
    """The latest CAPA closed within RECURRENCE_WINDOW before ``reported_at`` with the same defect type on
    the same style or on material of one of the same suppliers."""
    candidates = db.session.scalars(
        select(NonConformance)
        .where(
            NonConformance.defect_type_id == defect_type.id,
            NonConformance.status == State.CLOSED,
            NonConformance.closed_at >= reported_at - RECURRENCE_WINDOW,
            NonConformance.closed_at <= reported_at,
        )
        .options(selectinload(NonConformance.batch).selectinload(Batch.lots))
        .order_by(NonConformance.closed_at.desc())
    )
    suppliers = _suppliers_of(batch)
    for candidate in candidates:
        if style_id is not None and candidate.style_id == style_id:
            return candidate
        if suppliers & _suppliers_of(candidate.batch):
            return candidate
    return None


def file_nc(data: Any, actor: User, photos: list["Upload"] | tuple = ()) -> NonConformance:
    """File a non-conformance from ``data`` (see FILE_SCHEMA); it starts ``reported``.

    Raises ValidationError naming each bad field (an unknown defect type, line, style, batch or parameter;
    a batch of another style), and PermissionDenied when someone other than a quality manager or an
    administrator back-dates it with ``reported_at``.
    """
    values, errors = FILE_SCHEMA.check(data)
    if photos:
        try:
            _check_photos(list(photos), 0, _photo_limit())
        except ValidationError as exc:
            errors.update(exc.fields)
    if values["reported_at"] is not None and actor.role not in (Role.QUALITY_MANAGER, Role.ADMIN):
        raise PermissionDenied(
            str(_l("Only quality managers and administrators may enter a report time.")),
            fields={"reported_at": str(_l("Not allowed for your role."))},
        )
    # References are looked up even when other fields are wrong, so that every problem shows in one round.
    defect_type = _defect_type(values["defect_type"]) if values["defect_type"] else None
    if values["defect_type"] and (defect_type is None or not defect_type.active):
        errors["defect_type"] = str(_l("No defect type %(code)s.", code=values["defect_type"]))
    line = masterdata.find_line(values["line"]) if values["line"] else None
    if values["line"] and line is None:
        errors["line"] = str(_l("No line %(value)s.", value=values["line"]))
    style = masterdata.find_style(values["style"]) if values["style"] else None
    if values["style"] and style is None:
        errors["style"] = str(_l("No style %(value)s.", value=values["style"]))
    batch = masterdata.find_batch(values["batch"]) if values["batch"] else None
    if values["batch"] and batch is None:
        errors["batch"] = str(_l("No batch %(value)s.", value=values["batch"]))
    if batch is not None and style is not None and batch.style_id != style.id:
        errors["batch"] = str(_l("Batch %(batch)s is of style %(style)s.", batch=batch.number, style=batch.style.code))
    if batch is not None and style is None and not values["style"]:
        style = batch.style
    category = style.category if style is not None else values["category"]
    try:
        if values["parameters"] is not None:
            parameters = _parameters(values["parameters"], "parameters", category=category)
        else:
            # The defect type's usual parameters, those that have a limit for this NC's category.
            usual = list(defect_type.parameters if defect_type is not None else [])
            parameters = [p for p in usual if category is None or p.limit_for(category) is not None]
    except ValidationError as exc:
        errors.update(exc.fields)
        parameters = []
    if errors:
        raise _invalid(errors)

    reported_at = values["reported_at"] or utcnow()
    recurrence_of = find_recurrence(defect_type, style.id if style else None, batch, reported_at)
    with unit_of_work() as session:
        year = reported_at.astimezone(plant_zone()).year
        sequence, number = _next_number(year)
        nc = NonConformance(
            number=number,
            year=year,
            sequence=sequence,
            status=State.REPORTED.value,
            version=1,
            title=values["title"],
            description=values["description"] or "",
            defect_type=defect_type,
            source=values["source"],
            severity=values["severity"],
            line=line,
            style=style,
            batch=batch,
            category=None if style is not None else values["category"],
            quantity_affected=values["quantity_affected"],
            parameters=parameters,
            safety_critical=bool(parameters) and category == "A",
            recurrence_of=recurrence_of,
            reported_by=actor,
            reported_at=reported_at,
        )
        session.add(nc)
        journal = Journal(nc, actor)
        journal.record("filed", new=number, note=values["title"])
        if recurrence_of is not None:
            journal.record(
                "recurrence",
                new=recurrence_of.number,
                note=str(
                    _l(
                        "Same defect type as %(number)s, closed %(date)s.",
                        number=recurrence_of.number,
                        date=recurrence_of.closed_at.astimezone(plant_zone()).date().isoformat(),
                    )
                ),
            )
            # A note on the closed CAPA, not a change to it: its content and version stay as they were.
            Journal(recurrence_of, actor).record("recurred", new=number, note=values["title"])
    if photos:
        add_photos(nc, list(photos), actor)
    return nc


# Editing ---------------------------------------------------------------------------------------------------

EDIT_SCHEMA = Schema(
    title=Text(200),
    description=Text(4000, required=False),
    severity=Choice([s.value for s in Severity]),
    quantity_affected=Integer(required=False, maximum=10_000_000),
    parameters=Strings(Code(40)),
    version=Integer(required=False, minimum=1),
)


def edit_nc(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Change the description fields and linked parameters of an open NC (only the fields given).

    A supervisor may edit only the NCs they reported. Raises StaleVersion when ``version`` is not the current
    one, so a second save never overwrites the first.
    """
    if actor.role == Role.SUPERVISOR and nc.reported_by_id != actor.id:
        raise PermissionDenied(str(_l("Supervisors edit only the non-conformances they reported.")))
    values = EDIT_SCHEMA.validate(data, partial=True)
    if values.get("parameters") is not None and nc.status not in (State.REPORTED, State.INVESTIGATION):
        # Once a root cause is submitted, the retests and the closing gates rest on these parameters.
        raise _invalid(
            {"parameters": str(_l("The linked parameters can change only until the root cause is submitted."))}
        )
    parameters = (
        _parameters(values["parameters"], "parameters", category=nc.effective_category)
        if values.get("parameters") is not None
        else None
    )
    with changing(nc, actor, Step.EDIT, version=values.get("version")) as journal:
        for field in ("title", "description", "severity", "quantity_affected"):
            if field in values:
                journal.set(field, values[field] if field != "description" else values[field] or "")
        if parameters is not None:
            old = [p.code for p in nc.parameters]
            if old != sorted(p.code for p in parameters):
                nc.parameters = parameters
                journal.record("field", field="parameters", old=old, new=sorted(p.code for p in parameters))
            journal.set("safety_critical", bool(nc.parameters) and nc.effective_category == "A")
    return nc


# D3 containment --------------------------------------------------------------------------------------------

CONTAIN_SCHEMA = Schema(
    description=Text(4000),
    hold=Strings(Code(64), max_items=100),
    version=Integer(required=False, minimum=1),
)


def contain(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Record containment ``{description, hold: [batch or lot numbers]}``; a reported NC moves to investigation.

    Each number must name a batch or a lot (ValidationError naming ``hold[i]``); one already held by this
    NC is not held twice.
    """
    values = CONTAIN_SCHEMA.validate(data)
    targets: list[tuple[Batch | None, MaterialLot | None]] = []
    errors = {}
    for index, number in enumerate(values["hold"] or []):
        batch = masterdata.find_batch(number)
        lot = None if batch is not None else masterdata.find_lot(number)
        if batch is None and lot is None:
            errors[f"hold[{index}]"] = str(_l("No batch or lot %(number)s.", number=number))
        targets.append((batch, lot))
    if errors:
        raise _invalid(errors)
    with changing(nc, actor, Step.CONTAIN, version=values.get("version")) as journal:
        journal.set("containment", values["description"])
        held = {(hold.batch_id, hold.lot_id) for hold in nc.holds if hold.released_at is None}
        for batch, lot in targets:
            key = (batch.id if batch else None, lot.id if lot else None)
            if key in held:
                continue
            held.add(key)
            nc.holds.append(Hold(batch=batch, lot=lot, held_by=actor))
            journal.record("hold", new=(batch or lot).number)
        if nc.status == State.REPORTED:
            journal.move(State.INVESTIGATION, str(_l("Contained.")))
    return nc


RELEASE_SCHEMA = Schema(reason=Text(1000), version=Integer(required=False, minimum=1))


def release_hold(nc: NonConformance, hold_id: int, data: Any, actor: User) -> Hold:
    """Release one of the NC's holds by the quality manager, with a ``reason``."""
    values = RELEASE_SCHEMA.validate(data)
    hold = next((h for h in nc.holds if h.id == hold_id), None)
    if hold is None:
        raise NotFound(str(_l("No such hold on %(number)s.", number=nc.number)), fields={"hold": "unknown"})
    if hold.released_at is not None:
        raise _invalid({"hold": str(_l("%(subject)s is released already.", subject=hold.subject))})
    with changing(nc, actor, Step.RELEASE_HOLD, version=values.get("version")) as journal:
        _release(hold, actor, values["reason"], journal)
    return hold


def _release(hold: Hold, actor: User | None, reason: str, journal: Journal) -> None:
    hold.released_at = utcnow()
    hold.released_by = actor
    hold.release_reason = reason
    journal.record("release", old=hold.subject, note=reason)


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

# The fishbone (a mapping of 6M categories to causes) is checked by _fishbone.
ROOT_CAUSE_SCHEMA = Schema(
    whys=Strings(Text(500), max_items=10),
    category=Choice([c.value for c in FishboneCategory]),
    statement=Text(4000),
    version=Integer(required=False, minimum=1),
)


def _fishbone(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid({"fishbone": str(_l("Must be an object of 6M categories and their causes."))})
    cleaned: dict[str, list[str]] = {}
    for category, causes in value.items():
        if category not in FishboneCategory.__members__.values():
            raise _invalid(
                {
                    "fishbone": str(
                        _l(
                            "Unknown category %(c)s; use the 6M: %(all)s.",
                            c=category,
                            all=", ".join(c.value for c in FishboneCategory),
                        )
                    )
                }
            )
        try:
            items = Strings(Text(500), max_items=20).clean(causes) or []
        except FieldError as exc:
            raise _invalid({f"fishbone.{category}": str(exc)}) from exc
        if items:
            cleaned[category] = items
    return cleaned


def submit_root_cause(nc: NonConformance, data: Any, actor: User) -> RootCauseAnalysis:
    """Submit a root-cause analysis ``{whys, fishbone, category, statement}``; the CAPA moves to review.

    At least one why or one fishbone cause is needed beside the statement.
    """
    payload = dict(data) if isinstance(data, dict) else data
    fishbone = _fishbone(payload.pop("fishbone", None)) if isinstance(payload, dict) else {}
    values = ROOT_CAUSE_SCHEMA.validate(payload)
    if not values["whys"] and not fishbone:
        raise _invalid({"whys": str(_l("Give the chain of whys or the fishbone causes that lead to the root cause."))})
    with changing(nc, actor, Step.SUBMIT_ROOT_CAUSE, version=values.get("version")) as journal:
        analysis = RootCauseAnalysis(
            round=len(nc.analyses) + 1,
            whys=values["whys"] or [],
            fishbone=fishbone,
            category=values["category"],
            statement=values["statement"],
            submitted_by=actor,
        )
        nc.analyses.append(analysis)
        journal.record("root_cause", new=values["statement"], note=str(_l("Round %(n)d", n=analysis.round)))
        journal.move(State.REVIEW)
    return analysis


REVIEW_SCHEMA = Schema(
    decision=Choice(["approve", "return"]),
    comment=Text(4000, required=False),
    version=Integer(required=False, minimum=1),
)


def review(nc: NonConformance, data: Any, actor: User) -> RootCauseAnalysis:
    """Approve the submitted root cause (→ action) or return it with a required ``comment`` (→ investigation)."""
    values = REVIEW_SCHEMA.validate(data)
    if values["decision"] == "return" and not values["comment"]:
        raise _invalid({"comment": str(_l("Say what is missing: a returned analysis needs a comment."))})
    analysis = nc.analyses[-1] if nc.analyses else None
    with changing(nc, actor, Step.REVIEW, version=values.get("version")) as journal:
        analysis.decision = values["decision"]
        analysis.review_comment = values["comment"] or ""
        analysis.reviewed_by = actor
        analysis.reviewed_at = utcnow()
        journal.record("review", new=values["decision"], note=values["comment"] or "")
        journal.move(State.ACTION if values["decision"] == "approve" else State.INVESTIGATION)
    return analysis


def approved_analysis(nc: NonConformance) -> RootCauseAnalysis | None:
    latest = nc.analyses[-1] if nc.analyses else None
    return latest if latest is not None and latest.decision == "approve" else None


# D5–D7 actions ---------------------------------------------------------------------------------------------

ACTION_SCHEMA = Schema(
    kind=Choice([k.value for k in ActionKind]),
    description=Text(4000),
    owner=Text(64, lower=True),
    due_date=Date(),
    version=Integer(required=False, minimum=1),
)


def add_action(nc: NonConformance, data: Any, actor: User) -> Action:
    """Add an action ``{kind, description, owner, due_date}``; the owner must be an active user."""
    values = ACTION_SCHEMA.validate(data)
    owner = accounts.find_user(values["owner"])
    if owner is None or not owner.active:
        raise _invalid({"owner": str(_l("No active user %(name)s.", name=values["owner"]))})
    with changing(nc, actor, Step.ADD_ACTION, version=values.get("version")) as journal:
        action = Action(
            kind=values["kind"],
            description=values["description"],
            owner=owner,
            due_date=values["due_date"],
            status=ActionStatus.OPEN.value,
        )
        nc.actions.append(action)
        journal.record(
            "action",
            new=values["description"],
            note=str(
                _l(
                    "%(kind)s, owner %(owner)s, due %(due)s",
                    kind=values["kind"],
                    owner=owner.username,
                    due=values["due_date"].isoformat(),
                )
            ),
        )
    return action


COMPLETE_SCHEMA = Schema(evidence=Text(4000), version=Integer(required=False, minimum=1))


def complete_action(action: Action, data: Any, actor: User) -> Action:
    """Mark an action done with its ``evidence`` (its owner or a quality manager); the last one done moves
    the CAPA to verification."""
    values = COMPLETE_SCHEMA.validate(data)
    nc = action.nc
    if actor.id != action.owner_id and not role_may(Step.COMPLETE_ACTION, actor.role):
        raise PermissionDenied(str(_l("Only the action's owner or a quality manager may complete it.")))
    if action.status == ActionStatus.DONE:
        raise _invalid({"id": str(_l("This action is done already."))})
    with changing(nc, actor, Step.COMPLETE_ACTION, version=values.get("version"), allow_roles=True) as journal:
        action.status = ActionStatus.DONE.value
        action.evidence = values["evidence"]
        action.completed_at = utcnow()
        action.completed_by = actor
        journal.record("action_done", old=action.description, note=values["evidence"])
        if all(a.status == ActionStatus.DONE for a in nc.actions):
            journal.move(State.VERIFICATION, str(_l("Every action is done.")))
    return action


def is_overdue(action: Action) -> bool:
    """Open, due before today, and of an NC that was not cancelled."""
    return (
        action.status == ActionStatus.OPEN and action.due_date < plant_today() and action.nc.status != State.CANCELLED
    )


# D6 retests ------------------------------------------------------------------------------------------------

TEST_SCHEMA = Schema(
    parameter=Code(40),
    value=Anything(),
    lab=Text(120, required=False),
    report_number=Text(64, required=False),
    tested_at=Date(required=False, not_after=plant_today),
    category=Choice(["A", "B", "C"], required=False),
    version=Integer(required=False, minimum=1),
)


def latest_tests(nc: NonConformance) -> dict[int, LabResult]:
    """The latest retest on this NC per parameter id."""
    latest: dict[int, LabResult] = {}
    for result in db.session.scalars(
        select(LabResult)
        .where(LabResult.nc_id == nc.id)
        .order_by(LabResult.tested_at.desc(), LabResult.recorded_at.desc(), LabResult.id.desc())
    ):
        latest.setdefault(result.parameter_id, result)
    return latest


def tests_of(nc: NonConformance) -> list[LabResult]:
    return list(
        db.session.scalars(
            select(LabResult)
            .where(LabResult.nc_id == nc.id)
            .options(selectinload(LabResult.parameter))
            .order_by(LabResult.tested_at.desc(), LabResult.recorded_at.desc(), LabResult.id.desc())
        )
    )


def record_test(nc: NonConformance, data: Any, actor: User) -> LabResult:
    """Record a retest ``{parameter, value, lab?, report_number?, tested_at?}`` of a linked parameter, judged
    against the NC's category. A failure during verification returns the CAPA to investigation; when every
    linked parameter's latest retest passes, the NC's holds are released."""
    values = TEST_SCHEMA.validate(data)
    parameter = next((p for p in nc.parameters if p.code == values["parameter"]), None)
    if parameter is None:
        raise _invalid(
            {"parameter": str(_l("%(code)s is not linked to %(number)s.", code=values["parameter"], number=nc.number))}
        )
    category = nc.effective_category or values["category"]
    if category is None:
        raise _invalid({"category": str(_l("This NC names no style: give the safety category to judge against."))})
    evaluation = safety.evaluate(parameter, category, values["value"])
    with changing(nc, actor, Step.RECORD_TEST, version=values.get("version")) as journal:
        result = safety.result_from(evaluation, batch=nc.batch, lot=None, values=values, actor=actor)
        result.nc_id = nc.id
        db.session.add(result)
        db.session.flush()
        journal.record("test", field=parameter.code, new=f"{result.value} {result.verdict}", note=result.explanation)
        if result.verdict == Outcome.FAIL and nc.status == State.VERIFICATION:
            journal.move(
                State.INVESTIGATION,
                str(_l("Failing retest of %(code)s: %(why)s", code=parameter.code, why=result.explanation)),
            )
        latest = latest_tests(nc)
        if nc.parameters and all(
            latest.get(p.id) is not None and latest[p.id].verdict == Outcome.PASS for p in nc.parameters
        ):
            for hold in nc.holds:
                if hold.released_at is None:
                    _release(
                        hold,
                        actor,
                        str(
                            _l(
                                "Released by passing retests (%(codes)s).",
                                codes=", ".join(p.code for p in nc.parameters),
                            )
                        ),
                        journal,
                    )
    return result


# D8 closing and cancelling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    gate: str
    message: str
    parameter: str | None = None

    def to_dict(self) -> dict[str, str]:
        body = {"gate": self.gate, "message": self.message}
        if self.parameter:
            body["parameter"] = self.parameter
        return body


def unmet_gates(nc: NonConformance, effectiveness: str | None) -> list[Gate]:
    """Each closing gate still open: an approved root cause, every action done, the latest retest of every
    linked parameter passing, nothing still on hold, and an effectiveness note."""
    unmet = []
    if approved_analysis(nc) is None:
        unmet.append(Gate("root_cause_approved", str(_l("The root cause has not been approved."))))
    if not nc.actions or any(a.status != ActionStatus.DONE for a in nc.actions):
        unmet.append(Gate("actions_done", str(_l("Not every action is done."))))
    latest = latest_tests(nc)
    for parameter in nc.parameters:
        result = latest.get(parameter.id)
        if result is None:
            unmet.append(Gate("retest_passed", str(_l("%(code)s has no retest.", code=parameter.code)), parameter.code))
        elif result.verdict != Outcome.PASS:
            unmet.append(
                Gate(
                    "retest_passed",
                    str(_l("The latest retest of %(code)s did not pass.", code=parameter.code)),
                    parameter.code,
                )
            )
    held = [hold.subject for hold in nc.holds if hold.released_at is None]
    if held:
        # Goods still in quarantine: a passing retest or the quality manager (with a reason) releases them.
        unmet.append(Gate("holds_released", str(_l("Still on hold: %(what)s.", what=", ".join(held)))))
    if not (effectiveness or "").strip():
        unmet.append(Gate("effectiveness", str(_l("An effectiveness note is required."))))
    return unmet


CLOSE_SCHEMA = Schema(effectiveness=Text(4000, required=False), version=Integer(required=False, minimum=1))


def close(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Close the CAPA with its ``effectiveness`` note; raises GatesUnmet naming each unmet gate."""
    values = CLOSE_SCHEMA.validate(data)
    authorize(nc, actor, Step.CLOSE, version=values.get("version"))
    unmet = unmet_gates(nc, values["effectiveness"])
    if unmet:
        raise GatesUnmet(
            str(
                _l(
                    "%(number)s cannot close yet: %(gates)s",
                    number=nc.number,
                    gates=" ".join(gate.message for gate in unmet),
                )
            ),
            unmet=[gate.to_dict() for gate in unmet],
        )
    with changing(nc, actor, Step.CLOSE, version=values.get("version")) as journal:
        journal.set("effectiveness", values["effectiveness"])
        nc.closed_at = utcnow()
        journal.move(State.CLOSED)
    return nc


CANCEL_SCHEMA = Schema(reason=Text(4000), version=Integer(required=False, minimum=1))


def cancel(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Cancel an open NC that is not a real non-conformance, for a ``reason``."""
    values = CANCEL_SCHEMA.validate(data)
    with changing(nc, actor, Step.CANCEL, version=values.get("version")) as journal:
        journal.set("cancel_reason", values["reason"])
        nc.cancelled_at = utcnow()
        # Not a real non-conformance: nothing it held needs holding any longer.
        for hold in nc.holds:
            if hold.released_at is None:
                _release(hold, actor, str(_l("Released: %(number)s was cancelled.", number=nc.number)), journal)
        journal.move(State.CANCELLED, values["reason"])
    return nc


# Lists and queues ------------------------------------------------------------------------------------------

LIST_SCHEMA = Schema(
    status=Choice([s.value for s in State], required=False),
    line=Code(required=False),
    style=Code(required=False),
    supplier=Code(required=False),
    defect_type=Text(40, lower=True, required=False),
    parameter=Code(40, required=False),
    overdue=Choice(["true", "false", "1", "0"], required=False),
    reported_from=Date(required=False),
    reported_to=Date(required=False),
    q=Text(200, required=False),
    page=Integer(required=False, minimum=1, maximum=100_000),
    per_page=Integer(required=False, minimum=1, maximum=500),
)


@dataclass
class Page:
    items: list[NonConformance]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _overdue_clause():
    """An NC with an action open past its due date, unless the NC was cancelled."""
    open_late = select(Action.id).where(
        Action.nc_id == NonConformance.id, Action.status == ActionStatus.OPEN, Action.due_date < plant_today()
    )
    return and_(open_late.exists(), NonConformance.status != State.CANCELLED)


def filtered(filters: dict[str, Any]):
    """The select() of NCs matching ``filters`` (already validated by LIST_SCHEMA), newest first."""
    query = select(NonConformance)
    if filters.get("status"):
        query = query.where(NonConformance.status == filters["status"])
    if filters.get("line"):
        query = query.join(NonConformance.line).where(ProductionLine.code == filters["line"])
    if filters.get("style"):
        query = query.join(NonConformance.style).where(Style.code == filters["style"])
    if filters.get("defect_type"):
        query = query.join(NonConformance.defect_type).where(DefectType.code == filters["defect_type"])
    if filters.get("parameter"):
        query = query.where(NonConformance.parameters.any(SafetyParameter.code == filters["parameter"]))
    if filters.get("supplier"):
        lots_of_supplier = (
            select(batch_lots.c.batch_id)
            .join(MaterialLot, MaterialLot.id == batch_lots.c.lot_id)
            .join(Supplier, Supplier.id == MaterialLot.supplier_id)
            .where(Supplier.code == filters["supplier"])
        )
        query = query.where(NonConformance.batch_id.in_(lots_of_supplier))
    if filters.get("overdue") in ("true", "1"):
        query = query.where(_overdue_clause())
    elif filters.get("overdue") in ("false", "0"):
        query = query.where(~_overdue_clause())
    zone = plant_zone()
    if filters.get("reported_from"):
        start = datetime.combine(filters["reported_from"], datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at >= start)
    if filters.get("reported_to"):
        end = datetime.combine(filters["reported_to"] + timedelta(days=1), datetime.min.time(), zone)
        query = query.where(NonConformance.reported_at < end)
    if filters.get("q"):
        # Taken literally: a % or _ typed is searched for, not a wildcard.
        text = filters["q"].lower()
        query = query.where(
            or_(
                func.lower(NonConformance.title).contains(text, autoescape=True),
                func.lower(NonConformance.description).contains(text, autoescape=True),
                func.lower(NonConformance.number).contains(text, autoescape=True),
            )
        )
    return query


def search(data: Any) -> Page:
    """One page of the NCs matching the filters in ``data`` (query parameters); raises ValidationError."""
    filters = LIST_SCHEMA.validate({k: v for k, v in dict(data).items() if v not in (None, "")})
    page, per_page = filters.get("page") or 1, filters.get("per_page") or 25
    query = filtered(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(
        db.session.scalars(
            query.options(
                selectinload(NonConformance.line),
                selectinload(NonConformance.style),
                selectinload(NonConformance.defect_type),
                selectinload(NonConformance.parameters),
                selectinload(NonConformance.actions),
                selectinload(NonConformance.recurrence_of),
                selectinload(NonConformance.reported_by),
            )
            .order_by(NonConformance.reported_at.desc(), NonConformance.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items, page, per_page, total)


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
    return queue


# Photos ----------------------------------------------------------------------------------------------------

PHOTO_SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}
MAX_PHOTOS = 6


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the device gave, and its bytes."""

    filename: str
    data: bytes


def _check_photos(uploads: list[Upload], already: int, max_bytes: int) -> list[tuple[Upload, str, str]]:
    """Each upload with its content type and extension, judged by its first bytes (never its name).

    Raises ValidationError naming ``photos``: not a JPEG or PNG, larger than ``max_bytes``, or too many.
    """
    if already + len(uploads) > MAX_PHOTOS:
        raise _invalid({"photos": str(_l("At most %(n)d photos per non-conformance.", n=MAX_PHOTOS))})
    checked = []
    for upload in uploads:
        shown = upload.filename[:80] or "?"
        if len(upload.data) > max_bytes:
            raise _invalid({"photos": str(_l("%(name)s is larger than %(size)s.", name=shown, size=_size(max_bytes)))})
        kind = next((kind for signature, kind in PHOTO_SIGNATURES.items() if upload.data.startswith(signature)), None)
        if kind is None:
            raise _invalid({"photos": str(_l("%(name)s is not a JPEG or PNG photo.", name=shown))})
        checked.append((upload, *kind))
    return checked


def _photo_limit() -> int:
    return current_app.config["CAPA_PHOTO_MAX_BYTES"]


def add_photos(nc: NonConformance, uploads: list[Upload], actor: User) -> list[Photo]:
    """Store photos of the defect in the upload folder under names the app chooses (never the device's); the
    files are removed again if saving fails. Raises ValidationError naming ``photos``."""
    if not uploads:
        raise _invalid({"photos": str(_l("Choose at least one photo."))})
    checked = _check_photos(uploads, len(nc.photos), _photo_limit())
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    photos: list[Photo] = []
    try:
        with changing(nc, actor, Step.ADD_PHOTO) as journal:
            for upload, content_type, extension in checked:
                stored = uuid.uuid4().hex + extension
                path = folder / stored
                path.write_bytes(upload.data)
                written.append(path)
                photo = Photo(
                    stored_name=stored,
                    original_name=_safe_name(upload.filename),
                    content_type=content_type,
                    size=len(upload.data),
                    uploaded_by_id=actor.id,
                )
                nc.photos.append(photo)
                photos.append(photo)
                journal.record("photo", new=photo.original_name)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return photos


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def _safe_name(filename: str) -> str:
    """The device's file name reduced to its last part and printable characters, for display only."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "photo"


def get_photo(nc: NonConformance, photo_id: int) -> Photo:
    photo = next((p for p in nc.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo


# Defect types ----------------------------------------------------------------------------------------------

DEFECT_TYPE_SCHEMA = Schema(
    code=Text(
        40, lower=True, pattern=r"[a-z0-9][a-z0-9_]*", pattern_message=_l("Use lower-case letters, digits and _ only.")
    ),
    name=Text(120),
    active=Boolean(default=True),
    parameters=Strings(Code(40)),
)


def get_defect_type(code: str) -> DefectType:
    defect_type = _defect_type(code)
    if defect_type is None:
        raise NotFound(str(_l("No defect type %(code)s.", code=code)), fields={"code": "unknown"})
    return defect_type


def save_defect_type(defect_type: DefectType | None, data: Any) -> DefectType:
    """Create (``defect_type`` None) or change a defect type ``{code, name, active, parameters}``; the code of
    an existing type stays. Raises ValidationError, or Duplicate for a taken code."""
    values = DEFECT_TYPE_SCHEMA.validate(data, partial=defect_type is not None)
    parameters = _parameters(values["parameters"], "parameters") if values.get("parameters") is not None else None
    if defect_type is None and _defect_type(values["code"]) is not None:
        raise Duplicate(
            str(_l("A defect type %(code)s exists already.", code=values["code"])),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        if defect_type is None:
            defect_type = DefectType(code=values["code"])
            session.add(defect_type)
        for name in ("name", "active"):
            if name in values:
                setattr(defect_type, name, values[name])
        if parameters is not None:
            defect_type.parameters = parameters
    return defect_type


# Links back: parameters, suppliers -------------------------------------------------------------------------


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
