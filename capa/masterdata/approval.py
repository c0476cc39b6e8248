"""Whether a supplier is approved for a material on a day: the rule every check of a lot's supplier reads.

The rule: a supplier is approved for a lot of one kind on a day when its approval is ``approved``, its scope
names that kind (an empty scope covers every kind), its scope of safety parameters names every parameter the lot
is to meet (an empty scope covers every parameter), and its re-evaluation date, if set, is not past. Conditional,
suspended and disqualified suppliers are not approved: their lots go into a CMIA batch only under a concession a
quality manager records (:mod:`capa.masterdata.service`).

The parameters a lot is to meet are those the style's quality plan requires that concern its kind of material (a
fabric supplier approved for formaldehyde and pH only is not approved for an infant's bib that requires saliva
fastness). Plans are the safety catalog's, a layer above: its callers pass the codes
(:func:`capa.safety.materials.required_by_kind`); a lot checked with none is checked on its kind alone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flask_babel import lazy_gettext as _l

from capa.masterdata.models import LotKind, SupplierApproval

#: An approval as a sentence says it.
APPROVAL_WORDS = {
    SupplierApproval.APPROVED: _l("approved"),
    SupplierApproval.CONDITIONAL: _l("conditional"),
    SupplierApproval.SUSPENDED: _l("suspended"),
    SupplierApproval.DISQUALIFIED: _l("disqualified"),
}
#: A kind of material as a sentence says it.
KIND_WORDS = {
    LotKind.FABRIC: _l("fabric"),
    LotKind.DYE_LOT: _l("dye lot"),
    LotKind.TRIM: _l("trim"),
    LotKind.THREAD: _l("thread"),
    LotKind.LABEL: _l("label"),
    LotKind.PACKAGING: _l("packaging"),
    LotKind.OTHER: _l("other material"),
}


def _word(words: dict, value: str) -> str:
    return str(words.get(value, value))


class ApprovalRecord(Protocol):
    """What the rule reads of a supplier."""

    code: str
    approval: str
    approved_kinds: list
    approved_parameters: list
    reevaluate_on: date | None


@dataclass(frozen=True)
class ApprovalCheck:
    """The rule's answer for one supplier, kind and day; ``why`` says what keeps it from being approved."""

    approved: bool
    why: str = ""


def approval_for(supplier: ApprovalRecord, kind: str, day: date, required: Iterable[str] = ()) -> ApprovalCheck:
    """Whether ``supplier`` is approved for a lot of ``kind`` (a LotKind value) on ``day`` that is to meet the
    parameters of codes ``required`` (the module's rule)."""
    if supplier.approval != SupplierApproval.APPROVED:
        why = _l("%(code)s is %(approval)s.", code=supplier.code, approval=_word(APPROVAL_WORDS, supplier.approval))
        return ApprovalCheck(False, str(why))
    if supplier.approved_kinds and kind not in supplier.approved_kinds:
        return ApprovalCheck(
            False,
            str(
                _l(
                    "%(code)s is approved for %(kinds)s only, not %(kind)s.",
                    code=supplier.code,
                    kinds=", ".join(_word(KIND_WORDS, approved) for approved in supplier.approved_kinds),
                    kind=_word(KIND_WORDS, kind),
                )
            ),
        )
    outside = sorted(set(required) - set(supplier.approved_parameters)) if supplier.approved_parameters else []
    if outside:
        return ApprovalCheck(
            False,
            str(
                _l(
                    "%(code)s is approved for %(approved)s only, not %(required)s, which this style requires.",
                    code=supplier.code,
                    approved=", ".join(supplier.approved_parameters),
                    required=", ".join(outside),
                )
            ),
        )
    if supplier.reevaluate_on is not None and day > supplier.reevaluate_on:
        return ApprovalCheck(
            False,
            str(
                _l(
                    "%(code)s's approval lapsed: it was due for re-evaluation on %(day)s.",
                    code=supplier.code,
                    day=supplier.reevaluate_on.isoformat(),
                )
            ),
        )
    return ApprovalCheck(True)
