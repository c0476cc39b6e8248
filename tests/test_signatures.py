"""Electronic signatures (capa.capas.signatures) on the review of a root cause, each disposition of goods on hold,
the release of a hold, the closing and the effectiveness review: through the API and the pages, a step sent
without the password is refused naming ``password`` (400), one with a wrong password too (401
``signature_refused``, the person still logged in), and either changes nothing (the whole record is compared:
version, state, history, holds, signatures); with the right password the signature is stored with the signer's
full name (the user name when there is none), the time and its meaning, and shown on the NC page (beside the step
and in its own section), in the 8D report (HTML and PDF) and in the API record's ``signatures``. With
CAPA_SEPARATE_ROOT_CAUSE_APPROVER on, the quality manager who submitted a root cause may not approve it.
"""

import io
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from pypdf import PdfReader

from capa import create_app
from capa.accounts import service as accounts
from capa.accounts.commands import UserChanges
from capa.audit.chain import verify_chain
from capa.capas import lookup
from capa.capas.models import Signature
from capa.common.commands import parse
from capa.common.display import local_moment
from tests.answers import ok, refused
from tests.conftest import PASSWORD
from tests.pages import (
    cells,
    control,
    errors_in,
    field_block,
    flashes,
    form_at,
    logged_in,
    one,
    parsed,
    section,
    table_rows,
    text,
    values_in,
    version_in,
)
from tests.test_capa_rules_api import NCS, ROOT_CAUSE, advance, detail, file, make_world, prepare
from tests.test_report import needs_pdf

WRONG = "not my password at all"
#: The password of another quality manager.
OTHER_PASSWORD = "Vq3-granite-lantern-88"
FULL_NAME = "Li Mei"
LABELS = {
    "approved_root_cause": "approved root cause",
    "returned_root_cause": "returned root cause",
    "released_batch": "released batch",
    "reworked_batch": "sent batch to rework",
    "scrapped_batch": "scrapped batch",
    "returned_to_supplier": "returned to supplier",
    "used_as_is": "used as is under concession",
    "closed_capa": "closed CAPA",
    "reviewed_effectiveness": "reviewed effectiveness",
}


@pytest.fixture
def world(client):
    """The API world of tests/test_capa_rules_api.py; the quality manager qm.li has a full name, qm.zhao none."""
    w = make_world(client)
    accounts.update_user(accounts.get_user("qm.li"), parse(UserChanges, {"full_name": FULL_NAME}))
    return w


@dataclass(frozen=True)
class Case:
    """A signing step: the state the NC is brought to (``held``: in investigation with its batch on hold), the
    kind of step, what the API and the page send besides the password, and the signature's meaning."""

    state: str
    kind: str
    meaning: str
    body: dict
    form: dict = field(default_factory=dict)

    @property
    def page_form(self) -> dict:
        return self.form or self.body

    @property
    def section(self) -> str:
        return {"review": "d4", "dispose": "d3", "release": "d3"}.get(self.kind, "d8")


CASES = {
    "approve": Case("review", "review", "approved_root_cause", {"decision": "approve", "comment": "Agreed."}),
    "return": Case(
        "review", "review", "returned_root_cause", {"decision": "return", "comment": "Why was the pull test not run?"}
    ),
    "release": Case(
        "held",
        "dispose",
        "released_batch",
        {"kind": "release", "reason": "Sorted 100%.", "evidence": "Every piece passed the pull test."},
    ),
    "rework": Case("held", "dispose", "reworked_batch", {"kind": "rework", "reason": "Snaps re-set by hand."}),
    "scrap": Case("held", "dispose", "scrapped_batch", {"kind": "scrap", "reason": "Snaps torn out of the fabric."}),
    "return_to_supplier": Case(
        "held", "dispose", "returned_to_supplier", {"kind": "return_to_supplier", "reason": "Wrong snaps delivered."}
    ),
    "use_as_is": Case(
        "held",
        "dispose",
        "used_as_is",
        {
            "kind": "use_as_is",
            "reason": "Cosmetic only; the buyer accepts.",
            "concession_buyer": "Little Sprout Ltd",
            "concession_reference": "CN-2026-117",
        },
    ),
    "release_hold": Case("held", "release", "released_batch", {"reason": "Sorted 100%; the good ones released."}),
    "close": Case("ready", "close", "closed_capa", {"effectiveness": "No loose snap in the next three batches."}),
    "effectiveness": Case(
        "closed",
        "effectiveness",
        "reviewed_effectiveness",
        {"verdict": "effective", "recurred": False, "note": "No recurrence in six batches."},
        form={"verdict": "effective", "recurred": "no", "note": "No recurrence in six batches."},
    ),
}


