"""Incoming inspection by attributes: ``/incoming-inspections`` (ISO 2859-1 sampling of trims, labels, thread and
packaging lots on receipt)."""

from typing import Literal

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.capas import NCDetail
from capa.api.models import Answer, Record, Ref, Timestamp, With
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.http.guard import request_user
from capa.inspections import incoming
from capa.inspections.commands import IncomingInspectionFilters, NewIncomingInspection, RaiseIncomingNC
from capa.masterdata.models import LotKind


class ClassPlan(Answer):
    """One class's single sampling plan as read, and what was found in its sample."""

    aql: str
    sample_size: int
    accept: int
    reject: int
    found: int


class IncomingInspectionAnswer(Record):
    """An incoming inspection of a lot by attributes: the plans it was sampled by, what was found and the verdict."""

    id: int
    lot: str = Ref("lot", "number")
    kind: LotKind = Ref("lot", "kind")
    supplier: str = Ref("lot", "supplier", "code")
    lot_size: int
    level: str
    code_letter: str
    major: ClassPlan
    minor: ClassPlan
    critical_found: int
    units_inspected: int
    verdict: Literal["accepted", "rejected"]
    note: str
    inspector: str = Ref("inspector", "username")
    inspected_at: Timestamp
    #: The NC raised for a rejected lot, with the lot on hold.
    nc: str | None = Ref("nc", "number", default=None)


class IncomingInspections(Answer):
    items: list[IncomingInspectionAnswer]


def _answer(inspection) -> IncomingInspectionAnswer:
    def plan(prefix: str) -> ClassPlan:
        return ClassPlan(
            aql=getattr(inspection, f"aql_{prefix}"),
            sample_size=getattr(inspection, f"{prefix}_sample"),
            accept=getattr(inspection, f"{prefix}_accept"),
            reject=getattr(inspection, f"{prefix}_reject"),
            found=getattr(inspection, f"{prefix}_found"),
        )

    return IncomingInspectionAnswer.model_validate(With(inspection, major=plan("major"), minor=plan("minor")))


@bp.post("/incoming-inspections")
@bp.input(NewIncomingInspection, arg_name="command")
@bp.output(IncomingInspectionAnswer, status_code=201)
@requires(Permission.FILE_NC)
def record_incoming_inspection(command: NewIncomingInspection):
    """Record an incoming inspection by attributes of a trim, label, thread or packaging lot

    Each class with an AQL (major 2.5 and minor 4.0 unless given) is sampled by its ISO 2859-1 single sampling plan
    for the lot's size at the level given (II unless given), normal inspection; any critical defect rejects the
    lot, else each class within its acceptance number accepts it. A lot not recorded yet is received with the
    inspection (`supplier` and `kind` needed). 400 naming `lot`, `supplier`, `kind` (fabric and dye lots are
    inspected by the 4-point system: `/fabric-inspections`), `lot_size`, `level`, `aql_major`, `aql_minor`.
    """
    return _answer(incoming.record_incoming_inspection(command, request_user()))


@bp.get("/incoming-inspections")
@bp.input(IncomingInspectionFilters, location="query", arg_name="filters")
@bp.output(IncomingInspections)
@requires(Permission.VIEW)
def list_incoming_inspections(filters: IncomingInspectionFilters):
    """Incoming inspections by attributes, newest first (the latest 200), of one `lot` or one `supplier`"""
    return {"items": [_answer(inspection) for inspection in incoming.list_incoming_inspections(filters)]}


@bp.get("/incoming-inspections/<int:inspection_id>")
@bp.output(IncomingInspectionAnswer)
@requires(Permission.VIEW)
def get_incoming_inspection(inspection_id: int):
    return _answer(incoming.get_incoming_inspection(inspection_id))


@bp.post("/incoming-inspections/<int:inspection_id>/raise-nc")
@bp.input(RaiseIncomingNC, arg_name="command")
@bp.output(NCDetail, status_code=201)
@requires(step_permission(Step.CONTAIN))
def raise_incoming_nc(inspection_id: int, command: RaiseIncomingNC):
    """Raise the NC of a lot rejected at its incoming inspection, with the lot on hold

    Filed as incoming material on `line` (else the one line the lot's batches share), of the `defect_type` given
    (400 naming it when missing or unknown), critical when a critical defect was found; the whole lot is held and
    the NC is charged to its supplier. Quality managers only (403); 409 naming `inspection` for an accepted lot or
    one whose NC was raised.
    """
    return incoming.raise_incoming_nc(incoming.get_incoming_inspection(inspection_id), command, request_user())
