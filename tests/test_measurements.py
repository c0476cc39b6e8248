"""Measurements against a style's spec: the judging in plain Python (limits within, fractions exact, a garment out
once whatever its points off), a spec pasted from a spreadsheet, the spec set through the API with its history,
and final inspections counting garments out of tolerance as MEA-01 defects."""

from decimal import Decimal

import pytest

from capa.inspections.measurements import (
    GridError,
    NotANumber,
    PointSpec,
    Reading,
    garments_out_of_tolerance,
    grid_text,
    judge,
    parse_grid,
    read_number,
)
from tests.pages import cells, errors_in, field_block, parsed, section, textarea_text
from tests.test_coverage import plant  # noqa: F401 (the fixture)

D = Decimal


# Plain Python ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("30", D("30")),
        ("30.5", D("30.5")),
        ("0.125", D("0.125")),
        (" 30 1/4 ", D("30.25")),
        ("3/8", D("0.375")),
        ("1/2", D("0.5")),
        ("12 7/8", D("12.875")),
    ],
)
def test_numbers_read_exactly_with_fractions_as_tapes_read(text, number):
    assert read_number(text) == number


@pytest.mark.parametrize("text", ["", "abc", "30.1234", "1/3", "5/4", "1/16", "-2", "30,5", "1e3", "30 1/4 1/2"])
def test_other_numbers_are_refused_not_rounded(text):
    with pytest.raises(NotANumber):
        read_number(text)


CHEST = PointSpec("A", "Chest width", D("1"), D("1.5"), {"S": D("30"), "M": D("32")})
LENGTH = PointSpec("B", "Body length", D("0.5"), D("0.5"), {"S": D("40"), "M": D("42")})
POINTS = {"A": CHEST, "B": LENGTH}


@pytest.mark.parametrize(
    ("value", "within"),
    [("29", True), ("31.5", True), ("30", True), ("28.999", False), ("31.501", False), ("32", False)],
)
def test_a_reading_on_a_limit_is_within(value, within):
    [judged] = judge(POINTS, [Reading(1, "S", "A", D(value))])
    assert judged.within is within
    assert judged.deviation == D(value) - D("30")


def test_a_garment_counts_once_whatever_its_points_off():
    readings = [
        Reading(1, "S", "A", D("33")),  # off
        Reading(1, "S", "B", D("38")),  # off, same garment
        Reading(2, "S", "A", D("30")),
        Reading(1, "M", "A", D("32")),  # garment 1 of M: another garment
        Reading(3, "M", "B", D("42.6")),  # off
    ]
    assert garments_out_of_tolerance(judge(POINTS, readings)) == [("S", 1), ("M", 3)]


def test_a_spec_pasted_from_a_spreadsheet_reads_with_tabs_or_commas():
    pasted = (
        "Point\tDescription\tTol -\tTol +\ts\tM\n\na\tChest width\t1\t1 1/2\t30\t32\nB\tBody length\t0.5\t1/2\t40\t42\n"
    )
    grid = parse_grid(pasted)
    assert grid.sizes == ["S", "M"]
    assert grid.points == [
        PointSpec("A", "Chest width", D("1"), D("1.5"), {"S": D("30"), "M": D("32")}),
        PointSpec("B", "Body length", D("0.5"), D("0.5"), {"S": D("40"), "M": D("42")}),
    ]
    assert parse_grid(pasted.replace("\t", ",")) == grid
    assert parse_grid(grid_text(grid.sizes, grid.points)) == grid


@pytest.mark.parametrize(
    ("pasted", "line", "problem"),
    [
        ("", 1, "Paste the header row and a row per point of measure."),
        (
            "Point,Description,Tol -,Tol +",
            1,
            "The header needs Point, Description, Tol -, Tol + and at least one size.",
        ),
        ("Point,Description,Tol -,Tol +,S,S\nA,x,1,1,3,3", 1, "A size is given twice."),
        ("Point,Description,Tol -,Tol +,S", 1, "No point of measure under the header."),
        ("Point,Description,Tol -,Tol +,S\nA,x,1,1", 2, "4 cells where the header has 5."),
        ("Point,Description,Tol -,Tol +,S\nA,x,1,1,30\nA,y,1,1,30", 3, "Point A is given twice."),
        ("Point,Description,Tol -,Tol +,S\nA,x,one,1,30", 2, "Tol -: one is not a number (30, 30.5, 30 1/4)."),
        ("Point,Description,Tol -,Tol +,S\nA,x,1,1,0", 2, "S: must be above 0 and at most 1000."),
        ("Point,Description,Tol -,Tol +,S\nA,x,101,1,30", 2, "Tol -: must be 0 to 100."),
        ("Point,Description,Tol -,Tol +,S M\nA,x,1,1,30", 1, "Size S M: letters, digits and - _ . / (at most 16)."),
    ],
)
def test_a_spec_that_cannot_be_read_names_its_line(pasted, line, problem):
    with pytest.raises(GridError) as refused:
        parse_grid(pasted)
    assert (refused.value.line, str(refused.value.problem)) == (line, problem)


