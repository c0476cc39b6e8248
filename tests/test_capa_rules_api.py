"""The rules of the CAPA workflow and its refusals, through the JSON API.

Every refusal is checked twice: the answer (status, error code, the field or gate named) and the record
afterwards, which must be exactly as before (same version, status, history and everything else).
"""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from capa.accounts import service as accounts
from capa.capas import gates, lookup
from capa.capas.defect_types import SEED
from tests.answers import ok, refused
from tests.conftest import PASSWORD, ApiClient, new_user

PLANT = ZoneInfo("Asia/Shanghai")
NCS = "/api/v1/nonconformances"
ROLES = ("supervisor", "quality_manager", "admin")
#: A value that passes each parameter used here, for category A.
PASSING = {"CN-ATT-GT6": 90, "CN-ATT-3TO6": 60, "CN-FORM": 10, "CN-CF-SALIVA": "4"}


def plant_today():
    return datetime.now(PLANT).date()


def due_in(days: int) -> str:
    return (plant_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def world(client, built_once):
    """Master data, and API clients for two supervisors, two quality managers and an administrator (built once
    per test process, put back for each test)."""
    return world_of(client, built_once("capa-rules-world", lambda: build_world(client)))


def make_world(client) -> SimpleNamespace:
    """The users, their API clients and the master data of ``world``, in the app context that is current."""
    return world_of(client, build_world(client))


def world_of(client, tokens: dict[str, tuple[str, str]]) -> SimpleNamespace:
    """API clients on ``client`` for the users of :func:`build_world` (name -> (username, token))."""
    w = SimpleNamespace(**{name: ApiClient(client, token) for name, (_username, token) in tokens.items()})
    w.names = {name: username for name, (username, _token) in tokens.items()}
    w.by_role = {"supervisor": w.sup, "quality_manager": w.qm, "admin": w.admin}
    return w


def build_world(client) -> dict[str, tuple[str, str]]:
    """The users of ``world`` with an API token each (name -> (username, token)), and its master data."""
    users = {
        "sup": new_user("supervisor", "sup.wang"),
        "sup2": new_user("supervisor", "sup.chen"),
        "qm": new_user("quality_manager", "qm.li"),
        "qm2": new_user("quality_manager", "qm.zhao"),
        "admin": new_user("admin", "admin.ops"),
        "owner": new_user("quality_manager", "owner.qm"),
    }
    tokens = {name: (user.username, accounts.create_token(user)) for name, user in users.items()}
    qm = ApiClient(client, tokens["qm"][1])
    for path, body in [
        ("lines", {"code": "L1", "name": "Line 1"}),
        ("lines", {"code": "L2", "name": "Line 2"}),
        ("suppliers", {"code": "SNAP-CO", "name": "Snap Co"}),
        ("suppliers", {"code": "DYE-01", "name": "Sunrise Dye House"}),
        ("styles", {"code": "RMP-2301", "name": "Infant romper", "category": "A"}),
        ("styles", {"code": "BIB-410", "name": "Baby bib", "category": "A"}),
        ("styles", {"code": "TEE-500", "name": "Kids tee", "category": "B"}),
        (
            "batches",
            {
                "number": "B-2301-01",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"}],
            },
        ),
        ("batches", {"number": "B-2301-02", "style": "RMP-2301", "line": "L1"}),
        (
            "batches",
            {
                "number": "B-410-01",
                "style": "BIB-410",
                "line": "L2",
                "lots": [{"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}],
            },
        ),
        ("batches", {"number": "B-500-01", "style": "TEE-500", "line": "L1"}),
    ]:
        assert qm.post(f"/api/v1/{path}", json=body).status_code == 201, body
    return tokens


def detail(w, number: str) -> dict:
    return ok(w.qm.get(f"{NCS}/{number}"))


def listing(w, **filters) -> dict:
    return ok(w.qm.get(NCS, query_string=filters))


BASE_NC = {
    "title": "Snap buttons come off",
    "description": "End-of-line: snaps come off at a light pull.",
    "defect_type": "loose_button",
    "source": "end_of_line",
    "line": "L1",
    "style": "RMP-2301",
    "batch": "B-2301-01",
    "parameters": ["CN-ATT-GT6"],
}


def file(w, client=None, **fields) -> dict:
    body = {**BASE_NC, **fields}
    return ok((client or w.sup).post(NCS, json={k: v for k, v in body.items() if v is not None}), 201)


ROOT_CAUSE = {
    "whys": ["Snaps come off.", "Too few stitches.", "Stitch density set below standard."],
    "category": "machine",
    "statement": "The button machine's stitch density was set below standard.",
}


def add_action(w, number: str, owner: str = "owner.qm") -> dict:
    return ok(
        w.qm.post(
            f"{NCS}/{number}/actions",
            json={
                "kind": "corrective",
                "description": "Reset the stitch density.",
                "owner": owner,
                "due_date": due_in(10),
            },
        ),
        201,
    )


def advance(w, number: str, target: str, by: ApiClient | None = None) -> dict:
    """Drive the NC forward as a quality manager (``by``, or ``w.qm``) until it is in ``target`` (or cancel it)."""
    qm = by or w.qm
    record = detail(w, number)
    if target == "cancelled":
        return ok(qm.post(f"{NCS}/{number}/cancel", json={"reason": "Not a real NC."}))
    while record["status"] != target:
        status = record["status"]
        if status == "reported":
            hold = [record["batch"]] if record["batch"] else []
            ok(qm.post(f"{NCS}/{number}/containment", json={"description": "Held.", "hold": hold}))
        elif status == "investigation":
            ok(qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
        elif status == "review":
            ok(qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve"}))
        elif status == "action":
            open_actions = [a for a in record["actions"] if a["status"] == "open"] or [add_action(w, number)]
            for action in open_actions:
                ok(qm.post(f"/api/v1/actions/{action['id']}/complete", json={"evidence": "Done."}))
        elif status == "verification":
            for code in record["parameters"]:
                ok(w.qm.post(f"{NCS}/{number}/tests", json={"parameter": code, "value": PASSING[code]}), 201)
            release_holds(w, number)
            ok(
                w.qm.post(
                    f"{NCS}/{number}/close",
                    json={"password": PASSWORD, "effectiveness": "No recurrence in three batches."},
                )
            )
        else:
            raise AssertionError(f"cannot advance from {status} to {target}")
        record = detail(w, number)
    return record


def release_holds(w, number: str) -> None:
    """Release whatever the NC still holds: the quality manager's disposition, resting on the passing retests
    (passing results release nothing by themselves)."""
    for hold in detail(w, number)["containment"]["holds"]:
        if hold["released_at"] is None:
            body = {
                "kind": "release",
                "reason": "Sorted 100%.",
                "evidence": "The retests passed.",
                "password": PASSWORD,
            }
            ok(w.qm.post(f"{NCS}/{number}/holds/{hold['id']}/dispositions", json=body), 201)


# The workflow steps, each with a valid body, the state it is taken in, and who may take it. ---------------

STEPS = {
    "contain": ("reported", {"quality_manager"}),
    "release_hold": ("investigation", {"quality_manager"}),
    "root_cause": ("investigation", {"supervisor", "quality_manager"}),
    "review": ("review", {"quality_manager"}),
    "add_action": ("action", {"quality_manager"}),
    "complete_action": ("action", {"quality_manager"}),
    "record_test": ("verification", {"quality_manager"}),
    "close": ("verification", {"quality_manager"}),
    "cancel": ("investigation", {"quality_manager"}),
}


def valid_body(step: str) -> dict:
    return {
        "contain": {"description": "Second batch held too.", "hold": ["B-2301-02"]},
        "release_hold": {"reason": "Sorted 100%; good goods released.", "password": PASSWORD},
        "root_cause": ROOT_CAUSE,
        "review": {"decision": "approve", "comment": "Agreed.", "password": PASSWORD},
        "add_action": {
            "kind": "preventive",
            "description": "Inline pull test.",
            "owner": "owner.qm",
            "due_date": due_in(5),
        },
        "complete_action": {"evidence": "Checklist updated."},
        "record_test": {"parameter": "CN-ATT-GT6", "value": 88},
        "close": {"effectiveness": "No loose snaps since.", "password": PASSWORD},
        "cancel": {"reason": "Duplicate of another NC."},
    }[step]


def take(w, client: ApiClient, step: str, number: str, body: dict | None = None):
    """Take ``step`` on NC ``number`` as ``client``; ids of holds and actions are looked up."""
    body = valid_body(step) if body is None else body
    record = detail(w, number)
    if step == "release_hold":
        hold = next(h for h in record["containment"]["holds"] if h["released_at"] is None)
        return client.post(f"{NCS}/{number}/holds/{hold['id']}/release", json=body)
    if step == "complete_action":
        action = next(a for a in record["actions"] if a["status"] == "open")
        return client.post(f"/api/v1/actions/{action['id']}/complete", json=body)
    path = {
        "contain": "containment",
        "root_cause": "root-cause",
        "review": "review",
        "add_action": "actions",
        "record_test": "tests",
        "close": "close",
        "cancel": "cancel",
    }[step]
    return client.post(f"{NCS}/{number}/{path}", json=body)


def prepare(w, step: str, state: str | None = None, by: ApiClient | None = None) -> str:
    """A new NC in the state ``step`` is taken in (or ``state``), with what the step needs; the state moves
    are made by ``by`` (a quality manager's client), or ``w.qm``."""
    state = state or STEPS[step][0]
    number = file(w)["number"]
    if step == "complete_action":
        advance(w, number, "action", by)
        add_action(w, number)
        if state != "action":
            advance(w, number, state, by)
        return number
    advance(w, number, state, by)
    if step == "close" and state == "verification":
        ok(w.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 90}), 201)
        release_holds(w, number)
    return number


# Numbering ------------------------------------------------------------------------------------------------


def test_numbers_run_per_year_of_the_report_in_plant_time(world):
    cases = [
        ("2026-03-05T10:00:00+08:00", "NC-2026-00001"),
        ("2026-06-01T08:00:00Z", "NC-2026-00002"),
        # 20:00 UTC on New Year's Eve is 04:00 on 1 January in Shanghai.
        ("2026-12-31T20:00:00Z", "NC-2027-00001"),
        ("2026-12-31T15:59:59Z", "NC-2026-00003"),
        # Without an offset the time is the plant's.
        ("2026-12-31T23:30:00", "NC-2026-00004"),
        ("2027-01-01T00:10:00+08:00", "NC-2027-00002"),
        ("2025-12-31T16:00:00Z", "NC-2026-00005"),
        ("2025-12-31T15:59:59Z", "NC-2025-00001"),
    ]
    for reported_at, expected in cases:
        filed = file(world, world.qm, reported_at=reported_at)
        assert filed["number"] == expected, reported_at
        moment = reported_at if reported_at[-1] == "Z" or "+" in reported_at[10:] else reported_at + "+08:00"
        assert datetime.fromisoformat(filed["reported_at"]) == datetime.fromisoformat(moment.replace("Z", "+00:00"))
    numbers = [item["number"] for item in listing(world, per_page=50)["items"]]
    assert sorted(numbers) == sorted(expected for _, expected in cases)


def test_a_refused_filing_takes_no_number(world):
    year = plant_today().year
    assert file(world)["number"] == f"NC-{year}-00001"
    refused(world.sup.post(NCS, json={**BASE_NC, "line": "L9"}), 400, "invalid")
    refused(world.sup.post(NCS, json={**BASE_NC, "reported_at": f"{year}-01-02T08:00:00+08:00"}), 403, "forbidden")
    refused(world.sup.post(NCS, json={**BASE_NC, "quantity_affected": -1}), 400, "invalid")
    assert file(world)["number"] == f"NC-{year}-00002"
    assert listing(world)["total"] == 2


def test_an_nc_is_found_by_its_number_in_any_case_and_an_unknown_number_is_404(world):
    number = file(world)["number"]
    assert detail(world, number.lower())["number"] == number
    refused(world.qm.get(f"{NCS}/NC-1999-00001"), 404, "not_found")
    refused(world.qm.post(f"{NCS}/NC-1999-00001/cancel", json={"reason": "x"}), 404, "not_found")


# Filing: defect types, parameters, safety-critical --------------------------------------------------------


def test_defect_types_list_their_parameters(world):
    items = ok(world.sup.get("/api/v1/defect-types"))["items"]
    by_code = {item["code"]: item for item in items}
    assert by_code["formaldehyde_over_limit"] == {
        "code": "formaldehyde_over_limit",
        "name": "Formaldehyde over limit",
        "name_zh": "甲醛超标",
        "parameters": ["CN-FORM"],
        "effectiveness_days": 90,
    }
    assert by_code["loose_button"]["parameters"] == ["CN-ATT-3TO6", "CN-ATT-GT6"]
    assert by_code["broken_stitch"]["parameters"] == []
    assert len(items) == len(SEED)
    assert all(set(item) == {"code", "name", "name_zh", "parameters", "effectiveness_days"} for item in items)
    assert all(item["name_zh"] for item in items)  # every seeded type has its Chinese name


def test_parameters_default_from_the_defect_type(world):
    filed = file(world, defect_type="formaldehyde_over_limit", parameters=None)
    assert filed["parameters"] == ["CN-FORM"]
    assert file(world, parameters=None)["parameters"] == ["CN-ATT-3TO6", "CN-ATT-GT6"]
    assert file(world, defect_type="broken_stitch", parameters=None)["parameters"] == []


def test_parameters_can_be_overridden_or_emptied(world):
    overridden = file(world, defect_type="formaldehyde_over_limit", parameters=["cn-ph", "CN-FORM", "CN-FORM"])
    assert overridden["parameters"] == ["CN-FORM", "CN-PH"]
    emptied = file(world, defect_type="formaldehyde_over_limit", parameters=[])
    assert (emptied["parameters"], emptied["safety_critical"]) == ([], False)
    assert detail(world, emptied["number"])["parameters"] == []


@pytest.mark.parametrize(
    ("fields", "category", "critical"),
    [
        ({}, "A", True),
        ({"parameters": []}, "A", False),
        # A parameter with a limit for B (CN-ATT-GT6 has one only for A, and is refused on a B style).
        ({"style": "TEE-500", "batch": "B-500-01", "parameters": ["CN-FORM"]}, "B", False),
        ({"style": None, "batch": None, "category": "A"}, "A", True),
        ({"style": None, "batch": None, "category": "A", "parameters": []}, "A", False),
        ({"style": None, "batch": None, "category": "B", "parameters": ["CN-FORM"]}, "B", False),
        ({"style": None, "batch": None}, None, False),
        # The style's category decides, whatever category is given beside it.
        ({"style": "TEE-500", "batch": None, "category": "A", "parameters": ["CN-FORM"]}, "B", False),
        # A batch alone names its style.
        ({"style": None}, "A", True),
    ],
)
def test_safety_critical_only_for_a_linked_parameter_on_category_a(world, fields, category, critical):
    filed = file(world, **fields)
    assert (filed["category"], filed["safety_critical"]) == (category, critical)
    if "style" in fields and fields["style"] is None and fields.get("batch", "B-2301-01"):
        assert filed["style"] == "RMP-2301"


# Filing refusals ------------------------------------------------------------------------------------------


def test_reported_at_from_a_supervisor_is_403_and_nothing_is_filed(world):
    error = refused(world.sup.post(NCS, json={**BASE_NC, "reported_at": "2026-03-05T10:00:00+08:00"}), 403, "forbidden")
    assert set(error["fields"]) == {"reported_at"}
    assert listing(world)["total"] == 0
    assert file(world, world.admin, reported_at="2026-03-05T10:00:00+08:00")["number"] == "NC-2026-00001"


def test_unknown_references_are_400_naming_each(world):
    response = world.sup.post(
        NCS,
        json={
            **BASE_NC,
            "defect_type": "torn_pocket",
            "line": "L9",
            "style": "NOPE",
            "batch": "B-0",
            "parameters": ["X-1"],
        },
    )
    error = refused(response, 400, "invalid")
    assert set(error["fields"]) == {"defect_type", "line", "style", "batch", "parameters[0]"}
    assert listing(world)["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"defect_type": "torn_pocket"}, "defect_type"),
        ({"line": "L9"}, "line"),
        ({"style": "NOPE", "batch": None}, "style"),
        ({"batch": "B-9999"}, "batch"),
        ({"parameters": ["CN-FORM", "CN-NOPE"]}, "parameters[1]"),
        ({"batch": "B-410-01"}, "batch"),  # a batch of another style
        ({"quantity_affected": "-1"}, "quantity_affected"),
        ({"quantity_affected": -1}, "quantity_affected"),
        ({"quantity_affected": "abc"}, "quantity_affected"),
        ({"quantity_affected": 1.5}, "quantity_affected"),
        ({"quantity_affected": True}, "quantity_affected"),
        ({"source": "hearsay"}, "source"),
        ({"severity": "terrible"}, "severity"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"parameters": "CN-FORM"}, "parameters"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filing_is_400_naming_the_field_and_files_nothing(world, fields, field):
    body = {k: v for k, v in {**BASE_NC, **fields}.items() if v is not None}
    error = refused(world.sup.post(NCS, json=body), 400, "invalid")
    assert field in error["fields"], error
    assert listing(world)["total"] == 0


def test_a_bad_report_time_from_a_quality_manager_is_400(world):
    error = refused(world.qm.post(NCS, json={**BASE_NC, "reported_at": "yesterday"}), 400, "invalid")
    assert set(error["fields"]) == {"reported_at"}


def test_missing_required_fields_are_all_named(world):
    error = refused(world.sup.post(NCS, json={}), 400, "invalid")
    assert set(error["fields"]) == {"title", "defect_type", "source", "line"}


# Every refusal leaves the record unchanged ----------------------------------------------------------------


WRONG_STATES = [
    ("contain", "closed"),
    ("contain", "cancelled"),
    *[("root_cause", s) for s in ("reported", "review", "action", "verification", "closed", "cancelled")],
    *[("review", s) for s in ("reported", "investigation", "action", "verification", "closed", "cancelled")],
    *[("add_action", s) for s in ("reported", "investigation", "review", "verification", "closed", "cancelled")],
    ("complete_action", "cancelled"),
    ("record_test", "closed"),
    ("record_test", "cancelled"),
    *[("close", s) for s in ("reported", "investigation", "review", "action", "closed", "cancelled")],
    ("cancel", "closed"),
    ("cancel", "cancelled"),
]


@pytest.mark.parametrize(("step", "state"), WRONG_STATES)
def test_a_step_in_the_wrong_state_is_409_and_changes_nothing(world, step, state):
    number = prepare(world, step, state)
    before = detail(world, number)
    assert before["status"] == state
    error = refused(take(world, world.qm, step, number), 409, "invalid_state")
    assert error["state"] == state
    assert detail(world, number) == before


@pytest.mark.parametrize("step", STEPS)
def test_a_stale_version_is_409_and_changes_nothing(world, step):
    # Someone else moved the NC on (a state move, which every step rests on) since the version the step was read at.
    number = prepare(world, step, by=world.qm2)
    if detail(world, number)["status"] == "reported":
        ok(world.qm2.post(f"{NCS}/{number}/containment", json={"description": "Held by someone else.", "hold": []}))
    before = detail(world, number)
    stale = max(event["version"] for event in before["history"] if event["kind"] == "state") - 1
    error = refused(take(world, world.qm, step, number, {**valid_body(step), "version": stale}), 409, "stale_version")
    assert error["current_version"] == before["version"]
    assert any(change["kind"] == "state" and change["by"] == world.names["qm2"] for change in error["changes"])
    assert detail(world, number) == before
    # With the current version the same step goes through.
    response = take(world, world.qm, step, number, {**valid_body(step), "version": before["version"]})
    assert response.status_code in (200, 201), response.text
    assert detail(world, number)["version"] == before["version"] + 1


@pytest.mark.parametrize("step", STEPS)
def test_a_role_that_may_not_take_a_step_is_403_and_changes_nothing(world, step):
    number = prepare(world, step)
    before = detail(world, number)
    role = "admin" if step == "root_cause" else "supervisor"
    refused(take(world, world.by_role[role], step, number), 403, "forbidden")
    assert detail(world, number) == before


BAD_INPUT = [
    ("contain", {"description": "", "hold": []}, "description"),
    ("contain", {"description": "Held.", "hold": ["NOPE"]}, "hold[0]"),
    ("contain", {"description": "Held.", "hold": ["B-2301-02", "nope"]}, "hold[1]"),
    ("contain", {"description": "Held.", "hold": "B-2301-02"}, "hold"),
    ("contain", {"description": "Held.", "colour": "red"}, "colour"),
    ("release_hold", {}, "reason"),
    ("release_hold", {"reason": "Sorted 100%."}, "password"),
    ("root_cause", {"category": "machine", "statement": "Density."}, "whys"),
    ("root_cause", {"whys": [], "fishbone": {}, "category": "machine", "statement": "Density."}, "whys"),
    ("root_cause", {"whys": ["", " "], "fishbone": {"method": []}, "category": "machine", "statement": "D."}, "whys"),
    ("root_cause", {"whys": "because", "category": "machine", "statement": "Density."}, "whys"),
    ("root_cause", {"whys": ["Why?"], "category": "money", "statement": "Density."}, "category"),
    ("root_cause", {"whys": ["Why?"], "category": "machine"}, "statement"),
    ("root_cause", {"fishbone": {"money": ["Cheap"]}, "category": "machine", "statement": "D."}, "fishbone"),
    ("root_cause", {"fishbone": ["Cheap"], "category": "machine", "statement": "D."}, "fishbone"),
    ("root_cause", {"fishbone": {"method": "x"}, "category": "machine", "statement": "D."}, "fishbone.method"),
    ("review", {"decision": "maybe"}, "decision"),
    ("review", {"decision": "return"}, "comment"),
    ("review", {"decision": "return", "comment": "   "}, "comment"),
    ("review", {"decision": "approve"}, "password"),
    ("add_action", {"kind": "fix", "description": "D.", "owner": "owner.qm", "due_date": "2026-12-01"}, "kind"),
    ("add_action", {"kind": "corrective", "description": "D.", "owner": "nobody", "due_date": "2026-12-01"}, "owner"),
    ("add_action", {"kind": "corrective", "description": "D.", "owner": "owner.qm", "due_date": "soon"}, "due_date"),
    ("add_action", {"kind": "corrective", "owner": "owner.qm", "due_date": "2026-12-01"}, "description"),
    ("complete_action", {}, "evidence"),
    ("record_test", {"parameter": "CN-FORM", "value": 5}, "parameter"),
    ("record_test", {"parameter": "CN-NOPE", "value": 5}, "parameter"),
    ("record_test", {"parameter": "CN-ATT-GT6", "value": "abc"}, "value"),
    ("record_test", {"parameter": "CN-ATT-GT6", "value": -5}, "value"),
    ("record_test", {"parameter": "CN-ATT-GT6"}, "value"),
    ("record_test", {"parameter": "CN-ATT-GT6", "value": 90, "tested_at": "2999-01-01"}, "tested_at"),
    ("close", {"effectiveness": "Fine.", "version": "two"}, "version"),
    ("close", {"effectiveness": "Fine.", "extra": 1}, "extra"),
    ("close", {"effectiveness": "Fine."}, "password"),
    ("cancel", {}, "reason"),
    ("cancel", {"reason": "  "}, "reason"),
]


@pytest.mark.parametrize(("step", "body", "field"), BAD_INPUT)
def test_bad_input_is_400_naming_the_field_and_changes_nothing(world, step, body, field):
    number = prepare(world, step)
    before = detail(world, number)
    error = refused(take(world, world.qm, step, number, body), 400, "invalid")
    assert field in error["fields"], error
    assert detail(world, number) == before


def test_return_without_a_comment_is_400_comment(world):
    number = prepare(world, "review")
    before = detail(world, number)
    error = refused(
        world.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "return"}), 400, "invalid"
    )
    assert set(error["fields"]) == {"comment"}
    assert detail(world, number) == before
    returned = ok(
        world.qm.post(
            f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "return", "comment": "Why not caught?"}
        )
    )
    assert returned["status"] == "investigation"
    assert returned["reviews"][-1]["comment"] == "Why not caught?"


def test_root_cause_needs_whys_or_fishbone(world):
    number = prepare(world, "root_cause")
    before = detail(world, number)
    body = {"category": "machine", "statement": "Density."}
    error = refused(world.sup.post(f"{NCS}/{number}/root-cause", json=body), 400, "invalid")
    assert set(error["fields"]) == {"whys"}
    assert detail(world, number) == before
    # The fishbone alone is enough.
    with_fishbone = ok(
        world.sup.post(f"{NCS}/{number}/root-cause", json={**body, "fishbone": {"machine": ["Density"]}})
    )
    assert with_fishbone["root_cause"]["whys"] == []
    assert with_fishbone["root_cause"]["fishbone"] == {"machine": ["Density"]}


# Closing gates ----------------------------------------------------------------------------------------------


#: The gate of goods still on hold: the batch, held without a quantity, has no disposition.
STILL_HELD = "Still on hold, without dispositions covering the whole quantity: B-2301-01."


def test_closing_names_each_unmet_gate_and_changes_nothing(world):
    number = file(world, parameters=["CN-ATT-GT6", "CN-ATT-3TO6"])["number"]
    advance(world, number, "verification")
    before = detail(world, number)
    error = refused(world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD}), 409, "gates_unmet")
    assert error["unmet"] == [
        {"gate": "retest_passed", "message": "CN-ATT-3TO6 has no retest.", "parameter": "CN-ATT-3TO6"},
        {"gate": "retest_passed", "message": "CN-ATT-GT6 has no retest.", "parameter": "CN-ATT-GT6"},
        {"gate": "holds_released", "message": STILL_HELD},
        {"gate": "effectiveness", "message": "An effectiveness note is required."},
    ]
    assert detail(world, number) == before

    ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 75}), 201)
    error = refused(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "  "}), 409, "gates_unmet"
    )
    assert [(g["gate"], g.get("parameter")) for g in error["unmet"]] == [
        ("retest_passed", "CN-ATT-3TO6"),
        ("holds_released", None),
        ("effectiveness", None),
    ]
    ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-3TO6", "value": 55}), 201)
    # Passing retests release nothing: the held batch waits for the quality manager's disposition.
    error = refused(world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD}), 409, "gates_unmet")
    assert [g["gate"] for g in error["unmet"]] == ["holds_released", "effectiveness"]
    release_holds(world, number)
    error = refused(world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD}), 409, "gates_unmet")
    assert [g["gate"] for g in error["unmet"]] == ["effectiveness"]
    before = detail(world, number)
    assert before["status"] == "verification"
    closed = ok(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "Checked three batches."})
    )
    assert (closed["status"], closed["version"]) == ("closed", before["version"] + 1)


