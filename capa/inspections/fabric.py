"""Incoming inspection of fabric lots by the 4-point system, and what a rejected lot may set off.

The rules:
- the lot is a material lot of kind ``fabric``; its rolls are scored and judged by
  :mod:`capa.inspections.fourpoint`, in the units the inspector measured in (yards or metres for lengths and
  places along a roll, inches or centimetres for widths and sizes), and stored as measured with the points,
  figures and faults found;
- the acceptance points per 100 square yards are the supplier's and the style's (when the inspection names a
  style), the stricter when both are set, else 40; the inspection keeps the points it was judged against and whose
  they were, so a later change of the setting does not rewrite it;
- a quality manager sets a supplier's or a style's acceptance points with a reason, kept in its history;
- a rejected lot offers to raise an NC against its supplier: the NC (source incoming material, major, the defect
  type of its first fault: points over the limit, shade variation, or width short, unless one is given) holds the
  lot, which charges the NC to the lot's supplier in the figures (:mod:`capa.trends.figures`); it is filed on the
  line given, else the one line the lot's batches share. One NC per inspection.

:func:`record_fabric_inspection` raises ValidationError naming each bad field: ``lot`` (unknown, or not a fabric
lot), ``supplier`` (unknown, missing for a lot not yet recorded, which the inspection then receives, or not the
recorded lot's), ``style`` (unknown), ``rolls[i].number`` (given twice), ``rolls[i].defects[j].at`` (beyond the roll's
length), ``rolls[i].defects[j].through`` (not after ``at``, or beyond the roll), ``rolls[i].defects[j].size``
(missing on a defect that is not running), ``rolls[i].defects[j].code`` (unknown or retired).
:func:`raise_fabric_nc` raises Conflict naming ``inspection`` for an accepted lot or one that already has its NC,
ValidationError naming ``line`` or ``defect_type``, and PermissionDenied for one who may not hold goods.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas.lookup import invalid
from capa.capas.models import NonConformance
from capa.common.errors import NotFound
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.commands import (
    FabricAcceptanceChange,
    FabricInspectionFilters,
    FabricRollMeasured,
    NewFabricInspection,
    RaiseFabricNC,
)
from capa.inspections.defects import find_defect_code
from capa.inspections.figures import period_bounds
from capa.inspections.fourpoint import (
    DEFAULT_ACCEPTANCE_POINTS,
    METRES_PER_YARD,
    DefectMark,
    LengthUnit,
    LotJudgement,
    Roll,
    RollFault,
    WidthUnit,
    in_inches,
    in_yards,
    judge_fabric_lot,
    mark_points,
    shown,
)
from capa.inspections.lot_ncs import raise_lot_nc
from capa.inspections.models import (
    DefectCode,
    FabricDefect,
    FabricInspection,
    FabricRoll,
    InspectionVerdict,
    StyleFabricLimit,
    SupplierFabricLimit,
)
from capa.masterdata import service as masterdata
from capa.masterdata.models import LotKind, MaterialLot, Style, Supplier

#: The defect type of a rejected lot's NC, by its first fault.
FAULT_DEFECT_TYPES = {
    RollFault.POINTS: "fabric_points_over_limit",
    RollFault.SHADE: "shade_variation",
    RollFault.WIDTH: "fabric_width_short",
}
FAULT_WORDS = {
    RollFault.POINTS: _l("points over the limit"),
    RollFault.WIDTH: _l("under the width ordered"),
    RollFault.SHADE: _l("off shade"),
}


@dataclass(frozen=True)
class Acceptance:
    """The acceptance points a lot is judged against, and whose they are: ``style``, ``supplier`` or ``default``."""

    points: int
    source: str


def supplier_limit(supplier: Supplier) -> int | None:
    return db.session.scalar(select(SupplierFabricLimit.points).where(SupplierFabricLimit.supplier_id == supplier.id))


def style_limit(style: Style) -> int | None:
    return db.session.scalar(select(StyleFabricLimit.points).where(StyleFabricLimit.style_id == style.id))


def acceptance_for(supplier: Supplier, style: Style | None) -> Acceptance:
    """The stricter of the supplier's and the style's acceptance points, else the default 40."""
    candidates = [(supplier_limit(supplier), "supplier")]
    if style is not None:
        candidates.append((style_limit(style), "style"))
    set_ = [(points, source) for points, source in candidates if points is not None]
    if not set_:
        return Acceptance(DEFAULT_ACCEPTANCE_POINTS, "default")
    points, source = min(set_)
    return Acceptance(points, source)


def _set_limit(model, key: str, record, record_type: str, command: FabricAcceptanceChange, actor: User) -> int:
    with unit_of_work() as session:
        limit = session.get(model, record.id)
        before = limit.points if limit is not None else None
        if limit is None:
            limit = model(**{key: record.id})
            session.add(limit)
        limit.points = command.points
        records.note_changes(
            record_type,
            record,
            actor,
            {"fabric_acceptance_points": (before, command.points)},
            reason=command.reason,
        )
    return command.points


def set_supplier_acceptance(supplier: Supplier, command: FabricAcceptanceChange, actor: User) -> int:
    """Set ``supplier``'s acceptance points (kept in the supplier's history with the reason)."""
    return _set_limit(SupplierFabricLimit, "supplier_id", supplier, "supplier", command, actor)


def set_style_acceptance(style: Style, command: FabricAcceptanceChange, actor: User) -> int:
    """Set ``style``'s acceptance points for its fabric (kept in its ``style_fabric`` history with the reason)."""
    return _set_limit(StyleFabricLimit, "style_id", style, "style_fabric", command, actor)