# The spec through the API ------------------------------------------------------------------------------------------

SPEC = {
    "unit": "cm",
    "sizes": ["S", "M"],
    "points": [
        {
            "point": "A",
            "description": "Chest width",
            "tol_minus": 1,
            "tol_plus": "1 1/2",
            "targets": {"S": 30, "M": 32},
        },
        {"point": "B", "description": "Body length", "tol_minus": 0.5, "tol_plus": 0.5, "targets": {"S": 40, "M": 42}},
    ],
    "reason": "Tech pack rev 3",
}


def test_a_manager_sets_a_styles_spec_and_its_history_keeps_the_grid(app, plant, api):  # noqa: F811
    manager = api("quality_manager")
    assert manager.get("/api/v1/styles/RMP-A/measurement-spec").status_code == 404
    response = manager.put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC)
    assert response.status_code == 200, response.text
    assert response.json == {
        "style": "RMP-A",
        "unit": "cm",
        "sizes": ["S", "M"],
        "points": [
            {
                "point": "A",
                "description": "Chest width",
                "tol_minus": 1.0,
                "tol_plus": 1.5,
                "targets": {"S": 30.0, "M": 32.0},
            },
            {
                "point": "B",
                "description": "Body length",
                "tol_minus": 0.5,
                "tol_plus": 0.5,
                "targets": {"S": 40.0, "M": 42.0},
            },
        ],
    }
    assert manager.get("/api/v1/styles/rmp-a/measurement-spec").json == response.json
    changed = manager.put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC | {"unit": "in", "sizes": ["S", "M"]})
    assert changed.json["unit"] == "in"
    history = manager.get("/api/v1/styles/RMP-A/measurement-spec/history").json["items"]
    assert [(e["reason"], e["old"].split("\n")[0], e["new"].split("\n")[0]) for e in history] == [
        ("Tech pack rev 3", "cm", "in"),
        ("Tech pack rev 3", "", "cm"),
    ]  # newest first
    assert history[0]["new"].split("\n")[1:] == [
        "Point\tDescription\tTol -\tTol +\tS\tM",
        "A\tChest width\t1\t1.5\t30\t32",
        "B\tBody length\t0.5\t0.5\t40\t42",
    ]
    assert api("supervisor").put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC).status_code == 403


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"sizes": ["S", "S"]}, {"sizes"}),
        ({"sizes": ["S", "M", "L"]}, {"points[0].targets", "points[1].targets"}),
        ({"points": [SPEC["points"][0], SPEC["points"][0]]}, {"points[1].point"}),
        ({"points": [SPEC["points"][0] | {"tol_minus": "lots"}]}, {"points[0].tol_minus"}),
        ({"points": [SPEC["points"][0] | {"targets": {"S": 0, "M": 32}}]}, {"points[0].targets.S"}),
        # Sizes are compared upper-cased: "s" beside "S" would be one size, silently.
        ({"points": [SPEC["points"][0] | {"targets": {"S": 30, "s": 31, "M": 32}}]}, {"points[0].targets"}),
        # A key that is no size code is named by itself.
        ({"points": [SPEC["points"][0] | {"targets": {"S!": 30, "M": 32}}]}, {"points[0].targets.S!"}),
        ({"points": []}, {"points"}),
        ({"unit": "mm", "reason": ""}, {"unit", "reason"}),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field_and_nothing_changes(app, plant, api, changes, fields):  # noqa: F811
    manager = api("quality_manager")
    response = manager.put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC | changes)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert manager.get("/api/v1/styles/RMP-A/measurement-spec").status_code == 404


# Final inspections measuring garments ------------------------------------------------------------------------------


def measured(*garments: tuple[int, str, str, object]) -> list[dict]:
    return [{"garment": g, "size": size, "point": point, "value": value} for g, size, point, value in garments]