def test_a_latest_retest_that_did_not_pass_keeps_the_capa_open(world):
    number = prepare(world, "complete_action")
    # A failing retest while actions are still open does not move the CAPA …
    failing = ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 40}), 201)
    assert (failing["verdict"], failing["nc_status"]) == ("fail", "action")
    advance(world, number, "verification")
    # … but it is the latest retest, and closing says so.
    error = refused(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "x"}), 409, "gates_unmet"
    )
    assert error["unmet"] == [
        {
            "gate": "retest_passed",
            "message": "The latest retest of CN-ATT-GT6 did not pass.",
            "parameter": "CN-ATT-GT6",
        },
        {"gate": "holds_released", "message": STILL_HELD},
    ]


def test_the_root_cause_and_actions_gates_are_named_before_verification(world):
    """Closing is refused as invalid_state before verification, so these gates are read from the service,
    which is also what the quality manager's queue uses."""
    number = file(world)["number"]
    advance(world, number, "investigation")
    nc = lookup.get_nc(number)
    assert [g.gate for g in gates.unmet_gates(nc, None)] == [
        "root_cause_approved",
        "actions_done",
        "retest_passed",
        "holds_released",
        "effectiveness",
    ]
    ok(world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    ok(
        world.qm.post(
            f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "return", "comment": "Dig deeper."}
        )
    )
    assert "root_cause_approved" in [g.gate for g in gates.unmet_gates(lookup.get_nc(number), "x")]
    advance(world, number, "action")
    add_action(world, number)
    assert [g.gate for g in gates.unmet_gates(lookup.get_nc(number), "x")] == [
        "actions_done",
        "retest_passed",
        "holds_released",
    ]


