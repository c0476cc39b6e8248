"""The safety-parameter catalog, judging, lab results, quality plans and batch coverage."""

from typing import Any

from flask import jsonify

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.capas import queries
from capa.http.guard import request_user
from capa.masterdata import service as masterdata
from capa.safety import service
from capa.safety.commands import AdjustPlan, ChangeLimit, Evaluate, NewParameter, NewResult, ParameterFilters
from capa.safety.models import LabResult, SafetyParameter
from capa.safety.service import BatchCoverage, Evaluation, ParameterStatus, QualityPlan


def limits_json(parameter: SafetyParameter) -> list[dict[str, Any]]:
    return [
        {"category": limit.category, "comparator": limit.comparator, "limit": limit.limit} for limit in parameter.limits
    ]


def parameter_json(parameter: SafetyParameter) -> dict[str, Any]:
    return {
        "code": parameter.code,
        "name": parameter.name,
        "kind": parameter.kind,
        "unit": parameter.unit,
        "standard": parameter.standard,
        "clause": parameter.clause,
        "test_method": parameter.test_method,
        "limits": limits_json(parameter),
    }


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    limit = evaluation.limit
    return {
        "verdict": evaluation.judgement.outcome.value,
        "parameter": evaluation.parameter.code,
        "category": evaluation.category,
        "comparator": limit.comparator if limit else None,
        "limit": limit.limit if limit else None,
        "unit": evaluation.parameter.unit,
        "value": evaluation.judgement.value,
        "near_limit": evaluation.judgement.near_limit,
        "explanation": evaluation.judgement.explanation,
    }


def result_json(result: LabResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "batch": result.batch.number if result.batch else None,
        "lot": result.lot.number if result.lot else None,
        "parameter": result.parameter.code,
        "value": result.value,
        "verdict": result.verdict,
        "category": result.category,
        "comparator": result.comparator,
        "limit": result.limit,
        "unit": result.unit,
        "near_limit": result.near_limit,
        "explanation": result.explanation,
        "lab": result.lab,
        "report_number": result.report_number,
        "tested_at": result.tested_at.isoformat(),
        "recorded_by": result.recorded_by.username,
        "recorded_at": result.recorded_at.isoformat(),
    }


def status_json(entry: ParameterStatus) -> dict[str, Any]:
    return {
        "code": entry.parameter.code,
        "name": entry.parameter.name,
        "status": entry.status,
        "latest": result_json(entry.latest) if entry.latest else None,
    }


def coverage_json(coverage: BatchCoverage) -> dict[str, Any]:
    batch = coverage.batch
    return {
        "batch": batch.number,
        "style": batch.style.code,
        "category": batch.style.category,
        "cmia_required": batch.style.cmia_required,
        "complete": coverage.complete,
        "parameters": [status_json(entry) for entry in coverage.parameters],
        "passed": coverage.codes("passed"),
        "failed": coverage.codes("failed"),
        "missing": coverage.codes("missing"),
        "unapproved_lots": [
            {
                "number": lot.number,
                "kind": lot.kind,
                "supplier": lot.supplier.code,
                "approval": lot.supplier.approval,
            }
            for lot in coverage.unapproved_lots
        ],
    }


def plan_json(plan: QualityPlan) -> dict[str, Any]:
    style = plan.style
    body: dict[str, Any] = {
        "style": style.code,
        "category": style.category,
        "cmia_required": style.cmia_required,
        "parameters": [
            {
                **parameter_json(p),
                "added": p.code in plan.added,
                "applicable_limit": _applicable(p, style.category),
            }
            for p in plan.parameters
        ],
        "dropped": [p.code for p in plan.dropped],
        "checkpoints": [],
    }
    if not style.cmia_required:
        return body
    body["checkpoints"] = [
        {
            "kind": "lab_dip_report",
            "title": "Verify the lab-dip test report for these parameters",
            "status": "met" if plan.lab_dip_met else "open",
            "parameters": [status_json(entry) for entry in plan.lab_dip],
        },
        {
            "kind": "trim_suppliers_approved",
            "title": "Confirm each trim supplier is approved",
            "status": "met" if plan.trim_suppliers_met else "open",
            "trim_lots": plan.trim_lot_count,
            "unapproved": [
                {
                    "supplier": supplier.code,
                    "approval": supplier.approval,
                    "lots": [lot.number for lot in lots],
                }
                for supplier, lots in plan.trim_suppliers_unapproved
            ],
        },
        {
            "kind": "final_batch_test",
            "title": "Final garment batch test",
            "status": "met" if plan.batches and all(c.complete for c in plan.batches) else "open",
            "batches": [
                {
                    "batch": c.batch.number,
                    "complete": c.complete,
                    "failed": c.codes("failed"),
                    "missing": c.codes("missing"),
                }
                for c in plan.batches
            ],
        },
    ]
    return body


