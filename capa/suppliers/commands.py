"""What supplier evaluation and corrective action take: a quality manager's approval decision, a request sent to a
supplier, its answer and the review of the answer."""

from capa.common.commands import Choice, Code, Command, Day, Items, Text
from capa.masterdata.models import LotKind, SupplierApproval
from capa.safety.commands import ParameterCode
from capa.suppliers.models import ScarDecision, ScarStatus


class ApprovalDecision(Command):
    """A decision on a supplier's approval, taken on its scorecard; it may confirm the approval as it stands."""

    approval: Choice(SupplierApproval)
    #: The material kinds the approval covers (an empty list: all kinds); left out: unchanged.
    approved_kinds: Items(Choice(LotKind), max_items=len(LotKind), null_is_empty=False) = None
    #: The codes of the safety parameters the approval covers (an empty list: all); each must be in the catalog
    #: and concern a kind of material lot. A lot is to meet those its style's plan requires. Left out: unchanged.
    approved_parameters: Items(ParameterCode, max_items=200, null_is_empty=False) = None
    #: The day the approval is to be evaluated again; null takes the date away; left out: unchanged.
    reevaluate_on: Day(required=False) = None
    #: Why: kept with the decision and in the supplier's history.
    reason: Text(1000)


class NewScarRequest(Command):
    """A SCAR action sent to its supplier as a request."""

    #: The supplier's code.
    supplier: Code()
    #: The day the containment is due (``YYYY-MM-DD``), today or later.
    containment_due: Day()
    #: The day the root cause and the actions are due, not before the containment's.
    answer_due: Day()
    #: What the quality manager asks beside what failed; optional.
    message: Text(4000, required=False) = None


class ScarAnswerCommand(Command):
    """A supplier's answer to a request, in Chinese or English. Its evidence files come beside it."""

    #: What was done at once to protect the factory's goods (stock sorted, lots held, shipments stopped).
    containment: Text(4000)
    #: The 5 Whys, in order: one to five answers.
    whys: Items(Text(1000), max_items=5, required=True, drop_blank=True)
    root_cause: Text(4000)
    #: The corrective and preventive actions, with who does them and by when.
    actions: Text(4000)
    #: A dye, chemical or auxiliary the supplier changed, from what to what: it opens a change request, which the
    #: factory controls before the new material reaches a garment.
    chemical_change: Text(1000, required=False) = None


class ScarReview(Command):
    """A quality manager's review of a supplier's latest answer."""

    #: ``accept`` closes the request; ``return`` asks for another round.
    decision: Choice(ScarDecision)
    #: Why; required to return an answer.
    comment: Text(4000, required=False) = None
    #: With ``return``: a new day the answer is due (today or later); left out, the day stays.
    answer_due: Day(required=False) = None


class ScarFilters(Command):
    """The filters of the request list (query parameters)."""

    #: A supplier's code (the factory's people only: a supplier's account sees its own).
    supplier: Code(required=False) = None
    status: Choice(ScarStatus, required=False) = None
