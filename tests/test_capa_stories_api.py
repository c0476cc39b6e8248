"""The stories from the factory floor (docs/product.md), end to end through the JSON API.

Each story is played by the people in it: a line supervisor files the NC from the floor, the quality manager
contains it, reviews the root cause, owns the actions and the retests, decides what becomes of the goods on
hold, and closes the CAPA. Story 5 (a tech pack requiring CMIA) is covered by the quality-plan tests.

The rules they show on the way: held goods leave quarantine only by the quality manager's dispositions (a
passing retest releases nothing; closing names what is still held); a returned root cause keeps its question
until the next round answers it; a failing retest during verification sends the CAPA back to investigation,
its result the reason, the earlier actions staying done; a round approved after them waits for a new action;
every open state names its next step and who may take it; a standard revision names its document and
revision, a retraining who was trained; an action keeps its evidence files.
"""

import io
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from capa.accounts import service as accounts
from tests.answers import ok
from tests.conftest import PASSWORD, ApiClient

PLANT = ZoneInfo("Asia/Shanghai")


def plant_today():
    return datetime.now(PLANT).date()


def due_in(days: int) -> str:
    return (plant_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def floor(client, make_user):
    """The people of the stories, each with their own API client, and the factory's master data."""
    supervisor = make_user("supervisor", "wang.sup")
    manager = make_user("quality_manager", "li.qm")
    people = SimpleNamespace(
        sup=ApiClient(client, accounts.create_token(supervisor)),
        qm=ApiClient(client, accounts.create_token(manager)),
        sup_name=supervisor.username,
        qm_name=manager.username,
    )
    qm = people.qm
    for body in (
        {"code": "L1", "name": "Line 1 (infant wear)"},
        {"code": "L2", "name": "Line 2 (bibs and accessories)"},
    ):
        assert qm.post("/api/v1/lines", json=body).status_code == 201
    for body in (
        {"code": "SNAP-CO", "name": "Snap Co trims"},
        {"code": "DYE-01", "name": "Sunrise Dye House"},
        {"code": "FAB-02", "name": "Cotton Mill"},
        {"code": "TRIM-09", "name": "Other trims"},
    ):
        assert qm.post("/api/v1/suppliers", json=body).status_code == 201
    for body in (
        {"code": "RMP-2301", "name": "Infant romper", "category": "A", "cmia_required": True},
        {"code": "RMP-2302", "name": "Infant romper, long sleeve", "category": "A"},
        {"code": "RMP-2303", "name": "Infant romper, footed", "category": "A"},
        {"code": "BIB-410", "name": "Baby bib", "category": "A"},
    ):
        assert qm.post("/api/v1/styles", json=body).status_code == 201
    for body in (
        {
            "number": "B-2301-01",
            "style": "RMP-2301",
            "line": "L1",
            "lots": [
                {"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"},
                {"number": "F-100", "kind": "fabric", "supplier": "FAB-02"},
            ],
        },
        {
            "number": "B-2301-02",
            "style": "RMP-2301",
            "line": "L1",
            "lots": [{"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"}],
        },
        {
            "number": "B-2302-01",
            "style": "RMP-2302",
            "line": "L1",
            "lots": [{"number": "SN-56", "kind": "trim", "supplier": "SNAP-CO"}],
        },
        {
            "number": "B-2303-01",
            "style": "RMP-2303",
            "line": "L1",
            "lots": [{"number": "TR-90", "kind": "trim", "supplier": "TRIM-09"}],
        },
        {
            "number": "B-410-01",
            "style": "BIB-410",
            "line": "L2",
            "lots": [{"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}],
        },
    ):
        assert qm.post("/api/v1/batches", json=body).status_code == 201, body
    return people


def detail(client: ApiClient, number: str) -> dict:
    return ok(client.get(f"/api/v1/nonconformances/{number}"))


def history_kinds(record: dict) -> list[str]:
    return [event["kind"] for event in record["history"]]


def state_moves(record: dict) -> list[tuple[str, str]]:
    return [(event["old"], event["new"]) for event in record["history"] if event["kind"] == "state"]


def complete(client: ApiClient, action_id: int, evidence: str, version: int, **more) -> dict:
    """Complete an action; ``more`` carries what its kind requires (a standard revision's document and revision)."""
    body = {"evidence": evidence, "version": version, **more}
    return ok(client.post(f"/api/v1/actions/{action_id}/complete", json=body))


# Story 1 --------------------------------------------------------------------------------------------------


def play_loose_button_story(floor) -> str:
    """Story 1 up to the closed CAPA; returns its number. Every step is checked on the way."""
    sup, qm = floor.sup, floor.qm

    # D2: the supervisor files from the end-of-line inspection and links the attachment-strength parameter.
    filed = ok(
        sup.post(
            "/api/v1/nonconformances",
            json={
                "title": "Snap buttons come off infant romper",
                "description": "End-of-line inspection: 12 of 200 rompers lost a snap button at a light pull.",
                "defect_type": "loose_button",
                "source": "end_of_line",
                "line": "L1",
                "style": "RMP-2301",
                "batch": "B-2301-01",
                "severity": "critical",
                "quantity_affected": 12,
                "parameters": ["CN-ATT-GT6"],
            },
        ),
        201,
    )
    number = filed["number"]
    assert number == f"NC-{plant_today().year}-00001"
    assert filed["status"] == "reported"
    assert filed["version"] == 1
    assert filed["parameters"] == ["CN-ATT-GT6"]
    assert filed["safety_critical"] is True
    assert filed["recurrence_of"] is None
    assert (filed["style"], filed["batch"], filed["category"], filed["quantity_affected"]) == (
        "RMP-2301",
        "B-2301-01",
        "A",
        12,
    )
    assert filed["reported_by"] == floor.sup_name
    assert history_kinds(filed) == ["filed"]

    # D3: the QM holds the batch and orders a 100 % pull test.
    contained = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/containment",
            json={
                "description": "Batch B-2301-01 on hold; 100% pull test ordered.",
                "hold": ["B-2301-01"],
                "quantities": {"B-2301-01": 1200},
                "version": 1,
            },
        )
    )
    assert contained["status"] == "investigation"
    assert contained["version"] == 2
    assert contained["containment"]["description"] == "Batch B-2301-01 on hold; 100% pull test ordered."
    [hold] = contained["containment"]["holds"]
    assert (hold["batch"], hold["lot"], hold["released_at"]) == ("B-2301-01", None, None)
    assert (hold["quantity"], hold["remaining"]) == (1200, 1200)
    assert ok(qm.get("/api/v1/batches/B-2301-01"))["held_by"] == [number]

    # D4: five whys lead to the button machine's stitch density.
    whys = [
        "Snap buttons come off at a light pull.",
        "The snap's reinforcing stitch does not hold the fabric.",
        "Too few stitches per cm around the snap.",
        "The button machine's stitch density was set below standard.",
        "The stitch-density standard has no check at machine set-up.",
    ]
    submitted = ok(
        sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": whys,
                "fishbone": {"machine": ["Stitch density set below standard"], "method": ["No set-up check"]},
                "category": "machine",
                "statement": "The button machine's stitch density was set below standard.",
                "version": 2,
            },
        )
    )
    assert submitted["status"] == "review"
    assert submitted["root_cause"]["whys"] == whys
    assert submitted["root_cause"]["fishbone"] == {
        "machine": ["Stitch density set below standard"],
        "method": ["No set-up check"],
    }
    assert submitted["root_cause"]["submitted_by"] == floor.sup_name
    assert submitted["root_cause"]["decision"] is None

    approved = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/review", json={"password": PASSWORD, "decision": "approve", "version": 3}
        )
    )
    assert approved["status"] == "action"
    assert approved["root_cause"]["decision"] == "approve"
    assert approved["root_cause"]["reviewed_by"] == floor.qm_name

    # D5–D7: three actions: the standard revised, the operators retrained on it, a pull test in the inline checks.
    actions = [
        ("standard_revision", "Revise the stitch-density standard for snap attachment.", floor.qm_name),
        ("training", "Retrain the button-machine operators on the revised standard.", floor.sup_name),
        ("preventive", "Add a snap pull test to the inline checks.", floor.qm_name),
    ]
    ids = []
    for version, (kind, description, owner) in enumerate(actions, start=4):
        added = ok(
            qm.post(
                f"/api/v1/nonconformances/{number}/actions",
                json={
                    "kind": kind,
                    "description": description,
                    "owner": owner,
                    "due_date": due_in(14),
                    "version": version,
                },
            ),
            201,
        )
        assert added["status"] == "open"
        assert (added["kind"], added["owner"], added["nc"]) == (kind, owner, number)
        ids.append(added["id"])
    assert len(set(ids)) == 3

    # A standard revision names the document revised and its new revision.
    first = complete(qm, ids[0], "Standard QS-ACC-07 rev. C issued.", 7, document="QS-ACC-07", revision="C")
    assert (first["document"], first["revision"], first["trained"]) == ("QS-ACC-07", "C", None)
    assert (first["status"], first["nc_status"], first["version"]) == ("done", "action", 8)
    # The retraining belongs to the supervisor, who completes it naming who was trained.
    trained = "Zhang Wei, Li Na, Chen Jie, Liu Yang, Zhao Min, Sun Lei (button machines, shifts A and B)"
    second = complete(sup, ids[1], "Training record TR-2301, 6 operators.", 8, trained=trained)
    assert (second["status"], second["nc_status"], second["trained"]) == ("done", "action", trained)
    assert (second["document"], second["revision"]) == (None, None)
    last = complete(qm, ids[2], "Inline checklist IC-12 now has a pull test.", 9)
    assert (last["nc_status"], last["version"]) == ("verification", 10)

    # D6: the pull force passes; the held batch waits for the quality manager's disposition.
    retest = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={
                "parameter": "CN-ATT-GT6",
                "value": 92,
                "lab": "In-house lab",
                "report_number": "PT-0042",
                "version": 10,
            },
        ),
        201,
    )
    assert (retest["verdict"], retest["category"], retest["limit"], retest["value"]) == ("pass", "A", "70", "92")
    assert (retest["nc_status"], retest["version"]) == ("verification", 11)
    assert ok(qm.get("/api/v1/batches/B-2301-01"))["held_by"] == [number]
    assert detail(qm, number)["next_step"] == {
        "step": "dispose",
        "discipline": "d3",
        "roles": ["quality_manager"],
        "owners": [],
    }
    # The 12 rompers that lost a snap are scrapped; the rest is released on the passing retest.
    dispositions = f"/api/v1/nonconformances/{number}/holds/{hold['id']}/dispositions"
    scrap = {
        "kind": "scrap",
        "quantity": 12,
        "reason": "Snaps torn out of the fabric.",
        "version": 11,
        "password": PASSWORD,
    }
    ok(qm.post(dispositions, json=scrap), 201)
    release = {
        "kind": "release",
        "reason": "100% pull test passed.",
        "results": [retest["id"]],
        "version": 12,
        "password": PASSWORD,
    }
    released = ok(qm.post(dispositions, json=release), 201)
    [hold] = released["containment"]["holds"]
    assert [(d["kind"], d["quantity"], d["results"]) for d in hold["dispositions"]] == [
        ("scrap", 12, []),
        ("release", 1188, [retest["id"]]),
    ]
    assert ok(qm.get("/api/v1/batches/B-2301-01"))["held_by"] == []
    assert detail(qm, number)["next_step"]["step"] == "close"
    # An open CAPA is not yet on the parameter's page of closed CAPAs.
    assert ok(qm.get("/api/v1/parameters/CN-ATT-GT6"))["capas"] == []

    # D8: closed with the effectiveness check.
    closed = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/close",
            json={
                "password": PASSWORD,
                "effectiveness": "Three batches since: no loose snaps in end-of-line checks.",
                "version": 13,
            },
        )
    )
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    assert closed["effectiveness"] == "Three batches since: no loose snaps in end-of-line checks."

    record = detail(qm, number)
    assert record == closed
    [hold] = record["containment"]["holds"]
    assert hold["released_at"] is not None
    assert hold["release_reason"] == "Scrap 12: Snaps torn out of the fabric.; Release 1188: 100% pull test passed."
    assert [(a["kind"], a["status"], a["round"]) for a in record["actions"]] == [
        ("standard_revision", "done", 1),
        ("training", "done", 1),
        ("preventive", "done", 1),
    ]
    assert [(a["document"], a["revision"], a["trained"]) for a in record["actions"]] == [
        ("QS-ACC-07", "C", None),
        (None, None, trained),
        (None, None, None),
    ]
    assert record["next_step"] is None
    assert [t["verdict"] for t in record["tests"]] == ["pass"]
    assert [r["decision"] for r in record["reviews"]] == ["approve"]
    assert state_moves(record) == [
        ("reported", "investigation"),
        ("investigation", "review"),
        ("review", "action"),
        ("action", "verification"),
        ("verification", "closed"),
    ]
    assert history_kinds(record) == [
        "filed",
        "field",  # containment
        "hold",
        "state",
        "root_cause",
        "state",
        "review",
        "state",
        "action",
        "action",
        "action",
        "action_done",
        "action_done",
        "action_done",
        "state",
        "test",
        "disposition",
        "disposition",
        "release",
        "field",  # effectiveness
        "field",  # effectiveness_due: the date of the effectiveness review
        "state",
    ]
    assert [e["by"] for e in record["history"] if e["kind"] == "action_done"] == [
        floor.qm_name,
        floor.sup_name,
        floor.qm_name,
    ]
    return number