def test_an_nc_without_parameters_closes_without_a_retest_once_its_hold_is_released(world):
    number = file(world, defect_type="stain", parameters=[])["number"]
    advance(world, number, "verification")
    error = refused(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "x"}), 409, "gates_unmet"
    )
    assert [g["gate"] for g in error["unmet"]] == ["holds_released"]
    hold = detail(world, number)["containment"]["holds"][0]
    ok(
        world.qm.post(
            f"{NCS}/{number}/holds/{hold['id']}/release",
            json={"password": PASSWORD, "reason": "Stain removed, re-inspected."},
        )
    )
    closed = advance(world, number, "closed")
    assert (closed["status"], closed["tests"]) == ("closed", [])


# Holds ------------------------------------------------------------------------------------------------------


def test_containment_holds_a_batch_and_a_lot(world):
    number = file(world)["number"]
    contained = ok(
        world.qm.post(
            f"{NCS}/{number}/containment",
            json={"description": "Romper batch and the bib dye lot held.", "hold": ["b-2301-01", "DL-7781"]},
        )
    )
    assert [(h["batch"], h["lot"], h["released_at"]) for h in contained["containment"]["holds"]] == [
        ("B-2301-01", None, None),
        (None, "DL-7781", None),
    ]
    assert [e["new"] for e in contained["history"] if e["kind"] == "hold"] == ["B-2301-01", "DL-7781"]
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == [number]
    assert ok(world.qm.get("/api/v1/batches/B-410-01"))["held_by"] == [number]
    # Holding the same batch again adds no second hold.
    again = ok(world.qm.post(f"{NCS}/{number}/containment", json={"description": "Still held.", "hold": ["B-2301-01"]}))
    assert len(again["containment"]["holds"]) == 2
    assert again["status"] == "investigation"