# Recording --------------------------------------------------------------------------------------------------------


def _lot(command: NewFabricInspection, problems: dict[str, str]) -> MaterialLot | Supplier | None:
    """The recorded lot, or the supplier of a lot to be received."""
    lot = masterdata.find_lot(command.lot)
    supplier = masterdata.find_supplier(command.supplier) if command.supplier else None
    if command.supplier and supplier is None:
        problems["supplier"] = str(_l("No supplier %(code)s.", code=command.supplier))
    if lot is None:
        if command.supplier is None:
            problems["supplier"] = str(_l("Lot %(number)s is new: give its supplier.", number=command.lot))
        return supplier
    if lot.kind != LotKind.FABRIC:
        problems["lot"] = str(_l("Lot %(number)s is not a fabric lot.", number=lot.number))
    elif supplier is not None and lot.supplier_id != supplier.id:
        problems["supplier"] = str(
            _l("Lot %(number)s is recorded from %(supplier)s.", number=lot.number, supplier=lot.supplier.code)
        )
    return lot


def _codes(command: NewFabricInspection, problems: dict[str, str]) -> dict[str, DefectCode]:
    given = {mark.code for roll in command.rolls for mark in roll.defects if mark.code}
    found = {code: find_defect_code(code) for code in sorted(given)}
    for i, roll in enumerate(command.rolls):
        for j, mark in enumerate(roll.defects):
            code = found.get(mark.code) if mark.code else None
            if mark.code and (code is None or not code.active):
                problems[f"rolls[{i}].defects[{j}].code"] = str(_l("No defect code %(code)s in use.", code=mark.code))
    return {code: record for code, record in found.items() if record is not None}


def _check_roll(i: int, roll: FabricRollMeasured, numbers: set[str], problems: dict[str, str]) -> None:
    if roll.number in numbers:
        problems[f"rolls[{i}].number"] = str(_l("Roll %(number)s is given twice.", number=roll.number))
    numbers.add(roll.number)
    for j, mark in enumerate(roll.defects):
        field = f"rolls[{i}].defects[{j}]"
        if mark.at > roll.length:
            problems[f"{field}.at"] = str(_l("Beyond the roll's length (%(length)s).", length=roll.length))
        if mark.through is not None and not mark.at < mark.through <= roll.length:
            problems[f"{field}.through"] = str(_l("Must be after where it starts, within the roll's length."))
        if mark.through is None and mark.size is None:
            problems[f"{field}.size"] = str(_l("Give its size, or where a running defect ends."))


def _rolls(command: NewFabricInspection, length_unit: LengthUnit, width_unit: WidthUnit) -> list[Roll]:
    return [
        Roll(
            number=roll.number,
            yards=in_yards(roll.length, length_unit),
            width_inches=in_inches(roll.width, width_unit),
            marks=tuple(
                DefectMark.measured(mark.at, mark.size, length_unit, width_unit, hole=mark.hole, through=mark.through)
                for mark in roll.defects
            ),
            shade_matches=roll.shade_matches,
        )
        for roll in command.rolls
    ]


