"""Change control: ``/change-requests`` with their impact, conditions, approval and the NCs they are linked to."""

from datetime import date

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp
from capa.changes import service
from capa.changes.commands import ChangeFilters, MeetCondition, NcLink, NewChange, NewCondition, Rejection
from capa.changes.models import ChangeRequest, ChangeStatus, ChangeSubject, ConditionKind
from capa.http.guard import request_user


class ConditionRecord(Record):
    id: int
    kind: ConditionKind
    parameter: str | None = Ref("parameter", "code", default=None)
    buyer: str | None = Ref("buyer", "code", default=None)
    note: str
    #: Null until met.
    met_at: Timestamp | None = None
    met_by: str | None = Ref("met_by", "username", default=None)
    #: The evidence: the passing lab result's id, the accepted inspection's id, the notification's reference.
    result: int | None = Ref("result_id", default=None)
    inspection: int | None = Ref("inspection_id", default=None)
    reference: str = ""


class PlanRow(Answer):
    style: str
    #: The parameters of the style's quality plan the change concerns.
    parameters: list[str]


class ImpactRecord(Answer):
    styles: list[str]
    #: Batches no final inspection accepted yet.
    open_batches: list[str]
    plan_rows: list[PlanRow]
    #: Buyers of the styles, to be notified where they require it.
    buyers: list[str]
    #: Lots of the new material held until the change takes effect.
    held_lots: list[str]


class ChangeRecord(Answer):
    id: int
    #: ``CR-00001``.
    number: str
    subject: ChangeSubject
    title: str
    description: str
    reason: str
    supplier: str | None
    lot_kind: str | None
    line: str | None
    styles: list[str]
    effective_from: date
    #: ``proposed``, ``approved`` (taking effect once every condition is met), ``effective``, ``rejected``.
    status: ChangeStatus
    raised_by: str | None
    raised_at: Timestamp
    approved_by: str | None
    approved_at: Timestamp | None
    effective_at: Timestamp | None
    rejected_reason: str
    #: The CAPA action that raised it, by id.
    action: int | None
    #: The NCs it is linked to, by number: the one whose CAPA raised it, later ones whose cause it was.
    ncs: list[str]
    conditions: list[ConditionRecord]
    impact: ImpactRecord


class ChangeSummary(Answer):
    id: int
    number: str
    subject: ChangeSubject
    title: str
    supplier: str | None
    status: ChangeStatus
    effective_from: date
    conditions: int
    conditions_met: int


class Changes(Answer):
    items: list[ChangeSummary]


def _record(change: ChangeRequest) -> ChangeRecord:
    found = service.impact(change)
    return ChangeRecord(
        id=change.id,
        number=change.number,
        subject=change.subject,
        title=change.title,
        description=change.description,
        reason=change.reason,
        supplier=change.supplier.code if change.supplier else None,
        lot_kind=change.lot_kind,
        line=change.line.code if change.line else None,
        styles=[style.code for style in change.styles],
        effective_from=change.effective_from,
        status=change.status,
        raised_by=change.raised_by.username if change.raised_by else None,
        raised_at=change.raised_at,
        approved_by=change.approved_by.username if change.approved_by else None,
        approved_at=change.approved_at,
        effective_at=change.effective_at,
        rejected_reason=change.rejected_reason,
        action=change.action_id,
        ncs=[nc.number for nc in change.ncs],
        conditions=[ConditionRecord.model_validate(condition) for condition in change.conditions],
        impact=ImpactRecord(
            styles=[style.code for style in found.styles],
            open_batches=[batch.number for batch in found.open_batches],
            plan_rows=[PlanRow(style=style.code, parameters=[p.code for p in rows]) for style, rows in found.plan_rows],
            buyers=[buyer.code for buyer in found.buyers],
            held_lots=[lot.number for lot in found.held_lots],
        ),
    )


