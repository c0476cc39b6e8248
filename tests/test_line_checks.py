"""Inline and end-of-line checks through ``/api/v1/line-checks``: stored once however often they are sent, summed per
shift into DHU and defective rate, against the line's alert level, and a shift over it raising one NC."""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from capa import create_app
from capa.capas.models import NonConformance
from capa.extensions import db
from capa.inspections import line_checks
from capa.inspections.defects import SEED
from capa.inspections.dhu import ShiftsMalformed
from capa.inspections.models import LineCheck, LineCheckDefect
from capa.masterdata.service import get_line
from tests.pages import (
    cells,
    errors_in,
    field_block,
    fields_with_errors,
    flashes,
    form_actions,
    input_value,
    one,
    parsed,
    selected_value,
    table_rows,
)
from tests.test_coverage import plant  # noqa: F401 (the fixture)

#: A day shift of 3 December 2026 in plant time (Asia/Shanghai), and a moment of that day's night shift after midnight.
DAY = "2026-12-03T10:00"
AFTER_MIDNIGHT = "2026-12-04T02:30"


def check(**values) -> dict:
    return {"line": "L1", "stage": "end_of_line", "units_checked": 50, "checked_at": DAY} | values


def stored(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (LineCheck, LineCheckDefect, NonConformance)
        )


def keyed(key: str) -> dict:
    return {"Idempotency-Key": key}


def test_a_check_is_stored_with_its_figures_and_its_shift(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = check(
        defective_units=4,
        defects=[{"code": "sew-01", "count": 3}, {"code": "SEW-06", "count": 3}],
        bundle="T-0042",
        operation="Side seam",
    )
    response = client.post("/api/v1/line-checks", json=body)
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["line"], answer["stage"], answer["shift"], answer["shift_day"]) == (
        "L1",
        "end_of_line",
        "day",
        "2026-12-03",
    )
    assert answer["checked_at"] == "2026-12-03T02:00:00+00:00"
    assert (answer["units_checked"], answer["defective_units"], answer["defects"]) == (50, 4, 6)
    assert (answer["dhu"], answer["defective_rate"]) == (12.0, 8.0)
    assert [(entry["code"], entry["count"]) for entry in answer["found"]] == [("SEW-01", 3), ("SEW-06", 3)]
    assert (answer["bundle"], answer["operation"]) == ("T-0042", "Side seam")

    night = client.post("/api/v1/line-checks", json=check(checked_at=AFTER_MIDNIGHT, stage="inline")).json
    assert (night["shift"], night["shift_day"], night["dhu"]) == ("night", "2026-12-03", 0.0)

    assert client.get(f"/api/v1/line-checks/{answer['id']}").json == answer
    listed = client.get("/api/v1/line-checks?line=l1&day=2026-12-03&shift=day").json["items"]
    assert [item["id"] for item in listed] == [answer["id"]]
    assert [item["id"] for item in client.get("/api/v1/line-checks?stage=inline").json["items"]] == [night["id"]]
    assert client.get("/api/v1/line-checks/999").status_code == 404


def test_a_check_sent_twice_under_one_key_is_stored_once(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = check(defective_units=1, defects=[{"code": "SEW-01", "count": 1}])
    first = client.post("/api/v1/line-checks", json=body, headers=keyed("phone-7f3a"))
    again = client.post("/api/v1/line-checks", json=body, headers=keyed("phone-7f3a"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert stored(app)[:2] == (1, 1)

    changed = client.post("/api/v1/line-checks", json=check(units_checked=60), headers=keyed("phone-7f3a"))
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "idempotency_key_reused"
    assert set(changed.json["error"]["fields"]) == {"Idempotency-Key"}
    # Another user's key is their own.
    other = api("supervisor")
    assert other.post("/api/v1/line-checks", json=body, headers=keyed("phone-7f3a")).status_code == 201
    assert stored(app)[:2] == (2, 2)


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"line": "L9"}, {"line"}),
        ({"defective_units": 51}, {"defective_units"}),
        ({"defective_units": 3, "defects": [{"code": "SEW-01", "count": 2}]}, {"defects"}),
        ({"defects": [{"code": "SEW-01", "count": 2}]}, {"defective_units"}),
        ({"defective_units": 1, "defects": [{"code": "NOPE", "count": 1}]}, {"defects[0].code"}),
        (
            {"defective_units": 2, "defects": [{"code": "SEW-01", "count": 1}, {"code": "SEW-01", "count": 1}]},
            {"defects[1].code"},
        ),
        ({"checked_at": "2999-01-01T08:00"}, {"checked_at"}),
        ({"units_checked": 0, "stage": "final"}, {"units_checked", "stage"}),
        ({"units_checked": "many", "checked_at": "yesterday"}, {"units_checked", "checked_at"}),
        ({"defects": [{"code": "SEW-01", "count": 0}]}, {"defects[0].count"}),
    ],
)
def test_bad_checks_are_refused_naming_each_field_and_store_nothing(app, plant, api, values, fields):  # noqa: F811
    response = api("supervisor").post("/api/v1/line-checks", json=check(**values))
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert stored(app) == (0, 0, 0)


