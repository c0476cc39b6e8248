"""Change control: a change request raised, its impact shown, its conditions set and met, and its effect.

The rules:

- anyone of the factory may raise a change request (``proposed``): what changes (a supplier, a material, a chemical,
  a process, a trim), why, and from when (today or later). A change of material names its supplier (and may name
  the kind of material); a process change names a line or styles. It may name the NCs it is linked to and the CAPA
  action that raised it (whose NC is then linked too); a later NC may be linked to it as its cause;
- its impact is computed from the records: the styles it reaches (those named, those made with lots of the
  supplier's material, those made on the line), their open batches (no final inspection accepted them yet), the
  rows of their quality plans the change concerns (the parameters required whose failure concerns that kind of
  material, :func:`capa.safety.materials.lot_kinds_concerned`; for a process, the physical ones), and the buyers
  of those styles, to be notified where they require it;
- a quality manager sets its conditions (a lab test of a parameter on the new material, a first article or pilot
  lot, a buyer's notification) while it is proposed or approved, and approves or rejects it (with a reason; only a
  proposed one: lots may have come in under an approved one). An approved change takes effect (``effective``) once
  every condition is met; one without conditions at once;
- a condition is met by a quality manager with its evidence: a lab test by a passing result of its parameter on the
  new material (a lot of the change's supplier, and kind, received since the approval; for a process change, on a
  batch it reaches), tested on or after the day the change was approved; a first article by
  an accepted final inspection, made after the approval, of a batch of a style the change reaches; a buyer's
  notification by its reference;
- while a change is approved and not yet effective, the lots of its supplier (and kind) received since its approval
  are the new material: they are held (shown on their batches and on the change) until it takes effect.

Errors: NotFound naming ``id``; ValidationError naming the fields; Conflict naming ``change`` (not in a state that
allows the step) or ``condition`` (met already); PermissionDenied for anyone but a quality manager where the
quality manager decides.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import Role, User
from capa.capas import lookup
from capa.capas.models import NonConformance
from capa.changes.commands import ChangeFilters, MeetCondition, NcLink, NewChange, NewCondition, Rejection
from capa.changes.models import ChangeCondition, ChangeRequest, ChangeStatus, ChangeSubject, ConditionKind
from capa.common.clock import plant_time, plant_today
from capa.common.errors import Conflict, NotFound, PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.extensions import db
from capa.inspections.models import Inspection, InspectionKind, InspectionVerdict
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, Buyer, MaterialLot, Style, batch_lots
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.materials import lot_kinds_concerned
from capa.safety.models import LabResult, ParameterKind, SafetyParameter

PLEASE_CORRECT = _l("Please correct the fields marked.")
#: Subjects that change a supplier's material: they name the supplier.
MATERIAL_SUBJECTS = frozenset(
    {ChangeSubject.SUPPLIER, ChangeSubject.MATERIAL, ChangeSubject.CHEMICAL, ChangeSubject.TRIM}
)
#: The styles whose quality plans the impact reads at most (a supplier may reach hundreds).
PLAN_STYLES = 50


def _invalid(fields: dict[str, str]) -> ValidationError:
    return ValidationError(str(PLEASE_CORRECT), fields=fields)


def _quality_manager(actor: User | None) -> None:
    if actor is not None and actor.role != Role.QUALITY_MANAGER:
        raise PermissionDenied(str(_l("Only a quality manager decides on a change.")))


def _state(change: ChangeRequest, *allowed: ChangeStatus) -> None:
    if change.status not in allowed:
        raise Conflict(
            str(_l("%(number)s is %(status)s: this is not possible now.", number=change.number, status=change.status)),
            fields={"change": change.status},
        )


# Raising -----------------------------------------------------------------------------------------------------------


def raise_change(command: NewChange, actor: User | None) -> ChangeRequest:
    """Raise a change request (the module's rules); ValidationError names each bad field at once."""
    problems: dict[str, str] = {}
    supplier = line = action = None
    if command.supplier:
        supplier = masterdata.find_supplier(command.supplier)
        if supplier is None:
            problems["supplier"] = str(_l("No supplier with the code %(code)s.", code=command.supplier))
    elif command.subject in MATERIAL_SUBJECTS:
        problems["supplier"] = str(_l("Name the supplier whose material changes."))
    if command.line:
        line = masterdata.find_line(command.line)
        if line is None:
            problems["line"] = str(_l("No line with the code %(code)s.", code=command.line))
    elif command.subject is ChangeSubject.PROCESS and not command.styles:
        problems["line"] = str(_l("Name the line, or the styles, the process changes for."))
    styles = []
    for index, code in enumerate(command.styles):
        style = masterdata.find_style(code)
        if style is None:
            problems[f"styles[{index}]"] = str(_l("No style with the code %(code)s.", code=code))
        elif style not in styles:
            styles.append(style)
    ncs = []
    for index, number in enumerate(command.ncs):
        try:
            nc = lookup.get_nc(number)
        except NotFound:
            problems[f"ncs[{index}]"] = str(_l("No non-conformance %(number)s.", number=number))
        else:
            if nc not in ncs:
                ncs.append(nc)
    if command.action is not None:
        try:
            action = lookup.get_action(command.action)
        except NotFound:
            problems["action"] = str(_l("No action %(id)s.", id=command.action))
    if command.effective_from < plant_today():
        problems["effective_from"] = str(_l("Today or later."))
    if problems:
        raise _invalid(problems)
    if action is not None and action.nc not in ncs:
        ncs.append(action.nc)
    with unit_of_work() as session:
        change = ChangeRequest(
            subject=command.subject.value,
            title=command.title,
            description=command.description or "",
            reason=command.reason,
            supplier=supplier,
            lot_kind=command.lot_kind.value if command.lot_kind else None,
            line=line,
            effective_from=command.effective_from,
            status=ChangeStatus.PROPOSED.value,
            raised_by_id=actor.id if actor is not None else None,
            action=action,
            styles=styles,
            ncs=ncs,
        )
        session.add(change)
    return change


def opened_by_scar_answer(request, answer, chemical_change: str, actor: User) -> ChangeRequest:
    """The change request a supplier's answer opens when it says a chemical changed (inside the answer's unit of
    work): proposed, for the supplier's material of the request's NC, linked to that NC and to the answer."""
    nc = request.action.nc
    change = ChangeRequest(
        subject=ChangeSubject.CHEMICAL.value,
        title=chemical_change[:200],
        description=chemical_change,
        reason=str(
            _l(
                "Told by %(supplier)s in its answer to %(number)s.",
                supplier=request.supplier.code,
                number=request.number,
            )
        ),
        supplier=request.supplier,
        effective_from=plant_today(),
        status=ChangeStatus.PROPOSED.value,
        raised_by_id=actor.id,
        action=request.action,
        ncs=[nc],
    )
    change.scar_answer_id = answer.id
    db.session.add(change)
    return change


# Reading -----------------------------------------------------------------------------------------------------------


def get_change(change_id: int) -> ChangeRequest:
    change = db.session.get(ChangeRequest, change_id) if 0 < change_id < 2**31 else None
    if change is None:
        raise NotFound(str(_l("No change request %(id)s.", id=change_id)), fields={"id": "unknown"})
    return change


def list_changes(filters: ChangeFilters) -> list[ChangeRequest]:
    """The change requests, those still to take effect first, the latest raised first."""
    query = select(ChangeRequest).options(selectinload(ChangeRequest.supplier), selectinload(ChangeRequest.conditions))
    if filters.status:
        query = query.where(ChangeRequest.status == filters.status.value)
    done = ChangeRequest.status.in_([ChangeStatus.EFFECTIVE.value, ChangeStatus.REJECTED.value])
    return list(db.session.scalars(query.order_by(done, ChangeRequest.id.desc())))


def changes_of_nc(nc: NonConformance) -> list[ChangeRequest]:
    query = select(ChangeRequest).where(ChangeRequest.ncs.any(NonConformance.id == nc.id))
    return list(db.session.scalars(query.order_by(ChangeRequest.id)))


def _material(change: ChangeRequest):
    """The condition on MaterialLot of the change's material: its supplier's lots (of its kind); None for none."""
    if change.supplier_id is None:
        return None
    condition = MaterialLot.supplier_id == change.supplier_id
    if change.lot_kind:
        condition = and_(condition, MaterialLot.kind == change.lot_kind)
    return condition


def _batches_reached(change: ChangeRequest):
    """The condition on Batch of the batches the change reaches."""
    reached = []
    material = _material(change)
    if material is not None:
        reached.append(
            exists()
            .where(batch_lots.c.batch_id == Batch.id)
            .where(exists().where(MaterialLot.id == batch_lots.c.lot_id, material))
        )
    if change.line_id is not None:
        reached.append(Batch.line_id == change.line_id)
    if change.styles:
        reached.append(Batch.style_id.in_([style.id for style in change.styles]))
    return or_(*reached) if reached else None


def _styles_reached(change: ChangeRequest, batches):
    """The condition on Style of the styles the change reaches: those it names and those of the batches it reaches
    (``batches``, :func:`_batches_reached`)."""
    return or_(Style.id.in_(select(Batch.style_id).where(batches)), Style.id.in_([style.id for style in change.styles]))


@dataclass
class Impact:
    styles: list[Style] = field(default_factory=list)
    #: Batches no final inspection accepted yet.
    open_batches: list[Batch] = field(default_factory=list)
    #: (style, the parameters of its plan the change concerns), for the first PLAN_STYLES styles.
    plan_rows: list[tuple[Style, list[SafetyParameter]]] = field(default_factory=list)
    #: The buyers of the styles, to be notified where they require it.
    buyers: list[Buyer] = field(default_factory=list)
    #: The lots held until the change takes effect.
    held_lots: list[MaterialLot] = field(default_factory=list)


def _concerns(change: ChangeRequest, parameter: SafetyParameter) -> bool:
    if change.subject == ChangeSubject.PROCESS:
        return parameter.kind == ParameterKind.PHYSICAL
    kinds = lot_kinds_concerned(parameter)
    return change.lot_kind in kinds if change.lot_kind else bool(kinds)


def impact(change: ChangeRequest) -> Impact:
    """The change's impact, by the module's rules."""
    found = Impact(held_lots=held_lots(change))
    batches = _batches_reached(change)
    if batches is None:
        return found
    accepted = exists().where(
        Inspection.batch_id == Batch.id,
        Inspection.kind == InspectionKind.FINAL.value,
        Inspection.verdict == InspectionVerdict.ACCEPTED.value,
    )
    found.open_batches = list(
        db.session.scalars(
            select(Batch).where(batches, ~accepted).options(selectinload(Batch.style)).order_by(Batch.number)
        )
    )
    found.styles = list(
        db.session.scalars(
            select(Style)
            .where(_styles_reached(change, batches))
            .options(selectinload(Style.buyer))
            .order_by(Style.code)
        )
    )
    for style in found.styles[:PLAN_STYLES]:
        required, _added, _dropped = safety.plan_parameters(style)
        rows = [parameter for parameter in required if _concerns(change, parameter)]
        if rows:
            found.plan_rows.append((style, rows))
    buyers = {style.buyer.id: style.buyer for style in found.styles if style.buyer is not None}
    found.buyers = sorted(buyers.values(), key=lambda buyer: buyer.code)
    return found


def _held(change_column_status, approved_at, supplier_id, lot_kind):
    """The condition on MaterialLot of a change's new material held (the module's rule)."""
    return and_(
        change_column_status == ChangeStatus.APPROVED.value,
        MaterialLot.supplier_id == supplier_id,
        or_(lot_kind.is_(None), MaterialLot.kind == lot_kind),
        MaterialLot.created_at >= approved_at,
    )


def held_lots(change: ChangeRequest) -> list[MaterialLot]:
    """The lots of the change's new material held until it takes effect (none unless it is approved)."""
    if change.status != ChangeStatus.APPROVED or change.supplier_id is None:
        return []
    query = select(MaterialLot).where(
        MaterialLot.supplier_id == change.supplier_id, MaterialLot.created_at >= change.approved_at
    )
    if change.lot_kind:
        query = query.where(MaterialLot.kind == change.lot_kind)
    return list(db.session.scalars(query.order_by(MaterialLot.number)))


def holding_changes_for(batches: list[Batch]) -> dict[int, list[str]]:
    """For each batch, the numbers of the changes holding one of its lots: one statement however many batches."""
    found: dict[int, set[int]] = {batch.id: set() for batch in batches}
    if not batches:
        return {}
    rows = db.session.execute(
        select(batch_lots.c.batch_id, ChangeRequest.id)
        .join(MaterialLot, MaterialLot.id == batch_lots.c.lot_id)
        .join(
            ChangeRequest,
            _held(ChangeRequest.status, ChangeRequest.approved_at, ChangeRequest.supplier_id, ChangeRequest.lot_kind),
        )
        .where(batch_lots.c.batch_id.in_(list(found)))
    )
    for batch_id, change_id in rows:
        found[batch_id].add(change_id)
    return {batch_id: [f"CR-{change_id:05d}" for change_id in sorted(ids)] for batch_id, ids in found.items()}


# Deciding ----------------------------------------------------------------------------------------------------------


def add_condition(change: ChangeRequest, command: NewCondition, actor: User | None) -> ChangeCondition:
    """Add a condition (the module's rules): a lab test names its ``parameter``, a buyer's notification its
    ``buyer`` (ValidationError naming them)."""
    _quality_manager(actor)
    _state(change, ChangeStatus.PROPOSED, ChangeStatus.APPROVED)
    parameter = buyer = None
    if command.kind is ConditionKind.LAB_TEST:
        parameter = safety.find_parameter(command.parameter or "") if command.parameter else None
        if parameter is None:
            message = _l("Name the parameter to test.") if not command.parameter else _l("No such parameter.")
            raise _invalid({"parameter": str(message)})
    if command.kind is ConditionKind.BUYER_NOTIFICATION:
        buyer = masterdata.find_buyer(command.buyer) if command.buyer else None
        if buyer is None:
            message = _l("Name the buyer to notify.") if not command.buyer else _l("No such buyer.")
            raise _invalid({"buyer": str(message)})
    with unit_of_work():
        condition = ChangeCondition(kind=command.kind.value, parameter=parameter, buyer=buyer, note=command.note or "")
        change.conditions.append(condition)
    return condition


def _take_effect_if_met(change: ChangeRequest) -> None:
    if change.status == ChangeStatus.APPROVED and all(condition.met_at for condition in change.conditions):
        change.status = ChangeStatus.EFFECTIVE.value
        change.effective_at = utcnow()


def approve(change: ChangeRequest, actor: User | None) -> ChangeRequest:
    """Approve a proposed change; it takes effect at once when it has no condition, or all are met."""
    _quality_manager(actor)
    _state(change, ChangeStatus.PROPOSED)
    with unit_of_work():
        change.status = ChangeStatus.APPROVED.value
        change.approved_by_id = actor.id if actor is not None else None
        change.approved_at = utcnow()
        _take_effect_if_met(change)
    return change


def reject(change: ChangeRequest, command: Rejection, actor: User | None) -> ChangeRequest:
    """Reject a proposed change. An approved one is not rejected: lots of its new material may have come in under
    it, held until it takes effect; rejecting it would release them unnoticed."""
    _quality_manager(actor)
    _state(change, ChangeStatus.PROPOSED)
    with unit_of_work():
        change.status = ChangeStatus.REJECTED.value
        change.rejected_reason = command.reason
    return change


def get_condition(change: ChangeRequest, condition_id: int) -> ChangeCondition:
    found = next((condition for condition in change.conditions if condition.id == condition_id), None)
    if found is None:
        raise NotFound(str(_l("No such condition.")), fields={"condition": "unknown"})
    return found


def _approved_day(change: ChangeRequest) -> date:
    return plant_time(change.approved_at).date()


def _lab_evidence(change: ChangeRequest, condition: ChangeCondition, result_id: int | None) -> LabResult:
    result = db.session.get(LabResult, result_id) if result_id and result_id < 2**31 else None
    if result is None:
        raise _invalid({"result": str(_l("Name the lab result that shows it."))})
    lot = result.lot
    if change.supplier_id is not None:
        # The new material: a lot of the change's supplier (and kind) received since the approval (a held lot).
        of_material = (
            lot is not None
            and lot.supplier_id == change.supplier_id
            and (change.lot_kind is None or lot.kind == change.lot_kind)
            and lot.created_at >= change.approved_at
        )
    else:
        # A process change is tested on what it makes: a result on a batch it reaches (the garment or a lot).
        reached = _batches_reached(change)
        of_material = (
            result.batch_id is not None
            and reached is not None
            and db.session.scalar(select(Batch.id).where(Batch.id == result.batch_id, reached)) is not None
        )
    if result.parameter_id != condition.parameter_id:
        problem = _l("This result is of another parameter.")
    elif not of_material:
        problem = (
            _l("This result is not on a lot of the new material.")
            if change.supplier_id is not None
            else _l("This result is not on a batch the change reaches.")
        )
    elif result.tested_at < _approved_day(change):
        problem = _l("This result was tested before the change was approved.")
    elif result.verdict != Outcome.PASS:
        problem = _l("This result did not pass.")
    else:
        return result
    raise _invalid({"result": str(problem)})


def _inspection_evidence(change: ChangeRequest, inspection_id: int | None) -> Inspection:
    inspection = db.session.get(Inspection, inspection_id) if inspection_id and inspection_id < 2**31 else None
    if inspection is None:
        raise _invalid({"inspection": str(_l("Name the final inspection that accepted the first article."))})
    batches = _batches_reached(change)
    reaches = batches is not None and db.session.scalar(
        select(Style.id).where(Style.id == inspection.batch.style_id, _styles_reached(change, batches))
    )
    if inspection.verdict != InspectionVerdict.ACCEPTED:
        problem = _l("This inspection rejected its lot.")
    elif not reaches:
        problem = _l("This inspection is of a style the change does not reach.")
    elif inspection.inspected_at < change.approved_at:
        problem = _l("This inspection was made before the change was approved.")
    else:
        return inspection
    raise _invalid({"inspection": str(problem)})


def meet_condition(
    change: ChangeRequest, condition: ChangeCondition, command: MeetCondition, actor: User | None
) -> ChangeCondition:
    """Record a condition met with its evidence (the module's rules); the change takes effect with its last."""
    _quality_manager(actor)
    # Two conditions met at once are taken one after the other, so that the last one sees the other met.
    db.session.refresh(change, with_for_update=True)
    db.session.refresh(condition)
    _state(change, ChangeStatus.APPROVED)
    if condition.met_at is not None:
        raise Conflict(str(_l("This condition is met already.")), fields={"condition": "met"})
    result = inspection = None
    if condition.kind == ConditionKind.LAB_TEST:
        result = _lab_evidence(change, condition, command.result)
    elif condition.kind == ConditionKind.FIRST_ARTICLE:
        inspection = _inspection_evidence(change, command.inspection)
    elif not command.reference:
        raise _invalid({"reference": str(_l("Say how and when the buyer was told."))})
    with unit_of_work():
        condition.result = result
        condition.inspection = inspection
        condition.reference = command.reference or ""
        condition.met_at = utcnow()
        condition.met_by_id = actor.id if actor is not None else None
        _take_effect_if_met(change)
    return condition


def link_nc(change: ChangeRequest, command: NcLink, actor: User | None) -> ChangeRequest:
    """Link an NC to the change: a later NC whose cause the change was."""
    _quality_manager(actor)
    try:
        nc = lookup.get_nc(command.nc)
    except NotFound:
        raise _invalid({"nc": str(_l("No non-conformance %(number)s.", number=command.nc))}) from None
    with unit_of_work():
        if nc not in change.ncs:
            change.ncs.append(nc)
    return change
