"""Non-conformances and their CAPAs: filing, the workflow steps, lists and the whole record."""

from typing import Any

from flask import jsonify

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.safety import result_json
from capa.capas import filing, lookup, queries, steps
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    EditNC,
    FileNC,
    NCFilters,
    NewAction,
    ReleaseHold,
    Retest,
    Review,
    RootCause,
)
from capa.capas.models import Action, Hold, NonConformance, RootCauseAnalysis
from capa.http.guard import request_user


def _when(moment) -> str | None:
    return moment.isoformat() if moment else None


def nc_json(nc: NonConformance) -> dict[str, Any]:
    return {
        "number": nc.number,
        "status": nc.status,
        "version": nc.version,
        "title": nc.title,
        "description": nc.description,
        "defect_type": nc.defect_type.code,
        "source": nc.source,
        "severity": nc.severity,
        "line": nc.line.code,
        "style": nc.style.code if nc.style else None,
        "batch": nc.batch.number if nc.batch else None,
        "category": nc.effective_category,
        "quantity_affected": nc.quantity_affected,
        "parameters": [p.code for p in nc.parameters],
        "safety_critical": nc.safety_critical,
        "recurrence_of": nc.recurrence_of.number if nc.recurrence_of else None,
        "reported_by": nc.reported_by.username,
        "reported_at": _when(nc.reported_at),
        "closed_at": _when(nc.closed_at),
        "overdue_actions": sum(1 for action in nc.actions if queries.is_overdue(action)),
    }


def hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "batch": hold.batch.number if hold.batch else None,
        "lot": hold.lot.number if hold.lot else None,
        "held_at": _when(hold.held_at),
        "released_at": _when(hold.released_at),
        "release_reason": hold.release_reason,
    }


def analysis_json(analysis: RootCauseAnalysis) -> dict[str, Any]:
    return {
        "round": analysis.round,
        "whys": analysis.whys,
        "fishbone": analysis.fishbone,
        "category": analysis.category,
        "statement": analysis.statement,
        "submitted_by": analysis.submitted_by.username,
        "submitted_at": _when(analysis.submitted_at),
        "decision": analysis.decision or None,
        "comment": analysis.review_comment,
        "reviewed_by": analysis.reviewed_by.username if analysis.reviewed_by else None,
        "reviewed_at": _when(analysis.reviewed_at),
    }


def action_json(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "nc": action.nc.number,
        "kind": action.kind,
        "description": action.description,
        "owner": action.owner.username,
        "due_date": action.due_date.isoformat(),
        "status": action.status,
        "overdue": queries.is_overdue(action),
        "evidence": action.evidence,
        "completed_at": _when(action.completed_at),
    }


def nc_detail_json(nc: NonConformance) -> dict[str, Any]:
    latest = nc.analyses[-1] if nc.analyses else None
    return {
        **nc_json(nc),
        "containment": {"description": nc.containment, "holds": [hold_json(h) for h in nc.holds]},
        "root_cause": analysis_json(latest) if latest else None,
        "reviews": [analysis_json(a) for a in nc.analyses],
        "actions": [action_json(a) for a in nc.actions],
        "tests": [result_json(r) for r in queries.tests_of(nc)],
        "recurrences": [r.number for r in nc.recurrences],
        "effectiveness": nc.effectiveness,
        "cancel_reason": nc.cancel_reason,
        "photos": [
            {"id": p.id, "name": p.original_name, "content_type": p.content_type, "size": p.size} for p in nc.photos
        ],
        "history": [
            {
                "at": _when(e.at),
                "by": e.actor.username if e.actor else None,
                "kind": e.kind,
                "field": e.field or None,
                "old": e.old or None,
                "new": e.new or None,
                "note": e.note or None,
            }
            for e in nc.events
        ],
    }