def test_loose_button_story(floor):
    number = play_loose_button_story(floor)
    listed = ok(floor.qm.get("/api/v1/nonconformances", query_string={"parameter": "CN-ATT-GT6", "status": "closed"}))
    assert [item["number"] for item in listed["items"]] == [number]
    # The closed CAPA appears on the attachment-strength parameter's page, and only there.
    page = ok(floor.qm.get("/api/v1/parameters/CN-ATT-GT6"))
    assert [(c["number"], c["style"], c["effectiveness"]) for c in page["capas"]] == [
        (number, "RMP-2301", "Three batches since: no loose snaps in end-of-line checks.")
    ]
    assert page["capas"][0]["closed_at"] is not None
    assert ok(floor.qm.get("/api/v1/parameters/CN-ATT-3TO6"))["capas"] == []


# Story 2 --------------------------------------------------------------------------------------------------


def test_colorfastness_to_saliva_story(floor):
    sup, qm = floor.sup, floor.qm
    filed = ok(
        sup.post(
            "/api/v1/nonconformances",
            json={
                "title": "Bib fails colorfastness to saliva",
                "description": "Lab report LR-7781: saliva fastness grade 3.",
                "defect_type": "colorfastness_failure",
                "source": "lab_test",
                "line": "L2",
                "style": "BIB-410",
                "batch": "B-410-01",
                "parameters": ["CN-CF-SALIVA"],
            },
        ),
        201,
    )
    number = filed["number"]
    assert (filed["status"], filed["safety_critical"], filed["parameters"]) == ("reported", True, ["CN-CF-SALIVA"])

    # The lab's grade 3 is judged against category A, which needs at least 4.
    first_test = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-CF-SALIVA", "value": "3", "lab": "SGS Shanghai", "report_number": "LR-7781"},
        ),
        201,
    )
    assert (first_test["verdict"], first_test["category"], first_test["limit"]) == ("fail", "A", "4")
    assert first_test["nc_status"] == "reported"

    # The dye lot is quarantined.
    contained = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/containment",
            json={"description": "Dye lot DL-7781 quarantined at the fabric store.", "hold": ["dl-7781"]},
        )
    )
    assert contained["status"] == "investigation"
    assert [(h["batch"], h["lot"], h["released_at"]) for h in contained["containment"]["holds"]] == [
        (None, "DL-7781", None)
    ]
    # The bibs made from the quarantined dye lot are held with it.
    assert ok(qm.get("/api/v1/batches/B-410-01"))["held_by"] == [number]

    # Round 1: "operator error" is returned with a question.
    round_one_whys = ["The bib bled in the saliva test.", "The fabric was not washed off well.", "Operator error."]
    round_one = ok(
        sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": round_one_whys,
                "category": "man",
                "statement": "Operator error.",
                "version": contained["version"],
            },
        )
    )
    assert round_one["status"] == "review"
    assert round_one["next_step"]["step"] == "review"
    question = "Why did incoming inspection not catch it?"
    returned = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/review",
            json={"password": PASSWORD, "decision": "return", "comment": question, "version": round_one["version"]},
        )
    )
    assert returned["status"] == "investigation"
    assert (returned["root_cause"]["decision"], returned["root_cause"]["comment"]) == ("return", question)
    assert returned["root_cause"]["reviewed_by"] == floor.qm_name
    # The question waits for the next round, which the supervisor (or a quality manager) submits; the next round
    # starts from the returned one, still the NC's latest root cause.
    assert returned["returned_question"] == question
    assert returned["next_step"] == {
        "step": "submit_root_cause",
        "discipline": "d4",
        "roles": ["quality_manager", "supervisor"],
        "owners": [],
    }
    assert (returned["root_cause"]["round"], returned["root_cause"]["whys"]) == (1, round_one_whys)
    assert (returned["root_cause"]["category"], returned["root_cause"]["statement"]) == ("man", "Operator error.")
    assert detail(sup, number)["returned_question"] == question

    # Round 2, by the supervisor from round 1: the first why stays, the rest answers the question: the dye house
    # changed a fixing agent without notice, and incoming inspection has no lab-dip check.
    statement = "The dye house changed the fixing agent without notice; incoming inspection has no lab-dip check."
    round_two_whys = [
        returned["root_cause"]["whys"][0],
        "The dye was not fixed.",
        "The dye house changed its fixing agent.",
        "Nobody told us, and incoming inspection did not test a lab dip.",
    ]
    round_two = ok(
        sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": round_two_whys,
                "fishbone": {
                    "material": ["Fixing agent changed by the dye house"],
                    "measurement": ["No lab-dip test at incoming inspection"],
                },
                "category": "material",
                "statement": statement,
                "version": returned["version"],
            },
        )
    )
    assert round_two["status"] == "review"
    # Answered: the question no longer waits.
    assert round_two["returned_question"] is None
    assert (round_two["root_cause"]["round"], round_two["root_cause"]["submitted_by"]) == (2, floor.sup_name)
    approved = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/review",
            json={"password": PASSWORD, "decision": "approve", "comment": "Agreed.", "version": round_two["version"]},
        )
    )
    assert approved["status"] == "action"
    assert approved["next_step"] == {
        "step": "add_action",
        "discipline": "d5",
        "roles": ["quality_manager"],
        "owners": [],
    }

    scar = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={
                "kind": "scar",
                "description": "SCAR to Sunrise Dye House: notify every change of chemicals.",
                "owner": floor.qm_name,
                "due_date": due_in(30),
            },
        ),
        201,
    )
    lab_dip = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={
                "kind": "preventive",
                "description": "Lab-dip saliva fastness verification at incoming inspection.",
                "owner": floor.sup_name,
                "due_date": due_in(14),
            },
        ),
        201,
    )
    assert (scar["status"], lab_dip["status"]) == ("open", "open")
    assert (scar["round"], lab_dip["round"]) == (2, 2)  # both answer the approved second round
    scar_done = ok(qm.post(f"/api/v1/actions/{scar['id']}/complete", json={"evidence": "SCAR-2026-07 answered."}))
    assert scar_done["nc_status"] == "action"
    assert detail(qm, number)["next_step"]["owners"] == [floor.sup_name]
    # The lab-dip check belongs to the supervisor, who completes it; the last action done moves to verification.
    lab_dip_done = ok(sup.post(f"/api/v1/actions/{lab_dip['id']}/complete", json={"evidence": "Checklist rev. D."}))
    assert lab_dip_done["nc_status"] == "verification"

    retest = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-CF-SALIVA", "value": "4", "lab": "SGS Shanghai", "report_number": "LR-7790"},
        ),
        201,
    )
    assert (retest["verdict"], retest["nc_status"]) == ("pass", "verification")
    # The passing retest releases nothing: the dye lot and the bibs made from it stay in quarantine, closing is
    # refused naming the lot, and the next step is the quality manager's disposition.
    assert ok(qm.get("/api/v1/batches/B-410-01"))["held_by"] == [number]
    record = detail(qm, number)
    assert record["next_step"] == {"step": "dispose", "discipline": "d3", "roles": ["quality_manager"], "owners": []}
    refused = qm.post(
        f"/api/v1/nonconformances/{number}/close", json={"password": PASSWORD, "effectiveness": "Lab dips pass."}
    )
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "gates_unmet")
    assert [gate["gate"] for gate in refused.json["error"]["unmet"]] == ["holds_released"]
    assert "DL-7781" in refused.json["error"]["unmet"][0]["message"]
    # The dye lot goes back to the dye house, on the failing lab report that found it.
    [lot] = record["containment"]["holds"]
    back = {
        "kind": "return_to_supplier",
        "reason": "Dyed with the unannounced fixing agent: returned to Sunrise Dye House under SCAR-2026-07.",
        "results": [first_test["id"]],
        "password": PASSWORD,
    }
    disposed = ok(qm.post(f"/api/v1/nonconformances/{number}/holds/{lot['id']}/dispositions", json=back), 201)
    [lot] = disposed["containment"]["holds"]
    assert [(d["kind"], d["quantity"], d["results"], d["decided_by"]) for d in lot["dispositions"]] == [
        ("return_to_supplier", None, [first_test["id"]], floor.qm_name)
    ]
    assert lot["released_at"] is not None
    assert ok(qm.get("/api/v1/batches/B-410-01"))["held_by"] == []
    assert disposed["next_step"]["step"] == "close"

    closed = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/close",
            json={
                "password": PASSWORD,
                "effectiveness": "Next two dye lots passed the lab dip at incoming inspection.",
            },
        )
    )
    assert closed["status"] == "closed"
    assert closed["next_step"] is None

    # Both review rounds are kept, in order, with who submitted and who reviewed each; the root cause shown is the
    # approved second one.
    reviews = closed["reviews"]
    assert [(r["round"], r["decision"], r["comment"]) for r in reviews] == [
        (1, "return", question),
        (2, "approve", "Agreed."),
    ]
    assert [(r["submitted_by"], r["reviewed_by"]) for r in reviews] == [
        (floor.sup_name, floor.qm_name),
        (floor.sup_name, floor.qm_name),
    ]
    assert (reviews[0]["statement"], reviews[0]["whys"]) == ("Operator error.", round_one_whys)
    assert (reviews[1]["statement"], reviews[1]["category"], reviews[1]["whys"]) == (
        statement,
        "material",
        round_two_whys,
    )
    assert closed["root_cause"] == reviews[1]
    assert [t["value"] for t in closed["tests"]] == ["4", "3"]  # newest first
    [hold] = closed["containment"]["holds"]
    assert hold["lot"] == "DL-7781" and hold["released_at"] is not None
    assert hold["release_reason"] == f"Return to the supplier: {back['reason']}"
    assert state_moves(closed) == [
        ("reported", "investigation"),
        ("investigation", "review"),
        ("review", "investigation"),
        ("investigation", "review"),
        ("review", "action"),
        ("action", "verification"),
        ("verification", "closed"),
    ]
    assert [(e["new"], e["note"]) for e in closed["history"] if e["kind"] == "review"] == [
        ("return", question),
        ("approve", "Agreed."),
    ]

    # The supplier's record: the NCs involving its material list this safety-related failure, closed.
    listed = ok(qm.get("/api/v1/nonconformances", query_string={"supplier": "DYE-01"}))["items"]
    assert [(i["number"], i["status"], i["safety_critical"], i["parameters"]) for i in listed] == [
        (number, "closed", True, ["CN-CF-SALIVA"])
    ]
    assert number not in [i["number"] for i in ok(qm.get("/api/v1/nonconformances?supplier=SNAP-CO"))["items"]]


