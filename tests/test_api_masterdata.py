"""The master-data API: shapes of the contract, and bad input that is refused without storing anything."""

import pytest

from capa.accounts import service as accounts
from capa.common.errors import NotFound
from capa.masterdata import service as masterdata

RECORDS = {
    "lines": {"code": "L1", "name": "Line 1"},
    "suppliers": {"code": "DYE-01", "name": "Sunrise Dye House", "approval": "approved"},
    "styles": {"code": "RMP-2301", "name": "Infant romper", "category": "A", "cmia_required": True},
}
#: What a style created without its attributes answers besides what it was given: no buyer, sold in China, nothing
#: else.
STYLE_DEFAULTS = {
    "buyer": None,
    "age_group": None,
    "markets": ["CN"],
    "prints": False,
    "trims": [],
    "metal_parts": False,
    "cords": [],
    "fill": "none",
    "dark_shade": False,
    "raised_surface": False,
    "sleepwear": False,
    "childcare": False,
    "fibre_content": "",
}
#: What each record created from RECORDS answers.
#: What a supplier created without its scope answers besides: every kind of material, no re-evaluation date.
SUPPLIER_DEFAULTS = {"approved_kinds": [], "approved_parameters": [], "reevaluate_on": None}
ANSWERS = {
    **RECORDS,
    "styles": {**RECORDS["styles"], **STYLE_DEFAULTS},
    "suppliers": {**RECORDS["suppliers"], **SUPPLIER_DEFAULTS},
}


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def seeded(qm):
    """A line, two suppliers and a category A style to build batches from."""
    qm.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"})
    qm.post("/api/v1/suppliers", json={"code": "DYE-01", "name": "Sunrise Dye House"})
    qm.post("/api/v1/suppliers", json={"code": "TRIM-02", "name": "Snap Co", "approval": "suspended"})
    qm.post("/api/v1/styles", json={"code": "RMP-2301", "name": "Infant romper", "category": "A"})


@pytest.mark.parametrize("kind", RECORDS)
def test_created_record_is_answered_201_and_listed(qm, kind):
    created = qm.post(f"/api/v1/{kind}", json=RECORDS[kind])
    assert created.status_code == 201
    assert created.json == ANSWERS[kind]
    assert qm.get(f"/api/v1/{kind}").json == {"items": [ANSWERS[kind]]}
    assert qm.get(f"/api/v1/{kind}/{RECORDS[kind]['code'].lower()}").json == ANSWERS[kind]


def test_a_style_is_created_with_its_attributes_and_answers_them(qm):
    attributes = {
        "age_group": "infant",
        "markets": ["EU", "CN"],
        "prints": True,
        "trims": ["small", "large"],
        "metal_parts": True,
        "cords": ["hood_neck"],
        "fill": "down",
        "dark_shade": True,
        "raised_surface": True,
        "sleepwear": True,
        "childcare": True,
        "fibre_content": "95% cotton, 5% elastane",
    }
    created = qm.post("/api/v1/styles", json={**RECORDS["styles"], **attributes})
    assert created.status_code == 201, created.json
    lists = ("markets", "trims", "cords")
    answered = {key: sorted(value) if key in lists else value for key, value in created.json.items()}
    assert answered == {**RECORDS["styles"], **attributes, "buyer": None} | {
        key: sorted(attributes[key]) for key in lists
    }
    assert qm.get("/api/v1/styles/RMP-2301").json == created.json


def test_codes_are_upper_cased_and_stripped(qm):
    assert qm.post("/api/v1/lines", json={"code": " l2 ", "name": " Line 2 "}).json == {
        "code": "L2",
        "name": "Line 2",
    }


def test_supplier_approval_defaults_to_approved_and_style_cmia_to_false(qm):
    assert qm.post("/api/v1/suppliers", json={"code": "S1", "name": "S"}).json["approval"] == "approved"
    assert qm.post("/api/v1/styles", json={"code": "ST", "name": "T", "category": "B"}).json["cmia_required"] is False


