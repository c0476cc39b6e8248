"""What the catalog, judging, lab-result and quality-plan services accept."""

from capa.common.clock import plant_today
from capa.common.commands import Boolean, Choice, Code, Command, Day, Items, LabValue, Text
from capa.masterdata.models import SafetyCategory
from capa.safety.judging import Comparator
from capa.safety.models import LimitCategory, ParameterKind

ParameterCode = Code(40)
Reason = Text(1000)


class NewLimit(Command):
    category: Choice(LimitCategory)
    comparator: Choice(Comparator)
    #: Read by the comparator: ``20``, ``4.0-8.5``, ``3-4``…
    limit: Text(200)


class ChangeLimit(Command):
    """A parameter's limit for one category (named by the URL), set with the reason kept in its history."""

    comparator: Choice(Comparator)
    limit: Text(200)
    reason: Reason


class NewParameter(Command):
    code: ParameterCode
    name: Text(200)
    #: The name in Simplified Chinese as the standard writes it, shown on Chinese pages.
    name_zh: Text(200, required=False) = None
    kind: Choice(ParameterKind)
    unit: Text(32)
    standard: Text(120)
    clause: Text(200, required=False) = None
    test_method: Text(200, required=False) = None
    limits: Items(NewLimit, required=True, max_items=4)
    reason: Reason


class Evaluate(Command):
    """A value judged without recording it."""

    parameter: ParameterCode
    category: Choice(SafetyCategory)
    value: LabValue()


class NewResult(Command):
    parameter: ParameterCode
    value: LabValue()
    lab: Text(120)
    report_number: Text(64)
    tested_at: Day(not_after=plant_today)
    #: One of the batch's lots, when the sample came from a material lot (a lab dip).
    lot: Code(64, required=False) = None


class AdjustPlan(Command):
    """Add a parameter to a style's quality plan (``included``) or drop it, for a reason."""

    parameter: ParameterCode
    included: Boolean = True
    reason: Reason


class ParameterFilters(Command):
    """The filters of the catalog list (query parameters)."""

    kind: Choice(ParameterKind, required=False) = None
    #: Parameters with a limit for this category (or for all).
    category: Choice(SafetyCategory, required=False) = None
    standard: Text(120, required=False) = None
