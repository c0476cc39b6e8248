"""The safety-parameter catalog, judging, lab results, quality plans and batch coverage."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp, With
from capa.capas import queries
from capa.common.clock import plant_today
from capa.http.guard import request_user
from capa.masterdata import service as masterdata
from capa.masterdata.models import LotKind, SafetyCategory, SupplierApproval
from capa.safety import coverage, rejudging, service, validity
from capa.safety.commands import AdjustPlan, ChangeLimit, Evaluate, NewParameter, NewResult, ParameterFilters
from capa.safety.judging import Comparator, Outcome
from capa.safety.models import Component, LimitCategory, ParameterKind
from capa.safety.service import QualityPlan


class Limit(Record):
    category: LimitCategory
    #: Empty for the category's limit; a condition on the garment ("dark_shade") for one that replaces it there.
    condition: str = ""
    comparator: Comparator
    limit: str
    #: False while no public source confirmed the figure.
    confirmed: bool = True


class Parameter(Record):
    code: str
    name: str
    #: The name in Simplified Chinese; empty when none was given.
    name_zh: str
    kind: ParameterKind
    unit: str
    standard: str
    clause: str
    test_method: str
    limits: list[Limit]
    #: The market whose rules it belongs to: CN, EU or US.
    market: str = "CN"
    #: When it applies to a garment (capa.safety.applicability); empty: wherever it has a limit.
    applies_when: str = ""
    #: Cannot be marked not applicable for a style where it applies.
    mandatory: bool = False
    #: The usual reporting limit of its method, for "not detected" written without one.
    reporting_limit: str | None = None
    #: Taken out of the shipped catalog; kept for the records linked to it.
    retired: bool = False


class Parameters(Answer):
    items: list[Parameter]


class ClosedCapa(Record):
    number: str
    title: str
    style: str | None = Ref("style", "code", default=None)
    reported_at: Timestamp
    closed_at: Timestamp | None
    effectiveness: str


class ParameterWithCapas(Parameter):
    #: The closed CAPAs that concern this parameter.
    capas: list[ClosedCapa]


class Evaluation(Record):
    verdict: Outcome = Ref("judgement", "outcome")
    parameter: str = Ref("parameter", "code")
    category: SafetyCategory
    comparator: Comparator | None = Ref("limit", "comparator", default=None)
    limit: str | None = Ref("limit", "limit", default=None)
    unit: str = Ref("parameter", "unit")
    value: str = Ref("judgement", "value")
    near_limit: bool = Ref("judgement", "near_limit")
    explanation: str = Ref("judgement", "explanation")


class Result(Record):
    """A lab result, judged when recorded against the limit it names."""

    id: int
    batch: str | None = Ref("batch", "number", default=None)
    lot: str | None = Ref("lot", "number", default=None)
    parameter: str = Ref("parameter", "code")
    value: str
    verdict: Outcome
    category: SafetyCategory
    comparator: Comparator | None
    limit: str | None
    unit: str
    near_limit: bool
    explanation: str
    lab: str
    report_number: str
    tested_at: date
    recorded_by: str = Ref("recorded_by", "username")
    recorded_at: Timestamp
    #: The value as the lab wrote it (``ND``, ``20,5 mg/kg``, ``4级``).
    reported: str
    #: The reporting limit applied to a "not detected" or ``<X`` result.
    reporting_limit: str | None
    #: Why the parameter does not apply, for a result recorded as N/A; empty otherwise.
    na_reason: str
    #: The colourway and component sampled; empty and null for a result entered without them.
    colourway: str
    component: Component | None
    #: The lab report the result is a row of; null for a result entered on its own.
    report_id: int | None
    #: The number of the non-conformance raised from this result (``POST /results/{id}/raise-nc``); null if none.
    raised_nc: str | None = Ref("raised_nc", "number", default=None)


class Results(Answer):
    items: list[Result]


#: A parameter's status for a batch (capa/safety/coverage.py): ``expired`` means only expired results exist
#: (retest due); ``not_applicable`` that the lab found it not applicable.
ParameterState = Literal["passed", "failed", "missing", "expired", "not_applicable"]


class ParameterStatus(Record):
    code: str = Ref("parameter", "code")
    name: str = Ref("parameter", "name")
    status: ParameterState
    #: The result that decides the status (for a batch: the worst current one); null when missing.
    latest: Result | None


class CountedResult(Result):
    """A result that counts for a batch's final garment test, with the last day it counts."""

    valid_until: date
    #: False once ``valid_until`` has passed: the result no longer counts (retest due).
    current: bool


