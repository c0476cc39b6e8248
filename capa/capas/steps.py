"""The 8D steps of a CAPA after filing: containment and holds (D3), root cause and its review (D4), actions
(D5–D7), retests (D6), closing (D8) and cancelling.

The rules:
- containment moves a reported NC to investigation; each hold names a batch or a lot, held once, with the
  quantity held when it is known;
- a root cause needs a statement and at least one why or fishbone cause; it moves the CAPA to review, where
  the quality manager approves it (→ action) or returns it with a comment (→ investigation);
- an action's owner must be an active user of the factory (not a supplier's account); it records the approved
  root-cause round it answers; the owner or a quality manager completes it with evidence (a standard revision
  naming its document and new revision, a retraining who was trained; files through :mod:`capa.capas.evidence`),
  and the last one done moves the CAPA
  to verification (a round approved after the earlier actions were all done waits for a new action:
  :mod:`capa.capas.progress`);
- a retest is judged against the NC's style category (or its given category); a failing retest during
  verification returns the CAPA to investigation; passing retests release nothing by themselves: goods on
  hold leave quarantine only by the quality manager's dispositions (:mod:`capa.capas.dispositions`);
- closing needs every gate of :mod:`capa.capas.gates` met (GatesUnmet names each one) and sets the date of
  its effectiveness review (:mod:`capa.capas.effectiveness`); cancelling releases what the NC held.
Every change goes through :func:`capa.capas.history.changing`, which checks role, state and version and
writes the history.
"""

from flask_babel import lazy_gettext as _l

from capa.accounts import service as accounts
from capa.accounts.models import STAFF, User
from capa.capas import dispositions, effectiveness, evidence, policy, signatures
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
from capa.capas.gates import approved_analysis, unmet_gates
from capa.capas.history import Journal, authorize, changing
from capa.capas.lookup import invalid
from capa.capas.models import (
    Action,
    ActionKind,
    ActionStatus,
    AttachmentPurpose,
    Hold,
    NonConformance,
    RootCauseAnalysis,
    SignatureMeaning,
)
from capa.capas.states import State, Step
from capa.common.clock import plant_today
from capa.common.errors import ValidationError
from capa.common.types import utcnow
from capa.documents import service as documents
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, MaterialLot
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult


def contain(nc: NonConformance, command: Contain, actor: User) -> NonConformance:
    """Record containment ``{description, hold: [batch or lot numbers], quantities?: {number: quantity}}``; a
    reported NC moves to investigation.

    Each number must name a batch or a lot (ValidationError naming ``hold[i]``); one already held by this
    NC is not held twice (it takes the quantity given when its own is unknown and nothing was disposed of yet).
    Each quantity must be of one of the numbers held (ValidationError naming ``quantities.<number>``; see
    :func:`capa.capas.dispositions.held_quantities`).
    """
    targets: list[tuple[Batch | None, MaterialLot | None]] = []
    quantities, errors = dispositions.held_quantities(nc, command)
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
        held = {(hold.batch_id, hold.lot_id): hold for hold in nc.holds if hold.released_at is None}
        for batch, lot in targets:
            key = (batch.id if batch else None, lot.id if lot else None)
            quantity = quantities.get((batch or lot).number)
            if key in held:
                dispositions.count_held(held[key], quantity, journal)
                continue
            held[key] = Hold(batch=batch, lot=lot, held_by=actor, quantity=quantity)
            nc.holds.append(held[key])
            journal.record("hold", new=(batch or lot).number, note=dispositions.held_note(quantity))
        if nc.status == State.REPORTED:
            journal.move(State.INVESTIGATION, str(_l("Contained.")))
    return nc


def release_hold(nc: NonConformance, hold_id: int, command: ReleaseHold, actor: User) -> Hold:
    """Release what remains of one of the NC's holds by the quality manager, with a ``reason``: recorded as a
    release disposition resting on the reason (:func:`capa.capas.dispositions.release_remaining`, whose rules
    hold: a lot of a supplier that is not approved is not released; a refusal names ``hold``)."""
    return dispositions.release_remaining(nc, hold_id, command, actor)


