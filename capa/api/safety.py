"""The safety-parameter catalog, judging, lab results, quality plans and batch coverage."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp, With
from capa.capas import queries
from capa.http.guard import request_user
from capa.masterdata import service as masterdata
from capa.masterdata.models import LotKind, SafetyCategory, SupplierApproval
from capa.safety import service
from capa.safety.commands import AdjustPlan, ChangeLimit, Evaluate, NewParameter, NewResult, ParameterFilters
from capa.safety.judging import Comparator, Outcome
from capa.safety.models import LimitCategory, ParameterKind
from capa.safety.service import QualityPlan


class Limit(Record):
    category: LimitCategory
    comparator: Comparator
    limit: str


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


class Results(Answer):
    items: list[Result]


ParameterState = Literal["passed", "failed", "missing"]


class ParameterStatus(Record):
    code: str = Ref("parameter", "code")
    name: str = Ref("parameter", "name")
    status: ParameterState
    #: The latest result, which decides the status.
    latest: Result | None


class UnapprovedLot(Record):
    number: str
    kind: LotKind
    supplier: str = Ref("supplier", "code")
    approval: SupplierApproval = Ref("supplier", "approval")


class Coverage(Record):
    """For a batch: each parameter its style's plan requires, with the latest result's status."""

    batch: str = Ref("batch", "number")
    style: str = Ref("batch", "style", "code")
    category: SafetyCategory = Ref("batch", "style", "category")
    cmia_required: bool = Ref("batch", "style", "cmia_required")
    complete: bool
    parameters: list[ParameterStatus]
    passed: list[str]
    failed: list[str]
    missing: list[str]
    unapproved_lots: list[UnapprovedLot]

    @model_validator(mode="before")
    @classmethod
    def _codes_by_status(cls, coverage: Any) -> Any:
        if isinstance(coverage, service.BatchCoverage):
            return With(coverage, **{status: coverage.codes(status) for status in ("passed", "failed", "missing")})
        return coverage


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


class UnapprovedSupplier(Answer):
    supplier: str
    approval: SupplierApproval
    lots: list[str]


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
            PlanParameter.model_validate(
                With(p, added=p.code in plan.added, applicable_limit=p.limit_for(style.category))
            )
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
                            supplier=supplier.code, approval=supplier.approval, lots=[lot.number for lot in lots]
                        )
                        for supplier, lots in plan.trim_suppliers_unapproved
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
    service.change_limit(parameter, category, command, request_user())
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