def test_containment_of_an_unknown_number_is_400_and_holds_nothing(world):
    number = file(world)["number"]
    before = detail(world, number)
    body = {"description": "Held.", "hold": ["NOPE", "B-2301-01"]}
    error = refused(world.qm.post(f"{NCS}/{number}/containment", json=body), 400, "invalid")
    assert set(error["fields"]) == {"hold[0]"}
    assert detail(world, number) == before
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == []


def test_a_quality_manager_releases_a_hold_with_a_reason(world):
    number = file(world)["number"]
    contained = ok(
        world.qm.post(f"{NCS}/{number}/containment", json={"description": "Held.", "hold": ["B-2301-01", "DL-7781"]})
    )
    batch_hold, lot_hold = contained["containment"]["holds"]
    release = f"{NCS}/{number}/holds/{batch_hold['id']}/release"

    refused(world.sup.post(release, json={"reason": "Looks fine.", "password": PASSWORD}), 403, "forbidden")
    error = refused(world.qm.post(release, json={}), 400, "invalid")
    assert set(error["fields"]) == {"reason"}
    refused(
        world.qm.post(f"{NCS}/{number}/holds/999999/release", json={"password": PASSWORD, "reason": "x"}),
        404,
        "not_found",
    )
    assert detail(world, number) == contained

    released = ok(
        world.qm.post(
            release, json={"reason": "Sorted 100%: 12 rompers reworked, rest released.", "password": PASSWORD}
        )
    )
    holds = {h["id"]: h for h in released["containment"]["holds"]}
    assert holds[batch_hold["id"]]["released_at"] is not None
    assert holds[batch_hold["id"]]["release_reason"] == "Release: Sorted 100%: 12 rompers reworked, rest released."
    # Recorded as the quality manager's release disposition of the whole batch, the reason as its evidence.
    [disposition] = holds[batch_hold["id"]]["dispositions"]
    assert (disposition["kind"], disposition["quantity"], disposition["evidence"]) == (
        "release",
        None,
        "Sorted 100%: 12 rompers reworked, rest released.",
    )
    assert holds[lot_hold["id"]]["released_at"] is None
    assert released["version"] == contained["version"] + 1
    event = released["history"][-1]
    assert (event["kind"], event["old"], event["by"]) == ("release", "B-2301-01", world.names["qm"])
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == []
    # Released already.
    error = refused(world.qm.post(release, json={"reason": "Again.", "password": PASSWORD}), 400, "invalid")
    assert set(error["fields"]) == {"hold"}