def test_garments_out_of_tolerance_count_as_mea_01_and_keep_what_they_were_judged_against(app, plant, api):  # noqa: F811
    api("quality_manager").put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC)
    client = api("supervisor")
    body = {
        "batch": "B-1",
        "lot_size": 1000,
        "defects": [{"code": "SEW-06", "count": 1}],
        "measurements": measured(
            (1, "S", "A", 33), (1, "S", "B", "38"), (2, "S", "A", "30 1/2"), (1, "m", "b", 42.5), (2, "M", "A", 30)
        ),
    }
    response = client.post("/api/v1/inspections", json=body)
    assert response.status_code == 201, response.text
    answer = response.json
    assert (answer["measure_unit"], answer["garments_out_of_tolerance"], answer["verdict"]) == ("cm", 2, "accepted")
    assert sorted((d["code"], d["count"]) for d in answer["defects"]) == [("MEA-01", 2), ("SEW-06", 1)]
    assert answer["major_found"] == 2
    assert [
        (m["garment"], m["size"], m["point"], m["value"], m["target"], m["within"]) for m in answer["measurements"]
    ] == [
        (1, "S", "A", 33.0, 30.0, False),
        (1, "S", "B", 38.0, 40.0, False),
        (2, "S", "A", 30.5, 30.0, True),
        (1, "M", "B", 42.5, 42.0, True),
        (2, "M", "A", 30.0, 32.0, False),
    ]
    # A later spec leaves the inspection as judged.
    api("quality_manager").put(
        "/api/v1/styles/RMP-A/measurement-spec",
        json=SPEC | {"points": [SPEC["points"][0] | {"targets": {"S": 33, "M": 30}}]},
    )
    again = client.get(f"/api/v1/inspections/{answer['id']}").json
    assert again["measurements"] == answer["measurements"]


def test_enough_garments_out_of_tolerance_reject_the_lot_as_a_measurement_defect(app, plant, api):  # noqa: F811
    api("quality_manager").put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC)
    client = api("supervisor")
    body = {"batch": "B-1", "lot_size": 1000, "measurements": measured(*[(g, "S", "A", 35) for g in range(1, 7)])}
    answer = client.post("/api/v1/inspections", json=body).json
    assert (answer["verdict"], answer["garments_out_of_tolerance"], answer["major_found"]) == ("rejected", 6, 6)
    nc = client.get(f"/api/v1/nonconformances/{answer['nc']}").json
    assert nc["defect_type"] == "measurement_out_of_tolerance"
    assert "MEA-01 Measurement out of tolerance: 6" in nc["description"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"measurements": measured((1, "S", "Z", 30))}, {"measurements[0].point"}),
        ({"measurements": measured((1, "XL", "A", 30))}, {"measurements[0].size"}),
        ({"measurements": measured((1, "S", "A", 30), (1, "S", "A", 31))}, {"measurements[1].point"}),
        ({"measurements": measured((81, "S", "A", 30))}, {"measurements[0].garment"}),
        # 13 units inspected in a lot of 50: 8 garments of each size are 16.
        (
            {
                "lot_size": 50,
                "measurements": measured(*[(g, size, "A", 30) for size in ("S", "M") for g in range(1, 9)]),
            },
            {"measurements"},
        ),
        ({"measurements": measured((1, "S", "A", "thirty"))}, {"measurements[0].value"}),
        (
            {"measurements": measured((1, "S", "A", 30)), "defects": [{"code": "MEA-01", "count": 1}]},
            {"defects[0].code"},
        ),
    ],
)
def test_bad_measurements_are_refused_naming_the_field_and_nothing_is_stored(app, plant, api, changes, fields):  # noqa: F811
    api("quality_manager").put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC)
    client = api("supervisor")
    response = client.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000} | changes)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) == fields
    assert client.get("/api/v1/inspections").json["items"] == []


def test_measuring_a_style_without_a_spec_is_refused(app, plant, api):  # noqa: F811
    client = api("supervisor")
    body = {"batch": "B-1", "lot_size": 1000, "measurements": measured((1, "S", "A", 30))}
    response = client.post("/api/v1/inspections", json=body)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "measurements": "Style RMP-A has no measurement spec: set it on the style's page first."
    }


# The pages --------------------------------------------------------------------------------------------------------

