"""What the catalog, judging, lab-result and quality-plan services accept."""

from pydantic import Field

from capa.common.clock import plant_today
from capa.common.commands import Boolean, Choice, Code, Command, Day, Items, LabValue, Text
from capa.masterdata.models import Market, SafetyCategory
from capa.safety.judging import Comparator
from capa.safety.models import Component, LimitCategory, ParameterKind

ParameterCode = Code(40)
Reason = Text(1000)


class NewLimit(Command):
    category: Choice(LimitCategory)
    comparator: Choice(Comparator)
    #: Read by the comparator: ``20``, ``4.0-8.5``, ``3-4``…
    limit: Text(200)
    #: A condition on the garment (``dark_shade``) under which this limit replaces the category's plain one.
    condition: Text(120, required=False) = None


class ChangeLimit(Command):
    """A parameter's limit for one category (named by the URL), set with the reason kept in its history."""

    comparator: Choice(Comparator)
    limit: Text(200)
    reason: Reason
    #: The limit that holds where this condition on the garment holds (``dark_shade``); empty for the plain one.
    condition: Text(120, required=False) = None


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
    limits: Items(NewLimit, required=True, max_items=8)
    #: The market whose rules it belongs to; it applies only to styles sold there.
    market: Choice(Market, required=False) = Market.CN
    #: When it applies to a garment, in capa.safety.applicability's terms (``prints``, ``cords=hood_neck``).
    applies_when: Text(300, required=False) = None
    #: Always applies where its market and category apply: cannot be marked not applicable for a style.
    mandatory: Boolean = False
    #: The usual reporting limit of its method, for "not detected" written without one.
    reporting_limit: Text(32, required=False) = None
    reason: Reason


class Evaluate(Command):
    """A value judged without recording it."""

    parameter: ParameterCode
    category: Choice(SafetyCategory)
    value: LabValue()
    #: The lab's reporting limit, when given apart from the value (``ND`` with a reporting limit of 20).
    reporting_limit: LabValue(required=False) = None
    #: Why the parameter does not apply, for a value written ``N/A``.
    na_reason: Text(1000, required=False) = None


class NewResult(Command):
    parameter: ParameterCode
    value: LabValue()
    #: The lab's reporting limit, when given apart from the value (``ND`` with a reporting limit of 20).
    reporting_limit: LabValue(required=False) = None
    #: Why the parameter does not apply to this garment, for a result recorded as ``N/A``.
    na_reason: Text(1000, required=False) = None
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


class NewLaboratory(Command):
    """A testing laboratory as its reports name it, with its accreditation."""

    #: Found by name (any case) when the laboratory is known already.
    name: Text(120)
    #: China National Accreditation Service number (``L0599``; a leading ``CNAS`` is dropped).
    cnas_number: Text(40, required=False) = None
    #: China Inspection Body and Laboratory Mandatory Approval number (a leading ``CMA`` is dropped).
    cma_number: Text(40, required=False) = None
    #: Another ISO/IEC 17025 accreditation: the body and its number (``A2LA 1234.01``).
    iso17025: Text(120, required=False) = None


class ReportResult(Command):
    """One row of a lab report's results table."""

    parameter: ParameterCode
    value: LabValue()
    #: The lab's reporting limit, when given apart from the value (``ND`` with a reporting limit of 20).
    reporting_limit: LabValue(required=False) = None
    #: Why the parameter does not apply to this garment, for a result written ``N/A``.
    na_reason: Text(1000, required=False) = None
    #: The material lot the specimen came from, when not the whole sample.
    lot: Code(64, required=False) = None


class NewLabReport(Command):
    """A laboratory's test report: one sample (a colourway and a component of a batch, or material lots) and
    its results, each judged when recorded."""

    laboratory: NewLaboratory
    #: The laboratory's report number; no two reports recorded share one.
    number: Text(64)
    sample_description: Text(1000, required=False) = None
    #: The colourway sampled; one of the batch's colourways when the batch lists them.
    colourway: Text(80, required=False) = None
    component: Choice(Component)
    #: The batch sampled (its number); without one the report is on material lots, judged for ``category``.
    batch: Code(64, required=False) = None
    #: The safety category to judge against when no batch is given (a batch's style decides otherwise).
    category: Choice(SafetyCategory, required=False) = None
    #: Material lots sampled (numbers): each one of the batch's lots when a batch is given.
    lots: Items(Code(64), max_items=50) = Field(default_factory=list)
    sample_date: Day(required=False, not_after=plant_today) = None
    test_date: Day(not_after=plant_today)
    report_date: Day(not_after=plant_today)
    results: Items(ReportResult, required=True, max_items=200)


class LabReportFilters(Command):
    """The filters of the lab report list (query parameters)."""

    #: Reports on this batch (its number).
    batch: Code(64, required=False) = None