def ready(w, case: Case) -> tuple[str, str, str]:
    """A new NC where ``case``'s step is taken next; its number, the step's API path and its page's form action."""
    if case.state == "ready":
        number = prepare(w, "close")
    else:
        number = file(w)["number"]
        advance(w, number, {"held": "investigation"}.get(case.state, case.state))
    if case.kind in ("dispose", "release"):
        [hold] = detail(w, number)["containment"]["holds"]
        where = f"holds/{hold['id']}/{'dispositions' if case.kind == 'dispose' else 'release'}"
    else:
        where = {"review": "review", "close": "close", "effectiveness": "effectiveness-review"}[case.kind]
    return number, f"{NCS}/{number}/{where}", f"/nc/{number}/{where}"


def signed_fields(signature: dict) -> dict:
    """A signature as the API answers it, without what differs from one signature to the next."""
    return {key: signature[key] for key in ("signer", "signer_name", "meaning", "meaning_text")}


def local(app, stamp: str) -> str:
    """A signature's time as the pages write it (the plant's time, English)."""
    with app.test_request_context():
        return local_moment(datetime.fromisoformat(stamp))


def shown_beside(app, signature: dict) -> str:
    return (
        f"Signed electronically by {signature['signer_name']} · {local(app, signature['signed_at'])} · "
        f"{LABELS[signature['meaning']]}"
    )


# The API ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_each_signing_step_through_the_api_needs_the_right_password_and_changes_nothing_without_it(world, name):
    case = CASES[name]
    number, path, _action = ready(world, case)
    before = detail(world, number)

    for missing in (case.body, {**case.body, "password": ""}):
        error = refused(world.qm.post(path, json=missing), 400, "invalid")
        assert error["fields"] == {"password": "Enter your password to sign."}
        assert detail(world, number) == before

    wrong = world.qm.post(path, json={**case.body, "password": WRONG})
    error = refused(wrong, 401, "signature_refused")
    assert error["fields"] == {"password": "The password is not correct."}
    # Not "not logged in": no challenge to authenticate, and the token goes on working.
    assert "WWW-Authenticate" not in wrong.headers
    assert detail(world, number) == before

    answer = ok(world.qm.post(path, json={**case.body, "password": PASSWORD}), 201 if case.kind == "dispose" else 200)
    assert answer["version"] == before["version"] + 1
    assert answer["signatures"][:-1] == before["signatures"]
    signature = answer["signatures"][-1]
    assert signed_fields(signature) == {
        "signer": "qm.li",
        "signer_name": FULL_NAME,
        "meaning": case.meaning,
        "meaning_text": LABELS[case.meaning],
    }
    assert datetime.fromisoformat(signature["signed_at"]).utcoffset() is not None
    if case.kind in ("dispose", "release"):
        [hold] = answer["containment"]["holds"]
        assert signature["disposition_id"] == hold["dispositions"][-1]["id"]
    else:
        assert signature["disposition_id"] is None
    assert detail(world, number) == answer


def test_a_signer_without_a_full_name_signs_with_the_user_name(world):
    number = file(world)["number"]
    advance(world, number, "review")
    answer = ok(world.qm2.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}))
    assert signed_fields(answer["signatures"][-1]) == {
        "signer": "qm.zhao",
        "signer_name": "qm.zhao",
        "meaning": "approved_root_cause",
        "meaning_text": "approved root cause",
    }


def test_the_password_is_the_signers_own_not_another_users(world, make_user):
    """qm.zhao's token with qm.li's password signs nothing: the password of the person signing, only."""
    make_user("quality_manager", "qm.other", password=OTHER_PASSWORD)
    number = file(world)["number"]
    advance(world, number, "review")
    before = detail(world, number)
    refused(
        world.qm2.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": OTHER_PASSWORD}),
        401,
        "signature_refused",
    )
    assert detail(world, number) == before