# Story 3 --------------------------------------------------------------------------------------------------


def file_formaldehyde(floor) -> dict:
    filed = ok(
        floor.sup.post(
            "/api/v1/nonconformances",
            json={
                "title": "Formaldehyde over the limit on infant romper",
                "description": "Lab report 35 mg/kg; category A allows 20.",
                "defect_type": "formaldehyde_over_limit",
                "source": "lab_test",
                "line": "L1",
                "style": "RMP-2301",
                "batch": "B-2301-02",
            },
        ),
        201,
    )
    assert (filed["parameters"], filed["safety_critical"]) == (["CN-FORM"], True)
    return filed


#: The first round of story 3: the wash-off after resin finishing is too short.
WASH_OFF_WHYS = ["Free formaldehyde on the fabric.", "Resin finish not washed off long enough."]
WASH_OFF = "The wash-off after resin finishing is too short."


def first_round_to_verification(floor, number: str) -> None:
    qm = floor.qm
    ok(qm.post(f"/api/v1/nonconformances/{number}/containment", json={"description": "Hold", "hold": ["B-2301-02"]}))
    ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={"whys": WASH_OFF_WHYS, "category": "method", "statement": WASH_OFF},
        )
    )
    ok(qm.post(f"/api/v1/nonconformances/{number}/review", json={"password": PASSWORD, "decision": "approve"}))
    action = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={
                "kind": "corrective",
                "description": "Extend the wash-off after resin finishing.",
                "owner": floor.qm_name,
                "due_date": due_in(7),
            },
        ),
        201,
    )
    done = ok(qm.post(f"/api/v1/actions/{action['id']}/complete", json={"evidence": "Wash-off now 20 min."}))
    assert done["nc_status"] == "verification"