M = "\N{MINUS SIGN}"
GRID = "Point\tDescription\tTol -\tTol +\tS\tM\nA\tChest width\t1\t1 1/2\t30\t32\nB\tBody length\t1/2\t1/2\t40\t42"
SHEET = {"batch": "B-1", "lot_size": "1000", "level": "II", "severity": "normal", "aql_major": "2.5"}
SHEET |= {"aql_minor": "4.0", "defect_type": "", "note": ""}


def test_a_manager_pastes_a_spec_on_the_style_page(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    bad = client.post(
        "/styles/RMP-A/measurement-spec",
        data={"spec-unit": "cm", "spec-grid": GRID.replace("40", "forty"), "spec-reason": ""},
    )
    assert bad.status_code == 400
    assert errors_in(field_block(bad.text, "spec-grid")) == ["Line 3: S: forty is not a number (30, 30.5, 30 1/4)."]
    assert errors_in(field_block(bad.text, "spec-reason")) == ["This field is required."]
    assert "forty" in textarea_text(field_block(bad.text, "spec-grid"))
    saved = client.post(
        "/styles/RMP-A/measurement-spec", data={"spec-unit": "cm", "spec-grid": GRID, "spec-reason": "Tech pack rev 3"}
    )
    assert saved.status_code == 302
    page = client.get("/styles/RMP-A").text
    rows = [cells(row) for row in section(page, "measurements").css("table.spec tbody tr")]
    assert rows == [
        ["A", "Chest width", f"{M}1 / +1.5", "30", "32"],
        ["B", "Body length", f"{M}0.5 / +0.5", "40", "42"],
    ]
    # The form offers the spec as it stands, to edit.
    assert textarea_text(field_block(page, "spec-grid")) == GRID.replace("1 1/2", "1.5").replace("1/2", "0.5")
    [entry] = parsed(page).css("#spec-history tbody tr")
    assert cells(entry)[2] == "Measurement spec"
    auth.logout()
    auth.as_role("supervisor")
    assert section(client.get("/styles/RMP-A").text, "measurements").css("form") == []


def test_the_tally_sheet_measures_garments_against_the_spec(app, plant, client, auth, api):  # noqa: F811
    api("quality_manager").put("/api/v1/styles/RMP-A/measurement-spec", json=SPEC)
    auth.as_role("supervisor")
    sheet = client.get("/inspections/new?batch=B-1").text
    assert {table.attributes["data-size"] for table in parsed(sheet).css("table.measurement-grid")} == {"S", "M"}
    assert parsed(sheet).css_first('input[name="m-M-B-3"]') is not None
    assert parsed(sheet).css_first('input[name="m-M-B-4"]') is None

    typed = SHEET | {"m-S-A-1": "33", "m-S-B-1": "40", "m-M-A-2": "32 1/4", "m-S-A-2": "abc"}
    refused = client.post("/inspections/new", data=typed)
    assert refused.status_code == 400
    cell = parsed(refused.text).css_first('input[name="m-S-A-2"]').parent
    assert cell.css_first("p.error").text(strip=True) == "Must be a number such as 30, 30.5 or 30 1/4."
    assert parsed(refused.text).css_first('input[name="m-M-A-2"]').attributes["value"] == "32 1/4"

    more = client.post("/inspections/new", data=typed | {"more_garments": "1"})
    assert more.status_code == 200
    assert parsed(more.text).css_first('input[name="m-M-B-5"]') is not None
    assert parsed(more.text).css_first('input[name="m-S-A-1"]').attributes["value"] == "33"

    recorded = client.post("/inspections/new", data=typed | {"m-S-A-2": "30", "garments": "5", "m-M-A-5": "35"})
    assert recorded.status_code == 302, recorded.text
    page = client.get(recorded.headers["Location"]).text
    assert "2 garments out of tolerance, counted as MEA-01 defects." in page
    listed = [cells(row) for row in parsed(page).css("table.measurements tbody tr")]
    assert listed[0] == ["M", "2", "A", "32.25", "32", f"{M}1 / +1.5", "yes"]
    assert ["M", "5", "A", "35", "32", f"{M}1 / +1.5", "no"] in listed
    assert len(parsed(page).css("tr.out-of-tolerance")) == 2


def test_the_sheet_says_where_a_spec_is_set_when_the_style_has_none(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    client.post("/language", data={"language": "zh_Hans_CN"})
    sheet = client.get("/inspections/new?batch=B-1").text
    assert parsed(sheet).css_first("details.measurements summary").text(strip=True) == "尺寸"
    assert parsed(sheet).css("table.measurement-grid") == []
