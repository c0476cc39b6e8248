"""Incoming fabric inspection endpoints: ``/fabric-inspections`` (4-point inspections of fabric lots and the NC a
rejected lot raises) and the acceptance points of suppliers and styles."""

from typing import Literal

from pydantic import Field

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.capas import NCDetail
from capa.api.models import Answer, Measured, Record, Ref, Timestamp
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.http.guard import request_user
from capa.inspections import fabric
from capa.inspections.commands import (
    FabricAcceptanceChange,
    FabricInspectionFilters,
    NewFabricInspection,
    RaiseFabricNC,
)
from capa.inspections.fourpoint import LengthUnit, RollFault, WidthUnit
from capa.masterdata import service as masterdata


class FabricDefectAnswer(Record):
    at: Measured
    through: Measured | None
    size: Measured | None
    hole: bool
    #: The defect's own points, before the 4-point cap of its linear yard.
    points: int
    code: str | None = Ref("defect_code", "code", default=None)


class FabricRollAnswer(Record):
    number: str
    length: Measured
    width: Measured
    shade_matches: bool
    #: Points after the cap of 4 per linear yard.
    points: int
    points_per_100: Measured = Field(description="Points per 100 square yards, rounded half up to hundredths.")
    faults: list[RollFault]
    defects: list[FabricDefectAnswer]


class FabricInspectionAnswer(Record):
    """A 4-point inspection of a fabric lot: its rolls as measured (in its units), the acceptance points it was
    judged against and whose they were, its figures and verdict, and the NC raised for it."""

    id: int
    lot: str = Ref("lot", "number")
    supplier: str = Ref("lot", "supplier", "code")
    style: str | None = Ref("style", "code", default=None)
    length_unit: LengthUnit
    width_unit: WidthUnit
    required_width: Measured | None
    acceptance_points: int
    acceptance_source: Literal["style", "supplier", "default"]
    points: int
    length_inspected: Measured
    square_yards: Measured
    points_per_100: Measured = Field(description="The lot's points per 100 square yards over its whole area.")
    verdict: Literal["accepted", "rejected"]
    faults: list[RollFault]
    rolls: list[FabricRollAnswer]
    note: str
    inspector: str = Ref("inspector", "username")
    inspected_at: Timestamp
    nc: str | None = Ref("nc", "number", default=None)


class FabricInspections(Answer):
    items: list[FabricInspectionAnswer]


@bp.post("/fabric-inspections")
@bp.input(NewFabricInspection, arg_name="command")
@bp.output(FabricInspectionAnswer, status_code=201)
@requires(Permission.FILE_NC)
def record_fabric_inspection(command: NewFabricInspection):
    """Record a 4-point inspection of a fabric lot (ASTM D5430)

    Each defect scores 1 to 4 points by its size (holes 2 or 4), at most 4 per linear yard; a running defect
    (``through``) 4 in every yard it touches. Points per 100 square yards = points * 3,600 / (yards * inches),
    lengths in ``yd`` or ``m`` and widths and sizes in ``in`` or ``cm`` converted exactly. A roll is rejected over
    the acceptance points (the stricter of the supplier's and the style's, else 40), under ``required_width`` or
    off shade; the lot over the points on its whole area, or with any roll off shade or under width.
    """
    return fabric.record_fabric_inspection(command, request_user())


@bp.get("/fabric-inspections")
@bp.input(FabricInspectionFilters, location="query", arg_name="filters")
@bp.output(FabricInspections)
@requires(Permission.VIEW)
def list_fabric_inspections(filters: FabricInspectionFilters):
    """Fabric inspections, newest first (the latest 200), of one ``lot`` or one ``supplier`` when given."""
    return {"items": fabric.list_fabric_inspections(filters)}


@bp.get("/fabric-inspections/<int:inspection_id>")
@bp.output(FabricInspectionAnswer)
@requires(Permission.VIEW)
def get_fabric_inspection(inspection_id: int):
    return fabric.get_fabric_inspection(inspection_id)


@bp.post("/fabric-inspections/<int:inspection_id>/raise-nc")
@bp.input(RaiseFabricNC, arg_name="command")
@bp.output(NCDetail, status_code=201)
@requires(step_permission(Step.CONTAIN))
def raise_fabric_nc(inspection_id: int, command: RaiseFabricNC):
    """Raise the NC of a rejected fabric lot, with the lot on hold

    Filed as incoming material on ``line`` (else the one line the lot's batches share), with the defect type of
    the lot's first fault unless given; the held lot charges it to the lot's supplier. Quality managers only
    (403); 409 naming ``inspection`` for an accepted lot or one whose NC was raised.
    """
    return fabric.raise_fabric_nc(fabric.get_fabric_inspection(inspection_id), command, request_user())


class FabricAcceptance(Answer):
    """The acceptance points per 100 square yards set for a supplier's or a style's fabric."""

    #: null: none set (the default 40 applies unless the other side sets one).
    points: int | None
    default: int = fabric.DEFAULT_ACCEPTANCE_POINTS


@bp.get("/suppliers/<code>/fabric-acceptance")
@bp.output(FabricAcceptance)
@requires(Permission.VIEW)
def get_supplier_fabric_acceptance(code: str):
    return FabricAcceptance(points=fabric.supplier_limit(masterdata.get_supplier(code)))


@bp.put("/suppliers/<code>/fabric-acceptance")
@bp.input(FabricAcceptanceChange, arg_name="command")
@bp.output(FabricAcceptance)
@requires(Permission.MAINTAIN_CATALOG)
def set_supplier_fabric_acceptance(code: str, command: FabricAcceptanceChange):
    """Set the supplier's acceptance points, with the reason (kept in the supplier's history)."""
    supplier = masterdata.get_supplier(code)
    return FabricAcceptance(points=fabric.set_supplier_acceptance(supplier, command, request_user()))


@bp.get("/styles/<code>/fabric-acceptance")
@bp.output(FabricAcceptance)
@requires(Permission.VIEW)
def get_style_fabric_acceptance(code: str):
    return FabricAcceptance(points=fabric.style_limit(masterdata.get_style(code)))


@bp.put("/styles/<code>/fabric-acceptance")
@bp.input(FabricAcceptanceChange, arg_name="command")
@bp.output(FabricAcceptance)
@requires(Permission.MAINTAIN_CATALOG)
def set_style_fabric_acceptance(code: str, command: FabricAcceptanceChange):
    """Set the style's acceptance points for its fabric, with the reason (history at ``…/fabric-acceptance/
    history``)."""
    style = masterdata.get_style(code)
    return FabricAcceptance(points=fabric.set_style_acceptance(style, command, request_user()))