#: A lab report as a PDF, as the evidence store judges one: ``%PDF-`` first, ``%%EOF`` last.
FINISH_CHANGE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Finish FF-2 data sheet\ntrailer << >>\n%%EOF\n"


def test_formaldehyde_story(floor):
    qm, sup = floor.qm, floor.sup
    number = file_formaldehyde(floor)["number"]
    initial = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-FORM", "value": 35, "lab": "CTI", "report_number": "F-35"},
        ),
        201,
    )
    assert (initial["verdict"], initial["value"], initial["limit"], initial["unit"]) == ("fail", "35", "20", "mg/kg")

    first_round_to_verification(floor, number)
    [wash_off] = detail(qm, number)["actions"]
    assert (wash_off["status"], wash_off["round"]) == ("done", 1)

    # A failing retest after the first action sends the CAPA back to investigation, the failing result its reason.
    failing = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-FORM", "value": 28, "lab": "CTI", "report_number": "F-28"},
        ),
        201,
    )
    assert (failing["verdict"], failing["nc_status"]) == ("fail", "investigation")
    back = detail(sup, number)
    assert back["status"] == "investigation"
    move = back["history"][-1]
    assert (move["kind"], move["old"], move["new"], move["by"]) == (
        "state",
        "verification",
        "investigation",
        floor.qm_name,
    )
    assert move["note"] == f"Failing retest of CN-FORM: {failing['explanation']}"
    assert "28" in failing["explanation"]
    # The next step is a new root-cause round, by the supervisor or a quality manager; no question was asked.
    assert back["next_step"] == {
        "step": "submit_root_cause",
        "discipline": "d4",
        "roles": ["quality_manager", "supervisor"],
        "owners": [],
    }
    assert back["returned_question"] is None
    # The record names the failing retest that sent it back, as the page shows it above the next round.
    assert back["sent_back_by"]["id"] == failing["id"]
    assert (back["sent_back_by"]["value"], back["sent_back_by"]["verdict"]) == (failing["value"], "fail")
    # The approved first round stays the latest root cause, which the next round starts from; the first action
    # stays done, answering it; the batch stays on hold.
    assert (back["root_cause"]["round"], back["root_cause"]["decision"]) == (1, "approve")
    assert (back["root_cause"]["whys"], back["root_cause"]["statement"]) == (WASH_OFF_WHYS, WASH_OFF)
    assert back["actions"] == [wash_off]
    assert [(h["batch"], h["released_at"]) for h in back["containment"]["holds"]] == [("B-2301-02", None)]

    # Round 2, by the supervisor from round 1's whys: the resin itself releases formaldehyde.
    round_two_whys = [*back["root_cause"]["whys"], "Still 28 mg/kg after a longer wash-off.", "The resin releases it."]
    submitted = ok(
        sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": round_two_whys,
                "fishbone": {"material": ["Resin finish with a formaldehyde-releasing cross-linker"]},
                "category": "material",
                "statement": "The resin finish releases formaldehyde whatever the wash-off.",
            },
        )
    )
    assert [(r["round"], r["decision"]) for r in submitted["reviews"]] == [(1, "approve"), (2, None)]
    approved = ok(
        qm.post(f"/api/v1/nonconformances/{number}/review", json={"password": PASSWORD, "decision": "approve"})
    )
    # Approved while the earlier action is done: the CAPA waits in action for a new action, the QM's to add.
    assert approved["status"] == "action"
    assert approved["next_step"] == {
        "step": "add_action",
        "discipline": "d5",
        "roles": ["quality_manager"],
        "owners": [],
    }
    assert approved["actions"] == [wash_off]

    second = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={
                "kind": "corrective",
                "description": "Switch to a formaldehyde-free resin finish.",
                "owner": floor.sup_name,
                "due_date": due_in(21),
            },
        ),
        201,
    )
    assert (second["round"], second["status"]) == (2, "open")
    assert detail(qm, number)["next_step"] == {
        "step": "complete_action",
        "discipline": "d5",
        "roles": ["quality_manager"],
        "owners": [floor.sup_name],
    }
    # Closing before the new action is done is refused: the CAPA is back in action.
    refused = qm.post(f"/api/v1/nonconformances/{number}/close", json={"password": PASSWORD, "effectiveness": "x"})
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "invalid_state")

    # The action's owner adds the new finish's data sheet as its evidence file, then completes it naming it.
    uploaded = sup.post(
        f"/api/v1/nonconformances/{number}/attachments",
        data={"purpose": "action", "action": str(second["id"]), "file": [(io.BytesIO(FINISH_CHANGE_PDF), "FF-2.pdf")]},
    )
    [sheet] = ok(uploaded, 201)["items"]
    assert (sheet["name"], sheet["content_type"], sheet["action"]) == ("FF-2.pdf", "application/pdf", second["id"])
    done = ok(
        sup.post(
            f"/api/v1/actions/{second['id']}/complete",
            json={"evidence": "Finish FF-2 in use, data sheet attached.", "attachments": [sheet["id"]]},
        )
    )
    assert (done["status"], done["nc_status"]) == ("done", "verification")
    assert [a["name"] for a in done["attachments"]] == ["FF-2.pdf"]
    served = qm.get(sheet["url"])
    assert (served.status_code, served.mimetype, served.data) == (200, "application/pdf", FINISH_CHANGE_PDF)
    assert detail(qm, number)["next_step"]["step"] == "record_test"

    passing = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-FORM", "value": 12, "lab": "CTI", "report_number": "F-12"},
        ),
        201,
    )
    assert (passing["verdict"], passing["nc_status"]) == ("pass", "verification")
    # The retest passes: the next step is the disposition of the held batch, and closing is refused until then.
    record = detail(qm, number)
    assert record["next_step"] == {"step": "dispose", "discipline": "d3", "roles": ["quality_manager"], "owners": []}
    refused = qm.post(f"/api/v1/nonconformances/{number}/close", json={"password": PASSWORD, "effectiveness": "x"})
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "gates_unmet")
    assert [gate["gate"] for gate in refused.json["error"]["unmet"]] == ["holds_released"]
    # The batch is reworked with the new finish and stays controlled until it is re-inspected.
    [hold] = record["containment"]["holds"]
    rework = {"kind": "rework", "reason": "Refinished with FF-2.", "results": [passing["id"]], "password": PASSWORD}
    reworked = ok(qm.post(f"/api/v1/nonconformances/{number}/holds/{hold['id']}/dispositions", json=rework), 201)
    [hold] = reworked["containment"]["holds"]
    assert hold["released_at"] is None
    assert reworked["next_step"]["step"] == "dispose"
    ok(
        qm.post(
            f"/api/v1/dispositions/{hold['dispositions'][0]['id']}/reinspection",
            json={"passed": True, "note": "12 mg/kg."},
        )
    )
    assert detail(qm, number)["next_step"]["step"] == "close"
    assert ok(qm.get("/api/v1/batches/B-2301-02"))["held_by"] == []

    closed = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/close",
            json={"password": PASSWORD, "effectiveness": "Two batches at 12 and 9 mg/kg."},
        )
    )
    assert closed["status"] == "closed"
    assert [(t["value"], t["verdict"]) for t in closed["tests"]] == [("12", "pass"), ("28", "fail"), ("35", "fail")]
    assert [(r["round"], r["decision"], r["submitted_by"], r["reviewed_by"]) for r in closed["reviews"]] == [
        (1, "approve", floor.qm_name, floor.qm_name),
        (2, "approve", floor.sup_name, floor.qm_name),
    ]
    assert [(a["description"], a["status"], a["round"]) for a in closed["actions"]] == [
        ("Extend the wash-off after resin finishing.", "done", 1),
        ("Switch to a formaldehyde-free resin finish.", "done", 2),
    ]
    assert [[f["name"] for f in a["attachments"]] for a in closed["actions"]] == [[], ["FF-2.pdf"]]
    [hold] = closed["containment"]["holds"]
    assert [(d["kind"], d["results"], d["reinspection_passed"]) for d in hold["dispositions"]] == [
        ("rework", [passing["id"]], True)
    ]
    assert state_moves(closed) == [
        ("reported", "investigation"),
        ("investigation", "review"),
        ("review", "action"),
        ("action", "verification"),
        ("verification", "investigation"),
        ("investigation", "review"),
        ("review", "action"),
        ("action", "verification"),
        ("verification", "closed"),
    ]


