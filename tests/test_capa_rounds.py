"""Rounds that remember, and edits that do not collide: through the JSON API and the pages.

- a returned root cause: the next round's form is filled from it, the quality manager's question stands above
  it, and the reporter's queue says "returned: answer the question" with the question;
- the review has no default decision: a review without one is refused beside the field;
- a failing retest sends the CAPA back to investigation with the failing result as the reason; the next round
  starts from the approved analysis; once it is approved with every earlier action done, the page asks for a
  new action, and adding and finishing one moves the CAPA on: no open state waits for nothing;
- a quality manager corrects the linked parameters at any open state, with a reason once a root cause was
  submitted; the results recorded so far stay;
- a save made on an older version is refused only when another person changed the same fields, or the state
  the step rests on, meanwhile; the refused form keeps what was typed and says what the other person changed.
"""

import itertools
from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from capa.accounts import service as accounts
from capa.accounts.models import Role, User
from capa.capas import progress
from capa.capas.models import Action, ActionStatus, Event, Hold, NonConformance
from capa.capas.states import FINAL, OPEN, STEP_ROLES, State, allowed_in
from capa.common.clock import plant_today
from capa.extensions import db
from capa.masterdata.models import Batch
from capa.safety.judging import Outcome
from capa.safety.models import LabResult, SafetyParameter
from tests.answers import ok, refused
from tests.conftest import PASSWORD, ApiClient, new_user
from tests.pages import (
    errors_in,
    field_block,
    form_at,
    has_field,
    input_value,
    logged_in,
    one,
    parsed,
    row_linking,
    section,
    selected_value,
    table_rows,
    text,
    textarea_text,
    under_heading,
    version_in,
)

NCS = "/api/v1/nonconformances"
WHYS = [
    "Snaps come off at a light pull.",
    "Too few stitches hold the reinforcement.",
    "The button machine's stitch density was set below standard.",
]
ROOT_CAUSE = {
    "whys": WHYS,
    "fishbone": {"machine": ["Stitch density set below standard", "No lock on the setting"]},
    "category": "machine",
    "statement": "The button machine's stitch density was set below standard.",
}
QUESTION = "Why did the inline check not catch the low pull force?"


def due_in(days: int) -> str:
    return (plant_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def floor(app, client):
    """The supervisor who files, two quality managers, their API clients and browsers, and the master data."""
    users = {
        "sup": new_user("supervisor", "sup.wang"),
        "qm": new_user("quality_manager", "qm.li"),
        "qm2": new_user("quality_manager", "qm.zhao"),
    }
    people = SimpleNamespace(users=users)
    for name, user in users.items():
        setattr(people, name, ApiClient(client, accounts.create_token(user)))
    qm = people.qm
    for path, body in [
        ("lines", {"code": "L1", "name": "Line 1"}),
        ("suppliers", {"code": "SNAP-CO", "name": "Snap Co"}),
        ("styles", {"code": "RMP-2301", "name": "Infant romper", "category": "A"}),
        (
            "batches",
            {
                "number": "B-2301-01",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"}],
            },
        ),
    ]:
        assert qm.post(f"/api/v1/{path}", json=body).status_code == 201, body
    people.browser = lambda name: logged_in(app, users[name])
    return people


def file(floor, parameters=("CN-ATT-GT6",)) -> dict:
    return ok(
        floor.sup.post(
            NCS,
            json={
                "title": "Snap buttons come off the infant romper",
                "description": "End-of-line: 12 of 200 rompers lost a snap at a light pull.",
                "defect_type": "loose_button",
                "source": "end_of_line",
                "line": "L1",
                "style": "RMP-2301",
                "batch": "B-2301-01",
                "parameters": list(parameters),
            },
        ),
        201,
    )


def detail(floor, number: str) -> dict:
    return ok(floor.qm.get(f"{NCS}/{number}"))


def contain(floor, number: str) -> dict:
    return ok(floor.qm.post(f"{NCS}/{number}/containment", json={"description": "Batch held.", "hold": ["B-2301-01"]}))


def to_review(floor, number: str, body: dict = ROOT_CAUSE) -> dict:
    return ok(floor.sup.post(f"{NCS}/{number}/root-cause", json=body))


def returned_nc(floor) -> str:
    """An NC whose first root cause the quality manager returned with QUESTION."""
    number = file(floor)["number"]
    contain(floor, number)
    to_review(floor, number)
    ok(floor.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "return", "comment": QUESTION}))
    return number


