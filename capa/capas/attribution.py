"""Which suppliers an NC is charged to: the one rule the weekly summary and the supplier scorecards count by.

An NC is charged to a supplier only through material of that supplier it concerns, never to every supplier of
its batch (a formaldehyde failure is not the snap supplier's):

1. the lots the NC names: the lots it holds (``holds.lot_id``), the lot of the lab result it was raised from
   (``nonconformances.source_result_id``), the lots of its retests (``lab_results.nc_id``); when it names any,
   those alone decide;
2. else the lots of its batch whose kind its defect concerns, as its linked safety parameters say
   (:data:`CONCERNED_LOT_KINDS`, :data:`CONCERNED_BY_PARAMETER_KIND`): colour fastness and the fabric's chemistry
   and burning to the fabric and dye lots, attachments, small parts, sharp points and the metal of trims to the
   trim lots;
3. else (no lot named, no parameter, or only parameters of no supplier's material: a seam, a cord's length, a
   label's wording, a print) to no supplier.

An NC counts once per supplier, whatever the number of its lots of that supplier.
"""

from sqlalchemy import and_, exists, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from capa.capas.models import Hold, NonConformance, nc_parameters
from capa.masterdata.models import LotKind, MaterialLot, batch_lots
from capa.safety.models import LabResult, ParameterKind, SafetyParameter

#: Dyed fabric: the greige or finished fabric and the dye lot it was dyed in.
FABRIC = frozenset({LotKind.FABRIC, LotKind.DYE_LOT})
#: Buttons, snaps, zips, rivets and other attachments.
TRIM = frozenset({LotKind.TRIM})

#: The material a safety parameter's failure concerns, by parameter code (a key ending in "-" is a code
#: prefix: a family of parameters, those added later included). The catalog has no column saying which
#: material a parameter tests, so it is read from the codes of ``capa/reference/cmia_parameters.csv``:
#:
#: - colour fastness, formaldehyde (the resin finish), pH, odour and azo dyes are made in dyeing and
#:   finishing: the fabric and its dye lot; the burning behaviour of the outer fabric too;
#: - attachment strength, small parts, sharp points and edges, lead in a substrate and nickel release are
#:   properties of the trims (GB 31701 attachments, CPSIA s.101 substrates, REACH entries 27 and 63);
#: - left out on purpose, so charged to no supplier unless the NC names a lot: cords and drawstrings (their
#:   length and place are the garment's design and sewing), labelling (the factory's wording), lead, cadmium
#:   and phthalates of prints and coatings (applied to the cut garment; no lot kind holds them), fillings
#:   (no lot kind either) and the phthalates of child-care articles (in prints or plastic trims alike).
CONCERNED_LOT_KINDS: dict[str, frozenset[LotKind]] = {
    "CN-CF-": FABRIC,
    "CN-FORM": FABRIC,
    "EU-FORM": FABRIC,
    "CN-PH": FABRIC,
    "CN-ODOUR": FABRIC,
    "CN-AZO": FABRIC,
    "EU-AZO": FABRIC,
    "CN-FLAM": FABRIC,
    "US-FLAM-": FABRIC,
    "CN-ATT-": TRIM,
    "CN-SHARP-": TRIM,
    "US-SMALLPARTS": TRIM,
    "US-PB-SUB": TRIM,
    "EU-PB-63": TRIM,
    "EU-NI-27": TRIM,
}
#: The same, by the parameter's kind, for parameters whatever their code (a colour fastness a quality manager
#: added): colour fastness is always the dyed fabric's. Chemical and physical parameters concern fabric,
#: trims or neither, so their kind alone decides nothing.
CONCERNED_BY_PARAMETER_KIND: dict[str, frozenset[LotKind]] = {ParameterKind.COLORFASTNESS: FABRIC}


def concerned_lot_kinds():
    """(parameter_id, lot_kind) of every safety parameter whose failure concerns a kind of material lot: the
    catalog's few rows read through :data:`CONCERNED_LOT_KINDS` and :data:`CONCERNED_BY_PARAMETER_KIND`."""
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


def lot_kinds_concerned(parameter: SafetyParameter) -> frozenset[LotKind]:
    """The kinds of material lot a failure of ``parameter`` concerns, by :data:`CONCERNED_LOT_KINDS` and
    :data:`CONCERNED_BY_PARAMETER_KIND` (the rule :func:`concerned_lot_kinds` reads in SQL), for one parameter at
    hand."""
    kinds: set[LotKind] = set(CONCERNED_BY_PARAMETER_KIND.get(parameter.kind, frozenset()))
    for key, lot_kinds in CONCERNED_LOT_KINDS.items():
        if parameter.code == key or (key.endswith("-") and parameter.code.startswith(key)):
            kinds |= lot_kinds
    return frozenset(kinds)