@bp.get("/change-requests")
@bp.input(ChangeFilters, location="query", arg_name="filters")
@bp.output(Changes)
@requires(Permission.VIEW)
def list_change_requests(filters: ChangeFilters):
    """The change requests, those still to take effect first."""
    return Changes(
        items=[
            ChangeSummary(
                id=change.id,
                number=change.number,
                subject=change.subject,
                title=change.title,
                supplier=change.supplier.code if change.supplier else None,
                status=change.status,
                effective_from=change.effective_from,
                conditions=len(change.conditions),
                conditions_met=sum(1 for condition in change.conditions if condition.met_at),
            )
            for change in service.list_changes(filters)
        ]
    )


@bp.post("/change-requests")
@bp.input(NewChange, arg_name="command")
@bp.output(ChangeRecord, status_code=201)
@requires(Permission.FILE_NC)
def raise_change_request(command: NewChange):
    """Raise a change request (anyone of the factory)

    400 naming `supplier` (required but for a process change), `line` (a process change names a line or styles),
    `styles[i]`, `ncs[i]`, `action`, `effective_from` (before today).
    """
    return _record(service.raise_change(command, request_user()))


@bp.get("/change-requests/<int:change_id>")
@bp.output(ChangeRecord)
@requires(Permission.VIEW)
def get_change_request(change_id: int):
    """A change request with its impact (styles, open batches, quality-plan rows, buyers, held lots)."""
    return _record(service.get_change(change_id))


@bp.post("/change-requests/<int:change_id>/conditions")
@bp.input(NewCondition, arg_name="command")
@bp.output(ConditionRecord, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def add_change_condition(change_id: int, command: NewCondition):
    """Add a condition the change takes effect on; 400 naming `parameter`, `buyer`; 409 naming `change`."""
    return service.add_condition(service.get_change(change_id), command, request_user())


@bp.post("/change-requests/<int:change_id>/approval")
@bp.output(ChangeRecord)
@requires(Permission.MAINTAIN_CATALOG)
def approve_change_request(change_id: int):
    """Approve a proposed change: it takes effect once every condition is met (at once without any); 409 naming
    `change` when it is not proposed."""
    return _record(service.approve(service.get_change(change_id), request_user()))


@bp.post("/change-requests/<int:change_id>/rejection")
@bp.input(Rejection, arg_name="command")
@bp.output(ChangeRecord)
@requires(Permission.MAINTAIN_CATALOG)
def reject_change_request(change_id: int, command: Rejection):
    """Reject a proposed change; 400 naming `reason`, 409 naming `change` (an approved one is not rejected: lots
    may have come in under it)."""
    return _record(service.reject(service.get_change(change_id), command, request_user()))


@bp.post("/change-requests/<int:change_id>/conditions/<int:condition_id>/met")
@bp.input(MeetCondition, arg_name="command")
@bp.output(ChangeRecord)
@requires(Permission.MAINTAIN_CATALOG)
def meet_change_condition(change_id: int, condition_id: int, command: MeetCondition):
    """Record a condition met, with its evidence

    A lab test by `result` (a passing result of its parameter on a lot of the new material, tested since the
    approval), a first article by `inspection` (an accepted final inspection of a style the change reaches, since the
    approval), a buyer's notification by `reference`. 400 naming them; 409 naming `change` (not approved) or
    `condition` (met already). With the last condition met, the change takes effect and its lots are released.
    """
    change = service.get_change(change_id)
    service.meet_condition(change, service.get_condition(change, condition_id), command, request_user())
    return _record(change)


@bp.post("/change-requests/<int:change_id>/ncs")
@bp.input(NcLink, arg_name="command")
@bp.output(ChangeRecord)
@requires(Permission.MAINTAIN_CATALOG)
def link_change_nc(change_id: int, command: NcLink):
    """Link an NC to the change: a later NC whose cause it was; 400 naming `nc`."""
    return _record(service.link_nc(service.get_change(change_id), command, request_user()))
