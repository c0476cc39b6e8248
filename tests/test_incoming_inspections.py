"""Incoming inspection by attributes of trims, labels, thread and packaging through ``/api/v1/incoming-inspections``
and the pages: each class's ISO 2859-1 plan against the standard's tables read by hand, the verdict, a lot received
with its inspection, fabric sent to the 4-point system, and the supplier's scorecard counting the verdicts."""

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from capa.extensions import db
from capa.inspections.models import IncomingInspection
from capa.masterdata.models import MaterialLot
from tests.pages import cells, field_block, fields_with_errors, input_value, one, parsed, selected_value, table_rows

#: ISO 2859-1 by hand: 5,000 pieces at level II are Table 1's letter L, a sample of 200; in Table 2-A, row L, AQL
#: 2.5 accepts 10 and rejects 11, AQL 4.0 accepts 14 and rejects 15, AQL 1.0 accepts 5 and rejects 6.
LOT_L = 5000


@pytest.fixture
def receiving(app, api):
    qm = api("quality_manager")
    qm.post("/api/v1/suppliers", json={"code": "SNAP", "name": "Snap Co"})
    qm.post("/api/v1/suppliers", json={"code": "MILL", "name": "Cotton Mill"})
    return qm


def inspect(client, **values):
    body = {"lot": "SN-1", "supplier": "SNAP", "kind": "trim", "lot_size": LOT_L} | values
    return client.post("/api/v1/incoming-inspections", json=body)


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model)) for model in (IncomingInspection, MaterialLot)
        )


def test_a_trim_lot_is_sampled_per_class_and_accepted_within_each_acceptance_number(app, receiving, api):
    supervisor = api("supervisor")
    recorded = inspect(supervisor, major_found=10, minor_found=14, note="Two snaps with bent prongs")
    assert recorded.status_code == 201, recorded.json
    answer = recorded.json
    assert (answer["lot"], answer["kind"], answer["supplier"]) == ("SN-1", "trim", "SNAP")
    assert answer["verdict"] == "accepted"
    assert (answer["level"], answer["code_letter"], answer["units_inspected"]) == ("II", "L", 200)
    assert answer["major"] == {"aql": "2.5", "sample_size": 200, "accept": 10, "reject": 11, "found": 10}
    assert answer["minor"] == {"aql": "4.0", "sample_size": 200, "accept": 14, "reject": 15, "found": 14}
    assert answer["inspector"] == supervisor.get("/api/v1/me").json["username"]
    # The lot was received with its inspection, which its history keeps.
    history = receiving.get("/api/v1/lots/SN-1/history").json["items"]
    assert {entry["kind"] for entry in history} == {"created", "incoming_inspection"}
    [event] = [entry for entry in history if entry["kind"] == "incoming_inspection"]
    assert (event["field"], event["new"]) == ("verdict", "accepted")
    assert receiving.get(f"/api/v1/incoming-inspections/{answer['id']}").json == answer


@pytest.mark.parametrize(
    ("found", "verdict"),
    [
        ({"major_found": 11}, "rejected"),
        ({"minor_found": 15}, "rejected"),
        ({"critical_found": 1}, "rejected"),
        ({"major_found": 5, "aql_major": "1.0"}, "accepted"),
        ({"major_found": 6, "aql_major": 1.0}, "rejected"),
    ],
)
def test_a_class_at_its_rejection_number_or_any_critical_defect_rejects_the_lot(app, receiving, found, verdict):
    recorded = inspect(receiving, **found)
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["verdict"] == verdict


def test_a_recorded_lot_is_inspected_again_as_recorded(app, receiving):
    inspect(receiving)
    again = receiving.post("/api/v1/incoming-inspections", json={"lot": "SN-1", "lot_size": 500, "level": "I"})
    assert again.status_code == 201
    # 500 pieces at level I: Table 1's letter F, 20 pieces; AQL 2.5 in row F: Ac 1, Re 2.
    assert (again.json["code_letter"], again.json["major"]["sample_size"], again.json["major"]["accept"]) == (
        "F",
        20,
        1,
    )
    listed = receiving.get("/api/v1/incoming-inspections?lot=SN-1").json["items"]
    assert [item["id"] for item in listed] == [again.json["id"], again.json["id"] - 1]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"lot": "F-1", "supplier": "MILL", "kind": "fabric"}, {"kind"}),
        ({"lot": "DL-1", "supplier": "MILL", "kind": "dye_lot"}, {"kind"}),
        ({"lot": "NEW-1", "supplier": None, "kind": None}, {"supplier", "kind"}),
        ({"supplier": "NOPE"}, {"supplier"}),
        ({"lot_size": 1}, {"lot_size"}),
        ({"lot_size": "many"}, {"lot_size"}),
        ({"aql_major": "3"}, {"aql_major"}),
        ({"aql_minor": 0.3}, {"aql_minor"}),
        ({"level": "IV"}, {"level"}),
        ({"major_found": -1}, {"major_found"}),
        # Nonconforming items (AQL up to 10) are counted in a sample of 200: never more than it holds.
        ({"major_found": 201}, {"major_found"}),
        ({"critical_found": 201, "minor_found": 250}, {"critical_found", "minor_found"}),
        ({"minor_found": 1.5}, {"minor_found"}),
        ({"kind": "gold"}, {"kind"}),
        ({"extra": 1}, {"extra"}),
    ],
)
def test_bad_input_is_named_and_nothing_is_stored(app, receiving, body, fields):
    response = inspect(receiving, **body)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert stored(app) == (0, 0)


