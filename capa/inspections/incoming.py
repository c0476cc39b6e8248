"""Incoming inspection by attributes of material lots counted in pieces: trims, labels, thread, packaging.

The rules:
- a lot of a kind counted in pieces is inspected (fabric and dye lots are not: fabric is inspected by the 4-point
  system, :mod:`capa.inspections.fabric`); a lot not recorded yet is received with its inspection, from the
  supplier and of the kind given;
- each class with an AQL (major, minor; 2.5 and 4.0 unless given) gets its ISO 2859-1 single sampling plan for the
  lot's size at the inspection level (II unless given) under normal inspection (:mod:`capa.inspections.sampling`);
  the plans are stored as read;
- the defects found per class are judged by :func:`capa.inspections.verdict.judge_lot`: any critical defect
  rejects, else each class within its acceptance number accepts;
- the inspection is kept in the lot's history; the supplier's scorecard counts its verdict with the fabric
  inspections' (:mod:`capa.suppliers.scorecard`).

Raises ValidationError naming ``lot``, ``supplier``, ``kind`` (a lot's recorded kind or supplier differs, a fabric
lot, an unknown supplier), ``lot_size``, ``level``, ``aql_major``, ``aql_minor``.
"""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas.lookup import invalid
from capa.common.errors import NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.aqls import DEFAULT_AQLS
from capa.inspections.commands import IncomingInspectionFilters, NewIncomingInspection
from capa.inspections.models import DefectClass, IncomingInspection
from capa.inspections.sampling import Level, SamplingPlan, sampling_plan
from capa.inspections.verdict import Verdict, judge_lot
from capa.masterdata import service as masterdata
from capa.masterdata.models import LotKind, MaterialLot, Supplier

#: Lots inspected by the 4-point system, not by attributes.
FABRIC_KINDS = frozenset({LotKind.FABRIC, LotKind.DYE_LOT})
#: The longest list answered at once.
LIST_LIMIT = 200


def _lot(command: NewIncomingInspection, problems: dict[str, str]) -> MaterialLot | Supplier | None:
    """The recorded lot, or the supplier of a lot received with this inspection."""
    lot = masterdata.find_lot(command.lot)
    supplier = masterdata.find_supplier(command.supplier) if command.supplier else None
    if command.supplier and supplier is None:
        problems["supplier"] = str(_l("No supplier %(code)s.", code=command.supplier))
    kind = lot.kind if lot is not None else command.kind
    if kind in FABRIC_KINDS:
        problems["lot" if lot is not None else "kind"] = str(
            _l("Fabric is inspected by the 4-point system: record it as a fabric inspection.")
        )
    if lot is None:
        if command.supplier is None:
            problems["supplier"] = str(_l("Lot %(number)s is new: give its supplier.", number=command.lot))
        if command.kind is None:
            problems["kind"] = str(_l("Lot %(number)s is new: give its kind.", number=command.lot))
        return supplier
    if supplier is not None and lot.supplier_id != supplier.id:
        problems["supplier"] = str(
            _l("Lot %(number)s is recorded from %(supplier)s.", number=lot.number, supplier=lot.supplier.code)
        )
    if command.kind is not None and command.kind != lot.kind:
        problems["kind"] = str(_l("Lot %(n)s is recorded as %(k)s.", n=lot.number, k=lot.kind))
    return lot


def _plans(command: NewIncomingInspection, problems: dict[str, str]) -> dict[DefectClass, SamplingPlan]:
    aqls = {
        DefectClass.MAJOR: (command.aql_major or DEFAULT_AQLS[DefectClass.MAJOR], "aql_major"),
        DefectClass.MINOR: (command.aql_minor or DEFAULT_AQLS[DefectClass.MINOR], "aql_minor"),
    }
    plans = {}
    for cls, (aql, field) in aqls.items():
        try:
            plans[cls] = sampling_plan(command.lot_size, aql, level=command.level or Level.II)
        except ValidationError as error:
            problems.update({field if name == "aql" else name: message for name, message in error.fields.items()})
    return plans


def record_incoming_inspection(command: NewIncomingInspection, actor: User) -> IncomingInspection:
    """Record an incoming inspection of a lot by attributes (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    lot = _lot(command, problems)
    plans = _plans(command, problems)
    if problems:
        raise invalid(problems)
    found = {
        DefectClass.CRITICAL: command.critical_found or 0,
        DefectClass.MAJOR: command.major_found or 0,
        DefectClass.MINOR: command.minor_found or 0,
    }
    verdict = judge_lot(found, plans)
    with unit_of_work() as session:
        if isinstance(lot, Supplier):
            lot = MaterialLot(number=command.lot, kind=command.kind.value, supplier=lot)
            session.add(lot)
            records.note_created("lot", lot, actor, {"kind": lot.kind, "supplier": lot.supplier.code})
        inspection = _inspection(command, lot, plans, found, verdict, actor)
        session.add(inspection)
        session.flush()
        records.note_event(
            "lot",
            lot,
            actor,
            "incoming_inspection",
            field="verdict",
            new=inspection.verdict,
        )
    return inspection


def _inspection(
    command: NewIncomingInspection,
    lot: MaterialLot,
    plans: dict[DefectClass, SamplingPlan],
    found: dict[DefectClass, int],
    verdict: Verdict,
    actor: User,
) -> IncomingInspection:
    inspection = IncomingInspection(lot=lot, note=command.note or "", inspector=actor)
    inspection.record_plans(plans, found, verdict.accepted)
    return inspection


# Reading ----------------------------------------------------------------------------------------------------------


def _listed(filters: IncomingInspectionFilters, limit: int | None):
    query = select(IncomingInspection).options(
        selectinload(IncomingInspection.lot).selectinload(MaterialLot.supplier),
        selectinload(IncomingInspection.inspector),
    )
    query = query.where(
        *masterdata.lot_conditions(IncomingInspection.lot_id, lot=filters.lot, supplier=filters.supplier)
    )
    return query.order_by(IncomingInspection.inspected_at.desc(), IncomingInspection.id.desc()).limit(limit)


def list_incoming_inspections(filters: IncomingInspectionFilters, limit: int = LIST_LIMIT) -> list[IncomingInspection]:
    """Incoming inspections by attributes, newest first (the latest ``limit``), of one lot or one supplier's lots
    when given; an unknown lot or supplier answers NotFound."""
    return list(db.session.scalars(_listed(filters, limit)))


def exported_incoming_inspections(filters: IncomingInspectionFilters) -> Iterable[IncomingInspection]:
    """Every one matching ``filters``, newest first, a chunk at a time."""
    return db.session.scalars(_listed(filters, None).execution_options(yield_per=500))


def get_incoming_inspection(inspection_id: int) -> IncomingInspection:
    inspection = db.session.get(IncomingInspection, inspection_id) if inspection_id < 2**31 else None
    if inspection is None:
        raise NotFound(str(_l("No incoming inspection %(id)s.", id=inspection_id)), fields={"inspection": "unknown"})
    return inspection
