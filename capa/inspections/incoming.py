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
  inspections' (:mod:`capa.suppliers.scorecard`);
- a rejected lot offers a quality manager its NC, with the lot on hold (:mod:`capa.inspections.lot_ncs`): of the
  defect type the manager chooses, critical when a critical defect was found.

Raises ValidationError naming ``lot``, ``supplier``, ``kind`` (a lot's recorded kind or supplier differs, a fabric
lot, an unknown supplier), ``lot_size``, ``level``, ``aql_major``, ``aql_minor``.
"""

from collections.abc import Iterable
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas.lookup import invalid
from capa.capas.models import NonConformance, Severity
from capa.common.errors import NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.aqls import DEFAULT_AQLS
from capa.inspections.commands import IncomingInspectionFilters, NewIncomingInspection, RaiseIncomingNC
from capa.inspections.lot_ncs import raise_lot_nc
from capa.inspections.models import DefectClass, IncomingInspection
from capa.inspections.sampling import Level, SamplingPlan, sampling_plan
from capa.inspections.verdict import Verdict, judge_lot
from capa.masterdata import service as masterdata
from capa.masterdata.approval import KIND_WORDS
from capa.masterdata.models import DYED_FABRIC, MaterialLot, Supplier

#: The longest list answered at once.
LIST_LIMIT = 200


def _lot(command: NewIncomingInspection, problems: dict[str, str]) -> MaterialLot | Supplier | None:
    """The recorded lot, or the supplier of a lot received with this inspection."""
    lot = masterdata.find_lot(command.lot)
    supplier = masterdata.find_supplier(command.supplier) if command.supplier else None
    if command.supplier and supplier is None:
        problems["supplier"] = str(_l("No supplier %(code)s.", code=command.supplier))
    kind = lot.kind if lot is not None else command.kind
    if kind in DYED_FABRIC:
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
        problems["kind"] = str(
            _l("Lot %(n)s is recorded as %(k)s.", n=lot.number, k=KIND_WORDS.get(lot.kind, lot.kind))
        )
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


#: The classes sampled by a plan of their own (critical defects have none: any one rejects).
AQL_CLASSES = (DefectClass.MAJOR, DefectClass.MINOR)
#: Up to this AQL, a plan counts nonconforming items (percent nonconforming): never more than the sample holds.
MOST_PERCENT_AQL = Decimal(10)


def _check_counts(
    found: dict[DefectClass, int], plans: dict[DefectClass, SamplingPlan], problems: dict[str, str]
) -> None:
    """A class counted as nonconforming items cannot find more than its sample holds, nor critical defects more
    than the units inspected (above AQL 10 a plan counts nonconformities per hundred units: any number)."""
    limits = {cls: plans[cls].units_to_inspect for cls in AQL_CLASSES if plans[cls].aql <= MOST_PERCENT_AQL}
    limits[DefectClass.CRITICAL] = max(plans[cls].units_to_inspect for cls in AQL_CLASSES)
    for cls, most in limits.items():
        if found[cls] > most:
            problems[f"{cls.value}_found"] = str(_l("More than the %(units)d units of its sample.", units=most))


def record_incoming_inspection(command: NewIncomingInspection, actor: User) -> IncomingInspection:
    """Record an incoming inspection of a lot by attributes (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    lot = _lot(command, problems)
    plans = _plans(command, problems)
    found = {
        DefectClass.CRITICAL: command.critical_found or 0,
        DefectClass.MAJOR: command.major_found or 0,
        DefectClass.MINOR: command.minor_found or 0,
    }
    if len(plans) == len(AQL_CLASSES):
        _check_counts(found, plans, problems)
    if problems:
        raise invalid(problems)
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


def default_title(inspection: IncomingInspection) -> str:
    return str(_l("Lot %(lot)s rejected at incoming inspection", lot=inspection.lot.number))


def default_description(inspection: IncomingInspection) -> str:
    lot = inspection.lot
    text = str(
        _l(
            "%(size)d pieces from %(supplier)s sampled at level %(level)s: %(critical)d critical, %(major)d major "
            "(Ac %(major_ac)d at AQL %(major_aql)s) and %(minor)d minor defects (Ac %(minor_ac)d at AQL "
            "%(minor_aql)s).",
            size=inspection.lot_size,
            supplier=lot.supplier.code,
            level=inspection.level,
            critical=inspection.critical_found,
            major=inspection.major_found,
            major_ac=inspection.major_accept,
            major_aql=inspection.aql_major,
            minor=inspection.minor_found,
            minor_ac=inspection.minor_accept,
            minor_aql=inspection.aql_minor,
        )
    )
    if inspection.note:
        text += "\n" + inspection.note
    return text if len(text) <= 4000 else text[:3999] + "…"


def raise_incoming_nc(inspection: IncomingInspection, command: RaiseIncomingNC, actor: User) -> NonConformance:
    """Raise the NC of a lot this inspection rejected, with the whole lot on hold (the module's rules and those
    of :mod:`capa.inspections.lot_ncs`; the errors they name)."""
    return raise_lot_nc(
        inspection,
        command,
        actor,
        default_defect_type=None,
        title=default_title(inspection),
        description=default_description(inspection),
        quantity=inspection.lot_size,
        severity=Severity.CRITICAL if inspection.critical_found else Severity.MAJOR,
        held_note=str(_l("Incoming inspection rejected the lot.")),
    )


# Reading ----------------------------------------------------------------------------------------------------------


def _listed(filters: IncomingInspectionFilters, limit: int | None):
    query = select(IncomingInspection).options(
        selectinload(IncomingInspection.lot).selectinload(MaterialLot.supplier),
        selectinload(IncomingInspection.inspector),
        selectinload(IncomingInspection.nc),
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