def test_a_recorded_lot_keeps_its_kind_and_supplier_and_fabric_goes_to_the_four_point_system(app, receiving):
    inspect(receiving)
    other = inspect(receiving, supplier="MILL", kind="label")
    assert other.status_code == 400 and set(other.json["error"]["fields"]) == {"supplier", "kind"}
    receiving.post(
        "/api/v1/fabric-inspections",
        json={"lot": "F-1", "supplier": "MILL", "rolls": [{"number": "R1", "length": "100", "width": "58"}]},
    )
    fabric = receiving.post("/api/v1/incoming-inspections", json={"lot": "F-1", "lot_size": 100})
    assert fabric.status_code == 400 and fabric.json["error"]["fields"] == {
        "lot": "Fabric is inspected by the 4-point system: record it as a fabric inspection."
    }


def test_lists_filter_by_supplier_and_lot_and_need_a_token(app, receiving, api):
    inspect(receiving)
    inspect(receiving, lot="LB-1", kind="label")
    inspect(receiving, lot="TH-1", supplier="MILL", kind="thread")
    by_supplier = receiving.get("/api/v1/incoming-inspections?supplier=SNAP").json["items"]
    assert [item["lot"] for item in by_supplier] == ["LB-1", "SN-1"]
    assert receiving.get("/api/v1/incoming-inspections?supplier=NOPE").status_code == 404
    assert receiving.get("/api/v1/incoming-inspections/999").status_code == 404
    assert api(None).get("/api/v1/incoming-inspections").status_code == 401
    assert inspect(api(None)).status_code == 401


def test_the_scorecard_counts_incoming_verdicts_with_the_fabric_ones(app, receiving):
    inspect(receiving)
    inspect(receiving, lot="SN-2", major_found=11)
    card = receiving.get("/api/v1/suppliers/SNAP/scorecard").json
    rolling = card["rolling_12_months"]
    assert rolling["incoming"] == {"inspected": 2, "accepted": 1, "rejected": 1}
    weight = Decimal(str(card["settings"]["weights"]["incoming"]))
    half = (weight / 2).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert Decimal(str(rolling["deductions"]["incoming"])) == half
    assert receiving.get("/api/v1/suppliers/MILL/scorecard").json["rolling_12_months"]["incoming"]["inspected"] == 0
    # The rejected lot sorted by the supplier and inspected again is the same lot: its first verdict counts.
    assert inspect(receiving, lot="SN-2", lot_size=4000).json["verdict"] == "accepted"
    again = receiving.get("/api/v1/suppliers/SNAP/scorecard").json["rolling_12_months"]
    assert again["incoming"] == {"inspected": 2, "accepted": 1, "rejected": 1}


def test_a_rejected_lot_raises_its_nc_with_the_whole_lot_on_hold(app, receiving, api):
    receiving.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"})
    supervisor = api("supervisor")
    rejected = inspect(supervisor, critical_found=1, note="A snap with a sharp edge").json
    path = f"/api/v1/incoming-inspections/{rejected['id']}/raise-nc"
    assert supervisor.post(path, json={"line": "L1", "defect_type": "sharp_point_or_edge"}).status_code == 403
    # The lot is in no batch yet: its line, and the defect type, are asked for.
    asked = receiving.post(path, json={})
    assert asked.status_code == 400 and set(asked.json["error"]["fields"]) == {"line", "defect_type"}
    unknown = receiving.post(path, json={"line": "L1", "defect_type": "nope"})
    assert set(unknown.json["error"]["fields"]) == {"defect_type"}
    raised = receiving.post(path, json={"line": "L1", "defect_type": "sharp_point_or_edge"})
    assert raised.status_code == 201, raised.json
    nc = raised.json
    assert (nc["source"], nc["severity"], nc["defect_type"]) == ("incoming_material", "critical", "sharp_point_or_edge")
    assert nc["title"] == "Lot SN-1 rejected at incoming inspection"
    assert "1 critical, 0 major (Ac 10 at AQL 2.5)" in nc["description"] and "sharp edge" in nc["description"]
    assert [(hold["lot"], hold["quantity"]) for hold in nc["containment"]["holds"]] == [("SN-1", LOT_L)]
    assert receiving.get(f"/api/v1/incoming-inspections/{rejected['id']}").json["nc"] == nc["number"]
    assert receiving.post(path, json={"line": "L1", "defect_type": "stain"}).status_code == 409
    # An accepted lot raises nothing.
    accepted = inspect(receiving, lot="SN-2").json
    refused = receiving.post(f"/api/v1/incoming-inspections/{accepted['id']}/raise-nc", json={"line": "L1"})
    assert refused.status_code == 409 and set(refused.json["error"]["fields"]) == {"inspection"}


