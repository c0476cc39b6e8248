"""Needle and metal control through the API and the pages: the needle log, detector checks with their test piece,
and garments that set a detector off; a missing fragment or a detection raising a critical safety NC at once,
with the garments of a named batch held."""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from capa import create_app
from capa.capas.models import Hold, NonConformance
from capa.extensions import db
from capa.inspections.models import DetectorCheck, MetalDetection, NeedleBreak
from tests.pages import errors_in, field_block, fields_with_errors, input_value, parsed, table_rows
from tests.test_coverage import plant  # noqa: F401 (the fixture)

DAY = "2026-12-03T09:20"


def stored(app) -> tuple[int, int, int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (NeedleBreak, DetectorCheck, MetalDetection, NonConformance, Hold)
        )


def needle(**values) -> dict:
    return {"line": "L1", "operator": "Li Mei (op 12)", "machine": "SN-07", "all_fragments_found": True} | values


def test_a_needle_broken_with_every_fragment_found_is_logged_without_an_nc(app, plant, api):  # noqa: F811
    client = api("supervisor")
    response = client.post("/api/v1/needle-breaks", json=needle(broken_at=DAY, batch="b-1"))
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["line"], answer["shift"], answer["shift_day"], answer["batch"], answer["nc"]) == (
        "L1",
        "day",
        "2026-12-03",
        "B-1",
        None,
    )
    assert (answer["operator"], answer["machine"], answer["all_fragments_found"]) == ("Li Mei (op 12)", "SN-07", True)
    assert stored(app) == (1, 0, 0, 0, 0)
    listed = client.get("/api/v1/needle-breaks?line=L1&day=2026-12-03&shift=day").json["items"]
    assert [item["id"] for item in listed] == [answer["id"]]
    assert client.get("/api/v1/needle-breaks?day=2026-12-02").json["items"] == []


def test_a_missing_fragment_raises_a_critical_safety_nc_with_the_log(app, plant, api):  # noqa: F811
    client = api("supervisor")
    refused = client.post("/api/v1/needle-breaks", json=needle(all_fragments_found=False))
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"bundle"}
    assert stored(app) == (0, 0, 0, 0, 0)

    response = client.post(
        "/api/v1/needle-breaks", json=needle(all_fragments_found=False, bundle="T-0815", batch="B-1", broken_at=DAY)
    )
    assert response.status_code == 201, response.text
    number = response.json["nc"]
    nc = client.get(f"/api/v1/nonconformances/{number}").json
    assert (nc["severity"], nc["source"], nc["defect_type"], nc["line"], nc["batch"]) == (
        "critical",
        "inline",
        "needle_or_metal_found",
        "L1",
        "B-1",
    )
    assert "fragment is missing" in nc["title"] and "T-0815" in nc["description"]
    assert stored(app) == (1, 0, 0, 1, 0)


def test_detectors_are_checked_per_shift_and_a_failed_check_takes_one_out_of_use(app, plant, api, app_config):  # noqa: F811
    app.config["CAPA_METAL_DETECTORS"] = "MD-1, md-2"
    client = api("supervisor")
    passed = client.post(
        "/api/v1/detector-checks",
        json={"detector": "md-1", "test_piece": "Fe 1.0 mm", "detected": True, "checked_at": DAY},
    )
    assert passed.status_code == 201, passed.text
    assert (passed.json["detector"], passed.json["shift"], passed.json["detected"]) == ("MD-1", "day", True)
    failed = client.post(
        "/api/v1/detector-checks",
        json={"detector": "MD-2", "test_piece": "Fe 1.0 mm", "detected": False, "checked_at": "2026-12-03T07:05"},
    )
    assert failed.status_code == 201
    board = client.get("/api/v1/needle-control?day=2026-12-03&shift=day").json
    states = {state["detector"]: state for state in board["detectors"]}
    assert (states["MD-1"]["in_use"], states["MD-1"]["checked_this_shift"]) == (True, True)
    assert (states["MD-2"]["in_use"], states["MD-2"]["checked_this_shift"]) == (False, True)
    night = client.get("/api/v1/needle-control?day=2026-12-03&shift=night").json
    assert [(s["detector"], s["in_use"], s["checked_this_shift"]) for s in night["detectors"]] == [
        ("MD-1", True, False),
        ("MD-2", False, False),
    ]
    unknown = client.post("/api/v1/detector-checks", json={"detector": "MD-9", "test_piece": "x", "detected": "yes"})
    assert unknown.status_code == 400 and set(unknown.json["error"]["fields"]) == {"detected"}
    unknown = client.post("/api/v1/detector-checks", json={"detector": "MD-9", "test_piece": "x", "detected": True})
    assert unknown.status_code == 400 and set(unknown.json["error"]["fields"]) == {"detector"}
    assert "MD-1, MD-2" in unknown.json["error"]["fields"]["detector"]
    assert stored(app)[1] == 2


