"""Which kind of material a safety parameter tests: the mapping the supplier charged with an NC, the scope of a
supplier's approval by parameter and the impact of a change request all read.

A failure of a parameter concerns the material it is made in: colour fastness and the fabric's chemistry and
burning the fabric and its dye lot, attachments, small parts, sharp points and the metal of trims the trim lots.
Parameters of no supplier's material (a seam, a cord's length, a label's wording, a print) concern no lot kind.
"""

from collections.abc import Iterable

from capa.masterdata.models import DYED_FABRIC, LotKind
from capa.safety.models import ParameterKind, SafetyParameter

#: Dyed fabric (capa.masterdata.models.DYED_FABRIC), as the mapping names it.
FABRIC = DYED_FABRIC
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


def lot_kinds_concerned(parameter: SafetyParameter) -> frozenset[LotKind]:
    """The kinds of material lot a failure of ``parameter`` concerns, by :data:`CONCERNED_LOT_KINDS` and
    :data:`CONCERNED_BY_PARAMETER_KIND` (the rule :func:`capa.capas.attribution.concerned_lot_kinds` reads in
    SQL), for one parameter at hand."""
    kinds: set[LotKind] = set(CONCERNED_BY_PARAMETER_KIND.get(parameter.kind, frozenset()))
    for key, lot_kinds in CONCERNED_LOT_KINDS.items():
        if parameter.code == key or (key.endswith("-") and parameter.code.startswith(key)):
            kinds |= lot_kinds
    return frozenset(kinds)


def required_by_kind(required: Iterable[SafetyParameter]) -> dict[str, tuple[str, ...]]:
    """The codes of the ``required`` parameters (a style's plan) that concern each kind of material lot, by the lot
    kind's value: what a supplier of that kind of material must be approved for (:mod:`capa.masterdata.approval`).
    A kind no required parameter concerns is left out."""
    codes: dict[str, set[str]] = {}
    for parameter in required:
        for kind in lot_kinds_concerned(parameter):
            codes.setdefault(kind.value, set()).add(parameter.code)
    return {kind: tuple(sorted(found)) for kind, found in codes.items()}
