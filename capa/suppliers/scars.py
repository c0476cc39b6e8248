"""Supplier corrective action requests: a SCAR action of an NC sent to its supplier, answered by the supplier's
people in rounds, each round accepted or returned by a quality manager.

The rules:

- a quality manager sends a SCAR action (kind ``scar``) of an open NC to a supplier, once, with the day its
  containment is due (today or later) and the day its root cause and actions are due (not before the
  containment's); the request shares with the supplier what failed: the NC's title, description, defect type and
  safety parameters, its photos, and its lab results on that supplier's lots or on no lot (never another
  supplier's);
- a supplier's account sees the requests sent to its supplier and nothing else: another's request is "not
  found", as one that does not exist, so that its number tells nothing;
- the supplier answers a request awaiting its answer (``sent``) with its containment, one to five Whys, the root
  cause and the actions, and up to MAX_FILES evidence files (PDF, XLSX or photos, judged by their bytes as a
  CAPA's evidence is: :mod:`capa.capas.evidence`); each answer is a new round and the request awaits review
  (``answered``). An answer that says a dye or chemical was changed opens a change request for the supplier's
  material, linked to the NC (:func:`capa.changes.service.opened_by_scar_answer`);
- a quality manager reviews the latest round: ``accept`` closes the request (``accepted``); ``return`` needs a
  comment and sends it back for another round (``sent``), with a new answer day when given. Every round stays,
  with its review;
- while the NC is closed or cancelled, the request awaits nothing: it takes no answer and reminds nobody;
- reminders (:func:`claim_reminders`): the supplier's active accounts with an e-mail address are mailed once when
  the answer is due within REMIND_DAYS days and once when it is late, while the request awaits their answer; the
  same for the containment while no answer came yet (the first answer gives it) and it is due before the answer
  (due the same day, the answer's reminder names both);
- whether a supplier answered on time is judged against the day the answer was first due (``first_answer_due``),
  whatever day a returned answer was given after (:mod:`capa.suppliers.scorecard`).

Errors: NotFound naming ``id`` (no such request, or another supplier's), Conflict naming ``action`` (not a SCAR,
sent already, its NC closed or cancelled) or ``request`` (not awaiting what was sent), ValidationError naming the
fields, PermissionDenied for anyone who may not take the step.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from capa.accounts.models import STAFF, Role, User
from capa.capas.evidence import check_evidence, display_name
from capa.capas.models import Action, ActionKind, NonConformance, Photo
from capa.capas.photos import Upload
from capa.capas.states import FINAL
from capa.changes import service as changes
from capa.changes.models import ChangeRequest
from capa.common import files as storage
from capa.common.clock import plant_today
from capa.common.errors import Conflict, NotFound, PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import MaterialLot
from capa.safety.models import LabResult
from capa.suppliers.commands import NewScarRequest, ScarAnswerCommand, ScarFilters, ScarReview
from capa.suppliers.models import ScarAnswer, ScarDecision, ScarFile, ScarRequest, ScarStatus

#: A reminder is mailed this many days before the answer is due.
REMIND_DAYS = 2
PLEASE_CORRECT = _l("Please correct the fields marked.")


def _invalid(fields: dict[str, str]) -> ValidationError:
    return ValidationError(str(PLEASE_CORRECT), fields=fields)


def _is_supplier(user: User | None) -> bool:
    return user is not None and user.role == Role.SUPPLIER


# Sending -----------------------------------------------------------------------------------------------------------


def send(action: Action, command: NewScarRequest, actor: User | None) -> ScarRequest:
    """Send the SCAR ``action`` to the supplier of ``command`` (the module's rules)."""
    if actor is not None and actor.role != Role.QUALITY_MANAGER:
        raise PermissionDenied(str(_l("Only a quality manager sends a request to a supplier.")))
    if action.kind != ActionKind.SCAR:
        raise Conflict(str(_l("Only a SCAR action is sent to a supplier.")), fields={"action": "not_scar"})
    if action.nc.status in FINAL:
        raise Conflict(
            str(_l("%(number)s is closed or cancelled: nothing is sent for it now.", number=action.nc.number)),
            fields={"action": "nc_final"},
        )
    if db.session.scalar(select(ScarRequest.id).where(ScarRequest.action_id == action.id)) is not None:
        raise Conflict(str(_l("This SCAR action was sent to its supplier already.")), fields={"action": "sent"})
    problems: dict[str, str] = {}
    supplier = masterdata.find_supplier(command.supplier)
    if supplier is None:
        problems["supplier"] = str(_l("No supplier with the code %(code)s.", code=command.supplier))
    today = plant_today()
    if command.containment_due < today:
        problems["containment_due"] = str(_l("Today or later."))
    if command.answer_due < command.containment_due:
        problems["answer_due"] = str(_l("Not before the containment is due."))
    if problems:
        raise _invalid(problems)
    with unit_of_work() as session:
        request = ScarRequest(
            action=action,
            supplier=supplier,
            message=command.message or "",
            containment_due=command.containment_due,
            answer_due=command.answer_due,
            first_answer_due=command.answer_due,
            status=ScarStatus.SENT.value,
            sent_by_id=actor.id if actor is not None else None,
        )
        session.add(request)
    return request


def requests_by_action(actions: Sequence[Action], *, with_answers: bool = False) -> dict[int, ScarRequest]:
    """The requests sent for ``actions``, by action id: one statement; ``with_answers``, each request's rounds with
    who gave and reviewed them and their evidence files too (the 8D report), in three more."""
    ids = [action.id for action in actions if action.kind == ActionKind.SCAR]
    if not ids:
        return {}
    query = select(ScarRequest).where(ScarRequest.action_id.in_(ids)).options(selectinload(ScarRequest.supplier))
    if with_answers:
        query = query.options(
            selectinload(ScarRequest.answers).options(
                joinedload(ScarAnswer.submitted_by),
                joinedload(ScarAnswer.reviewed_by),
                selectinload(ScarAnswer.files),
            )
        )
    return {request.action_id: request for request in db.session.scalars(query)}


# Reading -----------------------------------------------------------------------------------------------------------


def _visible_to(user: User):
    """The requests ``user`` may see: all for the factory's people, its supplier's for a supplier's account."""
    if user.role in STAFF:
        return True
    return ScarRequest.supplier_id == user.supplier_id


def list_requests(user: User, filters: ScarFilters) -> list[ScarRequest]:
    """The requests ``user`` may see, awaiting someone first, then the latest sent first."""
    query = select(ScarRequest).where(_visible_to(user))
    if filters.supplier and not _is_supplier(user):
        supplier = masterdata.find_supplier(filters.supplier)
        query = query.where(ScarRequest.supplier_id == (supplier.id if supplier else -1))
    if filters.status:
        query = query.where(ScarRequest.status == filters.status.value)
    query = query.options(
        selectinload(ScarRequest.supplier), selectinload(ScarRequest.action).selectinload(Action.nc)
    ).order_by((ScarRequest.status == ScarStatus.ACCEPTED.value), ScarRequest.answer_due, ScarRequest.id.desc())
    return list(db.session.scalars(query))


def get_request(request_id: int, user: User) -> ScarRequest:
    """The request ``request_id`` if ``user`` may see it; NotFound naming ``id`` otherwise (another supplier's is
    not found either)."""
    request = db.session.get(ScarRequest, request_id) if 0 < request_id < 2**31 else None
    if request is None or (_is_supplier(user) and request.supplier_id != user.supplier_id):
        raise NotFound(str(_l("No request %(id)s.", id=request_id)), fields={"id": "unknown"})
    return request


def shared_results(request: ScarRequest) -> list[LabResult]:
    """The NC's lab results the request shares: the one it was raised from and its retests, on the supplier's lots
    or on no lot, oldest first."""
    nc = request.action.nc
    of_nc = or_(LabResult.nc_id == nc.id, LabResult.id == nc.source_result_id)
    its_lots = or_(LabResult.lot_id.is_(None), MaterialLot.supplier_id == request.supplier_id)
    query = (
        select(LabResult)
        .outerjoin(MaterialLot, MaterialLot.id == LabResult.lot_id)
        .where(of_nc, its_lots)
        .options(selectinload(LabResult.parameter), selectinload(LabResult.lot))
        .order_by(LabResult.tested_at, LabResult.id)
    )
    return list(db.session.scalars(query))


def shared_photo(request: ScarRequest, photo_id: int) -> Photo:
    """One of the NC's photos, which the request shares; NotFound naming ``photo`` for any other."""
    photo = db.session.get(Photo, photo_id) if 0 < photo_id < 2**31 else None
    if photo is None or photo.nc_id != request.action.nc_id:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo


def get_file(request: ScarRequest, file_id: int) -> ScarFile:
    """An evidence file of one of the request's answers; NotFound naming ``file`` for any other."""
    found = db.session.get(ScarFile, file_id) if 0 < file_id < 2**31 else None
    if found is None or found.answer.request_id != request.id:
        raise NotFound(str(_l("No such evidence file.")), fields={"file": "unknown"})
    return found


def latest_answer(request: ScarRequest) -> ScarAnswer | None:
    return request.answers[-1] if request.answers else None


def is_late(request: ScarRequest, today: date | None = None) -> bool:
    """Awaiting the supplier's answer after the day it was due."""
    return request.status == ScarStatus.SENT and (today or plant_today()) > request.answer_due


# Answering and reviewing ---------------------------------------------------------------------------------------------


def _lock(request: ScarRequest) -> None:
    """Hold the request's row until the transaction ends, and read it as it stands: two people answering or
    reviewing it at once are taken one after the other (PostgreSQL; SQLite has one writer)."""
    db.session.refresh(request, with_for_update=True)


def answer(request: ScarRequest, command: ScarAnswerCommand, uploads: Sequence[Upload], actor: User) -> ScarAnswer:
    """Record a supplier's answer to ``request`` as its next round (the module's rules). Raises PermissionDenied
    for anyone but an account of the request's supplier, Conflict naming ``request`` when no answer is awaited,
    ValidationError naming ``files[i]`` and ``files`` for evidence files refused."""
    if not _is_supplier(actor) or actor.supplier_id != request.supplier_id:
        raise PermissionDenied(str(_l("Only the supplier's people answer its request.")))
    _lock(request)
    if request.action.nc.status in FINAL:
        raise Conflict(
            str(_l("The factory closed this matter: the request awaits no answer now.")), fields={"request": "closed"}
        )
    if request.status != ScarStatus.SENT:
        raise Conflict(
            str(_l("This request awaits no answer now: it is being reviewed or it is closed.")),
            fields={"request": request.status},
        )
    checked = check_evidence(uploads)
    with unit_of_work() as session:
        round_ = ScarAnswer(
            round=len(request.answers) + 1,
            containment=command.containment,
            whys=list(command.whys),
            root_cause=command.root_cause,
            actions=command.actions,
            submitted_by_id=actor.id,
        )
        for file in checked:
            round_.files.append(
                ScarFile(
                    key=storage.save(file.data, file.extension, field="files"),
                    original_name=display_name(file.filename),
                    content_type=file.content_type,
                    size=len(file.data),
                )
            )
        request.answers.append(round_)
        request.status = ScarStatus.ANSWERED.value
        if command.chemical_change:
            session.flush()  # the change request names the answer by its id
            changes.opened_by_scar_answer(request, round_, command.chemical_change, actor)
    return round_


def changes_opened(request: ScarRequest) -> dict[int, ChangeRequest]:
    """The change requests the request's answers opened, by answer id: one statement."""
    ids = [entry.id for entry in request.answers]
    if not ids:
        return {}
    query = select(ChangeRequest).where(ChangeRequest.scar_answer_id.in_(ids))
    return {change.scar_answer_id: change for change in db.session.scalars(query)}


def review(request: ScarRequest, round_number: int, command: ScarReview, actor: User | None) -> ScarAnswer:
    """A quality manager's review of the latest round of ``request`` (the module's rules). Raises PermissionDenied
    for anyone else, NotFound naming ``round``, Conflict naming ``round`` for a round that is not the latest or was
    reviewed, ValidationError naming ``comment`` (to return) or ``answer_due``."""
    if actor is not None and actor.role != Role.QUALITY_MANAGER:
        raise PermissionDenied(str(_l("Only a quality manager reviews a supplier's answer.")))
    _lock(request)
    found = next((entry for entry in request.answers if entry.round == round_number), None)
    if found is None:
        raise NotFound(str(_l("No answer round %(n)s.", n=round_number)), fields={"round": "unknown"})
    if found is not latest_answer(request) or found.decision is not None or request.status != ScarStatus.ANSWERED:
        raise Conflict(str(_l("Only the latest answer awaiting review is reviewed.")), fields={"round": "reviewed"})
    problems: dict[str, str] = {}
    returning = command.decision is ScarDecision.RETURN
    if returning and not command.comment:
        problems["comment"] = str(_l("Say what the supplier must answer better."))
    if command.answer_due is not None:
        if not returning:
            problems["answer_due"] = str(_l("A new day is given only with an answer returned."))
        elif command.answer_due < plant_today():
            problems["answer_due"] = str(_l("Today or later."))
        elif command.answer_due < request.containment_due:
            problems["answer_due"] = str(_l("Not before the containment is due."))
    if problems:
        raise _invalid(problems)
    with unit_of_work():
        found.decision = command.decision.value
        found.comment = command.comment or ""
        found.reviewed_by_id = actor.id if actor is not None else None
        found.reviewed_at = utcnow()
        if returning:
            request.status = ScarStatus.SENT.value
            if command.answer_due is not None:
                request.answer_due = command.answer_due
                request.reminded_before_at = request.reminded_late_at = None
        else:
            request.status = ScarStatus.ACCEPTED.value
            request.accepted_at = utcnow()
    return found


# Reminders ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One of a request's reminders, each mailed once: of its containment or of its answer, before the day or
    late."""

    #: ``containment`` or ``answer``.
    what: str
    late: bool

    @property
    def column(self) -> str:
        """The request's column that claims it."""
        prefix = "containment_" if self.what == CONTAINMENT else ""
        return f"{prefix}reminded_{'late' if self.late else 'before'}_at"

    def due(self, request: ScarRequest) -> date:
        return request.containment_due if self.what == CONTAINMENT else request.answer_due


CONTAINMENT, ANSWER = "containment", "answer"
#: Every reminder, the containment's before the answer's.
REMINDERS = tuple(Reminder(what, late) for what in (CONTAINMENT, ANSWER) for late in (False, True))


@dataclass(frozen=True)
class Claimed:
    """The reminders one run claimed: the moment each claiming column was set to, and the requests by reminder."""

    at: datetime
    ids: dict[Reminder, list[int]]


def claim_reminders(today: date) -> Claimed:
    """Claim the reminders due today (the module's rule): the requests awaiting the supplier whose answer, or
    containment, is due within REMIND_DAYS days and were not reminded of it yet, and those late and not reminded
    of it as late. Each is claimed by setting its column (:attr:`Reminder.column`) in one UPDATE that skips those
    set already, so of two schedulers only one mails it. Returns what was claimed; the caller commits, or gives
    them back with :func:`unclaim`."""
    open_ncs = (
        select(Action.id)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(NonConformance.status.not_in([state.value for state in FINAL]))
    )
    # Awaiting the supplier's answer, for an NC still open: a closed or cancelled one asks nothing more.
    awaiting = and_(ScarRequest.status == ScarStatus.SENT.value, ScarRequest.action_id.in_(open_ncs))
    # The containment is awaited apart only before the first answer, which gives it, and while it is due before
    # the answer (due the same day, the answer's reminder stands for both).
    containment_awaited = and_(
        awaiting,
        ~exists().where(ScarAnswer.request_id == ScarRequest.id),
        ScarRequest.containment_due < ScarRequest.answer_due,
    )
    conditions = {}
    for reminder in REMINDERS:
        day = ScarRequest.containment_due if reminder.what == CONTAINMENT else ScarRequest.answer_due
        waiting = containment_awaited if reminder.what == CONTAINMENT else awaiting
        timing = day < today if reminder.late else and_(day >= today, day <= today + timedelta(days=REMIND_DAYS))
        conditions[reminder] = and_(waiting, timing, getattr(ScarRequest, reminder.column).is_(None))
    now = utcnow()
    ids = {
        reminder: list(
            db.session.scalars(
                update(ScarRequest)
                .where(condition)
                .values({reminder.column: now})
                .returning(ScarRequest.id)
                .execution_options(synchronize_session=False)
            )
        )
        for reminder, condition in conditions.items()
    }
    return Claimed(now, ids)


def unclaim(ids: Sequence[int], reminder: Reminder, claimed_at: datetime) -> None:
    """Give back ``reminder`` of the requests ``ids`` (none of their mails went out), for the next run: only where
    the claim is still the one made at ``claimed_at`` (a request returned with a new day since, and claimed and
    mailed by another run, keeps that run's claim)."""
    column = getattr(ScarRequest, reminder.column)
    db.session.execute(
        update(ScarRequest)
        .where(ScarRequest.id.in_(list(ids)), column == claimed_at)
        .values({reminder.column: None})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def requests_with_ids(ids: Sequence[int]) -> list[ScarRequest]:
    query = (
        select(ScarRequest)
        .where(ScarRequest.id.in_(list(ids)))
        .options(
            selectinload(ScarRequest.supplier),
            selectinload(ScarRequest.action).selectinload(Action.nc),
            selectinload(ScarRequest.answers),
        )
        .order_by(ScarRequest.answer_due, ScarRequest.id)
    )
    return list(db.session.scalars(query))
