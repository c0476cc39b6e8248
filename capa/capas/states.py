"""The states of a CAPA and the moves between them (8D mapped to states). Plain Python, no database.

    reported ──contain──▶ investigation ──submit root cause──▶ review
    review ──approve──▶ action ──last action done──▶ verification ──close (gates met)──▶ closed
    review ──return with comment──▶ investigation
    verification ──failing retest──▶ investigation
    any open state ──cancel with reason──▶ cancelled

``closed`` and ``cancelled`` are final. Who may make each move is in :data:`STEP_ROLES`; the one policy
(:mod:`capa.capas.policy`) reads both tables and is asked by services, pages, API and templates alike.
"""

from enum import StrEnum

from capa.accounts.models import STAFF, Role


class State(StrEnum):
    REPORTED = "reported"
    INVESTIGATION = "investigation"
    REVIEW = "review"
    ACTION = "action"
    VERIFICATION = "verification"
    CLOSED = "closed"
    CANCELLED = "cancelled"


FINAL = frozenset({State.CLOSED, State.CANCELLED})
OPEN = frozenset(State) - FINAL


class Step(StrEnum):
    FILE = "file"
    EDIT = "edit"
    CONTAIN = "contain"
    RELEASE_HOLD = "release_hold"
    SUBMIT_ROOT_CAUSE = "submit_root_cause"
    REVIEW = "review"
    ADD_ACTION = "add_action"
    COMPLETE_ACTION = "complete_action"
    RECORD_TEST = "record_test"
    CLOSE = "close"
    CANCEL = "cancel"
    ADD_PHOTO = "add_photo"
    #: A quality manager's disposition of goods on hold, and a rework's re-inspection.
    DISPOSE = "dispose"
    #: A quality manager's correction of the linked safety parameters, with a reason, at any open state.
    CORRECT_PARAMETERS = "correct_parameters"
    #: The effectiveness review of a closed CAPA.
    REVIEW_EFFECTIVENESS = "review_effectiveness"
    #: Evidence files (capa.capas.evidence) added to an action (its owner or a quality manager) or to the closing.
    ADD_EVIDENCE = "add_evidence"


#: The states in which each step may be taken.
STEP_STATES: dict[Step, frozenset[State]] = {
    Step.EDIT: OPEN,
    Step.CONTAIN: OPEN,
    Step.RELEASE_HOLD: frozenset(State),
    Step.SUBMIT_ROOT_CAUSE: frozenset({State.INVESTIGATION}),
    Step.REVIEW: frozenset({State.REVIEW}),
    Step.ADD_ACTION: frozenset({State.ACTION}),
    Step.COMPLETE_ACTION: frozenset({State.ACTION}),
    Step.RECORD_TEST: OPEN,
    Step.CLOSE: frozenset({State.VERIFICATION}),
    Step.CANCEL: OPEN,
    Step.ADD_PHOTO: OPEN,
    Step.DISPOSE: OPEN,
    Step.CORRECT_PARAMETERS: OPEN,
    Step.REVIEW_EFFECTIVENESS: frozenset({State.CLOSED}),
    Step.ADD_EVIDENCE: OPEN,
}

_QM = frozenset({Role.QUALITY_MANAGER})
#: Who may take each step (docs/product.md: the review, closing and cancelling are the quality manager's alone).
STEP_ROLES: dict[Step, frozenset[Role]] = {
    Step.FILE: STAFF,
    Step.EDIT: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Step.CONTAIN: _QM,
    Step.RELEASE_HOLD: _QM,
    Step.SUBMIT_ROOT_CAUSE: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Step.REVIEW: _QM,
    Step.ADD_ACTION: _QM,
    # The action's owner too, whatever the role: see steps.complete_action.
    Step.COMPLETE_ACTION: _QM,
    Step.RECORD_TEST: _QM,
    Step.CLOSE: _QM,
    Step.CANCEL: _QM,
    # Whoever may file may add photos (the filing form carries them).
    Step.ADD_PHOTO: STAFF,
    Step.DISPOSE: _QM,
    Step.CORRECT_PARAMETERS: _QM,
    Step.REVIEW_EFFECTIVENESS: _QM,
    # The action's owner too, for that action's evidence: see capa.capas.evidence.
    Step.ADD_EVIDENCE: _QM,
}


def allowed_in(step: Step, state: State | str) -> bool:
    return State(state) in STEP_STATES[step]
