"""Incoming fabric inspection by the 4-point system through ``/api/v1/fabric-inspections`` and the pages: rolls
stored as measured with their points and faults, the acceptance points of the supplier and the style (the
stricter governs), and a rejected lot raising an NC that holds the lot and is charged to its supplier.

What was stored is read back through the API or in an app context of its own."""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from capa.capas.models import Hold, NonConformance
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.inspections.models import FabricDefect, FabricInspection, FabricRoll
from capa.trends.figures import compute
from capa.trends.weeks import Week
from tests.pages import (
    cells,
    field_block,
    fields_with_errors,
    form_actions,
    input_value,
    one,
    parsed,
    section,
    selected_value,
    table_rows,
    textarea_text,
)
from tests.test_coverage import plant  # noqa: F401 (the fixture)


def roll(number: str, length="120", width="58", defects=(), **values) -> dict:
    return {"number": number, "length": length, "width": width, "defects": list(defects)} | values


#: The worked example of tests/test_fabric_four_point.py: 23 points on 120 yd of 58 in, 11.90 per 100 sq yd.
WORKED = [
    {"at": 3, "size": 2},
    {"at": "10.2", "size": 5},
    {"at": "10.7", "size": 8, "code": "FAB-02"},
    {"at": 20, "size": "0.5", "hole": True},
    {"at": 50, "size": "1.5", "hole": True, "code": "FAB-01"},
    {"at": 60, "through": "62.5"},
]


def heavy(count: int) -> list[dict]:
    """``count`` defects of 4 points, one a yard."""
    return [{"at": yard, "size": 10} for yard in range(count)]


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (FabricInspection, FabricRoll, FabricDefect, NonConformance)
        )


def test_a_lot_is_scored_stored_as_measured_and_listed(app, plant, api):  # noqa: F811
    client = api("supervisor")
    response = client.post(
        "/api/v1/fabric-inspections",
        json={"lot": "f-1", "rolls": [roll("R1", defects=WORKED), roll("R2", length="80.5")], "note": "Shift A"},
    )
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["lot"], answer["supplier"], answer["length_unit"], answer["width_unit"]) == (
        "F-1",
        "DYE-01",
        "yd",
        "in",
    )
    assert (answer["acceptance_points"], answer["acceptance_source"]) == (40, "default")
    first, second = answer["rolls"]
    assert (first["points"], first["points_per_100"], first["faults"]) == (23, 11.9, [])
    assert [(d["points"], d["code"]) for d in first["defects"]] == [
        (1, None),
        (2, None),
        (3, "FAB-02"),
        (2, None),
        (4, "FAB-01"),
        (12, None),
    ]
    assert (second["points"], second["length"]) == (0, 80.5)
    # 23 points over (120 + 80.5) yd * 58 in / 36 = 323.03 square yards: 23 * 3600 / (200.5 * 58) = 7.12.
    assert (answer["points"], answer["length_inspected"], answer["square_yards"]) == (23, 200.5, 323.03)
    assert (answer["points_per_100"], answer["verdict"], answer["faults"], answer["nc"]) == (7.12, "accepted", [], None)
    assert [item["id"] for item in client.get("/api/v1/fabric-inspections?lot=F-1").json["items"]] == [answer["id"]]
    assert [item["id"] for item in client.get("/api/v1/fabric-inspections?supplier=DYE-01").json["items"]] == [
        answer["id"]
    ]
    assert client.get("/api/v1/fabric-inspections?supplier=TRIM-OK").json["items"] == []
    assert client.get(f"/api/v1/fabric-inspections/{answer['id']}").json == answer
    assert client.get("/api/v1/fabric-inspections/999999").status_code == 404
    assert client.get("/api/v1/fabric-inspections?lot=NOPE").status_code == 404


