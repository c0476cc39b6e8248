"""The switching rules of ISO 2859-1:1999 (GB/T 2828.1-2012), clause 9: which severity of inspection the next lot
from a source (a supplier, a line, for a buyer) is inspected under, worked out from the outcomes of its lots on
original inspection, in order. Plain Python: the inspections keep the outcomes, this reads them.

The rules:
- inspection starts normal (9.2);
- normal → tightened when 2 of 5 or fewer consecutive lots on original normal inspection are not accepted (9.3.1);
- tightened → normal when 5 consecutive lots on original tightened inspection are accepted (9.3.2);
- normal → reduced when the switching score is at least 30, production is at a steady rate and the responsible
  authority allows reduced inspection (9.3.3). The score starts at 0 with each period of normal inspection and
  after each lot on original normal inspection: with a plan of Ac 2 or more, 3 is added if the lot would have
  been accepted with the AQL one step tighter, else the score goes back to 0; with Ac 0 or 1, 2 is added if the
  lot is accepted, else the score goes back to 0 (9.3.3.2 a);
- reduced → normal when a lot on reduced inspection is not accepted, or production becomes irregular or
  delayed (9.3.4);
- while 5 lots in all of one period of tightened inspection are not accepted, inspection is discontinued (9.4):
  no lot is accepted under the standard until the supplier has acted to improve; it then resumes tightened.

Resubmitted lots are left out of all of this, as the standard says: only original inspection counts.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from capa.inspections.sampling import Severity

#: Lots looked back on for normal → tightened, and not accepted among them that switch.
LOOK_BACK = 5
REJECTED_TO_TIGHTEN = 2
#: Consecutive lots accepted under tightened inspection that return it to normal.
ACCEPTED_TO_NORMAL = 5
#: The switching score that allows reduced inspection.
SCORE_TO_REDUCE = 30
#: Lots not accepted in one period of tightened inspection that discontinue inspection.
REJECTED_TO_DISCONTINUE = 5


class Reason(StrEnum):
    """Why the source is inspected as it is now: the last switch made, or the start."""

    START = "start"
    TWO_OF_FIVE_NOT_ACCEPTED = "two_of_five_not_accepted"
    FIVE_ACCEPTED_ON_TIGHTENED = "five_accepted_on_tightened"
    SWITCHING_SCORE = "switching_score"
    NOT_ACCEPTED_ON_REDUCED = "not_accepted_on_reduced"
    PRODUCTION_IRREGULAR = "production_irregular"
    FIVE_NOT_ACCEPTED_ON_TIGHTENED = "five_not_accepted_on_tightened"
    RESUMED = "resumed"


#: The severities as a sentence names them.
SEVERITY_WORDS = {
    Severity.NORMAL: _l("normal inspection"),
    Severity.TIGHTENED: _l("tightened inspection"),
    Severity.REDUCED: _l("reduced inspection"),
}

REASON_TEXTS = {
    Reason.START: _l("Inspection starts normal."),
    Reason.TWO_OF_FIVE_NOT_ACCEPTED: _l("2 of 5 or fewer consecutive lots were not accepted on normal inspection."),
    Reason.FIVE_ACCEPTED_ON_TIGHTENED: _l("5 consecutive lots were accepted on tightened inspection."),
    Reason.SWITCHING_SCORE: _l(
        "The switching score reached 30 with production steady, and reduced inspection is allowed."
    ),
    Reason.NOT_ACCEPTED_ON_REDUCED: _l("A lot was not accepted on reduced inspection."),
    Reason.PRODUCTION_IRREGULAR: _l("Production became irregular or delayed while on reduced inspection."),
    Reason.FIVE_NOT_ACCEPTED_ON_TIGHTENED: _l(
        "5 lots were not accepted on tightened inspection: inspection is discontinued until the supplier has acted "
        "to improve the quality."
    ),
    Reason.RESUMED: _l("Inspection resumed, tightened, after the supplier's corrective action."),
}


@dataclass(frozen=True)
class LotOutcome:
    """A lot's original inspection, as the switching rules read it."""

    #: The severity the lot was inspected under.
    severity: Severity
    accepted: bool
    #: Ac of the plan used.
    accept_number: int
    #: Whether the lot would have been accepted with the AQL one step tighter (its plan's Ac then): read for a plan
    #: of Ac 2 or more under normal inspection, for the switching score.
    accepted_one_step_tighter: bool = False
    #: Production was at a steady rate when the lot was made.
    production_steady: bool = True
    #: A lot offered again after it was not accepted: left out of the switching rules.
    resubmitted: bool = False