def release(hold: Hold, actor: User | None, reason: str, journal: Journal) -> None:
    """Lift ``hold`` without a disposition: only for the holds of a cancelled NC (no real non-conformance)."""
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
    """Approve the submitted root cause (→ action) or return it with a required ``comment`` (→ investigation),
    signed electronically with the reviewer's ``password`` (meaning ``approved_root_cause`` or
    ``returned_root_cause``: :mod:`capa.capas.signatures`).

    Raises ValidationError naming ``comment`` first; PermissionDenied, InvalidState or StaleVersion; SamePerson
    (403 ``same_person``) when CAPA_SEPARATE_ROOT_CAUSE_APPROVER is on and the reviewer submitted the round they
    approve; then ValidationError (missing) or SignatureRefused (wrong) naming ``password``. Nothing is written
    when any is raised.
    """
    if command.decision == "return" and not command.comment:
        raise invalid({"comment": str(_l("Say what is missing: a returned analysis needs a comment."))})
    analysis = nc.analyses[-1] if nc.analyses else None
    with changing(nc, actor, Step.REVIEW, version=command.version) as journal:
        signatures.check_approver(analysis, actor, command.decision)
        signatures.sign(nc, actor, command.password, signatures.review_meaning(command.decision))
        analysis.decision = command.decision
        analysis.review_comment = command.comment or ""
        analysis.reviewed_by = actor
        analysis.reviewed_at = utcnow()
        journal.record("review", new=command.decision, note=command.comment or "")
        journal.move(State.ACTION if command.decision == "approve" else State.INVESTIGATION)
    return analysis


