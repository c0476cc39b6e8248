"""The switching rules of ISO 2859-1:1999, clause 9, over sequences of lots: normal → tightened after 2 of 5 not
accepted, tightened → normal after 5 accepted in a row, normal → reduced by the switching score, reduced → normal,
and inspection discontinued after 5 lots not accepted on tightened inspection."""

import pytest

from capa.inspections.sampling import Severity, accept_number_one_step_tighter, sampling_plan
from capa.inspections.switching import LotOutcome, Reason, Resumed, switching_state

N, T, R = Severity.NORMAL, Severity.TIGHTENED, Severity.REDUCED


def lots(severity: Severity, outcomes: str, *, accept_number: int = 1, tighter: str | None = None) -> list:
    """Lots from a string: ``a`` accepted, ``x`` not accepted, ``r`` a resubmitted lot (accepted); ``tighter``
    the same length, ``y`` where the lot would have been accepted one AQL step tighter."""
    made = []
    for position, outcome in enumerate(outcomes):
        made.append(
            LotOutcome(
                severity,
                accepted=outcome in "ar",
                accept_number=accept_number,
                accepted_one_step_tighter=bool(tighter and tighter[position] == "y"),
                resubmitted=outcome == "r",
            )
        )
    return made


def test_inspection_starts_normal():
    state = switching_state([])
    assert (state.severity, state.reason, state.score, state.discontinued) == (N, Reason.START, 0, False)
    assert state.reason_text == "Inspection starts normal."


@pytest.mark.parametrize("outcomes", ["xx", "xax", "xaax", "xaaax", "aaxaaax"])
def test_two_not_accepted_within_five_lots_tighten(outcomes):
    state = switching_state(lots(N, outcomes))
    assert (state.severity, state.reason) == (T, Reason.TWO_OF_FIVE_NOT_ACCEPTED)


@pytest.mark.parametrize("outcomes", ["xaaaax", "x", "aaaaxaaaax"])
def test_two_not_accepted_further_apart_than_five_lots_do_not(outcomes):
    assert switching_state(lots(N, outcomes)).severity == N


def test_resubmitted_lots_are_left_out():
    # The second lot offered again and accepted is not counted: the two not accepted stay within five lots.
    assert switching_state(lots(N, "xaarrrax")).severity == T


def test_five_accepted_in_a_row_on_tightened_return_to_normal_with_a_new_score():
    history = [*lots(N, "xx"), *lots(T, "aaaa")]
    assert switching_state(history).severity == T
    state = switching_state([*history, *lots(T, "a")])
    assert (state.severity, state.reason, state.score) == (N, Reason.FIVE_ACCEPTED_ON_TIGHTENED, 0)
    # A lot not accepted in between starts the count again.
    assert switching_state([*lots(N, "xx"), *lots(T, "aaxaaaa")]).severity == T


def test_five_not_accepted_on_tightened_discontinue_until_resumed():
    history = [*lots(N, "xx"), *lots(T, "xaxaxaxax")]
    state = switching_state(history)
    assert (state.severity, state.discontinued, state.reason) == (T, True, Reason.FIVE_NOT_ACCEPTED_ON_TIGHTENED)
    with pytest.raises(ValueError, match="discontinued"):
        switching_state([*history, *lots(T, "a")])
    resumed = switching_state([*history, Resumed()])
    assert (resumed.severity, resumed.discontinued, resumed.reason) == (T, False, Reason.RESUMED)
    assert switching_state([*history, Resumed(), *lots(T, "aaaaa")]).severity == N


def test_four_not_accepted_on_tightened_do_not_discontinue():
    state = switching_state([*lots(N, "xx"), *lots(T, "xaxaxax")])
    assert (state.discontinued, state.not_accepted_on_tightened) == (False, 4)


def test_the_switching_score_of_plans_with_ac_0_or_1_adds_2_per_lot_accepted():
    state = switching_state(lots(N, "a" * 14), reduced_allowed=True)
    assert (state.severity, state.score) == (N, 28)
    state = switching_state(lots(N, "a" * 15), reduced_allowed=True)
    assert (state.severity, state.reason, state.score) == (R, Reason.SWITCHING_SCORE, 0)
    # A lot not accepted sets the score back to zero.
    assert switching_state(lots(N, "a" * 10 + "x" + "a" * 3)).score == 6


def test_the_switching_score_of_plans_with_ac_2_or_more_adds_3_when_one_step_tighter_would_accept():
    state = switching_state(lots(N, "a" * 10, accept_number=5, tighter="y" * 10), reduced_allowed=True)
    assert (state.severity, state.reason) == (R, Reason.SWITCHING_SCORE)
    # Accepted, but not at the tighter AQL: the score goes back to zero.
    state = switching_state(lots(N, "a" * 10, accept_number=5, tighter="y" * 8 + "n" + "y"), reduced_allowed=True)
    assert (state.severity, state.score) == (N, 3)


def test_reduced_inspection_needs_the_authoritys_leave_and_steady_production():
    assert switching_state(lots(N, "a" * 20)).severity == N
    unsteady = [*lots(N, "a" * 14), LotOutcome(N, accepted=True, accept_number=1, production_steady=False)]
    assert switching_state(unsteady, reduced_allowed=True).severity == N


def test_reduced_returns_to_normal_on_a_lot_not_accepted_or_irregular_production():
    reduced = lots(N, "a" * 15)
    state = switching_state([*reduced, *lots(R, "aax")], reduced_allowed=True)
    assert (state.severity, state.reason, state.score) == (N, Reason.NOT_ACCEPTED_ON_REDUCED, 0)
    irregular = LotOutcome(R, accepted=True, accept_number=1, production_steady=False)
    state = switching_state([*reduced, irregular], reduced_allowed=True)
    assert (state.severity, state.reason) == (N, Reason.PRODUCTION_IRREGULAR)
    assert switching_state([*reduced, *lots(R, "aaaaaaaa")], reduced_allowed=True).severity == R


def test_a_history_the_rules_could_not_have_produced_is_refused():
    with pytest.raises(ValueError, match="tightened"):
        switching_state(lots(T, "a"))
    with pytest.raises(ValueError, match="resumed"):
        switching_state([Resumed()])


def test_the_tighter_acceptance_number_is_the_normal_plans_one_aql_step_left():
    plan = sampling_plan(1000, "2.5")  # J, 80, Ac 5: at 1.5 the same row has Ac 3
    assert accept_number_one_step_tighter(plan) == 3
    assert accept_number_one_step_tighter(sampling_plan(1000, "1.0")) == 1  # J, Ac 2: at 0.65 Ac 1
    assert accept_number_one_step_tighter(sampling_plan(1000, "0.65")) is None  # J, Ac 1: at 0.40 an arrow
    assert accept_number_one_step_tighter(sampling_plan(1000, "0.25")) is None  # H, Ac 0: at 0.15 an arrow
    assert accept_number_one_step_tighter(sampling_plan(600000, "0.010")) is None  # no tighter AQL