@pytest.mark.parametrize("kind", RECORDS)
def test_duplicate_code_is_409_and_changes_nothing(qm, kind):
    qm.post(f"/api/v1/{kind}", json=RECORDS[kind])
    again = qm.post(f"/api/v1/{kind}", json={**RECORDS[kind], "code": RECORDS[kind]["code"].lower(), "name": "Other"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate"
    assert again.json["error"]["fields"] == {"code": "Already in use."}
    assert qm.get(f"/api/v1/{kind}").json["items"] == [ANSWERS[kind]]


@pytest.mark.parametrize(
    ("kind", "body", "bad_fields"),
    [
        ("lines", {}, {"code", "name"}),
        ("lines", {"code": 7, "name": ["x"]}, {"code", "name"}),
        ("lines", {"code": "L1", "name": "x" * 121}, {"name"}),
        ("lines", {"code": "L" * 33, "name": "ok"}, {"code"}),
        ("lines", {"code": "bad code!", "name": "ok"}, {"code"}),
        ("lines", {"code": "L1", "name": "ok", "colour": "red"}, {"colour"}),
        ("suppliers", {"code": "S1", "name": "S", "approval": "maybe"}, {"approval"}),
        ("styles", {"code": "S1", "name": "S", "category": "D"}, {"category"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "cmia_required": "yes"}, {"cmia_required"}),
        ("styles", {"code": "S1", "name": "S", "category": "a"}, {"category"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "markets": ["JP"]}, {"markets[0]"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "age_group": "teen"}, {"age_group"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "trims": ["huge"]}, {"trims[0]"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "cords": "hood_neck"}, {"cords"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "fill": "feathers"}, {"fill"}),
        ("styles", {"code": "S1", "name": "S", "category": "A", "prints": "some"}, {"prints"}),
        ("batches", {"number": "B1"}, {"style", "line"}),
        ("batches", {"number": "B1", "style": "X", "line": "Y", "lots": "DL-1"}, {"lots"}),
    ],
)
def test_invalid_input_is_400_naming_each_field_and_stores_nothing(qm, kind, body, bad_fields):
    response = qm.post(f"/api/v1/{kind}", json=body)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == bad_fields
    assert qm.get(f"/api/v1/{kind}").json["items"] == []


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', "", "null"])
def test_a_body_that_is_not_a_json_object_is_400(qm, body):
    response = qm.post("/api/v1/lines", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"body": "invalid JSON object"}
    assert masterdata.list_lines() == []


def test_a_body_over_the_limit_is_413(qm, app):
    app.config["CAPA_API_MAX_BODY"] = 1000
    response = qm.post("/api/v1/lines", json={"code": "L1", "name": "x" * 2000})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert masterdata.list_lines() == []


def test_unknown_record_and_unknown_path_are_json_404(qm):
    missing = qm.get("/api/v1/styles/NOPE")
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "not_found"
    assert qm.get("/api/v1/no-such-thing").json["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(qm):
    response = qm.delete("/api/v1/lines")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_batch_is_traced_to_its_lots_and_suppliers(qm, seeded):
    body = {
        "number": "b-0042",
        "style": "rmp-2301",
        "line": "L1",
        "lots": [
            {"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"},
            {"number": "SN-55", "kind": "trim", "supplier": "TRIM-02"},
        ],
        "colourways": ["navy", "red"],
    }
    created = qm.post("/api/v1/batches", json=body)
    assert created.status_code == 201
    assert created.json == {
        "number": "B-0042",
        "style": "RMP-2301",
        "line": "L1",
        "category": "A",
        "lots": [
            {"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01", "supplier_approval": "approved"},
            {"number": "SN-55", "kind": "trim", "supplier": "TRIM-02", "supplier_approval": "suspended"},
        ],
        "colourways": ["navy", "red"],
        "held_by": [],
        "held_by_changes": [],
        "concessions": [],
    }
    assert qm.get("/api/v1/batches").json["items"] == [created.json]


def test_a_lot_used_again_is_shared_between_batches(qm, seeded):
    lot = {"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}
    qm.post("/api/v1/batches", json={"number": "B1", "style": "RMP-2301", "line": "L1", "lots": [lot]})
    second = qm.post("/api/v1/batches", json={"number": "B2", "style": "RMP-2301", "line": "L1", "lots": [lot]})
    assert second.status_code == 201
    assert [batch.number for batch in masterdata.get_lot("DL-7781").batches] == ["B1", "B2"]


@pytest.mark.parametrize(
    ("lots", "field"),
    [
        ([{"number": "DL-7781", "kind": "fabric", "supplier": "DYE-01"}], "lots[0].kind"),
        ([{"number": "DL-7781", "kind": "dye_lot", "supplier": "TRIM-02"}], "lots[0].supplier"),
        ([{"number": "N1", "kind": "trim", "supplier": "NOBODY"}], "lots[0].supplier"),
        ([{"number": "N1", "kind": "zip", "supplier": "DYE-01"}], "lots[0].kind"),
        ([{"number": "N1", "kind": "trim"}], "lots[0].supplier"),
        (
            [
                {"number": "N1", "kind": "trim", "supplier": "DYE-01"},
                {"number": "n1", "kind": "trim", "supplier": "DYE-01"},
            ],
            "lots[1].number",
        ),
        (["DL-1"], "lots[0]"),
    ],
)
def test_a_batch_with_a_bad_lot_is_refused_whole(qm, seeded, lots, field):
    qm.post(
        "/api/v1/batches",
        json={
            "number": "B1",
            "style": "RMP-2301",
            "line": "L1",
            "lots": [{"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}],
        },
    )
    response = qm.post("/api/v1/batches", json={"number": "B2", "style": "RMP-2301", "line": "L1", "lots": lots})
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]
    assert [batch.number for batch in masterdata.list_batches()] == ["B1"]
    with pytest.raises(NotFound):
        masterdata.get_lot("N1")


def test_a_batch_naming_unknown_style_and_line_names_both(qm, seeded):
    response = qm.post("/api/v1/batches", json={"number": "B1", "style": "NOPE", "line": "L9"})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"style", "line"}


def test_duplicate_batch_number_is_409(qm, seeded):
    body = {"number": "B1", "style": "RMP-2301", "line": "L1"}
    qm.post("/api/v1/batches", json=body)
    assert qm.post("/api/v1/batches", json=body).status_code == 409


def test_lots_can_be_added_to_a_batch(qm, seeded):
    qm.post("/api/v1/batches", json={"number": "B1", "style": "RMP-2301", "line": "L1"})
    response = qm.post(
        "/api/v1/batches/B1/lots", json={"lots": [{"number": "F-1", "kind": "fabric", "supplier": "DYE-01"}]}
    )
    assert response.status_code == 200
    assert [lot["number"] for lot in response.json["lots"]] == ["F-1"]


def test_patch_changes_the_given_fields_and_keeps_the_code(qm):
    qm.post("/api/v1/suppliers", json={"code": "S1", "name": "Snap Co"})
    changed = qm.patch("/api/v1/suppliers/S1", json={"approval": "suspended", "reason": "Audit failed"})
    assert changed.json == {"code": "S1", "name": "Snap Co", "approval": "suspended"} | SUPPLIER_DEFAULTS
    refused = qm.patch("/api/v1/suppliers/S1", json={"code": "S2"})
    assert refused.status_code == 400
    assert refused.json["error"]["fields"] == {"code": "A code cannot change."}
    assert qm.get("/api/v1/suppliers/S1").status_code == 200


def test_me_answers_username_and_role(client, make_user):
    token = accounts.create_token(make_user("supervisor", "lin.wei"))
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json == {"username": "lin.wei", "role": "supervisor"}