def test_passing_retests_of_every_linked_parameter_release_nothing(world):
    """Found by users: a passing retest released a batch and a lot while the CAPA was still in investigation.
    Only the quality manager's dispositions release held goods (tests/test_dispositions.py)."""
    number = file(world, parameters=["CN-ATT-GT6", "CN-ATT-3TO6"])["number"]
    ok(world.qm.post(f"{NCS}/{number}/containment", json={"description": "Held.", "hold": ["B-2301-01", "SN-55"]}))

    ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 80}), 201)
    ok(world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-3TO6", "value": 58}), 201)
    record = detail(world, number)
    assert record["status"] == "investigation"
    assert [(h["released_at"], h["dispositions"]) for h in record["containment"]["holds"]] == [(None, []), (None, [])]
    assert [e for e in record["history"] if e["kind"] == "release"] == []
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == [number]


def test_cancelling_an_nc_releases_what_it_held(world):
    number = file(world)["number"]
    advance(world, number, "investigation")
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == [number]
    cancelled = advance(world, number, "cancelled")
    assert ok(world.qm.get("/api/v1/batches/B-2301-01"))["held_by"] == []
    hold = cancelled["containment"]["holds"][0]
    assert hold["released_at"] is not None
    assert hold["release_reason"] == f"Released: {number} was cancelled."


def test_a_parameter_without_a_limit_for_the_nc_category_is_refused(world):
    refused_body = world.qm.post(NCS, json={**BASE_NC, "style": "TEE-500", "batch": None, "parameters": ["CN-ATT-GT6"]})
    error = refused(refused_body, 400, "invalid")
    assert error["fields"] == {"parameters[0]": "CN-ATT-GT6 has no limit for category B."}
    # The defect type's usual parameters keep only those with a limit for the category.
    filed = file(world, style="TEE-500", batch=None, parameters=None)
    assert filed["parameters"] == []


# Actions ----------------------------------------------------------------------------------------------------


def test_an_actions_owner_may_complete_it_another_supervisor_may_not(world):
    number = prepare(world, "add_action")
    mine = add_action(world, number, owner="sup.wang")
    other = add_action(world, number, owner="owner.qm")
    before = detail(world, number)

    refused(world.sup2.post(f"/api/v1/actions/{mine['id']}/complete", json={"evidence": "x"}), 403, "forbidden")
    refused(world.admin.post(f"/api/v1/actions/{mine['id']}/complete", json={"evidence": "x"}), 403, "forbidden")
    refused(world.sup.post(f"/api/v1/actions/{other['id']}/complete", json={"evidence": "x"}), 403, "forbidden")
    assert detail(world, number) == before

    done = ok(world.sup.post(f"/api/v1/actions/{mine['id']}/complete", json={"evidence": "Operators retrained."}))
    assert (done["status"], done["nc_status"], done["evidence"]) == ("done", "action", "Operators retrained.")
    assert detail(world, number)["history"][-1]["by"] == "sup.wang"
    # Done already.
    error = refused(world.sup.post(f"/api/v1/actions/{mine['id']}/complete", json={"evidence": "x"}), 400, "invalid")
    assert set(error["fields"]) == {"id"}

    last = ok(world.owner.post(f"/api/v1/actions/{other['id']}/complete", json={"evidence": "Density reset."}))
    assert last["nc_status"] == "verification"
    move = detail(world, number)["history"][-1]
    assert (move["kind"], move["old"], move["new"]) == ("state", "action", "verification")
    refused(world.qm.post("/api/v1/actions/999999/complete", json={"evidence": "x"}), 404, "not_found")


def test_an_action_answers_201_with_its_id_and_open_status(world):
    number = prepare(world, "add_action")
    before = detail(world, number)
    created = ok(world.qm.post(f"{NCS}/{number}/actions", json=valid_body("add_action")), 201)
    assert isinstance(created["id"], int)
    assert (created["status"], created["kind"], created["owner"], created["overdue"]) == (
        "open",
        "preventive",
        "owner.qm",
        False,
    )
    after = detail(world, number)
    assert [a["id"] for a in after["actions"]] == [created["id"]]
    assert after["version"] == before["version"] + 1
    assert after["status"] == "action"


# Cancelling and the end of the road -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["reported", "investigation", "review", "action", "verification"])
def test_cancel_with_a_reason_from_any_open_state(world, state):
    number = file(world)["number"]
    advance(world, number, state)
    before = detail(world, number)
    error = refused(world.qm.post(f"{NCS}/{number}/cancel", json={}), 400, "invalid")
    assert set(error["fields"]) == {"reason"}
    assert detail(world, number) == before
    cancelled = ok(world.qm.post(f"{NCS}/{number}/cancel", json={"reason": "Duplicate of another NC."}))
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "Duplicate of another NC.")
    move = cancelled["history"][-1]
    assert (move["kind"], move["old"], move["new"], move["note"]) == (
        "state",
        state,
        "cancelled",
        "Duplicate of another NC.",
    )