def record_fabric_inspection(command: NewFabricInspection, actor: User) -> FabricInspection:
    """Record a 4-point inspection of a fabric lot (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    lot = _lot(command, problems)
    style = None
    if command.style:
        style = masterdata.find_style(command.style)
        if style is None:
            problems["style"] = str(_l("No style %(code)s.", code=command.style))
    numbers: set[str] = set()
    for i, roll in enumerate(command.rolls):
        _check_roll(i, roll, numbers, problems)
    codes = _codes(command, problems)
    if problems:
        raise invalid(problems)
    length_unit = command.length_unit or LengthUnit.YARDS
    width_unit = command.width_unit or WidthUnit.INCHES
    rolls = _rolls(command, length_unit, width_unit)
    supplier = lot if isinstance(lot, Supplier) else lot.supplier
    acceptance = acceptance_for(supplier, style)
    required = None if command.required_width is None else in_inches(command.required_width, width_unit)
    judged = judge_fabric_lot(rolls, acceptance.points, required)
    with unit_of_work() as session:
        if isinstance(lot, Supplier):
            lot = MaterialLot(number=command.lot, kind=LotKind.FABRIC.value, supplier=supplier)
            session.add(lot)
            records.note_created("lot", lot, actor, {"kind": lot.kind, "supplier": supplier.code})
        inspection = _inspection(command, lot, style, acceptance, judged, length_unit, width_unit, actor)
        for measured, roll_judged in zip(command.rolls, judged.rolls, strict=True):
            roll = FabricRoll(
                number=measured.number,
                length=measured.length,
                width=measured.width,
                shade_matches=measured.shade_matches,
                points=roll_judged.points,
                points_per_100=shown(roll_judged.per_100_square_yards),
                faults=[fault.value for fault in roll_judged.faults],
            )
            for mark, exact in zip(measured.defects, roll_judged.roll.marks, strict=True):
                roll.defects.append(
                    FabricDefect(
                        at=mark.at,
                        through=mark.through,
                        size=mark.size,
                        hole=mark.hole,
                        points=mark_points(exact, roll_judged.roll.yards),
                        defect_code=codes.get(mark.code) if mark.code else None,
                    )
                )
            inspection.rolls.append(roll)
        session.add(inspection)
    return inspection


def _inspection(
    command: NewFabricInspection,
    lot: MaterialLot,
    style: Style | None,
    acceptance: Acceptance,
    judged: LotJudgement,
    length_unit: LengthUnit,
    width_unit: WidthUnit,
    actor: User,
) -> FabricInspection:
    return FabricInspection(
        lot=lot,
        style=style,
        length_unit=length_unit.value,
        width_unit=width_unit.value,
        required_width=command.required_width,
        acceptance_points=acceptance.points,
        acceptance_source=acceptance.source,
        points=judged.points,
        length_inspected=sum((roll.length for roll in command.rolls), Decimal(0)),
        square_yards=shown(judged.square_yards),
        points_per_100=shown(judged.per_100_square_yards),
        verdict=(InspectionVerdict.ACCEPTED if judged.accepted else InspectionVerdict.REJECTED).value,
        faults=[fault.value for fault in judged.faults],
        note=command.note or "",
        inspector=actor,
    )


# Reading ----------------------------------------------------------------------------------------------------------

#: The longest list answered at once.
LIST_LIMIT = 200


def _loaded():
    return (
        selectinload(FabricInspection.lot).selectinload(MaterialLot.supplier),
        selectinload(FabricInspection.style),
        selectinload(FabricInspection.inspector),
        selectinload(FabricInspection.nc),
    )


def list_fabric_inspections(filters: FabricInspectionFilters, limit: int = LIST_LIMIT) -> list[FabricInspection]:
    """Fabric inspections, newest first (the latest ``limit``), of one lot or one supplier's lots when given; an
    unknown lot or supplier answers NotFound."""
    return list(db.session.scalars(_listed(filters, limit)))


def exported_fabric_inspections(filters: FabricInspectionFilters) -> Iterable[FabricInspection]:
    """Every fabric inspection matching ``filters``, newest first, with its rolls, read a chunk at a time (an
    export of years of them runs in constant memory); raises what :func:`list_fabric_inspections` raises."""
    return db.session.scalars(_listed(filters, None).execution_options(yield_per=500))


def _listed(filters: FabricInspectionFilters, limit: int | None):
    query = select(FabricInspection).options(
        *_loaded(), selectinload(FabricInspection.rolls).selectinload(FabricRoll.defects)
    )
    query = query.where(*masterdata.lot_conditions(FabricInspection.lot_id, lot=filters.lot, supplier=filters.supplier))
    return query.order_by(FabricInspection.inspected_at.desc(), FabricInspection.id.desc()).limit(limit)


def get_fabric_inspection(inspection_id: int) -> FabricInspection:
    inspection = (
        db.session.scalar(
            select(FabricInspection)
            .where(FabricInspection.id == inspection_id)
            .options(
                *_loaded(),
                selectinload(FabricInspection.rolls)
                .selectinload(FabricRoll.defects)
                .selectinload(FabricDefect.defect_code),
            )
        )
        if inspection_id < 2**31
        else None
    )
    if inspection is None:
        raise NotFound(str(_l("No fabric inspection %(id)s.", id=inspection_id)), fields={"id": "unknown"})
    return inspection


@dataclass(frozen=True)
class SupplierFabricFigure:
    """A supplier's fabric over a period: lots inspected and accepted, and points per 100 square yards over the
    whole area inspected (points summed over square yards summed, so a big lot weighs more than a small one)."""

    supplier: str
    name: str
    inspected: int
    accepted: int
    points: int
    square_yards: Decimal

    @property
    def points_per_100(self) -> Decimal:
        return (Decimal(self.points * 100) / self.square_yards).quantize(Decimal("0.01"))


def supplier_figures(start: date, end: date) -> list[SupplierFabricFigure]:
    """Per supplier, its fabric inspections from plant day ``start`` to ``end`` (both included): one statement."""
    return supplier_figures_between(*period_bounds(start, end))


def supplier_figures_between(since: datetime, until: datetime) -> list[SupplierFabricFigure]:
    """Per supplier, its fabric inspections from ``since`` up to ``until``: one statement."""
    query = (
        select(
            Supplier.code,
            Supplier.name,
            func.count(FabricInspection.id),
            func.count(FabricInspection.id).filter(FabricInspection.verdict == InspectionVerdict.ACCEPTED.value),
            func.sum(FabricInspection.points),
            func.sum(FabricInspection.square_yards),
        )
        .join(MaterialLot, MaterialLot.id == FabricInspection.lot_id)
        .join(Supplier, Supplier.id == MaterialLot.supplier_id)
        .group_by(Supplier.code, Supplier.name)
        .order_by(Supplier.code)
    )
    query = query.where(FabricInspection.inspected_at >= since, FabricInspection.inspected_at < until)
    return [
        SupplierFabricFigure(code, name, int(inspected), int(accepted), int(points), Decimal(area))
        for code, name, inspected, accepted, points, area in db.session.execute(query)
    ]


# Raising an NC ----------------------------------------------------------------------------------------------------


def default_title(inspection: FabricInspection) -> str:
    return str(_l("Fabric lot %(lot)s rejected at incoming inspection", lot=inspection.lot.number))


def default_description(inspection: FabricInspection) -> str:
    lot = inspection.lot
    lines = [
        str(
            _l(
                "4-point inspection of %(rolls)d rolls from %(supplier)s: %(points)d points, %(figure)s per 100 "
                "square yards against %(limit)d.",
                rolls=len(inspection.rolls),
                supplier=lot.supplier.code,
                points=inspection.points,
                figure=inspection.points_per_100,
                limit=inspection.acceptance_points,
            )
        )
    ]
    for roll in inspection.rolls:
        if roll.faults:
            faults = ", ".join(str(FAULT_WORDS[RollFault(fault)]) for fault in roll.faults)
            lines.append(
                str(
                    _l(
                        "Roll %(number)s: %(figure)s per 100 square yards, %(faults)s.",
                        number=roll.number,
                        figure=roll.points_per_100,
                        faults=faults,
                    )
                )
            )
    text = "\n".join(lines)
    return text if len(text) <= 4000 else text[:3999] + "…"


def raise_fabric_nc(inspection: FabricInspection, command: RaiseFabricNC, actor: User) -> NonConformance:
    """Raise the NC of a rejected fabric lot, with the lot on hold (:mod:`capa.inspections.lot_ncs`), of the
    defect type of the lot's first fault unless given, held in metres (capa.capas.models.Hold) whatever the unit it
    was inspected in."""
    metres = Fraction(inspection.length_inspected)
    if inspection.length_unit == LengthUnit.YARDS:
        metres *= METRES_PER_YARD
    return raise_lot_nc(
        inspection,
        command,
        actor,
        default_defect_type=FAULT_DEFECT_TYPES[RollFault(inspection.faults[0])] if inspection.faults else None,
        title=default_title(inspection),
        description=default_description(inspection),
        quantity=max(1, round(metres)),
        style=inspection.style.code if inspection.style is not None else None,
        held_note=str(_l("Incoming fabric inspection rejected the lot.")),
    )