def test_a_shift_sums_its_checks_against_the_lines_alert_level(app, plant, api):  # noqa: F811
    client = api("supervisor")
    # An hour of 10 units with 5 defects, and one of 90 with 1: 6 in 100, over the plant's level of 5.
    client.post(
        "/api/v1/line-checks", json=check(units_checked=10, defective_units=3, defects=[{"code": "SEW-01", "count": 5}])
    )
    client.post(
        "/api/v1/line-checks",
        json=check(
            units_checked=90, defective_units=1, defects=[{"code": "SEW-06", "count": 1}], checked_at="2026-12-03T11:00"
        ),
    )
    client.post("/api/v1/line-checks", json=check(stage="inline", units_checked=20))
    figures = client.get("/api/v1/line-checks/figures?day=2026-12-03&shift=day").json
    assert (figures["shift"], figures["day"], figures["start"], figures["end"]) == (
        "day",
        "2026-12-03",
        "2026-12-03T07:00:00+08:00",
        "2026-12-03T19:00:00+08:00",
    )
    by_stage = {item["stage"]: item for item in figures["items"]}
    end = by_stage["end_of_line"]
    assert (end["checks"], end["units_checked"], end["defective_units"], end["defects"]) == (2, 100, 4, 6)
    assert (end["dhu"], end["defective_rate"], end["alert_level"], end["over_alert"], end["nc"]) == (
        6.0,
        4.0,
        5.0,
        True,
        None,
    )
    assert (by_stage["inline"]["dhu"], by_stage["inline"]["over_alert"]) == (0.0, False)
    # The night shift has no checks.
    assert client.get("/api/v1/line-checks/figures?day=2026-12-03&shift=night").json["items"] == []

    # The line's own level: a quality manager's, with a reason kept in the line's history.
    assert client.put("/api/v1/lines/L1/dhu-alert-level", json={"alert_level": 8, "reason": "x"}).status_code == 403
    qm = api("quality_manager")
    assert qm.get("/api/v1/lines/L1/dhu-alert-level").json == {"alert_level": None, "plant_alert_level": 5.0}
    changed = qm.put("/api/v1/lines/L1/dhu-alert-level", json={"alert_level": "6.5", "reason": "Buyer target"})
    assert changed.json == {"alert_level": 6.5, "plant_alert_level": 5.0}
    history = qm.get("/api/v1/lines/L1/history").json["items"]
    assert any(e["field"] == "dhu_alert_level" and e["new"] == "6.5" and e["reason"] == "Buyer target" for e in history)
    end = next(
        i
        for i in client.get("/api/v1/line-checks/figures?day=2026-12-03&shift=day").json["items"]
        if i["stage"] == "end_of_line"
    )
    assert (end["alert_level"], end["over_alert"]) == (6.5, False)
    bad = qm.put("/api/v1/lines/L1/dhu-alert-level", json={"alert_level": "0", "reason": ""})
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"alert_level", "reason"}


def test_a_shift_over_its_alert_level_raises_one_nc(app, plant, api):  # noqa: F811
    client = api("supervisor")
    raise_body = {"stage": "end_of_line", "day": "2026-12-03", "shift": "day"}
    client.post(
        "/api/v1/line-checks", json=check(units_checked=20, defective_units=1, defects=[{"code": "SEW-06", "count": 1}])
    )
    not_over = client.post("/api/v1/lines/L1/shift-nc", json=raise_body)
    assert not_over.status_code == 409 and set(not_over.json["error"]["fields"]) == {"stage"}

    client.post(
        "/api/v1/line-checks",
        json=check(
            units_checked=20,
            defective_units=2,
            defects=[{"code": "SEW-01", "count": 2}, {"code": "SEW-06", "count": 1}],
        ),
    )
    raised = client.post("/api/v1/lines/L1/shift-nc", json=raise_body)
    assert raised.status_code == 201, raised.text
    nc = raised.json
    # The most frequent code naming a defect type: SEW-06 names none, SEW-01 open seam.
    assert (nc["source"], nc["line"], nc["defect_type"], nc["severity"], nc["quantity_affected"]) == (
        "end_of_line",
        "L1",
        "open_seam",
        "major",
        3,
    )
    assert "DHU 10.00" in nc["title"] and "shift day of 2026-12-03" in nc["title"]
    assert "4 defects in 40 units checked in 2 checks" in nc["description"]
    assert "SEW-01 Open seam: 2" in nc["description"]
    figures = client.get("/api/v1/line-checks/figures?day=2026-12-03&shift=day").json["items"]
    assert figures[0]["nc"] == nc["number"]

    again = client.post("/api/v1/lines/L1/shift-nc", json=raise_body)
    assert again.status_code == 409 and nc["number"] in again.json["error"]["message"]
    assert stored(app)[2] == 1