@pytest.mark.parametrize("final", ["closed", "cancelled"])
def test_nothing_is_possible_after_close_or_cancel(world, final):
    number = file(world)["number"]
    advance(world, number, "action")
    action = add_action(world, number)
    advance(world, number, final)
    before = detail(world, number)
    attempts = [
        world.qm.post(f"{NCS}/{number}/containment", json={"description": "Held.", "hold": ["B-2301-02"]}),
        world.qm.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE),
        world.qm.post(f"{NCS}/{number}/review", json={"password": PASSWORD, "decision": "approve"}),
        world.qm.post(f"{NCS}/{number}/actions", json=valid_body("add_action")),
        world.qm.post(f"{NCS}/{number}/tests", json={"parameter": "CN-ATT-GT6", "value": 90}),
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "x"}),
        world.qm.post(f"{NCS}/{number}/cancel", json={"reason": "x"}),
        world.qm.patch(f"{NCS}/{number}", json={"title": "Edited"}),
    ]
    if final == "cancelled":
        attempts.append(world.qm.post(f"/api/v1/actions/{action['id']}/complete", json={"evidence": "x"}))
    for response in attempts:
        refused(response, 409, "invalid_state")
    assert detail(world, number) == before


# Lists --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed_world(module_app) -> SimpleNamespace:
    """``world`` with the NCs of ``file_several`` (as ``.several``), built once on the module's own database
    for the tests that only read the list."""
    with module_app.app_context():
        world = make_world(module_app.test_client())
        world.several = file_several(world)
    return world


