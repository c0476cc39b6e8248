"""What supplier evaluation takes: a quality manager's approval decision."""

from capa.common.commands import Choice, Command, Day, Items, Text
from capa.masterdata.models import LotKind, SupplierApproval


class ApprovalDecision(Command):
    """A decision on a supplier's approval, taken on its scorecard; it may confirm the approval as it stands."""

    approval: Choice(SupplierApproval)
    #: The material kinds the approval covers (an empty list: all kinds); left out: unchanged.
    approved_kinds: Items(Choice(LotKind), max_items=len(LotKind), null_is_empty=False) = None
    #: The day the approval is to be evaluated again; null takes the date away; left out: unchanged.
    reevaluate_on: Day(required=False) = None
    #: Why: kept with the decision and in the supplier's history.
    reason: Text(1000)