def add_action(floor, number: str, description: str = "Reset the stitch density.") -> dict:
    return ok(
        floor.qm.post(
            f"{NCS}/{number}/actions",
            json={"kind": "corrective", "description": description, "owner": "qm.li", "due_date": due_in(7)},
        ),
        201,
    )


def complete(floor, action_id: int, evidence: str = "Done, checked on the line.") -> dict:
    return ok(floor.qm.post(f"/api/v1/actions/{action_id}/complete", json={"evidence": evidence}))


def to_verification(floor, number: str) -> int:
    """From investigation through an approved round and one finished action to verification; the action's id."""
    to_review(floor, number)
    ok(floor.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve"}))
    action = add_action(floor, number)
    assert complete(floor, action["id"])["nc_status"] == "verification"
    return action["id"]


def page_of(client, number: str) -> str:
    response = client.get(f"/nc/{number}")
    assert response.status_code == 200
    return response.text


# Returned root causes --------------------------------------------------------------------------------------


def test_a_returned_round_keeps_its_question_in_the_api_until_the_next_round(floor):
    number = returned_nc(floor)
    record = detail(floor, number)
    assert record["status"] == "investigation"
    assert record["returned_question"] == QUESTION
    assert record["next_step"] == {
        "step": "submit_root_cause",
        "discipline": "d4",
        "roles": ["quality_manager", "supervisor"],
        "owners": [],
    }
    answered = to_review(floor, number, {**ROOT_CAUSE, "statement": "No pull test in the inline checks."})
    assert answered["returned_question"] is None
    assert answered["next_step"]["step"] == "review"
    assert [r["decision"] for r in answered["reviews"]] == ["return", None]


def test_the_returned_rounds_form_is_filled_from_it_under_the_question(floor):
    number = returned_nc(floor)
    page = page_of(floor.browser("sup"), number)
    d4 = section(page, "d4")
    question = one(d4, "#round-question")
    assert QUESTION in text(question)
    assert "qm.li" in text(question)
    form = form_at(d4, f"/nc/{number}/root-cause")
    assert [input_value(field_block(form, f"why{n}")) for n in (1, 2, 3, 4)] == [*WHYS, ""]
    assert textarea_text(field_block(form, "machine")).splitlines() == [
        "Stitch density set below standard",
        "No lock on the setting",
    ]
    assert textarea_text(field_block(form, "method")) == ""
    assert selected_value(field_block(form, "category")) == "machine"
    assert textarea_text(field_block(form, "statement")) == ROOT_CAUSE["statement"]
    # The question leads the "What happens next" card too.
    assert QUESTION in text(one(page, "#next"))


def test_a_first_round_starts_empty(floor):
    number = file(floor)["number"]
    contain(floor, number)
    form = form_at(page_of(floor.browser("sup"), number), f"/nc/{number}/root-cause")
    assert input_value(field_block(form, "why1")) == ""
    assert textarea_text(field_block(form, "statement")) == ""
    assert parsed(page_of(floor.browser("sup"), number)).css_first("#round-question") is None


def test_the_supervisors_queue_says_returned_with_the_question_and_the_quality_managers_lists_it(floor):
    number = returned_nc(floor)
    other = file(floor)["number"]  # still reported: no question
    home = floor.browser("sup").get("/").text
    row = row_linking(under_heading(home, "My open non-conformances"), f"/nc/{number}")
    assert "returned: answer the question" in text(row)
    assert QUESTION in text(row)
    assert "returned" not in text(row_linking(under_heading(home, "My open non-conformances"), f"/nc/{other}"))

    qm_home = floor.browser("qm").get("/").text
    listed = under_heading(qm_home, "Returned root causes")
    assert [text(row) for row in table_rows(listed) if QUESTION in text(row)]
    assert f"/nc/{other}" not in listed.html
    # Answered, it leaves the list and the line goes.
    to_review(floor, number)
    assert "returned: answer the question" not in floor.browser("sup").get("/").text
    assert f"/nc/{number}" not in under_heading(floor.browser("qm").get("/").text, "Returned root causes").html


# The review has no default ----------------------------------------------------------------------------------


def test_the_review_offers_no_default_and_refuses_a_review_without_a_decision_beside_it(floor):
    number = file(floor)["number"]
    contain(floor, number)
    to_review(floor, number)
    qm = floor.browser("qm")
    action = f"/nc/{number}/review"
    form = form_at(page_of(qm, number), action)
    radios = form.css('input[type="radio"][name="decision"]')
    assert sorted(radio.attributes["value"] for radio in radios) == ["approve", "return"]
    assert not [radio for radio in radios if "checked" in radio.attributes]

    before = detail(floor, number)
    response = qm.post(
        action, data={"version": version_in(form), "comment": "Looks right to me.", "password": PASSWORD}
    )
    assert response.status_code == 400
    refused_form = form_at(response.text, action)
    assert errors_in(one(refused_form, "fieldset#review-decision")) == ["Choose: approve, or return with a question."]
    assert textarea_text(field_block(refused_form, "comment")) == "Looks right to me."
    assert detail(floor, number) == before

    # Approving takes no comment.
    form = form_at(page_of(qm, number), action)
    response = qm.post(
        action, data={"version": version_in(form), "decision": "approve", "comment": "", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert detail(floor, number)["status"] == "action"


# Back from a failing retest ----------------------------------------------------------------------------------


def test_a_failing_retest_sends_it_back_with_the_result_and_the_next_round_starts_from_the_analysis(floor):
    number = file(floor)["number"]
    contain(floor, number)
    first_action = to_verification(floor, number)
    retest = ok(floor.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 40}), 201)
    assert (retest["verdict"], retest["nc_status"]) == ("fail", "investigation")

    record = detail(floor, number)
    assert record["next_step"]["step"] == "submit_root_cause"
    assert record["returned_question"] is None
    page = page_of(floor.browser("sup"), number)
    reason = text(one(section(page, "d4"), "#round-reason"))
    assert "CN-ATT-GT6" in reason and "40" in reason
    assert "CN-ATT-GT6" in text(one(page, "#next-reason")) and "40" in text(one(page, "#next-reason"))
    form = form_at(section(page, "d4"), f"/nc/{number}/root-cause")
    assert textarea_text(field_block(form, "statement")) == ROOT_CAUSE["statement"]
    assert input_value(field_block(form, "why3")) == WHYS[2]
    # The earlier action stays done and visible, answering round 1.
    d5 = section(page, "d5")
    [row] = table_rows(d5)
    assert "Reset the stitch density." in text(row) and "done" in text(row) and "Round 1" in text(row)

    # Round 2 is approved while every earlier action is done: the CAPA waits for a new action, and says so.
    to_review(floor, number, {**ROOT_CAUSE, "statement": "The density setting has no lock after maintenance."})
    ok(
        floor.qm.post(
            f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve", "comment": "Agreed."}
        )
    )
    record = detail(floor, number)
    assert record["status"] == "action"
    assert record["next_step"] == {"step": "add_action", "discipline": "d5", "roles": ["quality_manager"], "owners": []}
    assert [(a["id"], a["status"], a["round"]) for a in record["actions"]] == [(first_action, "done", 1)]
    qm_page = page_of(floor.browser("qm"), number)
    assert "Your step: add the actions the new root cause calls for." in text(one(qm_page, "#next"))
    sup_page = page_of(floor.browser("sup"), number)
    assert "Waiting for a quality manager to add the actions the new root cause calls for." in text(
        one(sup_page, "#next")
    )
    # The step's form comes first: D5, open, with the form to add an action unfolded.
    assert [card.attributes["id"] for card in parsed(qm_page).css("section.card")][:2] == ["next", "d5"]
    assert "open" in one(section(qm_page, "d5"), "details:not(.fold)").attributes
    assert has_field(form_at(section(qm_page, "d5"), f"/nc/{number}/actions"), "description")

    second = add_action(floor, number, "Lock the density setting after maintenance.")
    assert second["round"] == 2
    assert detail(floor, number)["next_step"] == {
        "step": "complete_action",
        "discipline": "d5",
        "roles": ["quality_manager"],
        "owners": ["qm.li"],
    }
    assert complete(floor, second["id"])["nc_status"] == "verification"
    assert detail(floor, number)["next_step"]["step"] == "record_test"


# Correcting the linked parameters -----------------------------------------------------------------------------


def test_a_quality_manager_corrects_the_parameters_in_action_with_a_reason_and_results_stay(floor):
    number = file(floor, parameters=("CN-ATT-3TO6", "CN-ATT-GT6"))["number"]
    ok(floor.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-3TO6", "value": 20}), 201)
    contain(floor, number)
    to_review(floor, number)
    ok(floor.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve"}))
    before = detail(floor, number)
    assert before["status"] == "action"

    error = refused(floor.qm.patch(f"{NCS}/{number}", json={"parameters": ["CN-ATT-GT6"]}), 400, "invalid")
    assert set(error["fields"]) == {"reason"}
    error = refused(
        floor.sup.patch(f"{NCS}/{number}", json={"parameters": ["CN-ATT-GT6"], "reason": "No small snaps."}),
        400,
        "invalid",
    )
    assert set(error["fields"]) == {"parameters"}
    assert detail(floor, number) == before

    reason = "The romper has only 8 mm snaps: no attachment of 3 to 6 mm."
    corrected = ok(
        floor.qm.patch(
            f"{NCS}/{number}",
            json={"parameters": ["CN-ATT-GT6"], "reason": reason, "version": before["version"]},
        )
    )
    assert (corrected["status"], corrected["parameters"], corrected["safety_critical"]) == (
        "action",
        ["CN-ATT-GT6"],
        True,
    )
    [change] = [e for e in corrected["history"] if e["kind"] == "field" and e["field"] == "parameters"]
    assert (change["old"], change["new"], change["note"], change["by"]) == (
        "CN-ATT-3TO6, CN-ATT-GT6",
        "CN-ATT-GT6",
        reason,
        "qm.li",
    )
    # The result recorded on the parameter no longer linked stays.
    assert [(t["parameter"], t["value"]) for t in corrected["tests"]] == [("CN-ATT-3TO6", "20")]

    # Emptied, the NC is no longer safety-critical (worked out as at filing).
    emptied = ok(floor.qm.patch(f"{NCS}/{number}", json={"parameters": [], "reason": "Not a safety matter."}))
    assert (emptied["parameters"], emptied["safety_critical"]) == ([], False)


def test_the_edit_form_asks_quality_managers_for_the_reason_and_refuses_without_it_beside_it(floor):
    number = file(floor, parameters=("CN-ATT-3TO6", "CN-ATT-GT6"))["number"]
    contain(floor, number)
    to_review(floor, number)
    qm, sup = floor.browser("qm"), floor.browser("sup")
    action = f"/nc/{number}/edit"
    assert not has_field(form_at(page_of(sup, number), action), "reason")
    form = form_at(page_of(qm, number), action)
    assert has_field(form, "reason")
    typed = {
        "version": version_in(form),
        "title": "Snap buttons come off the infant romper",
        "description": "End-of-line: 12 of 200 rompers lost a snap at a light pull.",
        "severity": "major",
        "parameters": ["CN-ATT-GT6"],
    }
    response = qm.post(action, data={**typed, "reason": ""})
    assert response.status_code == 400
    assert errors_in(field_block(form_at(response.text, action), "reason"))
    assert detail(floor, number)["parameters"] == ["CN-ATT-3TO6", "CN-ATT-GT6"]
    response = qm.post(action, data={**typed, "reason": "Only 8 mm snaps on this romper."})
    assert response.status_code == 302
    record = detail(floor, number)
    assert record["parameters"] == ["CN-ATT-GT6"]
    assert record["status"] == "review"


# Edits that do not collide ----------------------------------------------------------------------------------


def test_a_description_edit_on_an_old_version_goes_through_after_a_containment(floor):
    filed = file(floor)
    number = filed["number"]
    contain(floor, number)
    edited = ok(
        floor.sup.patch(f"{NCS}/{number}", json={"description": "12 of 200, all from the morning shift.", "version": 1})
    )
    assert edited["description"] == "12 of 200, all from the morning shift."
    assert edited["containment"]["description"] == "Batch held."
    assert (edited["status"], edited["version"]) == ("investigation", 3)
    # Every history entry carries the version its change produced.
    assert [(e["kind"], e["version"]) for e in edited["history"]] == [
        ("filed", 1),
        ("field", 2),
        ("hold", 2),
        ("state", 2),
        ("field", 3),
    ]


def test_a_description_edit_on_an_old_version_after_another_persons_description_edit_is_409_with_the_change(floor):
    number = file(floor)["number"]
    ok(floor.qm.patch(f"{NCS}/{number}", json={"description": "Checked: 14 of 200.", "version": 1}))
    before = detail(floor, number)
    error = refused(
        floor.sup.patch(f"{NCS}/{number}", json={"description": "12 of 200, morning shift.", "version": 1}),
        409,
        "stale_version",
    )
    assert error["current_version"] == 2
    [change] = error["changes"]
    assert {k: change[k] for k in ("field", "kind", "old", "new", "by")} == {
        "field": "description",
        "kind": "field",
        "old": "End-of-line: 12 of 200 rompers lost a snap at a light pull.",
        "new": "Checked: 14 of 200.",
        "by": "qm.li",
    }
    assert change["at"]
    assert detail(floor, number) == before
    # The same person's own later change never makes their older form stale.
    ok(floor.qm.patch(f"{NCS}/{number}", json={"description": "Checked again: 15 of 200.", "version": 1}))


def test_an_old_form_sending_a_field_as_it_was_keeps_the_other_persons_change_of_it(floor):
    number = file(floor)["number"]
    old_title = "Snap buttons come off the infant romper"
    ok(floor.qm.patch(f"{NCS}/{number}", json={"title": "Snaps come off (infant romper, batch B-2301-01)"}))
    edited = ok(
        floor.sup.patch(
            f"{NCS}/{number}",
            json={"title": old_title, "description": "Morning shift only.", "severity": "major", "version": 1},
        )
    )
    assert (edited["title"], edited["description"]) == (
        "Snaps come off (infant romper, batch B-2301-01)",
        "Morning shift only.",
    )


def test_a_step_on_an_old_version_collides_with_a_state_move_by_another_person_not_with_an_edit(floor):
    number = file(floor)["number"]
    ok(floor.sup.patch(f"{NCS}/{number}", json={"description": "Morning shift only.", "version": 1}))
    # The containment rests on the state and the containment, not on the description.
    contained = ok(
        floor.qm.post(f"{NCS}/{number}/containment", json={"description": "Batch held.", "hold": [], "version": 1})
    )
    assert (contained["status"], contained["description"]) == ("investigation", "Morning shift only.")
    to_review(floor, number)
    version = detail(floor, number)["version"]
    # While the quality manager reads round 1, another one returns it and the supervisor answers with round 2.
    ok(
        floor.qm2.post(
            f"{NCS}/{number}/review",
            json={"password": PASSWORD, "decision": "return", "comment": QUESTION, "version": version},
        )
    )
    to_review(floor, number, {**ROOT_CAUSE, "statement": "No pull test in the inline checks."})
    before = detail(floor, number)
    error = refused(
        floor.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve", "version": version}),
        409,
        "stale_version",
    )
    assert error["current_version"] == before["version"]
    assert {(c["field"], c["old"], c["new"], c["by"]) for c in error["changes"]} >= {
        ("status", "review", "investigation", "qm.zhao"),
        ("status", "investigation", "review", "sup.wang"),
    }
    assert detail(floor, number) == before
    # Read again, the review goes through.
    approved = ok(
        floor.qm.post(
            f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve", "version": before["version"]}
        )
    )
    assert [r["decision"] for r in approved["reviews"]] == ["return", "approve"]


def test_history_from_before_versions_were_recorded_makes_an_old_save_stale(app, floor):
    """Entries without a version (written before versions were recorded) cannot be told apart from a change made
    since the save's version: such a save is refused, as every stale save was before."""
    number = file(floor)["number"]
    contain(floor, number)
    with app.app_context():
        nc_id = db.session.scalar(select(NonConformance.id).where(NonConformance.number == number))
        db.session.execute(update(Event).where(Event.nc_id == nc_id).values(version=None))
        db.session.commit()
    error = refused(
        floor.sup.patch(f"{NCS}/{number}", json={"description": "Morning shift only.", "version": 1}),
        409,
        "stale_version",
    )
    assert error["current_version"] == 2
    # Read at the current version, the save goes through; and once versions are recorded, they decide.
    ok(floor.sup.patch(f"{NCS}/{number}", json={"description": "Morning shift only.", "version": 2}))
    ok(floor.qm.patch(f"{NCS}/{number}", json={"title": "Snaps come off the romper", "version": 2}))


def test_the_refused_edit_form_keeps_the_typed_text_and_shows_what_the_other_person_changed(floor):
    number = file(floor)["number"]
    sup = floor.browser("sup")
    action = f"/nc/{number}/edit"
    form = form_at(page_of(sup, number), action)
    version = version_in(form)
    typed = {
        "version": version,
        "title": "Snap buttons come off the infant romper",
        "description": "Typed by the supervisor: morning shift only.",
        "severity": "major",
        "quantity_affected": "",
        "parameters": ["CN-ATT-GT6"],
    }
    # Meanwhile the quality manager records the containment: no collision.
    contain(floor, number)
    response = sup.post(action, data=typed)
    assert response.status_code == 302
    assert detail(floor, number)["description"] == "Typed by the supervisor: morning shift only."

    # Then the quality manager changes the description while the supervisor types another one.
    form = form_at(page_of(sup, number), action)
    ok(floor.qm.patch(f"{NCS}/{number}", json={"description": "QM: 14 of 200, both shifts."}))
    before = detail(floor, number)
    response = sup.post(action, data={**typed, "version": version_in(form), "description": "Supervisor's second text."})
    assert response.status_code == 409
    refused_form = form_at(response.text, action)
    assert textarea_text(field_block(refused_form, "description")) == "Supervisor's second text."
    shown = text(one(refused_form, ".form-errors"))
    assert "was changed by someone else" in shown
    assert "Changed meanwhile by qm.li" in shown
    assert "QM: 14 of 200, both shifts." in shown
    assert detail(floor, number) == before
    # Sent again as it stands (after reading the change), it is a save on the version now shown.
    assert version_in(refused_form) == str(before["version"])
    response = sup.post(action, data={**typed, "version": version_in(refused_form), "description": "Both: 14 of 200."})
    assert response.status_code == 302
    assert detail(floor, number)["description"] == "Both: 14 of 200."


# No open state waits for nothing -------------------------------------------------------------------------------


def _nc(
    state: State, actions: list[str], verdicts: list[str | None], held: bool = False
) -> tuple[NonConformance, dict]:
    owner = User(id=7, username="owner.qm", role=Role.SUPERVISOR)
    parameters = [SafetyParameter(id=index + 1, code=f"P-{index}") for index in range(len(verdicts))]
    nc = NonConformance(status=state.value, parameters=parameters)
    # Goods still on hold, no disposition decided yet.
    nc.holds = [Hold(batch=Batch(number="B-HELD"), quantity=120)] if held else []
    nc.actions = [Action(status=status, owner=owner, owner_id=owner.id) for status in actions]
    latest = {
        parameter.id: LabResult(parameter_id=parameter.id, verdict=verdict)
        for parameter, verdict in zip(parameters, verdicts, strict=True)
        if verdict is not None
    }
    return nc, latest


@given(
    state=st.sampled_from(list(State)),
    actions=st.lists(st.sampled_from(list(ActionStatus)), max_size=4),
    verdicts=st.lists(st.sampled_from([None, *Outcome]), max_size=3),
    held=st.booleans(),
)
def test_every_open_state_has_a_next_step_someone_may_take(state, actions, verdicts, held):
    nc, latest = _nc(state, actions, verdicts, held)
    ahead = progress.next_step(nc, latest)
    if state in FINAL:
        assert ahead is None
        return
    assert ahead is not None
    assert allowed_in(ahead.step, state)
    assert ahead.roles and ahead.roles <= STEP_ROLES[ahead.step]
    assert ahead.discipline in ("d3", "d4", "d5", "d6", "d8")
    if state == State.ACTION:
        assert ahead.step == ("complete_action" if ActionStatus.OPEN in actions else "add_action")
        assert bool(ahead.owners) == (ActionStatus.OPEN in actions)
    if state == State.VERIFICATION and all(verdict == Outcome.PASS for verdict in verdicts):
        # Passing retests release nothing: held goods wait for the quality manager's dispositions, then closing.
        assert ahead.step == ("dispose" if held else "close")
        assert ahead.discipline == ("d3" if held else "d8")


def test_every_combination_of_state_actions_and_retests_names_a_step(app):
    """The same property, every combination once (up to two actions and two parameters)."""
    action_lists = [list(c) for n in range(3) for c in itertools.product(list(ActionStatus), repeat=n)]
    verdict_lists = [list(c) for n in range(3) for c in itertools.product([None, *Outcome], repeat=n)]
    for state, actions, verdicts, held in itertools.product(sorted(OPEN), action_lists, verdict_lists, (False, True)):
        ahead = progress.next_step(*_nc(state, actions, verdicts, held))
        assert ahead is not None and ahead.roles, (state, actions, verdicts, held)