@bp.get("/defect-types")
@requires(Permission.VIEW)
def defect_types():
    return jsonify(
        {
            "items": [
                {"code": t.code, "name": t.name, "parameters": [p.code for p in t.parameters]}
                for t in lookup.list_defect_types(active_only=True)
            ]
        }
    )


@bp.post("/nonconformances")
@bp.input(FileNC, arg_name="command")
@requires(Permission.FILE_NC)
def file_nc(command: FileNC):
    return jsonify(nc_detail_json(filing.file_nc(command, request_user()))), 201


@bp.get("/nonconformances")
@bp.input(NCFilters, location="query", arg_name="filters")
@requires(Permission.VIEW)
def list_ncs(filters: NCFilters):
    page = queries.search(filters)
    return jsonify(
        {"items": [nc_json(nc) for nc in page.items], "page": page.page, "per_page": page.per_page, "total": page.total}
    )


@bp.get("/nonconformances/<number>")
@requires(Permission.VIEW)
def get_nc(number: str):
    return jsonify(nc_detail_json(lookup.get_nc(number)))


@bp.patch("/nonconformances/<number>")
@bp.input(EditNC, arg_name="command")
@requires(Permission.VIEW)
def edit_nc(number: str, command: EditNC):
    return jsonify(nc_detail_json(filing.edit_nc(lookup.get_nc(number), command, request_user())))


def _step(number: str, step, command):
    nc = lookup.get_nc(number)
    step(nc, command, request_user())
    return jsonify(nc_detail_json(nc))


@bp.post("/nonconformances/<number>/containment")
@bp.input(Contain, arg_name="command")
@requires(Permission.VIEW)
def contain(number: str, command: Contain):
    return _step(number, steps.contain, command)


@bp.post("/nonconformances/<number>/holds/<int:hold_id>/release")
@bp.input(ReleaseHold, arg_name="command")
@requires(Permission.VIEW)
def release_hold(number: str, hold_id: int, command: ReleaseHold):
    nc = lookup.get_nc(number)
    steps.release_hold(nc, hold_id, command, request_user())
    return jsonify(nc_detail_json(nc))


@bp.post("/nonconformances/<number>/root-cause")
@bp.input(RootCause, arg_name="command")
@requires(Permission.VIEW)
def root_cause(number: str, command: RootCause):
    return _step(number, steps.submit_root_cause, command)


@bp.post("/nonconformances/<number>/review")
@bp.input(Review, arg_name="command")
@requires(Permission.VIEW)
def review(number: str, command: Review):
    return _step(number, steps.review, command)


@bp.post("/nonconformances/<number>/actions")
@bp.input(NewAction, arg_name="command")
@requires(Permission.VIEW)
def add_action(number: str, command: NewAction):
    action = steps.add_action(lookup.get_nc(number), command, request_user())
    return jsonify(action_json(action)), 201


@bp.post("/actions/<int:action_id>/complete")
@bp.input(CompleteAction, arg_name="command")
@requires(Permission.VIEW)
def complete_action(action_id: int, command: CompleteAction):
    action = steps.complete_action(lookup.get_action(action_id), command, request_user())
    return jsonify({**action_json(action), "nc_status": action.nc.status, "version": action.nc.version})


@bp.post("/nonconformances/<number>/tests")
@bp.input(Retest, arg_name="command")
@requires(Permission.VIEW)
def record_test(number: str, command: Retest):
    nc = lookup.get_nc(number)
    result = steps.record_test(nc, command, request_user())
    return jsonify({**result_json(result), "nc_status": nc.status, "version": nc.version}), 201


@bp.post("/nonconformances/<number>/close")
@bp.input(Close, arg_name="command")
@requires(Permission.VIEW)
def close(number: str, command: Close):
    return _step(number, steps.close, command)


@bp.post("/nonconformances/<number>/cancel")
@bp.input(Cancel, arg_name="command")
@requires(Permission.VIEW)
def cancel(number: str, command: Cancel):
    return _step(number, steps.cancel, command)
