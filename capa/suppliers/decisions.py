"""A quality manager's decision on a supplier's approval, taken on its scorecard.

The rule: the scorecard's grade suggests an approval; a quality manager decides, with a reason, whatever the
suggestion. The decision sets the supplier's approval, and its scope and re-evaluation date when given, as a
change of them through the supplier's master data does (the same history entries); it is recorded with the
rolling 12 months' score, grade and suggestion as they stood, so an auditor sees what the decision was taken on.
A decision may confirm the approval as it stands (a periodic evaluation): it is recorded all the same. Its scope
of safety parameters names parameters of the catalog that concern a kind of material lot
(:mod:`capa.safety.materials`): a supplier cannot be approved for a seam or a label's wording.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.accounts.permissions import Permission, allowed
from capa.audit import records
from capa.common.errors import PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.masterdata.models import Supplier
from capa.masterdata.service import apply_supplier_changes
from capa.safety.materials import lot_kinds_concerned
from capa.safety.models import SafetyParameter
from capa.suppliers.commands import ApprovalDecision
from capa.suppliers.models import SupplierDecision
from capa.suppliers.scorecard import Scorecard


def decide(card: Scorecard, command: ApprovalDecision, actor: User | None) -> SupplierDecision:
    """Record ``actor``'s decision on the approval of ``card``'s supplier (the module's rule). Raises
    PermissionDenied naming ``approval`` for anyone but a quality manager (the command line may), and what
    :func:`capa.masterdata.service.update_supplier` raises for the changes; ValidationError naming
    ``approved_parameters[i]`` for a code not in the catalog or of a parameter no material lot concerns."""
    if actor is not None and not allowed(actor, Permission.MAINTAIN_CATALOG):
        raise PermissionDenied(
            str(_l("Only a quality manager decides a supplier's approval.")),
            fields={"approval": str(_l("Only a quality manager may change this."))},
        )
    supplier = card.supplier
    given = {"approval": command.approval.value}
    if command.approved_kinds is not None:
        given["approved_kinds"] = [kind.value for kind in command.approved_kinds]
    if command.approved_parameters is not None:
        given["approved_parameters"] = _parameter_codes(command.approved_parameters)
    if "reevaluate_on" in command.model_fields_set:
        given["reevaluate_on"] = command.reevaluate_on
    rolling = card.rolling
    with unit_of_work() as session:
        previous = supplier.approval
        apply_supplier_changes(supplier, given, command.reason, actor)
        decision = SupplierDecision(
            supplier=supplier,
            previous_approval=previous,
            approval=supplier.approval,
            approved_kinds=list(supplier.approved_kinds),
            approved_parameters=list(supplier.approved_parameters),
            reevaluate_on=supplier.reevaluate_on,
            score=rolling.score,
            grade=rolling.grade,
            suggested_approval=card.suggested_approval,
            reason=command.reason,
            decided_by_id=actor.id if actor is not None else None,
        )
        session.add(decision)
        records.note_event(
            "supplier",
            supplier,
            actor,
            "decision",
            field="approval",
            old=previous,
            new=supplier.approval,
            reason=command.reason,
        )
    return decision


def scope_parameters(supplier: Supplier) -> list[SafetyParameter]:
    """The parameters a decision on ``supplier`` may limit its approval to (the module's rule), by code: those of
    the catalog, not retired, that concern a kind of material lot, and those its approval names now."""
    query = select(SafetyParameter).order_by(SafetyParameter.code)
    return [
        parameter
        for parameter in db.session.scalars(query)
        if parameter.code in supplier.approved_parameters or (not parameter.retired and lot_kinds_concerned(parameter))
    ]


def _parameter_codes(codes: list[str]) -> list[str]:
    """``codes`` checked against the catalog (the module's rule), each once."""
    found = {
        parameter.code: parameter
        for parameter in db.session.scalars(select(SafetyParameter).where(SafetyParameter.code.in_(codes)))
    }
    problems: dict[str, str] = {}
    for index, code in enumerate(codes):
        parameter = found.get(code)
        if parameter is None:
            problems[f"approved_parameters[{index}]"] = str(_l("No safety parameter %(code)s.", code=code))
        elif not lot_kinds_concerned(parameter):
            problems[f"approved_parameters[{index}]"] = str(
                _l("%(code)s concerns no supplier's material: an approval cannot cover it.", code=code)
            )
    if problems:
        raise ValidationError(str(_l("Please correct the fields marked.")), fields=problems)
    return list(dict.fromkeys(codes))


def decisions_of(supplier: Supplier) -> list[SupplierDecision]:
    """The decisions on ``supplier``'s approval, latest first."""
    query = (
        select(SupplierDecision)
        .where(SupplierDecision.supplier_id == supplier.id)
        .options(selectinload(SupplierDecision.decided_by))
        .order_by(SupplierDecision.decided_at.desc(), SupplierDecision.id.desc())
    )
    return list(db.session.scalars(query))