def test_failing_retest_returns_to_investigation(floor):
    qm = floor.qm
    number = file_formaldehyde(floor)["number"]
    first_round_to_verification(floor, number)
    before = detail(qm, number)
    assert before["status"] == "verification"

    failing = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/tests",
            json={"parameter": "CN-FORM", "value": "28", "version": before["version"]},
        ),
        201,
    )
    assert (failing["verdict"], failing["nc_status"], failing["version"]) == (
        "fail",
        "investigation",
        before["version"] + 1,
    )
    after = detail(qm, number)
    assert after["status"] == "investigation"
    new_events = after["history"][len(before["history"]) :]
    assert [e["kind"] for e in new_events] == ["test", "state"]
    assert (new_events[0]["field"], new_events[0]["new"]) == ("CN-FORM", "28 fail")
    move = new_events[1]
    assert (move["field"], move["old"], move["new"], move["by"]) == (
        "status",
        "verification",
        "investigation",
        floor.qm_name,
    )
    assert move["note"].startswith("Failing retest of CN-FORM")
    # The hold stays: nothing passed.
    assert [h["released_at"] for h in after["containment"]["holds"]] == [None]
    # The approved first round stays on record; a new round must be submitted and reviewed.
    assert [(r["round"], r["decision"]) for r in after["reviews"]] == [(1, "approve")]
    again = ok(
        floor.sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={"whys": ["The resin releases formaldehyde."], "category": "material", "statement": "Resin."},
        )
    )
    assert [(r["round"], r["decision"]) for r in again["reviews"]] == [(1, "approve"), (2, None)]