def _applicable(parameter: SafetyParameter, category: str) -> dict[str, Any] | None:
    limit = parameter.limit_for(category)
    return {"category": limit.category, "comparator": limit.comparator, "limit": limit.limit} if limit else None


@bp.get("/parameters")
@bp.input(ParameterFilters, location="query", arg_name="filters")
@requires(Permission.VIEW)
def list_parameters(filters: ParameterFilters):
    parameters = service.list_parameters(kind=filters.kind, category=filters.category, standard=filters.standard)
    return jsonify({"items": [parameter_json(parameter) for parameter in parameters]})


@bp.get("/parameters/<code>")
@requires(Permission.VIEW)
def get_parameter(code: str):
    parameter = service.get_parameter(code)
    closed = queries.ncs_for_parameter(parameter, closed_only=True)
    return jsonify({**parameter_json(parameter), "capas": [closed_capa_json(nc) for nc in closed]})


def closed_capa_json(nc) -> dict[str, Any]:
    return {
        "number": nc.number,
        "title": nc.title,
        "style": nc.style.code if nc.style else None,
        "reported_at": nc.reported_at.isoformat(),
        "closed_at": nc.closed_at.isoformat() if nc.closed_at else None,
        "effectiveness": nc.effectiveness,
    }


@bp.post("/parameters")
@bp.input(NewParameter, arg_name="command")
@requires(Permission.MAINTAIN_CATALOG)
def add_parameter(command: NewParameter):
    return jsonify(parameter_json(service.add_parameter(command, request_user()))), 201


@bp.put("/parameters/<code>/limits/<category>")
@bp.input(ChangeLimit, arg_name="command")
@requires(Permission.MAINTAIN_CATALOG)
def change_limit(code: str, category: str, command: ChangeLimit):
    parameter = service.get_parameter(code)
    service.change_limit(parameter, category, command, request_user())
    return jsonify(parameter_json(parameter))


@bp.post("/evaluate")
@bp.input(Evaluate, arg_name="command")
@requires(Permission.VIEW)
def evaluate(command: Evaluate):
    return jsonify(evaluation_json(service.evaluate_request(command)))


@bp.get("/styles/<code>/plan")
@requires(Permission.VIEW)
def style_plan(code: str):
    return jsonify(plan_json(service.plan_for(masterdata.get_style(code))))


@bp.post("/styles/<code>/plan")
@bp.input(AdjustPlan, arg_name="command")
@requires(Permission.MAINTAIN_CATALOG)
def adjust_style_plan(code: str, command: AdjustPlan):
    style = masterdata.get_style(code)
    service.adjust_plan(style, command, request_user())
    return jsonify(plan_json(service.plan_for(style)))


@bp.get("/batches/<number>/coverage")
@requires(Permission.VIEW)
def batch_coverage(number: str):
    return jsonify(coverage_json(service.coverage_for(masterdata.get_batch(number))))


@bp.get("/batches/<number>/results")
@requires(Permission.VIEW)
def batch_results(number: str):
    return jsonify({"items": [result_json(r) for r in service.results_for_batch(masterdata.get_batch(number))]})


@bp.post("/batches/<number>/results")
@bp.input(NewResult, arg_name="command")
@requires(Permission.RECORD_RESULTS)
def record_batch_result(number: str, command: NewResult):
    result = service.record_result(masterdata.get_batch(number), command, request_user())
    return jsonify(result_json(result)), 201
