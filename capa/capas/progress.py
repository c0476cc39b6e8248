"""Where a CAPA stands: the step that moves it on from its state, the 8D discipline that step belongs to,
and who may take it. Pages lead with it: the person who can take the step finds its form first, everyone
else reads who the CAPA is waiting for.

The rule, by state: ``reported`` waits for containment (D3); ``investigation`` for the root-cause analysis
(D4); ``review`` for the quality manager's review (D4); ``action`` for the open actions' owners (D5–D7), or,
when no action is open (a round approved after the earlier actions were all done, or none added yet), for a
quality manager to add the actions the root cause calls for; ``verification`` for the retests (D6) while a
linked parameter's latest retest is missing or failing, then, while goods it held are not disposed of whole,
for the quality manager's dispositions (D3), then for closing (D8). So every open state has a
step and someone who may take it; a closed or cancelled CAPA waits for nobody.
"""

from dataclasses import dataclass

from capa.accounts.models import User
from capa.capas import dispositions
from capa.capas.gates import latest_tests
from capa.capas.models import ActionStatus, NonConformance
from capa.capas.states import STEP_ROLES, State, Step
from capa.safety.judging import Outcome
from capa.safety.models import LabResult

#: The 8D discipline (the NC page's section) of each step that moves a CAPA on.
DISCIPLINE = {
    Step.CONTAIN: "d3",
    Step.SUBMIT_ROOT_CAUSE: "d4",
    Step.REVIEW: "d4",
    Step.ADD_ACTION: "d5",
    Step.COMPLETE_ACTION: "d5",
    Step.RECORD_TEST: "d6",
    Step.DISPOSE: "d3",
    Step.CLOSE: "d8",
}


@dataclass(frozen=True)
class NextStep:
    step: Step
    #: The NC page's section that holds the step's form: ``d3`` … ``d8``.
    discipline: str
    #: The roles that may take the step (for a step on actions, their owners may too).
    roles: frozenset
    #: The users who own the open actions, when the step is to finish them.
    owners: tuple[User, ...] = ()


def next_step(nc: NonConformance, latest: dict[int, LabResult] | None = None) -> NextStep | None:
    """The step that moves ``nc`` on from its state (see the module's rule); None when it is final.
    ``latest`` is the latest retest by parameter id, when the caller has it already."""
    step = {
        State.REPORTED: Step.CONTAIN,
        State.INVESTIGATION: Step.SUBMIT_ROOT_CAUSE,
        State.REVIEW: Step.REVIEW,
        State.ACTION: Step.COMPLETE_ACTION,
    }.get(State(nc.status))
    if nc.status == State.ACTION and not any(action.status == ActionStatus.OPEN for action in nc.actions):
        step = Step.ADD_ACTION
    if nc.status == State.VERIFICATION:
        latest = latest_tests(nc) if latest is None else latest
        retested = all(
            (result := latest.get(parameter.id)) is not None and result.verdict == Outcome.PASS
            for parameter in nc.parameters
        )
        step = Step.RECORD_TEST
        if retested:
            # Passing retests release nothing by themselves: held goods wait for the quality manager's decision.
            step = Step.DISPOSE if dispositions.undisposed(nc) else Step.CLOSE
    if step is None:
        return None
    owners: tuple[User, ...] = ()
    if step is Step.COMPLETE_ACTION:
        seen: dict[int, User] = {}
        for action in nc.actions:
            if action.status == ActionStatus.OPEN:
                seen.setdefault(action.owner.id, action.owner)
        owners = tuple(seen.values())
    return NextStep(step, DISCIPLINE[step], STEP_ROLES[step], owners)