# Story 4 --------------------------------------------------------------------------------------------------


def file_nc(client: ApiClient, **fields) -> dict:
    body = {
        "title": "Loose snap button",
        "description": "Snap comes off at a light pull.",
        "defect_type": "loose_button",
        "source": "end_of_line",
        "line": "L1",
        "style": "RMP-2301",
        "parameters": ["CN-ATT-GT6"],
    }
    body.update(fields)
    return ok(client.post("/api/v1/nonconformances", json={k: v for k, v in body.items() if v is not None}), 201)


def close_quickly(floor, number: str) -> dict:
    """Drive a filed NC through every step to closed, as the quality manager."""
    qm = floor.qm
    ok(qm.post(f"/api/v1/nonconformances/{number}/containment", json={"description": "Hold", "hold": []}))
    ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": ["Stitch density low."],
                "category": "machine",
                "statement": "Stitch density below standard.",
            },
        )
    )
    ok(qm.post(f"/api/v1/nonconformances/{number}/review", json={"password": PASSWORD, "decision": "approve"}))
    action = ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={"kind": "corrective", "description": "Reset density.", "owner": floor.qm_name, "due_date": due_in(3)},
        ),
        201,
    )
    ok(qm.post(f"/api/v1/actions/{action['id']}/complete", json={"evidence": "Done."}))
    ok(qm.post(f"/api/v1/nonconformances/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 90}), 201)
    return ok(
        qm.post(
            f"/api/v1/nonconformances/{number}/close",
            json={"password": PASSWORD, "effectiveness": "No recurrence in 3 batches."},
        )
    )


def in_days(days: float) -> str:
    return (datetime.now(PLANT) + timedelta(days=days)).isoformat()


def test_recurrence_story(floor):
    qm = floor.qm
    first = file_nc(floor.sup, batch="B-2301-01", title="Snap buttons come off (first)")
    assert first["recurrence_of"] is None
    closed = close_quickly(floor, first["number"])
    assert closed["status"] == "closed"

    # Six weeks later the same defect on the same style (another batch): a recurrence, linked both ways.
    again = file_nc(qm, batch="B-2301-02", title="Snap buttons come off again", reported_at=in_days(42))
    assert again["recurrence_of"] == first["number"]
    recurrence_event = next(e for e in again["history"] if e["kind"] == "recurrence")
    assert recurrence_event["new"] == first["number"]
    original = detail(qm, first["number"])
    assert original["recurrences"] == [again["number"]]
    assert [e["new"] for e in original["history"] if e["kind"] == "recurred"] == [again["number"]]
    assert original["status"] == "closed"

    # Another style, but its snaps come from the same supplier (SNAP-CO): a recurrence too.
    same_supplier = file_nc(qm, style="RMP-2302", batch="B-2302-01", reported_at=in_days(43))
    assert same_supplier["recurrence_of"] == first["number"]

    # Another style with trims from another supplier: not a recurrence.
    other_supplier = file_nc(qm, style="RMP-2303", batch="B-2303-01", reported_at=in_days(43))
    assert other_supplier["recurrence_of"] is None

    # A different defect type on the same style: not a recurrence.
    other_defect = file_nc(qm, defect_type="broken_stitch", parameters=[], reported_at=in_days(44))
    assert other_defect["recurrence_of"] is None
    assert not any(e["kind"] == "recurrence" for e in other_defect["history"])

    # More than 90 days after the first CAPA closed: no longer a recurrence of it.
    late = file_nc(qm, batch="B-2301-02", reported_at=in_days(91))
    assert late["recurrence_of"] is None

    assert sorted(detail(qm, first["number"])["recurrences"]) == sorted([again["number"], same_supplier["number"]])
    for number in (again["number"], same_supplier["number"]):
        assert detail(qm, number)["recurrence_of"] == first["number"]


def test_an_nc_filed_before_the_first_capa_closed_is_no_recurrence(floor):
    first = file_nc(floor.sup, batch="B-2301-01")
    parallel = file_nc(floor.sup, batch="B-2301-02")
    close_quickly(floor, first["number"])
    assert parallel["recurrence_of"] is None
    assert detail(floor.qm, parallel["number"])["recurrence_of"] is None
    assert detail(floor.qm, first["number"])["recurrences"] == []