def test_garments_that_set_a_detector_off_are_held_with_a_critical_nc(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = {"detector": "MD-1", "line": "L1", "batch": "B-1", "bundle": "T-0815", "garments": 2, "detected_at": DAY}
    response = client.post("/api/v1/metal-detections", json=body)
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["garments"], answer["batch"], answer["shift"]) == (2, "B-1", "day")
    nc = client.get(f"/api/v1/nonconformances/{answer['nc']}").json
    assert (nc["severity"], nc["source"], nc["defect_type"], nc["quantity_affected"]) == (
        "critical",
        "end_of_line",
        "needle_or_metal_found",
        2,
    )
    with app.app_context():
        [hold] = db.session.scalars(select(Hold)).all()
        assert (hold.batch.number, hold.quantity, hold.nc.number) == ("B-1", 2, answer["nc"])
    # Without a batch: the NC, nothing held.
    alone = client.post("/api/v1/metal-detections", json={"detector": "MD-1", "line": "L1"})
    assert alone.status_code == 201 and alone.json["garments"] == 1
    assert stored(app) == (0, 0, 2, 2, 1)


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/api/v1/needle-breaks", needle(line="L9", batch="NOPE"), {"line", "batch"}),
        ("/api/v1/needle-breaks", needle(broken_at="2999-01-01T08:00"), {"broken_at"}),
        ("/api/v1/needle-breaks", {"line": "L1"}, {"operator", "all_fragments_found"}),
        ("/api/v1/metal-detections", {"detector": "MD-7", "line": "L9", "garments": 0}, {"garments"}),
        (
            "/api/v1/metal-detections",
            {"detector": "MD-7", "line": "L9", "batch": "NOPE"},
            {"detector", "line", "batch"},
        ),
        ("/api/v1/detector-checks", {"detector": "MD-1", "test_piece": "", "detected": True}, {"test_piece"}),
    ],
)
def test_bad_records_are_refused_naming_each_field_and_store_nothing(app, plant, api, path, body, fields):  # noqa: F811
    response = api("supervisor").post(path, json=body)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert stored(app) == (0, 0, 0, 0, 0)


def test_unreadable_detectors_stop_the_start(tmp_path):
    with pytest.raises(ValueError, match="CAPA_METAL_DETECTORS"):
        create_app({"TESTING": True, "CAPA_INSTANCE_PATH": str(tmp_path), "CAPA_METAL_DETECTORS": "MD-1,md-1"})


# The pages ---------------------------------------------------------------------------------------------------------