def file_several(world) -> SimpleNamespace:
    """Four NCs with different lines, styles, suppliers, types, parameters, states and report times."""
    qm = world.qm
    romper = file(world, qm, title="Snap buttons come off", reported_at="2026-03-05T10:00:00+08:00")["number"]
    # 17:00 UTC on 9 April is 01:00 on 10 April in the plant.
    bib = file(
        world,
        qm,
        title="Bib fails saliva fastness",
        description="Grade 3",
        defect_type="colorfastness_failure",
        line="L2",
        style="BIB-410",
        batch="B-410-01",
        parameters=["CN-CF-SALIVA"],
        reported_at="2026-04-09T17:00:00Z",
    )["number"]
    advance(world, bib, "investigation")
    tee = file(
        world,
        qm,
        title="Formaldehyde on kids tee",
        defect_type="formaldehyde_over_limit",
        style="TEE-500",
        batch="B-500-01",
        parameters=None,
        reported_at="2026-05-20T09:00:00+08:00",
    )["number"]
    advance(world, tee, "action")
    overdue = ok(
        qm.post(
            f"{NCS}/{tee}/actions",
            json={"kind": "corrective", "description": "Late.", "owner": "owner.qm", "due_date": "2026-01-02"},
        ),
        201,
    )
    assert overdue["overdue"] is True
    stain = file(
        world,
        qm,
        title="Oil stain on front panel",
        defect_type="stain",
        line="L2",
        style=None,
        batch=None,
        parameters=None,
        reported_at="2026-06-01T09:00:00+08:00",
    )["number"]
    advance(world, stain, "cancelled")
    return SimpleNamespace(romper=romper, bib=bib, tee=tee, stain=stain)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["stain", "tee", "bib", "romper"]),
        ({"status": "investigation"}, ["bib"]),
        ({"status": "cancelled"}, ["stain"]),
        ({"line": "L1"}, ["tee", "romper"]),
        ({"line": "l2"}, ["stain", "bib"]),
        ({"style": "rmp-2301"}, ["romper"]),
        ({"supplier": "DYE-01"}, ["bib"]),
        ({"supplier": "SNAP-CO"}, ["romper"]),
        ({"defect_type": "stain"}, ["stain"]),
        ({"parameter": "CN-FORM"}, ["tee"]),
        ({"parameter": "CN-ATT-GT6"}, ["romper"]),
        ({"overdue": "true"}, ["tee"]),
        ({"overdue": "false"}, ["stain", "bib", "romper"]),
        ({"reported_from": "2026-04-10"}, ["stain", "tee", "bib"]),
        ({"reported_to": "2026-04-09"}, ["romper"]),
        ({"reported_from": "2026-04-10", "reported_to": "2026-05-20"}, ["tee", "bib"]),
        ({"q": "SALIVA"}, ["bib"]),
        ({"q": "grade 3"}, ["bib"]),
        ({"line": "L1", "status": "action"}, ["tee"]),
        ({"line": "L2", "defect_type": "loose_button"}, []),
        ({"style": "NOPE"}, []),
    ],
)
def test_list_filters_narrow_the_list_and_total_counts(listed_world, filters, expected):
    world, several = listed_world, listed_world.several
    body = listing(world, **filters)
    assert [item["number"] for item in body["items"]] == [getattr(several, name) for name in expected]
    assert body["total"] == len(expected)
    assert (body["page"], body["per_page"]) == (1, 25)


