"""Final inspection by ISO 2859-1 sampling: the verdict rule (any critical defect rejects; each class at or under
its Ac), the plans stored as read, and a rejection raising an NC with the batch on hold in the same step,
through the service and ``/api/v1/inspections``.

What was stored is read back in an app context of its own, so a refused request cannot pass for a stored one."""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from capa.capas.models import Hold, NonConformance
from capa.common.commands import parse
from capa.common.errors import Conflict, ValidationError
from capa.extensions import db
from capa.inspections import defects, final
from capa.inspections.commands import NewDefectCode, NewFinalInspection
from capa.inspections.models import DefectClass, Inspection
from capa.inspections.sampling import sampling_plan
from capa.inspections.verdict import judge_lot
from capa.masterdata import service as masterdata
from tests.conftest import PASSWORD, new_user
from tests.pages import (
    cells,
    field_block,
    fields_with_errors,
    form_at,
    input_value,
    one,
    parsed,
    selected_value,
    table_rows,
    textarea_text,
)
from tests.test_coverage import plant  # noqa: F401 (the fixture)

MAJOR, MINOR, CRITICAL = DefectClass.MAJOR, DefectClass.MINOR, DefectClass.CRITICAL


def plans(lot: int = 1000, major: str = "2.5", minor: str = "4.0", severity: str = "normal") -> dict:
    return {
        MAJOR: sampling_plan(lot, major, severity=severity),
        MINOR: sampling_plan(lot, minor, severity=severity),
    }


# The verdict ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "accepted"),
    [
        ({}, True),
        ({MAJOR: 5, MINOR: 7}, True),  # J: major Ac 5, minor Ac 7
        ({MAJOR: 6}, False),
        ({MINOR: 8}, False),
        ({MAJOR: 6, MINOR: 8}, False),
        ({CRITICAL: 1}, False),
        ({CRITICAL: 1, MAJOR: 0, MINOR: 0}, False),
    ],
)
def test_each_class_at_or_under_its_ac_and_no_critical_accepts(found, accepted):
    assert judge_lot(found, plans()).accepted is accepted


def test_the_verdict_says_which_classes_failed():
    verdict = judge_lot({CRITICAL: 1, MAJOR: 6, MINOR: 2}, plans())
    assert verdict.failed_classes == [CRITICAL, MAJOR]
    assert verdict.reason == "1 critical defects: any critical defect rejects. 6 major defects, at or above Re 6."
    assert judge_lot({MAJOR: 1}, plans()).reason == "Every class is within its acceptance number."


def test_the_verdict_refuses_impossible_counts():
    with pytest.raises(ValueError, match="negative"):
        judge_lot({MAJOR: -1}, plans())
    with pytest.raises(ValueError, match="critical"):
        judge_lot({}, {**plans(), CRITICAL: sampling_plan(1000, "0.010")})


# Recording --------------------------------------------------------------------------------------------------------


def inspect(app, actor, **values):
    """Record a final inspection of B-1 (1,000 units unless ``values`` say otherwise) as ``actor``; its id."""
    command = parse(NewFinalInspection, {"batch": "B-1", "lot_size": 1000} | values)
    return final.record_final_inspection(command, actor).id


def stored(app, inspection_id: int) -> dict:
    with app.app_context():
        inspection = final.get_inspection(inspection_id)
        return {
            "verdict": inspection.verdict,
            "plans": (
                inspection.major_sample,
                inspection.major_accept,
                inspection.minor_sample,
                inspection.minor_accept,
            ),
            "found": (inspection.critical_found, inspection.major_found, inspection.minor_found),
            "defects": [(d.defect_code.code, d.defect_class, d.count) for d in inspection.defects],
            "nc": inspection.nc.number if inspection.nc else None,
            "holds": [(h.subject, h.quantity) for h in inspection.nc.holds] if inspection.nc else [],
            "units": inspection.units_inspected,
        }


def test_a_clean_sample_is_accepted_and_raises_nothing(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    found = stored(app, inspect(app, supervisor, defects=[{"code": "SEW-06", "count": 3}]))
    assert found["verdict"] == "accepted"
    assert found["plans"] == (80, 5, 80, 7)
    assert found["found"] == (0, 0, 3)
    assert found["defects"] == [("SEW-06", "minor", 3)]
    assert found["nc"] is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NonConformance)) == 0


