"""The 8D steps of a CAPA after filing: containment and holds (D3), root cause and its review (D4), actions
(D5–D7), retests (D6), closing (D8) and cancelling.

The rules:
- containment moves a reported NC to investigation; each hold names a batch or a lot, held once;
- a root cause needs a statement and at least one why or fishbone cause; it moves the CAPA to review, where
  the quality manager approves it (→ action) or returns it with a comment (→ investigation);
- an action's owner must be an active user; the owner or a quality manager completes it with evidence, and
  the last one done moves the CAPA to verification;
- a retest is judged against the NC's style category (or its given category); a failing retest during
  verification returns the CAPA to investigation; when every linked parameter's latest retest passes, the
  NC's holds are released;
- closing needs every gate of :mod:`capa.capas.gates` met (GatesUnmet names each one); cancelling releases
  what the NC held.
Every change goes through :func:`capa.capas.history.changing`, which checks role, state and version and
writes the history.
"""

from flask_babel import lazy_gettext as _l

from capa.accounts import service as accounts
from capa.accounts.models import User
from capa.capas import policy
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    NewAction,
    ReleaseHold,
    Retest,
    Review,
    RootCause,
)
from capa.capas.errors import GatesUnmet
from capa.capas.gates import latest_tests, unmet_gates
from capa.capas.history import Journal, authorize, changing
from capa.capas.lookup import invalid
from capa.capas.models import (
    Action,
    ActionStatus,
    Hold,
    NonConformance,
    RootCauseAnalysis,
)
from capa.capas.states import State, Step
from capa.common.errors import NotFound
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, MaterialLot
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult


def contain(nc: NonConformance, command: Contain, actor: User) -> NonConformance:
    """Record containment ``{description, hold: [batch or lot numbers]}``; a reported NC moves to investigation.

    Each number must name a batch or a lot (ValidationError naming ``hold[i]``); one already held by this
    NC is not held twice.
    """
    targets: list[tuple[Batch | None, MaterialLot | None]] = []
    errors = {}
    for index, number in enumerate(command.hold or []):
        batch = masterdata.find_batch(number)
        lot = None if batch is not None else masterdata.find_lot(number)
        if batch is None and lot is None:
            errors[f"hold[{index}]"] = str(_l("No batch or lot %(number)s.", number=number))
        targets.append((batch, lot))
    if errors:
        raise invalid(errors)
    with changing(nc, actor, Step.CONTAIN, version=command.version) as journal:
        journal.set("containment", command.description)
        held = {(hold.batch_id, hold.lot_id) for hold in nc.holds if hold.released_at is None}
        for batch, lot in targets:
            key = (batch.id if batch else None, lot.id if lot else None)
            if key in held:
                continue
            held.add(key)
            nc.holds.append(Hold(batch=batch, lot=lot, held_by=actor))
            journal.record("hold", new=(batch or lot).number)
        if nc.status == State.REPORTED:
            journal.move(State.INVESTIGATION, str(_l("Contained.")))
    return nc


def release_hold(nc: NonConformance, hold_id: int, command: ReleaseHold, actor: User) -> Hold:
    """Release one of the NC's holds by the quality manager, with a ``reason``."""
    hold = next((h for h in nc.holds if h.id == hold_id), None)
    if hold is None:
        raise NotFound(str(_l("No such hold on %(number)s.", number=nc.number)), fields={"hold": "unknown"})
    if hold.released_at is not None:
        raise invalid({"hold": str(_l("%(subject)s is released already.", subject=hold.subject))})
    with changing(nc, actor, Step.RELEASE_HOLD, version=command.version) as journal:
        release(hold, actor, command.reason, journal)
    return hold


def release(hold: Hold, actor: User | None, reason: str, journal: Journal) -> None:
    hold.released_at = utcnow()
    hold.released_by = actor
    hold.release_reason = reason
    journal.record("release", old=hold.subject, note=reason)


def submit_root_cause(nc: NonConformance, command: RootCause, actor: User) -> RootCauseAnalysis:
    """Submit a root-cause analysis ``{whys, fishbone, category, statement}``; the CAPA moves to review.

    At least one why or one fishbone cause is needed beside the statement.
    """
    if not command.whys and not command.fishbone:
        raise invalid({"whys": str(_l("Give the chain of whys or the fishbone causes that lead to the root cause."))})
    with changing(nc, actor, Step.SUBMIT_ROOT_CAUSE, version=command.version) as journal:
        analysis = RootCauseAnalysis(
            round=len(nc.analyses) + 1,
            whys=list(command.whys),
            fishbone={category.value: causes for category, causes in command.fishbone.items()},
            category=command.category,
            statement=command.statement,
            submitted_by=actor,
        )
        nc.analyses.append(analysis)
        journal.record("root_cause", new=command.statement, note=str(_l("Round %(n)d", n=analysis.round)))
        journal.move(State.REVIEW)
    return analysis


def review(nc: NonConformance, command: Review, actor: User) -> RootCauseAnalysis:
    """Approve the submitted root cause (→ action) or return it with a required ``comment`` (→ investigation)."""
    if command.decision == "return" and not command.comment:
        raise invalid({"comment": str(_l("Say what is missing: a returned analysis needs a comment."))})
    analysis = nc.analyses[-1] if nc.analyses else None
    with changing(nc, actor, Step.REVIEW, version=command.version) as journal:
        analysis.decision = command.decision
        analysis.review_comment = command.comment or ""
        analysis.reviewed_by = actor
        analysis.reviewed_at = utcnow()
        journal.record("review", new=command.decision, note=command.comment or "")
        journal.move(State.ACTION if command.decision == "approve" else State.INVESTIGATION)
    return analysis