def add_action(nc: NonConformance, command: NewAction, actor: User) -> Action:
    """Add an action ``{kind, description, owner, due_date}``; the owner must be an active user. The action
    records the root-cause round it answers (the approved one)."""
    owner = accounts.find_user(command.owner)
    # A supplier's account answers its requests and owns nothing of the factory's CAPA.
    if owner is None or not owner.active or owner.role not in STAFF:
        raise invalid({"owner": str(_l("No active user %(name)s.", name=command.owner))})
    with changing(nc, actor, Step.ADD_ACTION, version=command.version) as journal:
        approved = approved_analysis(nc)
        action = Action(
            kind=command.kind,
            description=command.description,
            owner=owner,
            due_date=command.due_date,
            status=ActionStatus.OPEN.value,
            round=approved.round if approved is not None else None,
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
    """Mark an action done with its ``evidence`` (its owner or a quality manager) and what its kind requires: a
    standard revision names the ``document`` revised and its new ``revision``, a retraining who was
    ``trained``. Its evidence ``files`` are stored with it (:mod:`capa.capas.evidence`); ``attachments`` names
    evidence files added to this action before. The last action done moves the CAPA to verification.

    Raises PermissionDenied, InvalidState or StaleVersion first; then ValidationError naming ``id`` (done
    already), or each of ``document``, ``revision``, ``trained``, ``attachments[i]``, ``files`` and
    ``files[i]`` that is wrong, all at once.
    """
    nc = action.nc
    policy.check(actor, Step.COMPLETE_ACTION, action=action)
    if action.status == ActionStatus.DONE:
        raise invalid({"id": str(_l("This action is done already."))})
    authorize(nc, actor, Step.COMPLETE_ACTION, version=command.version, action=action)
    errors = _required_by_kind(action.kind, command)
    registered = None
    if action.kind == ActionKind.STANDARD_REVISION and not errors:
        try:
            registered = documents.registered_revision(command.document, command.revision)
        except ValidationError as error:
            errors.update(error.fields)
    files = _evidence_problems(nc, command, AttachmentPurpose.ACTION, action, errors)
    if errors:
        raise invalid(errors)
    with changing(nc, actor, Step.COMPLETE_ACTION, version=command.version, action=action) as journal:
        action.status = ActionStatus.DONE.value
        action.evidence = command.evidence
        action.document = registered.document.code if registered else command.document or ""
        action.revision = registered.revision if registered else command.revision or ""
        action.document_revision = registered
        action.trained = command.trained or ""
        action.completed_at = utcnow()
        action.completed_by = actor
        journal.record("action_done", old=action.description, note=command.evidence)
        evidence.attach(nc, files, AttachmentPurpose.ACTION, actor, action=action, journal=journal)
        if all(a.status == ActionStatus.DONE for a in nc.actions):
            journal.move(State.VERIFICATION, str(_l("Every action is done.")))
    return action


def _required_by_kind(kind: str, command: CompleteAction) -> dict[str, str]:
    """What the action's kind requires of its completion and is missing: a standard revision's document and
    new revision (an approved revision of the register when the document is registered:
    :func:`capa.documents.service.registered_revision`), a retraining's trained people."""
    missing = {}
    if kind == ActionKind.STANDARD_REVISION:
        if not command.document:
            missing["document"] = str(_l("A standard revision names the document revised."))
        if not command.revision:
            missing["revision"] = str(_l("A standard revision names the document's new revision."))
    elif kind == ActionKind.TRAINING and not command.trained:
        missing["trained"] = str(_l("A retraining names who was trained."))
    return missing


def _evidence_problems(
    nc: NonConformance,
    command: CompleteAction | Close,
    purpose: AttachmentPurpose,
    action: Action | None,
    errors: dict[str, str],
) -> list[evidence.CheckedFile]:
    """The step's evidence files as they will be stored; what is wrong with them, or with the evidence files it
    names (``attachments[i]``), is added to ``errors``."""
    _named, problems = evidence.referenced(nc, command.attachments, purpose, action)
    errors.update(problems)
    if not command.files:
        return []
    try:
        return evidence.check_evidence(command.files, already=len(evidence.attached_to(nc, purpose, action)))
    except ValidationError as error:
        errors.update(error.fields)
        return []


def record_test(nc: NonConformance, command: Retest, actor: User) -> LabResult:
    """Record a retest ``{parameter, value, lab?, report_number?, tested_at?}`` of a linked parameter, judged
    against the NC's category. A failure during verification returns the CAPA to investigation. A pass
    releases nothing: held goods wait for the quality manager's disposition."""
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
    return result


def close(nc: NonConformance, command: Close, actor: User) -> NonConformance:
    """Close the CAPA with its ``effectiveness`` note, signed electronically with the quality manager's
    ``password`` (meaning ``closed_capa``: :mod:`capa.capas.signatures`); its effectiveness review falls due on
    ``review_on`` or by :func:`capa.capas.effectiveness.review_date`. Its evidence ``files`` are stored with it
    (:mod:`capa.capas.evidence`); ``attachments`` names closing evidence added before. Raises GatesUnmet
    naming each unmet gate, then ValidationError naming ``attachments[i]``, ``files`` and ``files[i]``, then
    ValidationError (missing) or SignatureRefused (wrong) naming ``password``."""
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
    errors: dict[str, str] = {}
    files = _evidence_problems(nc, command, AttachmentPurpose.CLOSING, None, errors)
    if errors:
        raise invalid(errors)
    with changing(nc, actor, Step.CLOSE, version=command.version) as journal:
        signatures.sign(nc, actor, command.password, SignatureMeaning.CLOSED_CAPA)
        journal.set("effectiveness", command.effectiveness)
        evidence.attach(nc, files, AttachmentPurpose.CLOSING, actor, journal=journal)
        nc.closed_at = utcnow()
        journal.set("effectiveness_due", command.review_on or effectiveness.review_date(nc, plant_today()))
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