def test_the_needle_log_page_raises_the_nc_of_a_missing_fragment_and_keeps_what_was_typed(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    form = client.get("/needle-control/needle-breaks/new?line=l1").text
    assert [node.attributes["value"] for node in parsed(form).css('input[name="all_fragments_found"]')] == ["yes", "no"]
    # Neither answer is chosen for the inspector.
    assert not parsed(form).css('input[name="all_fragments_found"][checked]')

    refused = client.post(
        "/needle-control/needle-breaks/new", data={"line": "L1", "operator": "Li Mei", "all_fragments_found": "no"}
    )
    assert refused.status_code == 400
    assert "bundle" in fields_with_errors(refused.text)
    assert input_value(field_block(refused.text, "operator")) == "Li Mei"
    assert parsed(refused.text).css('input[name="all_fragments_found"][value="no"][checked]')
    unanswered = client.post("/needle-control/needle-breaks/new", data={"line": "L1", "operator": "Li Mei"})
    assert unanswered.status_code == 400
    assert errors_in(parsed(unanswered.text).css_first("fieldset#all_fragments_found").html)
    assert stored(app) == (0, 0, 0, 0, 0)

    logged = client.post(
        "/needle-control/needle-breaks/new",
        data={"line": "L1", "operator": "Li Mei", "all_fragments_found": "no", "bundle": "T-0815", "batch": "B-1"},
    )
    assert logged.status_code == 302 and logged.headers["Location"].startswith("/nc/NC-")
    fine = client.post(
        "/needle-control/needle-breaks/new", data={"line": "L1", "operator": "Wang", "all_fragments_found": "yes"}
    )
    assert fine.headers["Location"] == "/needle-control"
    assert stored(app) == (2, 0, 0, 1, 0)
    board = client.get("/needle-control").text
    assert len([row for row in table_rows(board) if "Li Mei" in row.text()]) == 1
    assert "Missing: bundle T-0815 isolated" in board


def test_the_board_shows_a_detector_not_checked_and_one_that_missed_its_test_piece(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    board = client.get("/needle-control").text
    assert "Not checked in this shift" in board and "Never checked" in board
    missed = client.post(
        "/needle-control/detector-checks/new", data={"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": "no"}
    )
    assert missed.headers["Location"] == "/needle-control"
    board = client.get("/needle-control").text
    assert "Out of use: its last check failed" in board and "missed" in board
    client.post(
        "/needle-control/detector-checks/new", data={"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": "yes"}
    )
    assert "In use" in client.get("/needle-control").text
    refused = client.post("/needle-control/detector-checks/new", data={"detector": "MD-1", "test_piece": ""})
    assert refused.status_code == 400 and "test_piece" in fields_with_errors(refused.text)


def test_a_detection_page_holds_the_garments_and_opens_the_nc(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    refused = client.post(
        "/needle-control/metal-detections/new",
        data={"detector": "MD-1", "line": "L1", "batch": "NOPE", "garments": "3"},
    )
    assert refused.status_code == 400 and "batch" in fields_with_errors(refused.text)
    assert input_value(field_block(refused.text, "garments")) == "3"
    recorded = client.post(
        "/needle-control/metal-detections/new", data={"detector": "MD-1", "line": "L1", "batch": "B-1", "garments": "3"}
    )
    assert recorded.status_code == 302 and recorded.headers["Location"].startswith("/nc/NC-")
    assert stored(app) == (0, 0, 1, 1, 1)


def test_the_needle_log_downloads_as_xlsx_and_csv(app, plant, api, auth, client):  # noqa: F811
    reporter = api("supervisor")
    reporter.post("/api/v1/needle-breaks", json=needle(broken_at=DAY, note="=SUM(1)"))
    reporter.post("/api/v1/detector-checks", json={"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": True})
    reporter.post("/api/v1/metal-detections", json={"detector": "MD-1", "line": "L1", "garments": 2})
    auth.as_role("quality_manager")
    response = client.get("/needle-control?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, row = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    record = dict(zip(header, row, strict=True))
    assert (record["Line"], record["Was every fragment found?"], record["Note"]) == ("L1", "Yes", "'=SUM(1)")
    workbook = load_workbook(io.BytesIO(client.get("/needle-control?format=xlsx").data), read_only=True)
    assert [sheet.title for sheet in workbook.worksheets] == ["Broken needles", "Metal detectors", "Metal detections"]
    [detection] = list(workbook.worksheets[2].iter_rows(min_row=2, values_only=True))
    assert (detection[3], detection[4], detection[7]) == ("MD-1", "L1", 2)


def test_the_nc_page_links_back_to_the_needle_log(app, plant, api, client, auth):  # noqa: F811
    raised = api("supervisor").post(
        "/api/v1/needle-breaks", json=needle(all_fragments_found=False, bundle="T-0815", broken_at=DAY)
    )
    auth.as_role("quality_manager")
    [link] = parsed(client.get(f"/nc/{raised.json['nc']}").text).css("p.origin a")
    assert (link.text(strip=True), link.attributes["href"]) == (
        f"Raised by broken needle #{raised.json['id']}",
        "/needle-control?day=2026-12-03&shift=day",
    )


# The isolated bundle's pass ---------------------------------------------------------------------------------------


def missing_fragment(client) -> dict:
    response = client.post(
        "/api/v1/needle-breaks", json=needle(all_fragments_found=False, bundle="T-0815", broken_at=DAY)
    )
    assert response.status_code == 201, response.text
    return response.json


def detector_checked(client, detected: bool = True) -> None:
    body = {"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": detected, "checked_at": "2026-12-03T07:05"}
    assert client.post("/api/v1/detector-checks", json=body).status_code == 201


def test_the_isolated_bundles_pass_is_recorded_once_on_the_log(app, plant, api):  # noqa: F811
    client = api("supervisor")
    detector_checked(client)
    logged = missing_fragment(client)
    assert (logged["bundle_detector"], logged["bundle_clean"], logged["bundle_checked_at"]) == (None, None, None)
    path = f"/api/v1/needle-breaks/{logged['id']}/bundle-pass"
    passed = client.post(path, json={"detector": "md-1", "clean": True, "checked_at": "2026-12-03T09:40", "note": "x"})
    assert passed.status_code == 200, passed.text
    answer = passed.json
    assert (answer["bundle_detector"], answer["bundle_clean"], answer["bundle_note"]) == ("MD-1", True, "x")
    assert answer["bundle_checked_at"].startswith("2026-12-03T01:40")  # 09:40 plant time, UTC+8
    assert answer["bundle_checked_by"] == answer["recorded_by"]
    again = client.post(path, json={"detector": "MD-1", "clean": False})
    assert (again.status_code, again.json["error"]["fields"]) == (409, {"bundle": "Recorded already."})
    listed = client.get("/api/v1/needle-breaks?day=2026-12-03").json["items"]
    assert [(b["id"], b["bundle_clean"]) for b in listed] == [(logged["id"], True)]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"detector": "MD-9", "clean": True}, {"detector"}),
        ({"detector": "MD-1"}, {"clean"}),
        ({"detector": "MD-1", "clean": True, "checked_at": "2026-12-03T08:00"}, {"checked_at"}),
        ({"detector": "MD-1", "clean": True, "checked_at": "2099-12-03T08:00"}, {"checked_at"}),
        ({"detector": "MD-1", "clean": "yes"}, {"clean"}),
    ],
)
def test_a_bad_bundle_pass_is_refused_naming_the_field(app, plant, api, body, fields):  # noqa: F811
    client = api("supervisor")
    detector_checked(client)
    logged = missing_fragment(client)
    refused = client.post(f"/api/v1/needle-breaks/{logged['id']}/bundle-pass", json=body)
    assert refused.status_code == 400, refused.text
    assert set(refused.json["error"]["fields"]) == fields
    assert client.get("/api/v1/needle-breaks").json["items"][0]["bundle_clean"] is None