def test_list_searches_by_number(listed_world):
    world, several = listed_world, listed_world.several
    body = listing(world, q=several.bib.lower())
    assert [item["number"] for item in body["items"]] == [several.bib]


def test_list_search_takes_percent_and_underscore_literally(world):
    percent = file(world, title="Shrinkage 5% over tolerance")["number"]
    file(world, title="Seam open 5 mm")
    underscore = file(world, title="Label code LBL_07 missing")["number"]
    assert [item["number"] for item in listing(world, q="5%")["items"]] == [percent]
    assert [item["number"] for item in listing(world, q="_")["items"]] == [underscore]


def test_list_pages(listed_world):
    world, several = listed_world, listed_world.several
    first = listing(world, per_page=3)
    second = listing(world, per_page=3, page=2)
    assert [i["number"] for i in first["items"]] == [several.stain, several.tee, several.bib]
    assert [i["number"] for i in second["items"]] == [several.romper]
    assert (first["total"], second["total"], second["page"], second["per_page"]) == (4, 4, 2, 3)
    assert listing(world, page=5)["items"] == []
    item = first["items"][1]
    assert (item["status"], item["parameters"], item["overdue_actions"]) == ("action", ["CN-FORM"], 1)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"page": "0"}, "page"),
        ({"page": "one"}, "page"),
        ({"per_page": "501"}, "per_page"),
        ({"overdue": "maybe"}, "overdue"),
        ({"reported_from": "2026-13-01"}, "reported_from"),
        ({"reported_to": "10/04/2026"}, "reported_to"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_filter_value_is_400(listed_world, filters, field):
    world = listed_world
    error = refused(world.qm.get(NCS, query_string=filters), 400, "invalid")
    assert field in error["fields"]


# The permission matrix ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_file(world, role):
    filed = file(world, world.by_role[role])
    usernames = {"supervisor": "sup.wang", "quality_manager": "qm.li", "admin": "admin.ops"}
    assert (filed["status"], filed["version"], filed["reported_by"]) == ("reported", 1, usernames[role])


MATRIX = [(step, role) for step in STEPS for role in ROLES]


@pytest.mark.parametrize(("step", "role"), MATRIX)
def test_permission_matrix(world, step, role):
    number = prepare(world, step)
    before = detail(world, number)
    response = take(world, world.by_role[role], step, number)
    if role in STEPS[step][1]:
        assert response.status_code in (200, 201), response.text
        assert detail(world, number)["version"] == before["version"] + 1
    else:
        refused(response, 403, "forbidden")
        assert detail(world, number) == before