class ColourwayParameter(Record):
    code: str = Ref("parameter", "code")
    name: str = Ref("parameter", "name")
    status: ParameterState
    #: The result that decides: the failing one (of the most recent failing lot), else the latest pass or N/A,
    #: else the latest expired result; null when missing.
    governing: Result | None
    #: The results counting for this colourway, newest first.
    results: list[CountedResult]

    @model_validator(mode="before")
    @classmethod
    def _with_validity(cls, row: Any) -> Any:
        if isinstance(row, coverage.ColourwayStatus):
            today = plant_today()
            counted = [
                With(result, valid_until=validity.valid_until(result), current=not validity.is_expired(result, today))
                for result in row.results
            ]
            return With(row, results=counted)
        return row


class ColourwayCoverage(Record):
    #: Empty for the one unnamed colourway of a batch whose colourways nobody named.
    colourway: str
    parameters: list[ColourwayParameter]


class UnapprovedLot(Record):
    number: str
    kind: LotKind
    supplier: str = Ref("supplier", "code")
    approval: SupplierApproval = Ref("supplier", "approval")
    #: Why its supplier is not approved for it today: its approval, its scope of material kinds or of the
    #: parameters the style requires, or its lapsed re-evaluation date (capa/masterdata/approval.py).
    why: str = ""

    @model_validator(mode="before")
    @classmethod
    def _why(cls, found: Any) -> Any:
        if isinstance(found, coverage.UnapprovedLot):
            return With(found.lot, why=found.why)
        return found


class Coverage(Record):
    """For a batch: each parameter its style's plan requires, per colourway and overall (the worst colourway),
    by the rules of capa/safety/coverage.py: per colourway and dye lot the worst current result governs."""

    batch: str = Ref("batch", "number")
    style: str = Ref("batch", "style", "code")
    category: SafetyCategory = Ref("batch", "style", "category")
    cmia_required: bool = Ref("batch", "style", "cmia_required")
    #: The same as ``releasable``.
    complete: bool
    #: Every required parameter passed (or was found not applicable) for every colourway.
    releasable: bool
    parameters: list[ParameterStatus]
    passed: list[str]
    failed: list[str]
    missing: list[str]
    #: Only expired results: a retest is due.
    expired: list[str]
    #: Found not applicable by the lab, then those the quality manager marked not applicable for the style.
    not_applicable: list[str]
    colourways: list[ColourwayCoverage]
    unapproved_lots: list[UnapprovedLot]

    @model_validator(mode="before")
    @classmethod
    def _codes_by_status(cls, found: Any) -> Any:
        if isinstance(found, coverage.BatchCoverage):
            codes = {status: found.codes(status) for status in ("passed", "failed", "missing", "expired")}
            return With(found, **codes, not_applicable=found.not_applicable_codes, unapproved_lots=found.unapproved)
        return found


class PlanParameter(Parameter):
    #: Added to this style's plan by a quality manager (not derived from its category).
    added: bool
    #: The limit for the style's category.
    applicable_limit: Limit | None


class LabDipCheckpoint(Answer):
    kind: Literal["lab_dip_report"] = "lab_dip_report"
    title: str = "Verify the lab-dip test report for these parameters"
    status: Literal["met", "open"]
    parameters: list[ParameterStatus]


class TrimConcession(Answer):
    """A concession a quality manager recorded for a lot of an unapproved supplier in one of the style's batches:
    the lot went in; its supplier is still not approved."""

    lot: str
    batch: str
    reason: str


class UnapprovedSupplier(Answer):
    supplier: str
    approval: SupplierApproval
    lots: list[str]
    #: Why it is not approved for the style's trims today (its approval, its scope, its lapsed date).
    why: str = ""
    concessions: list[TrimConcession] = []


class TrimCheckpoint(Answer):
    kind: Literal["trim_suppliers_approved"] = "trim_suppliers_approved"
    title: str = "Confirm each trim supplier is approved"
    status: Literal["met", "open"]
    trim_lots: int
    unapproved: list[UnapprovedSupplier]


class BatchTest(Record):
    batch: str = Ref("batch", "number")
    complete: bool
    failed: list[str]
    missing: list[str]


class FinalTestCheckpoint(Answer):
    kind: Literal["final_batch_test"] = "final_batch_test"
    title: str = "Final garment batch test"
    status: Literal["met", "open"]
    batches: list[BatchTest]


Checkpoint = Annotated[LabDipCheckpoint | TrimCheckpoint | FinalTestCheckpoint, Field(discriminator="kind")]


