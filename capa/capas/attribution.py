"""Which suppliers an NC is charged to: the one rule the weekly summary and the supplier scorecards count by.

An NC is charged to a supplier only through material of that supplier it concerns, never to every supplier of
its batch (a formaldehyde failure is not the snap supplier's):

1. the lots the NC names: the lots it holds (``holds.lot_id``), the lot of the lab result it was raised from
   (``nonconformances.source_result_id``), the lots of its retests (``lab_results.nc_id``); when it names any,
   those alone decide;
2. else the lots of its batch whose kind its defect concerns, as its linked safety parameters say (the mapping
   of :mod:`capa.safety.materials`): colour fastness and the fabric's chemistry and burning to the fabric and dye
   lots, attachments, small parts, sharp points and the metal of trims to the trim lots;
3. else (no lot named, no parameter, or only parameters of no supplier's material: a seam, a cord's length, a
   label's wording, a print) to no supplier.

An NC counts once per supplier, whatever the number of its lots of that supplier.
"""

from sqlalchemy import and_, exists, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from capa.capas.models import Hold, NonConformance, nc_parameters
from capa.masterdata.models import LotKind, MaterialLot, batch_lots
from capa.safety.materials import CONCERNED_BY_PARAMETER_KIND, CONCERNED_LOT_KINDS
from capa.safety.models import LabResult, SafetyParameter


def concerned_lot_kinds():
    """(parameter_id, lot_kind) of every safety parameter whose failure concerns a kind of material lot: the
    catalog's few rows read through the mapping of :mod:`capa.safety.materials`."""
    selects = []
    for lot_kind in LotKind:
        keys = [key for key, kinds in CONCERNED_LOT_KINDS.items() if lot_kind in kinds]
        parameter_kinds = [kind for kind, kinds in CONCERNED_BY_PARAMETER_KIND.items() if lot_kind in kinds]
        clauses = [SafetyParameter.code.startswith(key, autoescape=True) for key in keys if key.endswith("-")]
        if codes := [key for key in keys if not key.endswith("-")]:
            clauses.append(SafetyParameter.code.in_(codes))
        if parameter_kinds:
            clauses.append(SafetyParameter.kind.in_(parameter_kinds))
        if clauses:
            selects.append(
                select(SafetyParameter.id.label("parameter_id"), literal(lot_kind.value).label("lot_kind")).where(
                    or_(*clauses)
                )
            )
    return union_all(*selects).subquery("concerned_kinds")


def charged_lots(ncs):
    """A subquery of (``nc_id``, ``lot_id``): the lots each NC meeting the condition ``ncs`` (a clause on
    :class:`NonConformance`) is charged through, by the module's rule. An NC with no row is charged to no
    supplier; join :class:`MaterialLot` on ``lot_id`` for the suppliers.

    Every branch is limited to the NCs of ``ncs``, and the parameters' lot kinds are a few catalog rows, so the
    database joins (and anti-joins) sets of their size.
    """
    source = aliased(LabResult)
    retest = aliased(LabResult)
    named = [
        select(Hold.nc_id.label("nc_id"), Hold.lot_id.label("lot_id"))
        .join(NonConformance, NonConformance.id == Hold.nc_id)
        .where(ncs, Hold.lot_id.is_not(None)),
        select(NonConformance.id, source.lot_id)
        .join(source, source.id == NonConformance.source_result_id)
        .where(ncs, source.lot_id.is_not(None)),
        select(retest.nc_id, retest.lot_id)
        .join(NonConformance, NonConformance.id == retest.nc_id)
        .where(ncs, retest.lot_id.is_not(None)),
    ]
    # Three NOT EXISTS, not one NOT (… OR …): each becomes an anti-join; an OR would be a filter run per NC.
    names_no_lot = (
        ~exists().where(Hold.nc_id == NonConformance.id, Hold.lot_id.is_not(None)),
        ~exists().where(retest.nc_id == NonConformance.id, retest.lot_id.is_not(None)),
        ~exists().where(source.id == NonConformance.source_result_id, source.lot_id.is_not(None)),
    )
    kinds = concerned_lot_kinds()
    concerned = (
        select(NonConformance.id, batch_lots.c.lot_id)
        .join(nc_parameters, nc_parameters.c.nc_id == NonConformance.id)
        .join(kinds, kinds.c.parameter_id == nc_parameters.c.parameter_id)
        .join(batch_lots, batch_lots.c.batch_id == NonConformance.batch_id)
        .join(MaterialLot, and_(MaterialLot.id == batch_lots.c.lot_id, MaterialLot.kind == kinds.c.lot_kind))
        .where(ncs, *names_no_lot)
    )
    return union_all(*named, concerned).subquery("charged_lots")