def add_action(nc: NonConformance, command: NewAction, actor: User) -> Action:
    """Add an action ``{kind, description, owner, due_date}``; the owner must be an active user."""
    owner = accounts.find_user(command.owner)
    if owner is None or not owner.active:
        raise invalid({"owner": str(_l("No active user %(name)s.", name=command.owner))})
    with changing(nc, actor, Step.ADD_ACTION, version=command.version) as journal:
        action = Action(
            kind=command.kind,
            description=command.description,
            owner=owner,
            due_date=command.due_date,
            status=ActionStatus.OPEN.value,
        )
        nc.actions.append(action)
        journal.record(
            "action",
            new=command.description,
            note=str(
                _l(
                    "%(kind)s, owner %(owner)s, due %(due)s",
                    kind=command.kind,
                    owner=owner.username,
                    due=command.due_date.isoformat(),
                )
            ),
        )
    return action


def complete_action(action: Action, command: CompleteAction, actor: User) -> Action:
    """Mark an action done with its ``evidence`` (its owner or a quality manager); the last one done moves
    the CAPA to verification."""
    nc = action.nc
    policy.check(actor, Step.COMPLETE_ACTION, action=action)
    if action.status == ActionStatus.DONE:
        raise invalid({"id": str(_l("This action is done already."))})
    with changing(nc, actor, Step.COMPLETE_ACTION, version=command.version, action=action) as journal:
        action.status = ActionStatus.DONE.value
        action.evidence = command.evidence
        action.completed_at = utcnow()
        action.completed_by = actor
        journal.record("action_done", old=action.description, note=command.evidence)
        if all(a.status == ActionStatus.DONE for a in nc.actions):
            journal.move(State.VERIFICATION, str(_l("Every action is done.")))
    return action


def record_test(nc: NonConformance, command: Retest, actor: User) -> LabResult:
    """Record a retest ``{parameter, value, lab?, report_number?, tested_at?}`` of a linked parameter, judged
    against the NC's category. A failure during verification returns the CAPA to investigation; when every
    linked parameter's latest retest passes, the NC's holds are released."""
    parameter = next((p for p in nc.parameters if p.code == command.parameter), None)
    if parameter is None:
        raise invalid(
            {"parameter": str(_l("%(code)s is not linked to %(number)s.", code=command.parameter, number=nc.number))}
        )
    category = nc.effective_category or command.category
    if category is None:
        raise invalid({"category": str(_l("This NC names no style: give the safety category to judge against."))})
    evaluation = safety.evaluate(
        parameter, nc.style or category, command.value, reporting_limit=command.reporting_limit
    )
    with changing(nc, actor, Step.RECORD_TEST, version=command.version) as journal:
        result = safety.result_from(evaluation, batch=nc.batch, lot=None, report=command, actor=actor)
        result.nc_id = nc.id
        db.session.add(result)
        db.session.flush()
        journal.record("test", field=parameter.code, new=f"{result.value} {result.verdict}", note=result.explanation)
        if result.verdict == Outcome.FAIL and nc.status == State.VERIFICATION:
            journal.move(
                State.INVESTIGATION,
                str(_l("Failing retest of %(code)s: %(why)s", code=parameter.code, why=result.explanation)),
            )
        latest = latest_tests(nc)
        if nc.parameters and all(
            latest.get(p.id) is not None and latest[p.id].verdict == Outcome.PASS for p in nc.parameters
        ):
            for hold in nc.holds:
                if hold.released_at is None:
                    release(
                        hold,
                        actor,
                        str(
                            _l(
                                "Released by passing retests (%(codes)s).",
                                codes=", ".join(p.code for p in nc.parameters),
                            )
                        ),
                        journal,
                    )
    return result


def close(nc: NonConformance, command: Close, actor: User) -> NonConformance:
    """Close the CAPA with its ``effectiveness`` note; raises GatesUnmet naming each unmet gate."""
    authorize(nc, actor, Step.CLOSE, version=command.version)
    unmet = unmet_gates(nc, command.effectiveness)
    if unmet:
        raise GatesUnmet(
            str(
                _l(
                    "%(number)s cannot close yet: %(gates)s",
                    number=nc.number,
                    gates=" ".join(gate.message for gate in unmet),
                )
            ),
            unmet=[gate.to_dict() for gate in unmet],
        )
    with changing(nc, actor, Step.CLOSE, version=command.version) as journal:
        journal.set("effectiveness", command.effectiveness)
        nc.closed_at = utcnow()
        journal.move(State.CLOSED)
    return nc


def cancel(nc: NonConformance, command: Cancel, actor: User) -> NonConformance:
    """Cancel an open NC that is not a real non-conformance, for a ``reason``."""
    with changing(nc, actor, Step.CANCEL, version=command.version) as journal:
        journal.set("cancel_reason", command.reason)
        nc.cancelled_at = utcnow()
        # Not a real non-conformance: nothing it held needs holding any longer.
        for hold in nc.holds:
            if hold.released_at is None:
                release(hold, actor, str(_l("Released: %(number)s was cancelled.", number=nc.number)), journal)
        journal.move(State.CANCELLED, command.reason)
    return nc