# The pages --------------------------------------------------------------------------------------------------------

FORM = {
    "lot": "SN-1",
    "supplier": "SNAP",
    "kind": "trim",
    "lot_size": str(LOT_L),
    "level": "II",
    "aql_major": "2.5",
    "aql_minor": "4.0",
    "critical_found": "0",
    "major_found": "11",
    "minor_found": "0",
    "note": "Prongs bent",
}


def test_the_form_records_a_lot_and_keeps_what_was_typed_when_refused(app, receiving, client, auth):
    auth.as_role("supervisor")
    blank = client.get("/incoming-inspections/new?lot=SN-1").text
    assert input_value(field_block(blank, "lot")) == "SN-1"
    refused = client.post("/incoming-inspections/new", data=FORM | {"lot_size": "lots"})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"lot_size"}
    assert input_value(field_block(refused.text, "lot_size")) == "lots"
    assert input_value(field_block(refused.text, "major_found")) == "11"
    # A fabric lot (received with its 4-point inspection) is named beside the lot, the rest kept.
    rolls = [{"number": "R1", "length": "100", "width": "58"}]
    receiving.post("/api/v1/fabric-inspections", json={"lot": "F-9", "supplier": "MILL", "rolls": rolls})
    fabric = client.post("/incoming-inspections/new", data=FORM | {"lot": "F-9", "supplier": "", "kind": ""})
    assert fabric.status_code == 400 and fields_with_errors(fabric.text) == {"lot"}
    assert input_value(field_block(fabric.text, "lot")) == "F-9"
    assert selected_value(field_block(fabric.text, "level")) == "II"
    assert stored(app) == (0, 1)
    saved = client.post("/incoming-inspections/new", data=FORM)
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).text
    assert "Rejected" in one(page, "main").text()
    plans = {cells(row)[0]: cells(row)[1:] for row in table_rows(one(page, "table.plans"))}
    assert plans["Major"] == ["2.5", "200", "10 / 11", "11"]
    assert plans["Minor"] == ["4.0", "200", "14 / 15", "0"]
    listed = table_rows(client.get("/incoming-inspections").text)
    assert "SN-1" in cells(listed[0])[1] and "Rejected" in cells(listed[0])[5]
    # A quality manager raises its NC from the page; a refused form says what is missing.
    assert not parsed(client.get(saved.headers["Location"]).text).css("#raise-nc")  # not offered to a supervisor
    client.post("/logout")
    auth.as_role("quality_manager")
    receiving.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"})
    inspection_page = saved.headers["Location"]
    assert one(client.get(inspection_page).text, "#raise-nc")
    missing = client.post(f"{inspection_page}/raise-nc", data={"line": "L1", "defect_type": ""})
    assert missing.status_code == 400 and fields_with_errors(missing.text) == {"defect_type"}
    raised = client.post(f"{inspection_page}/raise-nc", data={"line": "L1", "defect_type": "loose_button"})
    assert raised.status_code == 302 and raised.headers["Location"].startswith("/nc/")
    assert not parsed(client.get(inspection_page).text).css("#raise-nc")
    supplier = client.get("/suppliers/SNAP").text
    assert "SN-1" in one(supplier, "#incoming").text()
    scorecard = {cells(row)[0]: cells(row)[1:] for row in table_rows(one(supplier, "table.scorecard"))}
    assert scorecard["Incoming inspections accepted"][-1] == "0 / 1"


def test_the_list_downloads_and_speaks_chinese(app, receiving, client, auth):
    inspect(receiving)
    auth.as_role("quality_manager")
    sheet = list(csv.reader(io.StringIO(client.get("/incoming-inspections?format=csv").data.decode("utf-8-sig"))))
    row = dict(zip(sheet[0], sheet[1], strict=True))
    assert (row["Lot"], row["Supplier"], row["Major sample, Ac/Re"], row["Verdict"]) == (
        "SN-1",
        "SNAP",
        "200, 10/11",
        "Accepted",
    )
    assert client.get("/incoming-inspections?lot=NOPE").status_code == 400
    client.post("/language", data={"language": "zh_Hans_CN", "next": "/incoming-inspections"})
    text = client.get("/incoming-inspections").get_data(as_text=True)
    assert "来料检验" in text
    assert parsed(client.get("/incoming-inspections/new").text).css_first("h1").text().strip() == "来料抽样检验"