def test_a_signature_is_kept_as_signed_when_the_name_changes_later(world):
    number = file(world)["number"]
    advance(world, number, "action")
    accounts.update_user(accounts.get_user("qm.li"), parse(UserChanges, {"full_name": "Li Mei-Ling"}))
    [signature] = detail(world, number)["signatures"]
    assert signature["signer_name"] == FULL_NAME


def test_signatures_are_documented_in_the_record_and_the_signing_steps(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    record = next(schema for name, schema in schemas.items() if name.endswith("NCDetail"))
    assert "signatures" in record["required"]
    for path in ("review", "close", "effectiveness-review", "holds/{hold_id}/dispositions", "holds/{hold_id}/release"):
        operation = spec["paths"][f"/api/v1/nonconformances/{{number}}/{path}"]["post"]
        assert "signature_refused" in operation["responses"]["401"]["description"], path
        too_many = operation["responses"]["429"]
        assert "too_many_attempts" in too_many["description"], path
        assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        properties = schemas[body["$ref"].rsplit("/", 1)[-1]]["properties"]
        assert properties["password"]["anyOf"][0] | {"maxLength": 0} == {
            "type": "string",
            "format": "password",
            "writeOnly": True,
            "maxLength": 0,
        }, path


# The pages -------------------------------------------------------------------------------------------------


def refused_form_keeps_what_was_typed(html: str, action: str, case: Case, message: str) -> None:
    """The NC page shown again after a refused signature: the problem beside the password (or, for the release's
    one-line form, on top), everything typed kept but the password, which is never sent back."""
    form = form_at(html, action)
    password = one(form, 'input[name="password"]')
    assert password.attributes["type"] == "password"
    assert not password.attributes.get("value")
    assert WRONG not in html
    typed = [value for value in case.page_form.values() if value not in ("yes", "no")]
    shown = [*values_in(form), text(form)]
    for value in typed:
        assert any(value in part for part in shown), value
    if case.kind == "release":
        assert message in " ".join(text(node) for node in flashes(html, "error"))
    else:
        assert errors_in(field_block(form, "password")) == [message]


@pytest.mark.parametrize("name", CASES)
def test_each_signing_step_through_the_pages_needs_the_right_password_and_shows_the_signature(app, world, name):
    case = CASES[name]
    number, _path, action = ready(world, case)
    browser = logged_in(app, accounts.get_user("qm.li"))
    before = detail(world, number)
    form = form_at(browser.get(f"/nc/{number}").text, action)
    password = one(form, 'input[name="password"]')
    assert (password.attributes["type"], password.attributes["autocomplete"]) == ("password", "current-password")
    if case.kind != "release":
        assert text(one(field_block(form, "password"), "label")) == "Your password (electronic signature)"
    data = {"version": version_in(form), **case.page_form}

    response = browser.post(action, data=data)
    assert response.status_code == 400
    refused_form_keeps_what_was_typed(response.text, action, case, "Enter your password to sign.")
    assert detail(world, number) == before

    response = browser.post(action, data={**data, "password": WRONG})
    assert response.status_code == 401
    refused_form_keeps_what_was_typed(response.text, action, case, "The password is not correct.")
    if case.kind != "release":
        assert "The password is not correct: nothing was signed or changed." in response.text
    assert detail(world, number) == before

    response = browser.post(action, data={**data, "password": PASSWORD})
    assert response.status_code == 302, response.text
    signature = detail(world, number)["signatures"][-1]
    assert signed_fields(signature) == {
        "signer": "qm.li",
        "signer_name": FULL_NAME,
        "meaning": case.meaning,
        "meaning_text": LABELS[case.meaning],
    }
    page = browser.get(f"/nc/{number}").text
    assert shown_beside(app, signature) in text(section(page, case.section))
    *_earlier, last = table_rows(section(page, "signatures"))
    name_cell, when, meaning = cells(last)
    assert (name_cell, when) == (FULL_NAME, local(app, signature["signed_at"]))
    assert meaning.startswith(LABELS[case.meaning])
    if case.kind in ("dispose", "release"):
        assert meaning.endswith("· B-2301-01")


def test_the_nc_page_lists_every_signature_in_its_own_section(app, world):
    number = file(world)["number"]
    advance(world, number, "review")
    browser = logged_in(app, accounts.get_user("qm.li"))
    assert text(section(browser.get(f"/nc/{number}").text, "signatures")).endswith("No electronic signature yet.")
    review = {"decision": "return", "comment": "Why?", "password": PASSWORD}
    ok(world.qm.post(f"{NCS}/{number}/review", json=review))
    ok(world.sup.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    ok(world.qm2.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}))
    signatures = detail(world, number)["signatures"]
    page = browser.get(f"/nc/{number}").text
    assert [cells(row) for row in table_rows(section(page, "signatures"))] == [
        [FULL_NAME, local(app, signatures[0]["signed_at"]), "returned root cause"],
        ["qm.zhao", local(app, signatures[1]["signed_at"]), "approved root cause"],
    ]
    # Beside each round's review, its own signature.
    rounds = parsed(section(page, "d4")).css("article.round")
    assert [text(one(r, "p.review")).split("Signed electronically by ")[1] for r in rounds] == [
        shown_beside(app, signatures[1]).removeprefix("Signed electronically by "),
        shown_beside(app, signatures[0]).removeprefix("Signed electronically by "),
    ]