def test_metres_and_centimetres_are_stored_as_measured_and_judged_in_yards_and_inches(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = {
        "lot": "F-1",
        "length_unit": "m",
        "width_unit": "cm",
        "required_width": "150",
        # 100 m of 150 cm: 100 square yards would be 83.61 m * 91.44 cm; 20 points of 4, one a metre.
        "rolls": [roll("M1", length="100", width="150", defects=[{"at": n, "size": "25.4"} for n in range(5)])],
    }
    answer = client.post("/api/v1/fabric-inspections", json=body).json
    assert (answer["rolls"][0]["length"], answer["rolls"][0]["width"], answer["required_width"]) == (100, 150, 150)
    assert (answer["points"], answer["points_per_100"]) == (20, 11.15)
    assert answer["verdict"] == "accepted"
    narrow = client.post(
        "/api/v1/fabric-inspections", json=body | {"rolls": [roll("M2", length="100", width="149.5")]}
    ).json
    assert (narrow["verdict"], narrow["faults"], narrow["rolls"][0]["faults"]) == ("rejected", ["width"], ["width"])


def test_the_stricter_of_the_suppliers_and_the_styles_acceptance_points_governs(app, plant, api):  # noqa: F811
    qm = api("quality_manager")
    # 100 yd of 36 in: the points are the figure; 30 points.
    rolls = [roll("R1", length="100", width="36", defects=[*heavy(7), {"at": 50, "size": 5}])]
    assert qm.post("/api/v1/fabric-inspections", json={"lot": "F-1", "rolls": rolls}).json["verdict"] == "accepted"
    answer = qm.put("/api/v1/suppliers/DYE-01/fabric-acceptance", json={"points": 28, "reason": "Supplier agreement"})
    assert answer.status_code == 200, answer.text
    assert answer.json == {"points": 28, "default": 40}
    by_supplier = qm.post("/api/v1/fabric-inspections", json={"lot": "F-1", "rolls": rolls}).json
    assert (by_supplier["acceptance_points"], by_supplier["acceptance_source"], by_supplier["verdict"]) == (
        28,
        "supplier",
        "rejected",
    )
    qm.put("/api/v1/styles/RMP-A/fabric-acceptance", json={"points": 20, "reason": "Buyer tech pack, infant wear"})
    by_style = qm.post("/api/v1/fabric-inspections", json={"lot": "F-1", "style": "RMP-A", "rolls": rolls}).json
    assert (by_style["acceptance_points"], by_style["acceptance_source"], by_style["style"]) == (20, "style", "RMP-A")
    # A style looser than the supplier does not loosen it.
    qm.put("/api/v1/styles/TEE-B/fabric-acceptance", json={"points": 50, "reason": "Buyer allows more"})
    loose = qm.post("/api/v1/fabric-inspections", json={"lot": "F-1", "style": "TEE-B", "rolls": rolls}).json
    assert (loose["acceptance_points"], loose["acceptance_source"]) == (28, "supplier")
    # The earlier inspection keeps the points it was judged against.
    assert qm.get("/api/v1/fabric-inspections?lot=F-1").json["items"][-1]["acceptance_points"] == 40
    history = qm.get("/api/v1/suppliers/DYE-01/history").json["items"]
    assert any(e["field"] == "fabric_acceptance_points" and e["reason"] == "Supplier agreement" for e in history)
    style_history = qm.get("/api/v1/styles/RMP-A/fabric-acceptance/history").json["items"]
    assert [(e["old"], e["new"], e["reason"]) for e in style_history] == [("", "20", "Buyer tech pack, infant wear")]
    assert qm.get("/api/v1/styles/RMP-A/fabric-acceptance").json["points"] == 20
    assert qm.get("/api/v1/styles/RMP-B/fabric-acceptance").status_code == 404
    refused = qm.put("/api/v1/suppliers/DYE-01/fabric-acceptance", json={"points": 0})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"points", "reason"}
    assert (
        api("supervisor")
        .put("/api/v1/suppliers/DYE-01/fabric-acceptance", json={"points": 30, "reason": "x"})
        .status_code
        == 403
    )


