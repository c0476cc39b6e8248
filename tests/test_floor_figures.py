"""The inspections in management's figures (capa.inspections.floor): in the weekly summary (its JSON, page and
mail), on the quality manager's home, and at ``/api/v1/inspections/floor-figures``, checked against counts made
independently here: final inspections' first-pass acceptance and Pareto, DHU by line against its 4 weeks
before, fabric points by supplier, needle incidents."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from capa.common.clock import plant_today, plant_zone
from capa.common.types import utcnow
from capa.trends import service as trends
from capa.trends.figures import compute
from capa.trends.weeks import Week
from tests.pages import parsed
from tests.test_coverage import plant  # noqa: F401 (the fixture)


def post(client, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json


@pytest.fixture
def floor(app, plant, api):  # noqa: F811
    """A week of inspections: three final inspections (one rejected, one a re-inspection), line checks this week
    and two weeks ago, a fabric lot, needle incidents."""
    client = api("quality_manager")
    first = post(
        client, "/api/v1/inspections", {"batch": "B-1", "lot_size": 1000, "defects": [{"code": "SEW-06", "count": 3}]}
    )
    rejected = post(
        client,
        "/api/v1/inspections",
        {
            "batch": "T-1",
            "lot_size": 1000,
            "defects": [
                {"code": "SEW-01", "count": 11},
                {"code": "SEW-02", "count": 4},
                {"code": "SEW-06", "count": 1},
            ],
        },
    )
    assert (first["verdict"], rejected["verdict"]) == ("accepted", "rejected")
    # A re-inspection is a lot offered again: left out of first-pass acceptance and of the Pareto.
    post(
        client,
        "/api/v1/inspections",
        {
            "batch": "T-1",
            "lot_size": 1000,
            "reinspection_of": rejected["id"],
            "defects": [{"code": "SEW-01", "count": 9}],
        },
    )
    earlier = (utcnow() - timedelta(days=14)).isoformat()
    post(
        client,
        "/api/v1/line-checks",
        {
            "line": "L1",
            "stage": "end_of_line",
            "units_checked": 100,
            "defective_units": 2,
            "defects": [{"code": "SEW-01", "count": 2}],
            "checked_at": earlier,
        },
    )
    post(
        client,
        "/api/v1/line-checks",
        {
            "line": "L1",
            "stage": "end_of_line",
            "units_checked": 40,
            "defective_units": 3,
            "defects": [{"code": "SEW-01", "count": 4}],
        },
    )
    post(
        client, "/api/v1/line-checks", {"line": "L1", "stage": "end_of_line", "units_checked": 60, "defective_units": 0}
    )
    post(
        client,
        "/api/v1/line-checks",
        {
            "line": "L1",
            "stage": "inline",
            "units_checked": 20,
            "defective_units": 1,
            "defects": [{"code": "SEW-03", "count": 1}],
        },
    )
    post(
        client,
        "/api/v1/fabric-inspections",
        {"lot": "F-1", "rolls": [{"number": "R1", "length": 100, "width": 60, "defects": [{"at": 1, "size": 10}]}]},
    )
    post(client, "/api/v1/needle-breaks", {"line": "L1", "operator": "Op 1", "all_fragments_found": True})
    post(
        client,
        "/api/v1/needle-breaks",
        {"line": "L1", "operator": "Op 2", "all_fragments_found": False, "bundle": "T-9"},
    )
    post(client, "/api/v1/metal-detections", {"detector": "MD-1", "line": "L1", "garments": 3})
    post(client, "/api/v1/detector-checks", {"detector": "MD-1", "test_piece": "Fe 1.0", "detected": False})
    return client


def test_the_weekly_figures_count_the_inspections_of_the_week(app, floor):
    figures = compute(Week.containing(plant_today()), plant_zone())["inspections"]
    final = figures["final"]
    assert (final["inspected"], final["accepted_first_time"], final["first_pass_rate"]) == (2, 1, 50.0)
    # SEW-01 11 and SEW-02 4 are majors (15); SEW-06 3 + 1 a minor: the re-inspection's 9 are not counted.
    assert final["defects_by_class"] == {"critical": 0, "major": 15, "minor": 4}
    assert [(c["code"], c["count"], c["share"], c["cumulative"]) for c in final["top_defects"]["major"]] == [
        ("SEW-01", 11, 73.3, 73.3),
        ("SEW-02", 4, 26.7, 100.0),
    ]
    # End of line this week: 4 defects in 100 units (40 + 60), 3 defective; the 4 weeks before: 2 in 100.
    assert figures["dhu_by_line"] == [
        {
            "line": "L1",
            "stage": "inline",
            "checks": 1,
            "units_checked": 20,
            "defective_units": 1,
            "defects": 1,
            "dhu": 5.0,
            "defective_rate": 5.0,
            "dhu_4w": None,
            "worse": False,
        },
        {
            "line": "L1",
            "stage": "end_of_line",
            "checks": 2,
            "units_checked": 100,
            "defective_units": 3,
            "defects": 4,
            "dhu": 4.0,
            "defective_rate": 3.0,
            "dhu_4w": 2.0,
            "worse": True,
        },
    ]
    # One 4-point defect on 100 yd of 60 in: 4 * 3600 / 6000 = 2.40.
    assert figures["fabric_by_supplier"] == [
        {"supplier": "DYE-01", "name": "Sunrise Dye House", "lots": 1, "accepted": 1, "points_per_100": 2.4}
    ]
    assert figures["needles"] == {
        "needle_breaks": 2,
        "fragments_missing": 1,
        "metal_detections": 1,
        "garments_detected": 3,
        "detector_checks_failed": 1,
    }


def test_the_summary_page_mail_and_api_show_them(app, floor, client, auth):
    week = Week.containing(plant_today())
    summary, _built = trends.build(week, force=True)
    assert summary.figures["inspections"]["final"]["inspected"] == 2
    answer = floor.get(f"/api/v1/summaries/{week}").json
    assert answer["inspections"]["needles"]["fragments_missing"] == 1
    assert answer["inspections"]["dhu_by_line"][1]["worse"] is True

    auth.as_role("quality_manager")
    page = parsed(client.get(f"/summaries/{week}").text)
    [dhu] = page.css("table.dhu-by-line")
    rows = [[cell.text(strip=True) for cell in row.css("td")] for row in dhu.css("tbody tr")]
    assert rows == [["L1", "Inline", "5.00", "—", "20"], ["L1", "End of line", "4.00 ▲", "2.00", "100"]]
    assert "50.0%" in page.css_first("section.floor").text()

    home = parsed(client.get("/").text)
    assert home.css_first("section.live section.floor") is not None
    assert [row.css_first("td").text(strip=True) for row in home.css("table.pareto tr")][:2] == [
        "SEW-01 · Open seam",
        "SEW-02 · Broken stitch",
    ]


def test_the_summary_downloads_carry_them(app, floor, client, auth):
    week = Week.containing(plant_today())
    trends.build(week, force=True)
    auth.as_role("quality_manager")
    rows = list(csv.reader(io.StringIO(client.get(f"/summaries/{week}.csv").data.decode("utf-8-sig"))))
    floor_rows = {(row[0], row[1]): row[2:] for row in rows}
    assert floor_rows[("Final inspections", "")][0] == "2"
    assert floor_rows[("Final inspections accepted first time (%)", "")][0] == "50.0"
    assert floor_rows[("Defects found in final inspections", "Major")][0] == "15"
    assert floor_rows[("Defect codes found most in final inspections", "Major: SEW-01")][0] == "11"
    assert floor_rows[("DHU by line", "L1 · End of line")][:2] == ["4.0", "2.0"]
    assert floor_rows[("Fabric points per 100 square yards, by supplier", "DYE-01")][0] == "2.4"
    assert floor_rows[("Needle and metal control", "with a fragment missing")][0] == "1"

    book = load_workbook(io.BytesIO(client.get(f"/summaries/{week}.xlsx").data))
    dhu = [list(row) for row in book["DHU by line"].iter_rows(values_only=True)]
    assert dhu[0][:3] == ["Line", "Where", "Checks"]
    assert dhu[2] == ["L1", "End of line", 2, 100, 3, 4, 4, 3, 2, "yes"]


def test_the_floor_figures_of_any_period(app, floor):
    today = plant_today().isoformat()
    figures = floor.get(f"/api/v1/inspections/floor-figures?start={today}&end={today}").json
    assert figures["needles"]["metal_detections"] == 1
    assert figures["final"]["inspected"] == 2
    before = floor.get("/api/v1/inspections/floor-figures?start=2020-01-01&end=2020-01-31").json
    assert (before["final"]["inspected"], before["dhu_by_line"], before["fabric_by_supplier"]) == (0, [], [])
    refused = floor.get(f"/api/v1/inspections/floor-figures?start={today}&end=2020-01-01")
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"end"}


def test_the_home_takes_the_dhu_trend_from_the_stored_summaries(app, floor, client, auth):
    auth.as_role("quality_manager")

    def home_dhu() -> list[list[str]]:
        table = parsed(client.get("/").text).css_first("table.dhu-by-line")
        return [[cell.text(strip=True) for cell in row.css("td")] for row in table.css("tbody tr")]

    # The 4 weeks before have no summary yet: no trend, and nothing aggregated for them live.
    assert home_dhu() == [["L1", "Inline", "5.00", "—", "20"], ["L1", "End of line", "4.00", "—", "100"]]
    current = Week.containing(plant_today())
    for back in range(1, 5):
        trends.build(current.shifted(-back), force=True)
    assert home_dhu() == [["L1", "Inline", "5.00", "—", "20"], ["L1", "End of line", "4.00 ▲", "2.00", "100"]]