# The 8D report ---------------------------------------------------------------------------------------------


@pytest.fixture
def signed_story(app, world):
    """A CAPA signed at every kind of step: a returned round (Li Mei), an approved one (qm.zhao), a scrap and a
    release of the held batch, the closing and the effectiveness review (Li Mei); its number and signatures."""
    number = file(world)["number"]
    advance(world, number, "review")
    ok(world.qm.post(f"{NCS}/{number}/review", json={"decision": "return", "comment": "Why?", "password": PASSWORD}))
    ok(world.sup.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    ok(world.qm2.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}))
    advance(world, number, "verification")
    ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 90}), 201)
    [hold] = detail(world, number)["containment"]["holds"]
    dispose = f"{NCS}/{number}/holds/{hold['id']}/dispositions"
    ok(world.qm.post(dispose, json={"kind": "scrap", "quantity": 5, "reason": "Torn.", "password": PASSWORD}), 201)
    release = {"kind": "release", "reason": "Sorted.", "evidence": "Pull test passed.", "password": PASSWORD}
    ok(world.qm.post(dispose, json=release), 201)
    ok(world.qm.post(f"{NCS}/{number}/close", json={"effectiveness": "No loose snap since.", "password": PASSWORD}))
    review = {"verdict": "effective", "recurred": False, "note": "No recurrence.", "password": PASSWORD}
    ok(world.qm.post(f"{NCS}/{number}/effectiveness-review", json=review))
    signatures = detail(world, number)["signatures"]
    assert [s["meaning"] for s in signatures] == [
        "returned_root_cause",
        "approved_root_cause",
        "scrapped_batch",
        "released_batch",
        "closed_capa",
        "reviewed_effectiveness",
    ]
    return number, signatures


def test_the_8d_report_shows_each_signature_beside_its_step_and_all_of_them(app, signed_story):
    number, signatures = signed_story
    browser = logged_in(app, accounts.get_user("qm.li"))
    report = browser.get(f"/nc/{number}/report")
    assert report.status_code == 200
    returned, approved, scrapped, released, closed, reviewed = (shown_beside(app, s) for s in signatures)
    d4 = text(one(report.text, "section#d4"))
    assert d4.index(returned) < d4.index(approved)
    d3 = text(one(report.text, "section#d3"))
    assert scrapped in d3 and released in d3
    d8 = text(one(report.text, "section#d8"))
    assert closed in d8 and reviewed in d8
    rows = [cells(row) for row in table_rows(one(report.text, "section#d8 #signatures"))]
    assert [row[:2] for row in rows] == [[s["signer_name"], local(app, s["signed_at"])] for s in signatures]
    # The signatures are chained with the NC's history: as the app wrote them.
    assert verify_chain(Signature, [lookup.get_nc(number).id]) is None


@needs_pdf
def test_the_8d_report_pdf_holds_the_signatures(app, signed_story):
    number, signatures = signed_story
    browser = logged_in(app, accounts.get_user("qm.li"))
    pdf = browser.get(f"/nc/{number}/report.pdf")
    assert pdf.status_code == 200
    content = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for signature in signatures:
        assert f"Signed electronically by {signature['signer_name']}" in content
        assert LABELS[signature["meaning"]] in content
    assert "Electronic signatures" in content