def test_a_critical_defect_rejects_raises_a_critical_nc_and_holds_the_batch(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    found = stored(
        app, inspect(app, supervisor, defects=[{"code": "SAF-01", "count": 1}, {"code": "SEW-06", "count": 2}])
    )
    assert found["verdict"] == "rejected"
    assert found["holds"] == [("B-1", 1000)]
    with app.app_context():
        nc = db.session.scalar(select(NonConformance).where(NonConformance.number == found["nc"]))
        assert (nc.source, nc.severity, nc.defect_type.code, nc.batch.number, nc.style.code, nc.line.code) == (
            "final_audit",
            "critical",
            "needle_or_metal_found",
            "B-1",
            "RMP-A",
            "L1",
        )
        assert nc.title == "Final inspection of B-1 rejected"
        assert "1 critical defects: any critical defect rejects." in nc.description
        assert "SAF-01 Broken needle or metal fragment: 1" in nc.description
        assert [event.kind for event in nc.events][:2] == ["filed", "hold"]


def test_majors_over_ac_reject_with_the_defect_type_of_the_most_frequent_major(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    defects = [{"code": "SEW-01", "count": 2}, {"code": "MEA-01", "count": 4}, {"code": "SEW-06", "count": 9}]
    found = stored(app, inspect(app, supervisor, defects=defects))
    assert found["verdict"] == "rejected"
    assert found["found"] == (0, 6, 9)
    with app.app_context():
        nc = db.session.scalar(select(NonConformance).where(NonConformance.number == found["nc"]))
        assert (nc.defect_type.code, nc.severity) == ("measurement_out_of_tolerance", "major")


def test_other_aqls_and_a_small_lot_change_the_plan(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    found = stored(app, inspect(app, supervisor, aql_major="1.5", aql_minor="2.5"))
    assert found["plans"] == (80, 3, 80, 5)
    small = stored(app, inspect(app, supervisor, lot_size=5, aql_major="0.65"))
    # Major 0.65 on letter A leads down to F (20): the whole lot of 5 is inspected.
    assert small["plans"][:2] == (20, 0) and small["units"] == 5


REJECTING = [{"code": "SAF-02", "count": 1}]


def test_the_switching_rules_set_the_lines_severity(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    with app.app_context():
        line = masterdata.get_line("L1")
        assert final.line_switching(line).severity == "normal"
    inspect(app, supervisor, defects=REJECTING)
    inspect(app, supervisor)
    # A re-inspection is a resubmitted lot: it does not count.
    inspect(app, supervisor, reinspection_of=inspect(app, supervisor, defects=REJECTING))
    with app.app_context():
        state = final.line_switching(masterdata.get_line("L1"))
        assert (state.severity, state.reason) == ("tightened", "two_of_five_not_accepted")
    # The next lot is inspected tightened by itself (J at 2.5: Ac 3), and normal inspection is refused.
    tightened = stored(app, inspect(app, supervisor))
    assert tightened["plans"] == (80, 3, 80, 5)
    with pytest.raises(ValidationError) as refused:
        inspect(app, supervisor, severity="normal")
    assert set(refused.value.fields) == {"severity"}
    assert refused.value.fields["severity"].startswith("Line L1 is on tightened inspection: 2 of 5")
    for _ in range(4):
        inspect(app, supervisor, severity="tightened")
    with app.app_context():
        state = final.line_switching(masterdata.get_line("L1"))
        assert (state.severity, state.reason) == ("normal", "five_accepted_on_tightened")


def test_five_lots_not_accepted_on_tightened_discontinue_until_a_manager_resumes(app, plant):  # noqa: F811
    supervisor, manager = new_user("supervisor"), new_user("quality_manager")
    for _ in range(7):
        inspect(app, supervisor, defects=REJECTING)
    with pytest.raises(Conflict) as refused:
        inspect(app, supervisor)
    assert set(refused.value.fields) == {"batch"}
    with pytest.raises(ValidationError):
        final.resume_inspection(masterdata.get_line("L1"), " ", manager)
    final.resume_inspection(masterdata.get_line("L1"), "Needle policy retrained, detector recalibrated", manager)
    with app.app_context():
        state = final.line_switching(masterdata.get_line("L1"))
        assert (state.severity, state.reason, state.discontinued) == ("tightened", "resumed", False)
    assert stored(app, inspect(app, supervisor))["verdict"] == "accepted"
    with pytest.raises(Conflict):
        final.resume_inspection(masterdata.get_line("L1"), "Again", manager)


def test_a_rejection_whose_codes_name_no_defect_type_asks_for_one(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    with pytest.raises(ValidationError) as refused:
        inspect(app, supervisor, defects=[{"code": "FAB-01", "count": 6}])
    assert set(refused.value.fields) == {"defect_type"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0
    found = stored(app, inspect(app, supervisor, defects=[{"code": "FAB-01", "count": 6}], defect_type="stain"))
    assert found["verdict"] == "rejected" and found["nc"] is not None


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"batch": "NOPE"}, {"batch"}),
        ({"defects": [{"code": "XX-1", "count": 1}]}, {"defects[0].code"}),
        ({"defects": [{"code": "SEW-01", "count": 1}, {"code": "sew-01", "count": 2}]}, {"defects[1].code"}),
        ({"reinspection_of": 999}, {"reinspection_of"}),
        ({"defect_type": "nope"}, {"defect_type"}),
        ({"batch": "NOPE", "defects": [{"code": "XX-1", "count": 1}]}, {"batch", "defects[0].code"}),
    ],
)
def test_bad_references_are_named_and_nothing_is_stored(app, plant, values, fields):  # noqa: F811
    supervisor = new_user("supervisor")
    with pytest.raises(ValidationError) as refused:
        inspect(app, supervisor, **values)
    assert set(refused.value.fields) == fields
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0
        assert db.session.scalar(select(func.count()).select_from(Hold)) == 0


def test_a_reinspection_names_the_rejected_inspection_of_the_same_batch(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    rejected = inspect(app, supervisor, defects=[{"code": "SAF-02", "count": 1}])
    again = inspect(app, supervisor, reinspection_of=rejected)
    with app.app_context():
        assert final.get_inspection(again).reinspection_of_id == rejected
    accepted = inspect(app, supervisor)
    with pytest.raises(ValidationError) as refused:
        inspect(app, supervisor, reinspection_of=accepted)
    assert set(refused.value.fields) == {"reinspection_of"}
    with pytest.raises(ValidationError):
        inspect(app, supervisor, batch="B-2", reinspection_of=rejected)


# The API ----------------------------------------------------------------------------------------------------------


def test_the_api_records_an_inspection_and_answers_its_plan_and_nc(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = {"batch": "b-1", "lot_size": 3000, "defects": [{"code": "SAF-03", "count": 1}], "note": "Pin in a cuff"}
    response = client.post("/api/v1/inspections", json=body)
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["batch"], answer["code_letter"], answer["level"], answer["severity"]) == ("B-1", "K", "II", "normal")
    assert (answer["aql_major"], answer["major_sample"], answer["major_accept"], answer["major_reject"]) == (
        "2.5",
        125,
        7,
        8,
    )
    assert answer["defects"] == [{"code": "SAF-03", "defect_class": "critical", "count": 1}]
    assert (answer["verdict"], answer["critical_found"], answer["note"]) == ("rejected", 1, "Pin in a cuff")
    nc = client.get(f"/api/v1/nonconformances/{answer['nc']}").json
    assert (nc["source"], nc["batch"], nc["severity"]) == ("final_audit", "B-1", "critical")
    assert [hold["batch"] for hold in nc["containment"]["holds"]] == ["B-1"]
    listed = client.get("/api/v1/inspections?batch=B-1").json["items"]
    assert [item["id"] for item in listed] == [answer["id"]]
    assert client.get(f"/api/v1/inspections/{answer['id']}").json["nc"] == answer["nc"]
    assert client.get("/api/v1/inspections/999999").status_code == 404
    assert client.get("/api/v1/inspections?batch=NOPE").status_code == 404


def test_the_api_refuses_bad_input_naming_the_field(app, plant, api):  # noqa: F811
    client = api("supervisor")
    response = client.post(
        "/api/v1/inspections",
        json={"batch": "B-1", "lot_size": 1, "aql_major": 2.4, "defects": [{"code": "SEW-01", "count": 0}]},
    )
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"lot_size", "aql_major", "defects[0].count"}
    assert api(None).post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 10}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0


# The pages --------------------------------------------------------------------------------------------------------

SHEET = {"batch": "B-1", "lot_size": "1000", "level": "II", "severity": "normal", "aql_major": "2.5"}
SHEET |= {"aql_minor": "4.0", "defect_type": "", "note": ""}


def test_the_tally_sheet_records_a_rejection_and_shows_it(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    sheet = client.get("/inspections/new?batch=B-1").text
    assert input_value(field_block(sheet, "batch")) == "B-1"
    assert {legend.text(strip=True) for legend in parsed(sheet).css("details.tally summary")} == {
        "Fabric",
        "Sewing",
        "Trims",
        "Measurements",
        "Packing",
        "Labelling",
        "Safety",
    }
    response = client.post("/inspections/new", data=SHEET | {"count-SAF-02": "1", "count-SEW-06": "2"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert one(page, "h1").text(strip=True) == "Final inspection of B-1"
    rows = [cells(row) for row in table_rows(page)]
    assert rows[:3] == [
        ["Critical", "0", "80", "0", "1", "1"],
        ["Major", "2.5", "80", "5", "6", "0"],
        ["Minor", "4.0", "80", "7", "8", "2"],
    ]
    with app.app_context():
        [inspection] = final.list_inspections()
        assert (inspection.verdict, inspection.nc.source, [h.subject for h in inspection.nc.holds]) == (
            "rejected",
            "final_audit",
            ["B-1"],
        )


def test_a_refused_tally_keeps_every_count_and_marks_the_bad_one(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    response = client.post(
        "/inspections/new", data=SHEET | {"lot_size": "1", "count-SEW-01": "two", "count-SEW-06": "3"}
    )
    assert response.status_code == 400
    html = response.text
    assert fields_with_errors(html) >= {"lot_size", "count-SEW-01"}
    assert input_value(field_block(html, "count-SEW-01")) == "two"
    assert input_value(field_block(html, "count-SEW-06")) == "3"
    assert input_value(field_block(html, "lot_size")) == "1"
    with app.app_context():
        assert final.list_inspections() == []


def test_the_tally_sheet_says_where_the_switching_rules_put_the_line(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    assert (
        "Line L1 is on Normal inspection now: Inspection starts normal."
        in client.get("/inspections/new?batch=B-1").text
    )
    for _ in range(2):
        assert client.post("/inspections/new", data=SHEET | {"severity": "", "count-SAF-01": "1"}).status_code == 302
    sheet = client.get("/inspections/new?batch=B-1").text
    assert "Line L1 is on Tightened inspection now: 2 of 5 or fewer consecutive lots" in sheet
    refused = client.post("/inspections/new", data=SHEET | {"severity": "normal"})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"severity"}
    assert client.post("/inspections/new", data=SHEET | {"severity": ""}).status_code == 302
    with app.app_context():
        assert [i.severity for i in final.list_inspections()] == ["tightened", "normal", "normal"]


def test_the_inspection_pages_speak_chinese(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    client.post("/language", data={"language": "zh_Hans_CN"})
    assert one(client.get("/inspections").text, "h1").text(strip=True) == "终检"
    assert one(client.get("/inspections/new").text, "h1").text(strip=True) == "记录终检"


def test_the_api_says_where_the_switching_rules_put_a_line_and_a_manager_resumes_it(app, plant, api):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    rejecting = {"batch": "B-1", "lot_size": 500, "defects": [{"code": "SAF-01", "count": 1}]}
    assert supervisor.get("/api/v1/lines/L1/inspection-switching").json["severity"] == "normal"
    for _ in range(2):
        assert supervisor.post("/api/v1/inspections", json=rejecting).status_code == 201
    state = supervisor.get("/api/v1/lines/L1/inspection-switching").json
    assert (state["severity"], state["reason"], state["discontinued"]) == (
        "tightened",
        "two_of_five_not_accepted",
        False,
    )
    assert state["reason_text"] == "2 of 5 or fewer consecutive lots were not accepted on normal inspection."
    refused = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 500, "severity": "normal"})
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"severity"}
    not_yet = manager.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "Retrained"})
    assert not_yet.status_code == 409 and set(not_yet.json["error"]["fields"]) == {"line"}
    for _ in range(5):
        supervisor.post("/api/v1/inspections", json=rejecting)
    assert supervisor.get("/api/v1/lines/L1/inspection-switching").json["discontinued"] is True
    stopped = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 500})
    assert stopped.status_code == 409 and set(stopped.json["error"]["fields"]) == {"batch"}
    assert supervisor.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "x"}).status_code == 403
    resumed = manager.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "Needle policy retrained"})
    assert resumed.status_code == 201 and resumed.json["resumed_by"] == manager_name(app, manager)
    state = supervisor.get("/api/v1/lines/L1/inspection-switching").json
    assert (state["severity"], state["reason"], state["discontinued"]) == ("tightened", "resumed", False)