def test_a_shift_nc_needs_a_known_shift_and_a_defect_type(app, plant, api):  # noqa: F811
    client = api("supervisor")
    client.post(
        "/api/v1/line-checks", json=check(units_checked=20, defective_units=2, defects=[{"code": "SEW-06", "count": 2}])
    )
    base = {"stage": "end_of_line", "day": "2026-12-03"}
    assert set(client.post("/api/v1/lines/L1/shift-nc", json=base).json["error"]["fields"]) == {"shift"}
    assert set(client.post("/api/v1/lines/L1/shift-nc", json=base | {"shift": "late"}).json["error"]["fields"]) == {
        "shift"
    }
    no_type = client.post("/api/v1/lines/L1/shift-nc", json=base | {"shift": "day"})
    assert no_type.status_code == 400 and set(no_type.json["error"]["fields"]) == {"defect_type"}
    typed = client.post("/api/v1/lines/L1/shift-nc", json=base | {"shift": "day", "defect_type": "broken_stitch"})
    assert typed.status_code == 201 and typed.json["defect_type"] == "broken_stitch"
    assert client.post("/api/v1/lines/L9/shift-nc", json=base | {"shift": "day"}).status_code == 404


def test_too_few_units_checked_alert_nobody_whatever_their_dhu(app, plant, api, client, auth):  # noqa: F811
    reporter = api("supervisor")
    small = check(units_checked=10, defective_units=1, defects=[{"code": "SEW-01", "count": 1}])
    assert reporter.post("/api/v1/line-checks", json=small).status_code == 201
    [figure] = reporter.get("/api/v1/line-checks/figures?day=2026-12-03&shift=day").json["items"]
    assert (figure["dhu"], figure["over_alert"], figure["too_few_units"], figure["min_units"]) == (
        10.0,
        False,
        True,
        20,
    )
    refused = reporter.post(
        "/api/v1/lines/L1/shift-nc", json={"stage": "end_of_line", "day": "2026-12-03", "shift": "day"}
    )
    assert (refused.status_code, refused.json["error"]["fields"]) == (409, {"stage": "Too few units checked."})
    assert refused.json["error"]["message"] == "L1 has 10 units checked in this shift: its DHU alerts from 20 units."
    auth.as_role("quality_manager")
    board = client.get("/line-checks?day=2026-12-03&shift=day").text
    assert parsed(board).css_first(".too-few-units").text(strip=True) == "10 of the 20 units before it alerts"
    assert parsed(board).css(".over-alert") == []

    # Ten more units, one defect more: 2 in 20, DHU 10, over the level of 5.
    assert reporter.post("/api/v1/line-checks", json=small | {"checked_at": "2026-12-03T11:00"}).status_code == 201
    [figure] = reporter.get("/api/v1/line-checks/figures?day=2026-12-03&shift=day").json["items"]
    assert (figure["units_checked"], figure["over_alert"], figure["too_few_units"]) == (20, True, False)


def test_unreadable_shift_or_alert_settings_stop_the_start(tmp_path):
    with pytest.raises(ShiftsMalformed):
        create_app({"TESTING": True, "CAPA_INSTANCE_PATH": str(tmp_path), "CAPA_SHIFTS": "day=07:00-19:00"})
    with pytest.raises(ValueError, match="CAPA_DHU_ALERT_LEVEL"):
        create_app({"TESTING": True, "CAPA_INSTANCE_PATH": str(tmp_path), "CAPA_DHU_ALERT_LEVEL": "high"})
    with pytest.raises(ValueError, match="CAPA_DHU_MIN_UNITS"):
        create_app({"TESTING": True, "CAPA_INSTANCE_PATH": str(tmp_path), "CAPA_DHU_MIN_UNITS": 0})