def test_a_detector_is_judged_in_use_as_it_was_when_the_bundle_passed(app, plant, api):  # noqa: F811
    client = api("supervisor")
    detector_checked(client, detected=False)  # 07:05: missed the test piece
    logged = missing_fragment(client)
    later = {"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": True, "checked_at": "2026-12-03T12:00"}
    assert client.post("/api/v1/detector-checks", json=later).status_code == 201
    path = f"/api/v1/needle-breaks/{logged['id']}/bundle-pass"
    before = client.post(path, json={"detector": "MD-1", "clean": True, "checked_at": "2026-12-03T10:00"})
    assert set(before.json["error"]["fields"]) == {"detector"}  # out of use at 10:00, whatever came after
    after = client.post(path, json={"detector": "MD-1", "clean": True, "checked_at": "2026-12-03T12:30"})
    assert after.status_code == 200, after.text


def test_a_detector_out_of_use_cannot_pass_a_bundle_and_no_bundle_no_pass(app, plant, api):  # noqa: F811
    client = api("supervisor")
    detector_checked(client, detected=False)
    logged = missing_fragment(client)
    refused = client.post(f"/api/v1/needle-breaks/{logged['id']}/bundle-pass", json={"detector": "MD-1", "clean": True})
    assert refused.json["error"]["fields"] == {
        "detector": "MD-1 is out of use until a check with its test piece passes."
    }
    whole = client.post("/api/v1/needle-breaks", json=needle(broken_at=DAY)).json
    none = client.post(f"/api/v1/needle-breaks/{whole['id']}/bundle-pass", json={"detector": "MD-1", "clean": True})
    assert (none.status_code, none.json["error"]["fields"]) == (409, {"bundle": "No bundle was isolated."})
    assert (
        client.post("/api/v1/needle-breaks/999999/bundle-pass", json={"detector": "MD-1", "clean": True}).status_code
        == 404
    )


def test_the_board_offers_the_bundles_pass_and_shows_it(app, plant, api, client, auth):  # noqa: F811
    reporter = api("supervisor")
    detector_checked(reporter)
    logged = missing_fragment(reporter)
    auth.as_role("supervisor")
    board = client.get("/needle-control?day=2026-12-03&shift=day").text
    [link] = parsed(board).css("a.bundle-pass")
    form_page = client.get(link.attributes["href"]).text
    assert "T-0815" in parsed(form_page).css_first("p.hint").text()
    refused = client.post(link.attributes["href"], data={"detector": "MD-1", "checked_at": "", "note": ""})
    assert refused.status_code == 400
    assert errors_in(parsed(refused.text).css_first("fieldset#clean").html) == ["This field is required."]
    done = client.post(link.attributes["href"], data={"detector": "MD-1", "clean": "no", "checked_at": "", "note": ""})
    assert done.status_code == 302
    board = client.get(done.headers["Location"]).text
    assert parsed(board).css_first("span.bundle-pass").text(strip=True) == "Set MD-1 off"
    with app.app_context():
        stored = db.session.get(NeedleBreak, logged["id"])
        assert (stored.bundle_detector, stored.bundle_clean) == ("MD-1", False)
    # Recorded: the form is not offered again, and a second send changes nothing.
    assert parsed(board).css("a.bundle-pass") == []
    again = client.post(
        link.attributes["href"], data={"detector": "MD-1", "clean": "yes", "checked_at": "", "note": ""}
    )
    assert again.status_code == 302 and "/needle-control?day=2026-12-03" in again.headers["Location"]
    with app.app_context():
        assert db.session.get(NeedleBreak, logged["id"]).bundle_clean is False