# Another quality manager approves ----------------------------------------------------------------------------


@pytest.fixture
def separate_approver(app_config, request):
    """An app with CAPA_SEPARATE_ROOT_CAUSE_APPROVER on: the configuration is changed before the app is built."""
    app_config["CAPA_SEPARATE_ROOT_CAUSE_APPROVER"] = True
    app = request.getfixturevalue("app")
    assert app.config["CAPA_SEPARATE_ROOT_CAUSE_APPROVER"] is True, "the app was built before the setting"
    return app


def test_with_the_setting_the_submitter_may_not_approve_but_may_return(separate_approver, world):
    number = file(world)["number"]
    advance(world, number, "investigation")
    ok(world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))  # qm.li submits
    before = detail(world, number)

    error = refused(
        world.qm.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}), 403, "same_person"
    )
    assert set(error["fields"]) == {"decision"}
    assert "another quality manager" in error["message"]
    assert detail(world, number) == before

    # Returning approves nothing: the submitter may ask for another round.
    returned = ok(
        world.qm.post(
            f"{NCS}/{number}/review", json={"decision": "return", "comment": "Dig deeper.", "password": PASSWORD}
        )
    )
    assert returned["status"] == "investigation"
    ok(world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    # Another quality manager approves the round qm.li submitted.
    approved = ok(world.qm2.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}))
    assert approved["status"] == "action"
    assert [(s["signer"], s["meaning"]) for s in approved["signatures"]] == [
        ("qm.li", "returned_root_cause"),
        ("qm.zhao", "approved_root_cause"),
    ]


def test_with_the_setting_the_page_says_who_approves_and_refuses_the_submitter(separate_approver, world):
    number = file(world)["number"]
    advance(world, number, "investigation")
    ok(world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    browser = logged_in(separate_approver, accounts.get_user("qm.li"))
    action = f"/nc/{number}/review"
    page = browser.get(f"/nc/{number}").text
    assert "another quality manager approves it" in text(one(form_at(page, action), "#same-person"))
    before = detail(world, number)
    data = {"version": version_in(form_at(page, action)), "decision": "approve", "password": PASSWORD}
    response = browser.post(action, data=data)
    assert response.status_code == 403
    assert errors_in(one(form_at(response.text, action), "fieldset#review-decision")) == [
        "Another quality manager approves a root cause you submitted."
    ]
    assert detail(world, number) == before
    other = logged_in(separate_approver, accounts.get_user("qm.zhao"))
    page = other.get(f"/nc/{number}").text
    assert not parsed(form_at(page, action)).css("#same-person")
    response = other.post(action, data={**data, "version": version_in(form_at(page, action))})
    assert response.status_code == 302
    assert detail(world, number)["status"] == "action"


def test_without_the_setting_the_submitter_approves(world):
    number = file(world)["number"]
    advance(world, number, "investigation")
    ok(world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    approved = ok(world.qm.post(f"{NCS}/{number}/review", json={"decision": "approve", "password": PASSWORD}))
    assert approved["status"] == "action"


def test_the_setting_is_off_by_default_and_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CAPA_SEPARATE_ROOT_CAUSE_APPROVER", raising=False)
    instance = {"CAPA_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x"}
    assert create_app(instance).config["CAPA_SEPARATE_ROOT_CAUSE_APPROVER"] is False
    monkeypatch.setenv("CAPA_SEPARATE_ROOT_CAUSE_APPROVER", "true")
    assert create_app(instance).config["CAPA_SEPARATE_ROOT_CAUSE_APPROVER"] is True
    monkeypatch.setenv("CAPA_SEPARATE_ROOT_CAUSE_APPROVER", "0")
    assert create_app(instance).config["CAPA_SEPARATE_ROOT_CAUSE_APPROVER"] is False


def test_a_password_field_never_holds_a_value_on_the_page(app, world):
    """Every signing form of the NC page asks for the password afresh: none carries a value."""
    number = file(world)["number"]
    advance(world, number, "review")
    page = logged_in(app, accounts.get_user("qm.li")).get(f"/nc/{number}").text
    boxes = parsed(page).css('input[name="password"]')
    assert boxes and all(not box.attributes.get("value") for box in boxes)
    assert control(field_block(form_at(page, f"/nc/{number}/review"), "password")).attributes["type"] == "password"