@dataclass(frozen=True)
class Resumed:
    """The supplier's corrective action accepted after inspection was discontinued: inspection resumes."""


@dataclass(frozen=True)
class SwitchingState:
    """Where a source's inspection stands after its lots so far."""

    severity: Severity
    reason: Reason
    #: No lot may be accepted under the standard until inspection is resumed.
    discontinued: bool = False
    #: The switching score (during normal inspection; 0 otherwise).
    score: int = 0
    #: Lots on original inspection since the last switch.
    lots_since_switch: int = 0
    #: Lots not accepted in the current period of tightened inspection.
    not_accepted_on_tightened: int = 0

    @property
    def reason_text(self) -> str:
        return str(REASON_TEXTS[self.reason])


def switching_state(history: Iterable[LotOutcome | Resumed], *, reduced_allowed: bool = False) -> SwitchingState:
    """The severity the next lot is inspected under, after ``history`` (oldest first), with the reason (see the
    module for the rules). ``reduced_allowed`` is the responsible authority's leave to use reduced inspection.
    Raises ValueError for a lot recorded under another severity than the one in force, or a resumption while
    inspection is not discontinued: the history is then not one the rules could have produced."""
    state = SwitchingState(Severity.NORMAL, Reason.START)
    # The outcomes of the current period's last lots (normal: for 2 of 5; tightened: for 5 in a row).
    recent: deque[bool] = deque(maxlen=max(LOOK_BACK, ACCEPTED_TO_NORMAL))
    for event in history:
        if isinstance(event, Resumed):
            if not state.discontinued:
                raise ValueError("inspection resumed while it was not discontinued")
            state = SwitchingState(Severity.TIGHTENED, Reason.RESUMED)
            continue
        if event.resubmitted:
            continue
        if state.discontinued:
            raise ValueError("a lot inspected while inspection was discontinued")
        if event.severity != state.severity:
            raise ValueError(f"a lot inspected {event.severity} while {state.severity} inspection was in force")
        state, switched = _after_lot(state, event, recent, reduced_allowed)
        if switched:
            recent.clear()
    return state


def _after_lot(
    state: SwitchingState, lot: LotOutcome, recent: deque[bool], reduced_allowed: bool
) -> tuple[SwitchingState, bool]:
    """The state after one lot on original inspection, and whether it switched."""
    counted = state.lots_since_switch + 1
    if state.severity == Severity.NORMAL:
        recent.append(lot.accepted)
        if sum(not accepted for accepted in recent) >= REJECTED_TO_TIGHTEN:
            return SwitchingState(Severity.TIGHTENED, Reason.TWO_OF_FIVE_NOT_ACCEPTED), True
        if lot.accept_number >= 2:
            score = state.score + 3 if lot.accepted_one_step_tighter else 0
        else:
            score = state.score + 2 if lot.accepted else 0
        if score >= SCORE_TO_REDUCE and lot.production_steady and reduced_allowed:
            return SwitchingState(Severity.REDUCED, Reason.SWITCHING_SCORE), True
        return SwitchingState(Severity.NORMAL, state.reason, score=score, lots_since_switch=counted), False
    if state.severity == Severity.TIGHTENED:
        rejected = state.not_accepted_on_tightened + (not lot.accepted)
        if rejected >= REJECTED_TO_DISCONTINUE:
            return SwitchingState(Severity.TIGHTENED, Reason.FIVE_NOT_ACCEPTED_ON_TIGHTENED, discontinued=True), True
        recent.append(lot.accepted)
        if len(recent) == ACCEPTED_TO_NORMAL and all(recent):
            return SwitchingState(Severity.NORMAL, Reason.FIVE_ACCEPTED_ON_TIGHTENED), True
        return (
            SwitchingState(
                Severity.TIGHTENED, state.reason, lots_since_switch=counted, not_accepted_on_tightened=rejected
            ),
            False,
        )
    if not lot.accepted:
        return SwitchingState(Severity.NORMAL, Reason.NOT_ACCEPTED_ON_REDUCED), True
    if not lot.production_steady:
        return SwitchingState(Severity.NORMAL, Reason.PRODUCTION_IRREGULAR), True
    return SwitchingState(Severity.REDUCED, state.reason, lots_since_switch=counted), False