# The pages ---------------------------------------------------------------------------------------------------------


def tally(**values) -> dict:
    return {"line": "L1", "stage": "end_of_line", "units_checked": "20", "idempotency_key": "page-key-1"} | values


def test_the_tally_records_a_check_and_comes_back_for_the_next(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    sheet = client.get("/line-checks/new?line=l1&stage=inline").text
    assert selected_value(field_block(sheet, "line")) == "L1"
    assert selected_value(field_block(sheet, "stage")) == "inline"
    assert one(sheet, "form[data-outbox]") is not None
    # A tap button beside every code of the library in use, shown by tally.js.
    assert len(parsed(sheet).css('button.tap[data-tally-for^="count-"]')) == len(SEED)

    sent = tally(
        defective_units="2", checked_at="2026-12-03T10:15", bundle="T-9", **{"count-SEW-01": "2", "count-PAC-01": "1"}
    )
    response = client.post("/line-checks/new", data=sent)
    assert response.status_code == 302
    assert response.headers["Location"] == "/line-checks/new?line=L1&stage=end_of_line"
    with app.app_context():
        check = db.session.scalar(select(LineCheck))
        assert (check.units_checked, check.defective_units, check.defects, check.bundle, check.shift) == (
            20,
            2,
            3,
            "T-9",
            "day",
        )
        assert sorted((found.defect_code.code, found.count) for found in check.found) == [("PAC-01", 1), ("SEW-01", 2)]
    page = client.get(response.headers["Location"]).text
    assert "DHU 15.00" in flashes(page, "success")[0].text()

    # The same form sent again (a double tap) records nothing new.
    again = client.post("/line-checks/new", data=sent)
    assert again.status_code == 302 and stored(app)[0] == 1
    # The phone's outbox asks for JSON: the check's name and where to go next.
    answer = client.post("/line-checks/new", data=sent, headers={"Accept": "application/json"})
    assert (answer.status_code, answer.json["number"], answer.json["replayed"]) == (200, f"check {check.id}", True)
    assert answer.json["url"] == "/line-checks/new?line=L1&stage=end_of_line"
    fresh = client.post(
        "/line-checks/new", data=tally(idempotency_key="page-key-2"), headers={"Accept": "application/json"}
    )
    assert (fresh.status_code, fresh.json["number"]) == (201, f"check {check.id + 1}")


def test_a_refused_tally_keeps_every_count_with_each_problem_beside_its_field(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    malformed = tally(units_checked="five", **{"count-SEW-01": "x", "count-SEW-02": "3"})
    page = client.post("/line-checks/new", data=malformed).text
    assert fields_with_errors(page) == {"units_checked", "count-SEW-01"}
    assert errors_in(field_block(page, "count-SEW-01")) == ["Must be a whole number."]
    assert input_value(field_block(page, "count-SEW-02")) == "3"
    assert input_value(field_block(page, "units_checked")) == "five"

    impossible = tally(units_checked="5", defective_units="6", checked_at="2999-01-01T08:00", **{"count-SEW-02": "6"})
    response = client.post("/line-checks/new", data=impossible)
    assert response.status_code == 400
    page = response.text
    assert fields_with_errors(page) == {"defective_units", "checked_at"}
    assert errors_in(field_block(page, "defective_units")) == ["More defective units than units checked."]
    assert input_value(field_block(page, "checked_at")) == "2999-01-01T08:00"
    assert input_value(field_block(page, "count-SEW-02")) == "6"
    assert stored(app) == (0, 0, 0)


def test_the_shift_board_shows_each_line_and_raises_the_nc_of_one_over_its_level(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    client.post("/line-checks/new", data=tally(defective_units="3", checked_at=DAY, **{"count-SEW-01": "4"}))
    board = client.get("/line-checks?day=2026-12-03&shift=day").text
    [row] = [row for row in table_rows(board) if "over-alert" in (row.attributes.get("class") or "")]
    assert cells(row)[:7] == [
        "L1 · Sewing line 1",
        "End of line",
        "1",
        "20",
        "4 · 3 defective",
        "20.00 Over the alert level",
        "15.00%",
    ]
    action = "/lines/L1/shift-nc"
    assert action in form_actions(board)

    raised = client.post(action, data={"stage": "end_of_line", "day": "2026-12-03", "shift": "day", "defect_type": ""})
    assert raised.status_code == 302
    number = raised.headers["Location"].rsplit("/", 1)[1]
    board = client.get("/line-checks?day=2026-12-03&shift=day").text
    assert action not in form_actions(board)
    assert number in board
    twice = client.post(action, data={"stage": "end_of_line", "day": "2026-12-03", "shift": "day", "defect_type": ""})
    assert twice.status_code == 409 and number in flashes(twice.text, "error")[0].text()
    assert stored(app)[2] == 1
    unknown = client.get("/line-checks?day=2026-12-03&shift=late")
    assert unknown.status_code == 400 and "No shift late" in flashes(unknown.text, "error")[0].text()


def test_a_quality_manager_sets_a_lines_alert_level_on_its_page(app, plant, auth, client):  # noqa: F811
    auth.as_role("quality_manager")
    page = client.get("/lines/L1").text
    assert "/lines/L1/dhu-alert-level" in form_actions(page)
    refused = client.post("/lines/L1/dhu-alert-level", data={"alert_level": "-1", "reason": ""})
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) >= {"alert_level", "reason"}
    assert input_value(field_block(refused.text, "alert_level")) == "-1"
    saved = client.post("/lines/L1/dhu-alert-level", data={"alert_level": "3.5", "reason": "Infant wear"})
    assert saved.headers["Location"] == "/lines/L1#dhu"
    with app.app_context():
        assert str(line_checks.own_alert_level(get_line("L1"))) == "3.50"


def test_checks_download_as_csv_and_xlsx(app, plant, auth, client):  # noqa: F811
    auth.as_role("supervisor")
    client.post(
        "/line-checks/new", data=tally(defective_units="2", checked_at=DAY, note="=CMD()", **{"count-SEW-01": "3"})
    )
    client.post("/line-checks/new", data=tally(idempotency_key="k-2", checked_at=AFTER_MIDNIGHT, stage="inline"))
    board = client.get("/line-checks?day=2026-12-03&shift=day").text
    assert "/line-checks?format=csv&day=2026-12-03&shift=day" in [
        link.attributes.get("href") for link in parsed(board).css("a")
    ]
    response = client.get("/line-checks?format=csv&day=2026-12-03&shift=day")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    record = dict(zip(header, rows[0], strict=True))
    assert (record["Line"], record["Where"], record["Units checked"], record["DHU"]) == (
        "L1",
        "End of line",
        "20",
        "15.00",
    )
    assert (record["Defects found"], record["Note"]) == ("SEW-01 3", "'=CMD()")
    workbook = load_workbook(io.BytesIO(client.get("/line-checks?format=xlsx").data), read_only=True)
    assert [row[2] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["night", "day"]
    refused = client.get("/line-checks?format=csv&day=yesterday")
    assert refused.status_code == 302


def test_the_nc_page_links_back_to_the_shift_board(app, plant, api, client, auth):  # noqa: F811
    reporter = api("supervisor")
    checked = reporter.post(
        "/api/v1/line-checks", json=check(units_checked=20, defective_units=2, defects=[{"code": "SEW-01", "count": 3}])
    )
    assert checked.status_code == 201, checked.text
    raised = reporter.post(
        "/api/v1/lines/L1/shift-nc", json={"stage": "end_of_line", "day": "2026-12-03", "shift": "day"}
    )
    assert raised.status_code == 201, raised.text
    auth.as_role("quality_manager")
    [link] = parsed(client.get(f"/nc/{raised.json['number']}").text).css("p.origin a")
    assert (link.text(strip=True), link.attributes["href"]) == (
        "Raised by the line checks of the day shift of 2026-12-03",
        "/line-checks?day=2026-12-03&shift=day",
    )


def test_counts_that_cannot_be_and_a_time_to_come_are_named_beside_a_malformed_field(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = check(units_checked=5, defective_units=7, checked_at="2099-01-01T08:00", operation="x" * 81)
    refused = client.post("/api/v1/line-checks", json=body)
    assert refused.status_code == 400
    fields = refused.json["error"]["fields"]
    assert set(fields) == {"operation", "defective_units", "checked_at"}
    assert fields["defective_units"] == "More defective units than units checked."
    assert fields["checked_at"] == "Cannot be in the future."
    assert stored(app) == (0, 0, 0)


def test_malformed_defects_leave_the_counts_they_would_need_unjudged(app, plant, api):  # noqa: F811
    body = check(units_checked=50, defective_units=1, defects=[{"code": "SEW-01", "count": 1}, "x"])
    refused = api("supervisor").post("/api/v1/line-checks", json=body)
    assert set(refused.json["error"]["fields"]) == {"defects[1]"}