def manager_name(app, client) -> str:
    return client.get("/api/v1/me").json["username"]


def test_clean_lots_take_the_line_to_reduced_inspection_where_the_authority_allows_it(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    for _ in range(9):
        inspect(app, supervisor)  # J at 2.5 and 4.0: Ac 5 and 7, each lot 3 points for passing one step tighter
    line = masterdata.get_line("L1")
    assert (final.line_switching(line).severity, final.line_switching(line).score) == ("normal", 27)
    inspect(app, supervisor, defects=[{"code": "SEW-01", "count": 4}])  # accepted, but not at 1.5 (Ac 3): back to 0
    assert final.line_switching(line).score == 0
    for _ in range(10):
        inspect(app, supervisor)
    assert (final.line_switching(line).severity, final.line_switching(line).score) == ("normal", 30)
    app.config["CAPA_REDUCED_INSPECTION_ALLOWED"] = True
    try:
        inspect(app, supervisor)
        state = final.line_switching(line)
        assert (state.severity, state.reason) == ("reduced", "switching_score")
        # Reduced: J at 2.5 is 32 units, Ac 3; a lot not accepted returns the line to normal.
        assert stored(app, inspect(app, supervisor))["plans"][:2] == (32, 3)
        inspect(app, supervisor, defects=[{"code": "SAF-01", "count": 1}])
        assert final.line_switching(line).reason == "not_accepted_on_reduced"
    finally:
        app.config["CAPA_REDUCED_INSPECTION_ALLOWED"] = False


def test_a_sheet_of_many_codes_raises_its_nc_with_the_description_cut_and_every_count_kept(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    for number in range(120):
        defects.save_defect_code(
            None, parse(NewDefectCode, {"code": f"PAC-{number + 100}", "name": "Carton corner crushed badly",
                                        "defect_class": "minor", "area": "packing", "defect_type": "stain"})
        )  # fmt: skip
    sheet = [{"code": f"PAC-{number + 100}", "count": 1} for number in range(120)]
    found = stored(app, inspect(app, supervisor, defects=sheet))
    assert found["verdict"] == "rejected" and len(found["defects"]) == 120
    with app.app_context():
        nc = db.session.scalar(select(NonConformance).where(NonConformance.number == found["nc"]))
        assert len(nc.description) == 4000 and nc.description.endswith("…")


def test_a_lot_over_ten_million_units_is_refused_naming_it(app, plant):  # noqa: F811
    with pytest.raises(ValidationError) as refused:
        parse(NewFinalInspection, {"batch": "B-1", "lot_size": 10_000_001})
    assert set(refused.value.fields) == {"lot_size"}


def test_every_inspection_downloads_as_csv_and_xlsx(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    client.post("/inspections/new", data=SHEET | {"count-SAF-02": "1"})
    client.post("/inspections/new", data=SHEET | {"severity": "", "count-SEW-06": "=2+3"})  # refused: not a count
    client.post(
        "/inspections/new",
        data=SHEET
        | {
            "severity": "",
            "count-SEW-06": "2",
            "note": "=HYPERLINK(1)",
            "cartons_offered": "40",
            "cartons_opened": "6",
        },
    )
    response = client.get("/inspections?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, newest, oldest = rows
    assert len(rows) == 3
    record = dict(zip(header, newest, strict=True))
    assert (record["Batch"], record["Style"], record["Line"], record["Verdict"]) == ("B-1", "RMP-A", "L1", "Accepted")
    assert (record["Major: sample, Ac, Re"], record["Minor"], record["Defects found"]) == ("80, 5, 6", "2", "SEW-06 2")
    assert record["Note"] == "'=HYPERLINK(1)"
    assert (record["Cartons opened"], record["Packing checks that failed"]) == ("6 / 40", "")
    older = dict(zip(header, oldest, strict=True))
    assert (older["Verdict"], older["Critical"]) == ("Rejected", "1") and older["Non-conformance"].startswith("NC-")
    workbook = load_workbook(io.BytesIO(client.get("/inspections?format=xlsx").data), read_only=True)
    sheet = workbook.worksheets[0]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["B-1", "B-1"]


def test_the_batch_page_lists_its_final_inspections_and_where_its_line_stands(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    page = client.get("/batches/B-1").text
    assert "No final inspection recorded for this batch." in page
    assert "/inspections/new?batch=B-1" in page
    for _ in range(2):
        client.post("/inspections/new", data=SHEET | {"severity": "", "count-SAF-01": "1"})
    page = client.get("/batches/B-1").text
    section = one(page, "section.final-inspections")
    assert "Line L1 is on Tightened inspection now: 2 of 5 or fewer consecutive lots" in section.text()
    assert [cells(row)[2] for row in section.css("tbody tr")] == ["Rejected", "Rejected"]


# A style's own AQLs -----------------------------------------------------------------------------------------------


def test_a_styles_own_aqls_read_its_batches_inspections_and_are_kept_with_their_reason(app, plant, api):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    assert supervisor.get("/api/v1/styles/RMP-A/aqls").json == {
        "style": "RMP-A",
        "aql_major": "2.5",
        "aql_minor": "4.0",
        "own": False,
        "source": "default",
        "buyer": None,
    }
    body = {"aql_major": "1.5", "aql_minor": 2.5, "reason": "Buyer tech pack TP-7, section 4"}
    assert supervisor.put("/api/v1/styles/RMP-A/aqls", json=body).status_code == 403
    saved = manager.put("/api/v1/styles/RMP-A/aqls", json=body)
    assert saved.status_code == 200 and saved.json == {
        "style": "RMP-A",
        "aql_major": "1.5",
        "aql_minor": "2.5",
        "own": True,
        "source": "style",
        "buyer": None,
    }
    # J at 1.5: Ac 3; at 2.5: Ac 5. The other style keeps the defaults.
    inspected = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000}).json
    assert (inspected["aql_major"], inspected["major_accept"], inspected["aql_minor"], inspected["minor_accept"]) == (
        "1.5",
        3,
        "2.5",
        5,
    )
    other = supervisor.post("/api/v1/inspections", json={"batch": "T-1", "lot_size": 1000}).json
    assert (other["aql_major"], other["aql_minor"]) == ("2.5", "4.0")
    history = supervisor.get("/api/v1/styles/RMP-A/aqls/history").json["items"]
    assert {(e["field"], e["old"], e["new"], e["reason"]) for e in history} == {
        ("aql_major", "2.5", "1.5", "Buyer tech pack TP-7, section 4"),
        ("aql_minor", "4.0", "2.5", "Buyer tech pack TP-7, section 4"),
    }
    refused = manager.put("/api/v1/styles/RMP-A/aqls", json={"aql_major": "1.4", "aql_minor": "2.5"})
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"aql_major", "reason"}
    assert supervisor.get("/api/v1/styles/RMP-A/aqls").json["aql_major"] == "1.5"


def test_the_style_page_shows_and_sets_its_aqls(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    page = client.get("/styles/RMP-A").text
    assert "Major 2.5, minor 4.0" in one(page, "section.aqls").text()
    refused = client.post("/styles/RMP-A/aqls", data={"aql_major": "0.65", "aql_minor": "1.0", "reason": ""})
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) == {"reason"}
    assert selected_value(field_block(refused.text, "aql_major")) == "0.65"
    saved = client.post("/styles/RMP-A/aqls", data={"aql_major": "0.65", "aql_minor": "1.0", "reason": "Buyer TP-9"})
    assert saved.status_code == 302
    section = one(client.get("/styles/RMP-A").text, "section.aqls")
    assert "Major 0.65, minor 1.0" in section.text()
    assert "Buyer TP-9" in section.text()
    auth.logout()
    auth.as_role("supervisor")
    assert one(client.get("/styles/RMP-A").text, "section.aqls").css_first("form") is None
    assert (
        client.post("/styles/RMP-A/aqls", data={"aql_major": "1.0", "aql_minor": "1.0", "reason": "x"}).status_code
        == 403
    )


# Figures ----------------------------------------------------------------------------------------------------------


def test_first_pass_acceptance_and_the_defect_pareto_by_class(app, plant, api, client, auth):  # noqa: F811
    supervisor = new_user("supervisor")
    inspect(app, supervisor, defects=[{"code": "SEW-06", "count": 5}, {"code": "SEW-01", "count": 2}])
    rejected = inspect(app, supervisor, defects=[{"code": "SAF-01", "count": 1}, {"code": "SEW-05", "count": 3}])
    # A re-inspection is a lot offered again: neither its verdict nor its defects count.
    inspect(app, supervisor, reinspection_of=rejected, defects=[{"code": "SEW-06", "count": 7}])
    answer = api("supervisor").get("/api/v1/inspections/figures").json
    assert (answer["inspected"], answer["accepted_first_time"], answer["first_pass_rate"]) == (2, 1, 50.0)
    assert answer["defects_by_class"] == {"critical": 1, "major": 2, "minor": 8}
    assert [(c["code"], c["count"], c["share"], c["cumulative"]) for c in answer["top_defects"]["minor"]] == [
        ("SEW-06", 5, 62.5, 62.5),
        ("SEW-05", 3, 37.5, 100.0),
    ]
    assert [c["code"] for c in answer["top_defects"]["critical"]] == ["SAF-01"]
    before = api("supervisor").get("/api/v1/inspections/figures?start=2020-01-01&end=2020-01-31").json
    assert (before["inspected"], before["first_pass_rate"], before["top_defects"]["minor"]) == (0, None, [])
    refused = api("supervisor").get("/api/v1/inspections/figures?start=2026-02-01&end=2026-01-31")
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"end"}
    auth.as_role("quality_manager")
    section = one(client.get("/inspections").text, "section.inspection-figures")
    assert "First-pass acceptance: 50.0 % (1 of 2 lots)" in section.text()
    assert [cells(row)[0] for row in section.css("table.pareto tbody tr")] == ["SAF-01", "SEW-01", "SEW-06", "SEW-05"]


def test_a_passing_reinspection_is_the_evidence_proposed_to_release_the_held_batch(app, plant, api, client, auth):  # noqa: F811
    inspector = api("supervisor")
    rejected = inspector.post(
        "/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000, "defects": [{"code": "SEW-01", "count": 12}]}
    ).json
    number = rejected["nc"]
    auth.as_role("quality_manager")
    with app.app_context():
        hold_id = db.session.scalar(select(Hold.id))
    dispose = f"/nc/{number}/holds/{hold_id}/dispositions"
    # Before a re-inspection: nothing proposed.
    page = client.get(f"/nc/{number}").text
    assert textarea_text(one(form_at(page, dispose), "div.field:has(textarea[name=evidence])")) == ""

    again = inspector.post(
        "/api/v1/inspections",
        json={
            "batch": "B-1",
            "lot_size": 1000,
            "reinspection_of": rejected["id"],
            "defects": [{"code": "SEW-01", "count": 2}],
        },
    ).json
    assert again["verdict"] == "accepted"
    shown = client.get(f"/inspections/{again['id']}").text
    assert f"/nc/{number}#d3" in [
        link.attributes.get("href") for link in parsed(shown).css("p.released-by-reinspection a")
    ]

    page = client.get(f"/nc/{number}").text
    form = form_at(page, dispose)
    evidence = textarea_text(one(form, "div.field:has(textarea[name=evidence])"))
    assert evidence.startswith(f"Final re-inspection {again['id']} of B-1 on ")
    assert "80 units inspected, 2 major and 0 minor defects found (Ac 5 and 7)" in evidence
    # Proposed, not decided: the kind is the quality manager's, and the release is signed.
    assert selected_value(one(form, "div.field:has(select[name=kind])")) in (None, "")
    version = one(form, 'input[name="version"]').attributes["value"]
    released = client.post(
        dispose,
        data={
            "kind": "release",
            "reason": "Re-inspected after rework",
            "evidence": evidence,
            "password": PASSWORD,
            "version": version,
        },
    )
    assert released.status_code == 302, released.text
    with app.app_context():
        assert db.session.get(Hold, hold_id).released_at is not None


# Carton and packing checks ------------------------------------------------------------------------------------------


def test_a_failed_packing_check_rejects_a_lot_whose_defects_pass(app, plant, api):  # noqa: F811
    client = api("supervisor")
    clean = {"batch": "B-1", "lot_size": 1000, "defects": [{"code": "SEW-06", "count": 1}]}
    passed = client.post("/api/v1/inspections", json=clean | {"packing": {"cartons_offered": 50, "cartons_opened": 7}})
    assert passed.status_code == 201, passed.text
    assert (passed.json["verdict"], passed.json["cartons_opened"], passed.json["packing_failed"]) == ("accepted", 7, [])

    packing = {"cartons_offered": 50, "cartons_opened": 7, "failed": ["quantity", "carton_marks"]}
    rejected = client.post("/api/v1/inspections", json=clean | {"packing": packing})
    answer = rejected.json
    assert (answer["verdict"], answer["packing_failed"]) == ("rejected", ["carton_marks", "quantity"])
    nc = client.get(f"/api/v1/nonconformances/{answer['nc']}").json
    # Rejected for its packing alone: the packing defect type, and the checks named.
    assert (nc["defect_type"], nc["severity"]) == ("packing_error", "major")
    assert "Packing checks failed: carton marks, quantity per carton." in nc["description"]
    assert [hold["batch"] for hold in nc["containment"]["holds"]] == ["B-1"]

    # Rejected for its defects too: the defects' type.
    heavy = {"batch": "B-1", "lot_size": 1000, "defects": [{"code": "SEW-01", "count": 9}], "packing": packing}
    both = client.post("/api/v1/inspections", json=heavy).json
    assert client.get(f"/api/v1/nonconformances/{both['nc']}").json["defect_type"] == "open_seam"


@pytest.mark.parametrize(
    ("packing", "fields"),
    [
        ({"cartons_offered": 5, "cartons_opened": 6}, {"packing.cartons_opened"}),
        ({"cartons_offered": 5, "cartons_opened": 2, "failed": ["smell"]}, {"packing.failed[0]"}),
        ({"cartons_opened": 2}, {"packing.cartons_offered"}),
    ],
)
def test_bad_packing_checks_are_refused_naming_the_field(app, plant, api, packing, fields):  # noqa: F811
    response = api("supervisor").post(
        "/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000, "packing": packing}
    )
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0


def test_the_tally_sheet_records_the_packing_checks(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    sheet = {"batch": "B-1", "lot_size": "1000", "level": "II", "severity": "", "aql_major": "2.5", "aql_minor": "4.0"}
    refused = client.post("/inspections/new", data=sheet | {"cartons_offered": "5", "cartons_opened": "9"})
    assert refused.status_code == 400
    assert "cartons_opened" in fields_with_errors(refused.text)
    assert input_value(field_block(refused.text, "cartons_offered")) == "5"
    recorded = client.post(
        "/inspections/new",
        data=sheet | {"cartons_offered": "50", "cartons_opened": "7", "packing_failed": ["polybags"]},
    )
    assert recorded.status_code == 302
    page = client.get(recorded.headers["Location"]).text
    assert (
        " ".join(one(page, "dd.packing").text().split())
        == "7 of 50 cartons opened · Failed Polybags, warnings and folding"
    )