def test_a_rejected_lot_raises_an_nc_that_holds_the_lot_and_is_charged_to_its_supplier(app, plant, api):  # noqa: F811
    supervisor = api("supervisor")
    rolls = [
        roll("R1", length="100", width="36", defects=heavy(11)),
        roll("R2", length="100", width="36", shade_matches=False),
    ]
    inspection = supervisor.post("/api/v1/fabric-inspections", json={"lot": "F-1", "rolls": rolls}).json
    # 44 points over 200 square yards: 22, within 40; but R1 has 44 and R2 is off shade, which rejects the lot.
    assert (inspection["points_per_100"], inspection["faults"]) == (22, ["shade"])
    assert [r["faults"] for r in inspection["rolls"]] == [["points"], ["shade"]]
    path = f"/api/v1/fabric-inspections/{inspection['id']}/raise-nc"
    assert supervisor.post(path, json={}).status_code == 403
    qm = api("quality_manager")
    response = qm.post(path, json={})
    assert response.status_code == 201, response.text
    nc = response.json
    assert (nc["source"], nc["line"], nc["defect_type"], nc["severity"]) == (
        "incoming_material",
        "L1",
        "shade_variation",
        "major",
    )
    assert nc["title"] == "Fabric lot F-1 rejected at incoming inspection"
    assert "Roll R2: 0.00 per 100 square yards, off shade." in nc["description"]
    assert "Roll R1: 44.00 per 100 square yards, points over the limit." in nc["description"]
    # 200 yd held as 183 m.
    assert [(hold["lot"], hold["quantity"]) for hold in nc["containment"]["holds"]] == [("F-1", 183)]
    assert qm.get(f"/api/v1/fabric-inspections/{inspection['id']}").json["nc"] == nc["number"]
    again = qm.post(path, json={})
    assert again.status_code == 409
    assert "inspection" in again.json["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Hold)) == 1
    # The held lot charges the NC to the lot's supplier in the weekly figures.
    with app.app_context():
        assert compute(Week.containing(plant_today()), plant_zone())["by_supplier"] == {"DYE-01": 1}


def test_an_accepted_lot_raises_nothing_and_a_lot_on_no_single_line_asks_for_one(app, plant, api):  # noqa: F811
    qm = api("quality_manager")
    accepted = qm.post("/api/v1/fabric-inspections", json={"lot": "F-1", "rolls": [roll("R1")]}).json
    refused = qm.post(f"/api/v1/fabric-inspections/{accepted['id']}/raise-nc", json={})
    assert refused.status_code == 409
    # A lot not yet in any batch is received with its inspection.
    rejected = qm.post(
        "/api/v1/fabric-inspections",
        json={"lot": "F-9", "supplier": "DYE-01", "rolls": [roll("R1", length="10", width="36", defects=heavy(10))]},
    ).json
    assert rejected["verdict"] == "rejected"
    path = f"/api/v1/fabric-inspections/{rejected['id']}/raise-nc"
    asked = qm.post(path, json={})
    assert asked.status_code == 400
    assert set(asked.json["error"]["fields"]) == {"line"}
    assert counts(app)[3] == 0
    nc = qm.post(path, json={"line": "L1", "title": "Knots and holes all through F-9"}).json
    assert (nc["defect_type"], nc["title"]) == ("fabric_points_over_limit", "Knots and holes all through F-9")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"lot": "NEW-1", "rolls": [roll("R1")]}, {"supplier"}),
        ({"lot": "NEW-1", "supplier": "NOPE", "rolls": [roll("R1")]}, {"supplier"}),
        ({"lot": "F-1", "supplier": "TRIM-OK", "rolls": [roll("R1")]}, {"supplier"}),
        ({"lot": "SN-1", "rolls": [roll("R1")]}, {"lot"}),
        ({"lot": "F-1", "style": "NOPE", "rolls": [roll("R1")]}, {"style"}),
        ({"lot": "F-1", "rolls": []}, {"rolls"}),
        ({"lot": "F-1"}, {"rolls"}),
        ({"lot": "F-1", "length_unit": "ft", "width_unit": "mm", "rolls": [roll("R1")]}, {"length_unit", "width_unit"}),
        ({"lot": "F-1", "rolls": [roll("R1"), roll("R1")]}, {"rolls[1].number"}),
        ({"lot": "F-1", "rolls": [roll("R1", length="0", width="-3")]}, {"rolls[0].length", "rolls[0].width"}),
        ({"lot": "F-1", "rolls": [roll("R1", length="12.345")]}, {"rolls[0].length"}),
        ({"lot": "F-1", "rolls": [roll("R1", length="1e3")]}, {"rolls[0].length"}),
        ({"lot": "F-1", "rolls": [roll("R1", length=True)]}, {"rolls[0].length"}),
        (
            {"lot": "F-1", "rolls": [roll("R1", length="100", defects=[{"at": 101, "size": 1}])]},
            {"rolls[0].defects[0].at"},
        ),
        ({"lot": "F-1", "rolls": [roll("R1", defects=[{"at": 5}])]}, {"rolls[0].defects[0].size"}),
        ({"lot": "F-1", "rolls": [roll("R1", defects=[{"at": 5, "through": 5}])]}, {"rolls[0].defects[0].through"}),
        (
            {"lot": "F-1", "rolls": [roll("R1", defects=[{"at": 5, "size": 1, "code": "NOPE"}])]},
            {"rolls[0].defects[0].code"},
        ),
        (
            {"lot": "F-1", "rolls": [roll("R1", defects=[{"at": 5, "size": 1, "hole": "yes"}])]},
            {"rolls[0].defects[0].hole"},
        ),
        ({"lot": "F-1", "rolls": [roll("R1", shade_matches=None)]}, {"rolls[0].shade_matches"}),
        ({"lot": "F-1", "rolls": [roll("R1")], "extra": 1}, {"extra"}),
    ],
)
def test_bad_input_is_named_and_nothing_is_stored(app, plant, api, body, fields):  # noqa: F811
    response = api("supervisor").post("/api/v1/fabric-inspections", json=body)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert counts(app) == (0, 0, 0, 0)


