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

from typing import Any

from flask_babel import lazy_gettext as _l

from capa.accounts import service as accounts
from capa.accounts.models import User
from capa.capas.errors import GatesUnmet
from capa.capas.gates import latest_tests, unmet_gates
from capa.capas.history import Journal, authorize, changing
from capa.capas.lookup import invalid
from capa.capas.models import (
    Action,
    ActionKind,
    ActionStatus,
    FishboneCategory,
    Hold,
    NonConformance,
    RootCauseAnalysis,
)
from capa.capas.states import State, Step, role_may
from capa.common.clock import plant_today
from capa.common.errors import NotFound, PermissionDenied
from capa.common.types import utcnow
from capa.common.validation import (
    Anything,
    Choice,
    Code,
    Date,
    FieldError,
    Integer,
    Schema,
    Strings,
    Text,
)
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, MaterialLot
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult

CONTAIN_SCHEMA = Schema(
    description=Text(4000),
    hold=Strings(Code(64), max_items=100),
    version=Integer(required=False, minimum=1),
)


def contain(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Record containment ``{description, hold: [batch or lot numbers]}``; a reported NC moves to investigation.

    Each number must name a batch or a lot (ValidationError naming ``hold[i]``); one already held by this
    NC is not held twice.
    """
    values = CONTAIN_SCHEMA.validate(data)
    targets: list[tuple[Batch | None, MaterialLot | None]] = []
    errors = {}
    for index, number in enumerate(values["hold"] or []):
        batch = masterdata.find_batch(number)
        lot = None if batch is not None else masterdata.find_lot(number)
        if batch is None and lot is None:
            errors[f"hold[{index}]"] = str(_l("No batch or lot %(number)s.", number=number))
        targets.append((batch, lot))
    if errors:
        raise invalid(errors)
    with changing(nc, actor, Step.CONTAIN, version=values.get("version")) as journal:
        journal.set("containment", values["description"])
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


RELEASE_SCHEMA = Schema(reason=Text(1000), version=Integer(required=False, minimum=1))


def release_hold(nc: NonConformance, hold_id: int, data: Any, actor: User) -> Hold:
    """Release one of the NC's holds by the quality manager, with a ``reason``."""
    values = RELEASE_SCHEMA.validate(data)
    hold = next((h for h in nc.holds if h.id == hold_id), None)
    if hold is None:
        raise NotFound(str(_l("No such hold on %(number)s.", number=nc.number)), fields={"hold": "unknown"})
    if hold.released_at is not None:
        raise invalid({"hold": str(_l("%(subject)s is released already.", subject=hold.subject))})
    with changing(nc, actor, Step.RELEASE_HOLD, version=values.get("version")) as journal:
        release(hold, actor, values["reason"], journal)
    return hold


def release(hold: Hold, actor: User | None, reason: str, journal: Journal) -> None:
    hold.released_at = utcnow()
    hold.released_by = actor
    hold.release_reason = reason
    journal.record("release", old=hold.subject, note=reason)


ROOT_CAUSE_SCHEMA = Schema(
    whys=Strings(Text(500), max_items=10),
    category=Choice([c.value for c in FishboneCategory]),
    statement=Text(4000),
    version=Integer(required=False, minimum=1),
)


def _fishbone(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid({"fishbone": str(_l("Must be an object of 6M categories and their causes."))})
    cleaned: dict[str, list[str]] = {}
    for category, causes in value.items():
        if category not in FishboneCategory.__members__.values():
            raise invalid(
                {
                    "fishbone": str(
                        _l(
                            "Unknown category %(c)s; use the 6M: %(all)s.",
                            c=category,
                            all=", ".join(c.value for c in FishboneCategory),
                        )
                    )
                }
            )
        try:
            items = Strings(Text(500), max_items=20).clean(causes) or []
        except FieldError as exc:
            raise invalid({f"fishbone.{category}": str(exc)}) from exc
        if items:
            cleaned[category] = items
    return cleaned


def submit_root_cause(nc: NonConformance, data: Any, actor: User) -> RootCauseAnalysis:
    """Submit a root-cause analysis ``{whys, fishbone, category, statement}``; the CAPA moves to review.

    At least one why or one fishbone cause is needed beside the statement.
    """
    payload = dict(data) if isinstance(data, dict) else data
    fishbone = _fishbone(payload.pop("fishbone", None)) if isinstance(payload, dict) else {}
    values = ROOT_CAUSE_SCHEMA.validate(payload)
    if not values["whys"] and not fishbone:
        raise invalid({"whys": str(_l("Give the chain of whys or the fishbone causes that lead to the root cause."))})
    with changing(nc, actor, Step.SUBMIT_ROOT_CAUSE, version=values.get("version")) as journal:
        analysis = RootCauseAnalysis(
            round=len(nc.analyses) + 1,
            whys=values["whys"] or [],
            fishbone=fishbone,
            category=values["category"],
            statement=values["statement"],
            submitted_by=actor,
        )
        nc.analyses.append(analysis)
        journal.record("root_cause", new=values["statement"], note=str(_l("Round %(n)d", n=analysis.round)))
        journal.move(State.REVIEW)
    return analysis


REVIEW_SCHEMA = Schema(
    decision=Choice(["approve", "return"]),
    comment=Text(4000, required=False),
    version=Integer(required=False, minimum=1),
)


def review(nc: NonConformance, data: Any, actor: User) -> RootCauseAnalysis:
    """Approve the submitted root cause (→ action) or return it with a required ``comment`` (→ investigation)."""
    values = REVIEW_SCHEMA.validate(data)
    if values["decision"] == "return" and not values["comment"]:
        raise invalid({"comment": str(_l("Say what is missing: a returned analysis needs a comment."))})
    analysis = nc.analyses[-1] if nc.analyses else None
    with changing(nc, actor, Step.REVIEW, version=values.get("version")) as journal:
        analysis.decision = values["decision"]
        analysis.review_comment = values["comment"] or ""
        analysis.reviewed_by = actor
        analysis.reviewed_at = utcnow()
        journal.record("review", new=values["decision"], note=values["comment"] or "")
        journal.move(State.ACTION if values["decision"] == "approve" else State.INVESTIGATION)
    return analysis


ACTION_SCHEMA = Schema(
    kind=Choice([k.value for k in ActionKind]),
    description=Text(4000),
    owner=Text(64, lower=True),
    due_date=Date(),
    version=Integer(required=False, minimum=1),
)


def add_action(nc: NonConformance, data: Any, actor: User) -> Action:
    """Add an action ``{kind, description, owner, due_date}``; the owner must be an active user."""
    values = ACTION_SCHEMA.validate(data)
    owner = accounts.find_user(values["owner"])
    if owner is None or not owner.active:
        raise invalid({"owner": str(_l("No active user %(name)s.", name=values["owner"]))})
    with changing(nc, actor, Step.ADD_ACTION, version=values.get("version")) as journal:
        action = Action(
            kind=values["kind"],
            description=values["description"],
            owner=owner,
            due_date=values["due_date"],
            status=ActionStatus.OPEN.value,
        )
        nc.actions.append(action)
        journal.record(
            "action",
            new=values["description"],
            note=str(
                _l(
                    "%(kind)s, owner %(owner)s, due %(due)s",
                    kind=values["kind"],
                    owner=owner.username,
                    due=values["due_date"].isoformat(),
                )
            ),
        )
    return action


COMPLETE_SCHEMA = Schema(evidence=Text(4000), version=Integer(required=False, minimum=1))


def complete_action(action: Action, data: Any, actor: User) -> Action:
    """Mark an action done with its ``evidence`` (its owner or a quality manager); the last one done moves
    the CAPA to verification."""
    values = COMPLETE_SCHEMA.validate(data)
    nc = action.nc
    if actor.id != action.owner_id and not role_may(Step.COMPLETE_ACTION, actor.role):
        raise PermissionDenied(str(_l("Only the action's owner or a quality manager may complete it.")))
    if action.status == ActionStatus.DONE:
        raise invalid({"id": str(_l("This action is done already."))})
    with changing(nc, actor, Step.COMPLETE_ACTION, version=values.get("version"), allow_roles=True) as journal:
        action.status = ActionStatus.DONE.value
        action.evidence = values["evidence"]
        action.completed_at = utcnow()
        action.completed_by = actor
        journal.record("action_done", old=action.description, note=values["evidence"])
        if all(a.status == ActionStatus.DONE for a in nc.actions):
            journal.move(State.VERIFICATION, str(_l("Every action is done.")))
    return action


TEST_SCHEMA = Schema(
    parameter=Code(40),
    value=Anything(),
    lab=Text(120, required=False),
    report_number=Text(64, required=False),
    tested_at=Date(required=False, not_after=plant_today),
    category=Choice(["A", "B", "C"], required=False),
    version=Integer(required=False, minimum=1),
)


def record_test(nc: NonConformance, data: Any, actor: User) -> LabResult:
    """Record a retest ``{parameter, value, lab?, report_number?, tested_at?}`` of a linked parameter, judged
    against the NC's category. A failure during verification returns the CAPA to investigation; when every
    linked parameter's latest retest passes, the NC's holds are released."""
    values = TEST_SCHEMA.validate(data)
    parameter = next((p for p in nc.parameters if p.code == values["parameter"]), None)
    if parameter is None:
        raise invalid(
            {"parameter": str(_l("%(code)s is not linked to %(number)s.", code=values["parameter"], number=nc.number))}
        )
    category = nc.effective_category or values["category"]
    if category is None:
        raise invalid({"category": str(_l("This NC names no style: give the safety category to judge against."))})
    evaluation = safety.evaluate(parameter, category, values["value"])
    with changing(nc, actor, Step.RECORD_TEST, version=values.get("version")) as journal:
        result = safety.result_from(evaluation, batch=nc.batch, lot=None, values=values, actor=actor)
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


CLOSE_SCHEMA = Schema(effectiveness=Text(4000, required=False), version=Integer(required=False, minimum=1))


def close(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Close the CAPA with its ``effectiveness`` note; raises GatesUnmet naming each unmet gate."""
    values = CLOSE_SCHEMA.validate(data)
    authorize(nc, actor, Step.CLOSE, version=values.get("version"))
    unmet = unmet_gates(nc, values["effectiveness"])
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
    with changing(nc, actor, Step.CLOSE, version=values.get("version")) as journal:
        journal.set("effectiveness", values["effectiveness"])
        nc.closed_at = utcnow()
        journal.move(State.CLOSED)
    return nc


CANCEL_SCHEMA = Schema(reason=Text(4000), version=Integer(required=False, minimum=1))


def cancel(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Cancel an open NC that is not a real non-conformance, for a ``reason``."""
    values = CANCEL_SCHEMA.validate(data)
    with changing(nc, actor, Step.CANCEL, version=values.get("version")) as journal:
        journal.set("cancel_reason", values["reason"])
        nc.cancelled_at = utcnow()
        # Not a real non-conformance: nothing it held needs holding any longer.
        for hold in nc.holds:
            if hold.released_at is None:
                release(hold, actor, str(_l("Released: %(number)s was cancelled.", number=nc.number)), journal)
        journal.move(State.CANCELLED, values["reason"])
    return nc