class Plan(Answer):
    """A style's quality plan: the parameters it requires and, for a CMIA style, its three checkpoints."""

    style: str
    category: SafetyCategory
    cmia_required: bool
    parameters: list[PlanParameter]
    dropped: list[str]
    #: Empty when the style does not require CMIA.
    checkpoints: list[Checkpoint]

    @classmethod
    def of(cls, plan: QualityPlan) -> "Plan":
        style = plan.style
        parameters = [
            PlanParameter.model_validate(With(p, added=p.code in plan.added, applicable_limit=plan.limit_of(p)))
            for p in plan.parameters
        ]
        checkpoints: list[Any] = []
        if style.cmia_required:
            checkpoints = [
                LabDipCheckpoint(
                    status=_met(plan.lab_dip_met),
                    parameters=[ParameterStatus.model_validate(entry) for entry in plan.lab_dip],
                ),
                TrimCheckpoint(
                    status=_met(plan.trim_suppliers_met),
                    trim_lots=plan.trim_lot_count,
                    unapproved=[
                        UnapprovedSupplier(
                            supplier=found.supplier.code,
                            approval=found.supplier.approval,
                            lots=[lot.number for lot in found.lots],
                            why=found.why,
                            concessions=[
                                TrimConcession(
                                    lot=concession.lot.number, batch=concession.batch.number, reason=concession.reason
                                )
                                for concession in found.concessions
                            ],
                        )
                        for found in plan.trim_suppliers_unapproved
                    ],
                ),
                FinalTestCheckpoint(
                    status=_met(bool(plan.batches) and all(c.complete for c in plan.batches)),
                    batches=[
                        BatchTest.model_validate(With(c, failed=c.codes("failed"), missing=c.codes("missing")))
                        for c in plan.batches
                    ],
                ),
            ]
        return cls(
            style=style.code,
            category=style.category,
            cmia_required=style.cmia_required,
            parameters=parameters,
            dropped=[p.code for p in plan.dropped],
            checkpoints=checkpoints,
        )


def _met(met: bool) -> str:
    return "met" if met else "open"


@bp.get("/parameters")
@bp.input(ParameterFilters, location="query", arg_name="filters")
@bp.output(Parameters)
@requires(Permission.VIEW)
def list_parameters(filters: ParameterFilters):
    return {"items": service.list_parameters(kind=filters.kind, category=filters.category, standard=filters.standard)}


@bp.get("/parameters/<code>")
@bp.output(ParameterWithCapas)
@requires(Permission.VIEW)
def get_parameter(code: str):
    parameter = service.get_parameter(code)
    closed = queries.ncs_for_parameter(parameter, closed_only=True)
    return ParameterWithCapas.model_validate(With(parameter, capas=closed))


@bp.post("/parameters")
@bp.input(NewParameter, arg_name="command")
@bp.output(Parameter, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def add_parameter(command: NewParameter):
    return service.add_parameter(command, request_user())


@bp.put("/parameters/<code>/limits/<category>")
@bp.input(ChangeLimit, arg_name="command")
@bp.output(Parameter)
@requires(Permission.MAINTAIN_CATALOG)
def change_limit(code: str, category: str, command: ChangeLimit):
    parameter = service.get_parameter(code)
    rejudging.change_limit(parameter, category, command, request_user())
    return parameter


@bp.post("/evaluate")
@bp.input(Evaluate, arg_name="command")
@bp.output(Evaluation)
@requires(Permission.VIEW)
def evaluate(command: Evaluate):
    return service.evaluate_request(command)


@bp.get("/styles/<code>/plan")
@bp.output(Plan)
@requires(Permission.VIEW)
def style_plan(code: str):
    return Plan.of(service.plan_for(masterdata.get_style(code)))


@bp.post("/styles/<code>/plan")
@bp.input(AdjustPlan, arg_name="command")
@bp.output(Plan)
@requires(Permission.MAINTAIN_CATALOG)
def adjust_style_plan(code: str, command: AdjustPlan):
    style = masterdata.get_style(code)
    service.adjust_plan(style, command, request_user())
    return Plan.of(service.plan_for(style))


@bp.get("/batches/<number>/coverage")
@bp.output(Coverage)
@requires(Permission.VIEW)
def batch_coverage(number: str):
    return service.coverage_for(masterdata.get_batch(number))


@bp.get("/batches/<number>/results")
@bp.output(Results)
@requires(Permission.VIEW)
def batch_results(number: str):
    return {"items": service.results_for_batch(masterdata.get_batch(number))}


@bp.post("/batches/<number>/results")
@bp.input(NewResult, arg_name="command")
@bp.output(Result, status_code=201)
@requires(Permission.RECORD_RESULTS)
def record_batch_result(number: str, command: NewResult):
    return service.record_result(masterdata.get_batch(number), command, request_user())