def test_reading_and_recording_need_a_token(app, plant, api):  # noqa: F811
    assert api(None).get("/api/v1/fabric-inspections").status_code == 401
    assert api(None).post("/api/v1/fabric-inspections", json={"lot": "F-1", "rolls": [roll("R1")]}).status_code == 401
    assert api(None).get("/api/v1/suppliers/DYE-01/fabric-acceptance").status_code == 401
    assert counts(app) == (0, 0, 0, 0)


# The pages --------------------------------------------------------------------------------------------------------

SHEET = {"lot": "F-1", "supplier": "", "style": "", "length_unit": "yd", "width_unit": "in", "required_width": ""}
SHEET |= {"note": ""}


def rows(*filled: dict) -> dict:
    """The sheet's roll rows as posted: ``rolls-0-number`` and so on; an ``off_shade`` row sends its box."""
    data = {}
    for index, values in enumerate(filled):
        for name, value in values.items():
            if name == "off_shade":
                if value:
                    data[f"rolls-{index}-off_shade"] = "y"
                continue
            data[f"rolls-{index}-{name}"] = value
    return data


def test_the_sheet_records_a_lot_and_a_manager_raises_its_nc_from_the_page(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    sheet = client.get("/fabric-inspections/new?lot=F-1").text
    assert input_value(field_block(sheet, "lot")) == "F-1"
    assert len(parsed(sheet).css("div.roll")) == 6
    assert len(parsed(client.get("/fabric-inspections/new?rolls=12").text).css("div.roll")) == 12
    posted = SHEET | rows(
        {
            "number": "R1",
            "length": "100",
            "width": "36",
            "defects": "1 10\n2 10\n3 10\n4 10\n5 10\n6 10\n7 10\n8 10\n9 10\n10 10\n11 10",
        },
        {"number": "", "length": "", "width": "", "defects": ""},
        {"number": "R3", "length": "100", "width": "36", "defects": "50 0.5 h FAB-01\n60-62.5"},
    )
    response = client.post("/fabric-inspections/new", data=posted)
    assert response.status_code == 302, response.text
    page = client.get(response.headers["Location"]).text
    assert one(page, "h1").text(strip=True) == "Fabric inspection of lot F-1"
    table = [cells(row) for row in table_rows(page)]
    assert [row[:5] for row in table] == [
        ["R1", "100.00 yd", "36.00 in", "44", "44.00"],
        ["R3", "100.00 yd", "36.00 in", "14", "14.00"],
    ]
    assert "50.00 · 0.50 (hole): 2 points FAB-01" in table[1][5]
    assert "60.00–62.50: 12 points" in table[1][5]
    # 58 points over 200 square yards: 29, within 40; R1 alone is over: the lot stands, no NC offered.
    assert not [a for a in form_actions(page) if a.endswith("/raise-nc")]
    narrow = SHEET | {"required_width": "58"} | rows({"number": "R9", "length": "50", "width": "57"})
    rejected = client.get(client.post("/fabric-inspections/new", data=narrow).headers["Location"]).text
    assert "Under width" in rejected
    action = next(a for a in form_actions(rejected) if a.endswith("/raise-nc"))
    assert selected_value(field_block(rejected, "line")) == "L1"
    assert selected_value(field_block(rejected, "defect_type")) == "fabric_width_short"
    raised = client.post(action, data={"line": "L1", "defect_type": "fabric_width_short"})
    assert raised.status_code == 302
    with app.app_context():
        nc = db.session.scalar(select(NonConformance))
        assert raised.headers["Location"].endswith(f"/nc/{nc.number}")
        assert [(hold.lot.number, hold.quantity) for hold in nc.holds] == [("F-1", 46)]
    assert action not in form_actions(client.get(action.removesuffix("/raise-nc")).text)
    [origin] = parsed(client.get(raised.headers["Location"]).text).css("p.origin a")
    assert origin.attributes["href"] == action.removesuffix("/raise-nc")
    assert origin.text(strip=True).startswith("Raised by fabric inspection #")


def test_a_refused_sheet_keeps_every_row_and_marks_the_line_at_fault(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    posted = SHEET | rows(
        {"number": "R1", "length": "100", "width": "58", "defects": "3 2"},
        {"number": "R2", "length": "80", "width": "wide", "defects": "3 2\n95 1"},
    )
    response = client.post("/fabric-inspections/new", data=posted)
    assert response.status_code == 400
    html = response.text
    assert fields_with_errors(html) == {"rolls-1-width"}
    assert input_value(field_block(html, "rolls-1-width")) == "wide"
    assert textarea_text(field_block(html, "rolls-1-defects")) == "3 2\n95 1"
    assert input_value(field_block(html, "rolls-0-number")) == "R1"
    # The width corrected, the defect beyond the roll's end is named with its line.
    response = client.post("/fabric-inspections/new", data=posted | {"rolls-1-width": "58"})
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {"rolls-1-defects"}
    assert "Line 2: Beyond the roll's length (80)." in text_of_block(response.text, "rolls-1-defects")
    assert counts(app) == (0, 0, 0, 0)
    assert client.post("/fabric-inspections/999999/raise-nc", data={}).status_code == 403


def text_of_block(html, name: str) -> str:
    return field_block(html, name).text(strip=True)


def test_a_supplier_page_sets_its_acceptance_points_and_lists_its_fabric(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    page = client.get("/suppliers/DYE-01").text
    assert "40 (the default)" in page
    refused = client.post("/suppliers/DYE-01/fabric-acceptance", data={"points": "zero", "reason": ""})
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) >= {"points", "reason"}
    assert input_value(field_block(refused.text, "points")) == "zero"
    saved = client.post("/suppliers/DYE-01/fabric-acceptance", data={"points": "28", "reason": "Annual agreement"})
    assert saved.status_code == 302
    client.post("/fabric-inspections/new", data=SHEET | rows({"number": "R1", "length": "100", "width": "36"}))
    fabric_part = " ".join(section(client.get("/suppliers/DYE-01").text, "fabric").text().split())
    assert "Acceptance points per 100 square yards: 28" in fabric_part
    assert "F-1 · 0.00 · Accepted" in fabric_part
    listing = client.get("/fabric-inspections").text
    figures = [cells(row) for row in table_rows(listing)]
    assert figures[0] == ["DYE-01 · Sunrise Dye House", "1", "1", "0.00"]
    assert client.get("/fabric-inspections?lot=NOPE").status_code == 400


def test_the_fabric_pages_speak_chinese(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    client.post("/language", data={"language": "zh_Hans_CN"})
    assert one(client.get("/fabric-inspections").text, "h1").text(strip=True) == "面料检验"
    assert one(client.get("/fabric-inspections/new").text, "h1").text(strip=True) == "检验面料批次"


def test_a_quality_manager_sets_a_styles_acceptance_points_on_its_page(app, plant, auth, client):  # noqa: F811
    auth.as_role("quality_manager")
    page = client.get("/styles/RMP-A").text
    assert "/styles/RMP-A/fabric-acceptance" in form_actions(page)
    refused = client.post("/styles/RMP-A/fabric-acceptance", data={"fabric-points": "0", "fabric-reason": ""})
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) >= {"fabric-points", "fabric-reason"}
    assert input_value(field_block(refused.text, "fabric-points")) == "0"
    saved = client.post("/styles/RMP-A/fabric-acceptance", data={"fabric-points": "25", "fabric-reason": "Tech pack"})
    assert saved.headers["Location"] == "/styles/RMP-A#fabric"
    page = client.get("/styles/RMP-A").text
    assert input_value(field_block(page, "fabric-points")) == "25"
    assert "Tech pack" in section(page, "fabric").text()


def test_more_rows_keeps_every_row_typed_and_records_nothing(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    typed = SHEET | rows({"number": "R1", "length": "120", "width": "58", "defects": "12.5 4"}) | {"more_rows": "1"}
    page = client.post("/fabric-inspections/new", data=typed)
    assert page.status_code == 200
    # The sheet's six rows, and six more.
    assert len(parsed(page.text).css("div.roll")) == 12
    assert input_value(field_block(page.text, "rolls-0-number")) == "R1"
    assert textarea_text(field_block(page.text, "rolls-0-defects")) == "12.5 4"
    assert input_value(field_block(page.text, "lot")) == SHEET["lot"]
    assert counts(app)[0] == 0


def test_every_fabric_inspection_downloads_as_csv_and_xlsx_with_its_rolls(app, plant, api, client, auth):  # noqa: F811
    reporter = api("supervisor")
    body = {"lot": "F-1", "required_width": "58", "rolls": [roll("R1", defects=WORKED), roll("R2", width="57")]}
    assert reporter.post("/api/v1/fabric-inspections", json=body).status_code == 201
    auth.as_role("quality_manager")
    listed = client.get("/fabric-inspections?supplier=DYE-01").text
    links = [a.attributes["href"] for a in parsed(listed).css("p.exports a")]
    assert links == [
        "/fabric-inspections?format=csv&supplier=DYE-01",
        "/fabric-inspections?format=xlsx&supplier=DYE-01",
    ]
    sheet = list(csv.reader(io.StringIO(client.get(links[0]).data.decode("utf-8-sig"))))
    assert sheet[0][:5] == ["Inspected", "Lot", "Supplier", "Style", "Rolls"]
    row = dict(zip(sheet[0], sheet[1], strict=True))
    assert (row["Lot"], row["Supplier"], row["Rolls"], row["Verdict"], row["Why rejected"]) == (
        "F-1",
        "DYE-01",
        "2",
        "Rejected",
        "Under width",
    )
    assert row["Length inspected"] == "240.00 yd" and row["Points"] == "23"
    book = load_workbook(io.BytesIO(client.get(links[1]).data))
    rolls = [list(r) for r in book["Rolls"].iter_rows(values_only=True)]
    assert [r[2] for r in rolls[1:]] == ["R1", "R2"]
    assert rolls[2][4] == "57.00 in" and rolls[2][7] == "Under width"
    assert client.get("/fabric-inspections?format=csv&lot=NOPE").status_code == 400
