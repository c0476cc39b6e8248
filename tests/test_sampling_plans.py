"""ISO 2859-1 sampling plans: Table 1's code letters at every lot-size boundary, the master tables' cells
(plans, arrows down and up, the tables' edges) as the standard prints them, and ``GET /api/v1/sampling-plan``.

The expected cells are read off ISO 2859-1:1999 (GB/T 2828.1-2012) Tables 1, 2-A, 2-B and 2-C; Tables 1, 2-A and
2-B are also those of MIL-STD-105E (Tables I, II-A, II-B). Where the standard has an arrow, the expectation is
the plan it leads to, with that plan's sample size.
"""

from decimal import Decimal

import pytest

from capa.common.errors import ValidationError
from capa.inspections import sampling
from capa.inspections.sampling import Level, Severity, code_letter, master_plan, sampling_plan
from tests.pages import cells, field_block, fields_with_errors, input_value, one, selected_value, table_rows

#: Table 1 as printed: (smallest lot, largest lot, letters for S-1 S-2 S-3 S-4 I II III).
TABLE_1 = [
    (2, 8, "AAAAAAB"),
    (9, 15, "AAAAABC"),
    (16, 25, "AABBBCD"),
    (26, 50, "ABBCCDE"),
    (51, 90, "BBCCCEF"),
    (91, 150, "BBCDDFG"),
    (151, 280, "BCDEEGH"),
    (281, 500, "BCDEFHJ"),
    (501, 1200, "CCEFGJK"),
    (1201, 3200, "CDEGHKL"),
    (3201, 10000, "CDFGJLM"),
    (10001, 35000, "CDFHKMN"),
    (35001, 150000, "DEGJLNP"),
    (150001, 500000, "DEGJMPQ"),
    (500001, 10**9, "DEHKNQR"),
]
LEVELS = [Level.S_1, Level.S_2, Level.S_3, Level.S_4, Level.I, Level.II, Level.III]


@pytest.mark.parametrize(("smallest", "largest", "letters"), TABLE_1, ids=[f"{row[0]}-{row[1]}" for row in TABLE_1])
def test_table_1_gives_each_level_its_letter_at_both_ends_of_each_row(smallest, largest, letters):
    for level, letter in zip(LEVELS, letters, strict=True):
        assert code_letter(smallest, level) == letter, (smallest, level)
        assert code_letter(largest, level) == letter, (largest, level)


def test_a_lot_of_fewer_than_two_units_has_no_letter():
    for lot in (1, 0, -5):
        with pytest.raises(ValidationError) as refused:
            code_letter(lot, Level.II)
        assert set(refused.value.fields) == {"lot_size"}


# (severity, code letter, AQL) -> (letter of the plan used, sample size, Ac, Re, arrow followed)
CELLS = {
    # Table 2-A, normal inspection.
    ("normal", "J", "2.5"): ("J", 80, 5, 6, None),
    ("normal", "K", "0.65"): ("K", 125, 2, 3, None),
    ("normal", "A", "6.5"): ("A", 2, 0, 1, None),
    ("normal", "A", "0.65"): ("F", 20, 0, 1, "down"),
    ("normal", "F", "1.0"): ("E", 13, 0, 1, "up"),
    ("normal", "F", "1.5"): ("G", 32, 1, 2, "down"),
    # Row A has nothing above it: its cell under AQL 10 points down.
    ("normal", "A", "10"): ("C", 5, 1, 2, "down"),
    ("normal", "A", "15"): ("B", 3, 1, 2, "down"),
    ("normal", "Q", "0.010"): ("Q", 1250, 0, 1, None),
    ("normal", "R", "0.010"): ("Q", 1250, 0, 1, "up"),
    # Row R has nothing below it: the arrow under 0.015 points up, through Q's, to P's plan.
    ("normal", "R", "0.015"): ("P", 800, 0, 1, "up"),
    ("normal", "Q", "0.025"): ("R", 2000, 1, 2, "down"),
    ("normal", "R", "0.65"): ("R", 2000, 21, 22, None),
    ("normal", "R", "1.0"): ("Q", 1250, 21, 22, "up"),
    ("normal", "F", "65"): ("F", 20, 21, 22, None),
    ("normal", "F", "100"): ("E", 13, 21, 22, "up"),
    ("normal", "E", "250"): ("E", 13, 44, 45, None),
    ("normal", "A", "1000"): ("A", 2, 30, 31, None),
    ("normal", "B", "1000"): ("B", 3, 44, 45, None),
    ("normal", "H", "1000"): ("B", 3, 44, 45, "up"),
    # Table 2-B, tightened inspection: 0/1, two arrows down, then 1/2; Ac 8, 12, 18 where normal has 7, 10, 14.
    ("tightened", "J", "2.5"): ("J", 80, 3, 4, None),
    ("tightened", "J", "6.5"): ("J", 80, 8, 9, None),
    ("tightened", "J", "0.25"): ("J", 80, 0, 1, None),
    ("tightened", "J", "0.40"): ("L", 200, 1, 2, "down"),
    ("tightened", "J", "0.65"): ("K", 125, 1, 2, "down"),
    ("tightened", "A", "10"): ("A", 2, 0, 1, None),
    ("tightened", "A", "15"): ("C", 5, 1, 2, "down"),
    ("tightened", "R", "0.010"): ("R", 2000, 0, 1, None),
    ("tightened", "R", "0.015"): ("Q", 1250, 0, 1, "up"),
    # Row S (3 150) exists only for this cell's column.
    ("tightened", "Q", "0.025"): ("S", 3150, 1, 2, "down"),
    ("tightened", "R", "0.025"): ("S", 3150, 1, 2, "down"),
    ("tightened", "A", "1000"): ("A", 2, 27, 28, None),
    ("tightened", "B", "1000"): ("B", 3, 41, 42, None),
    ("tightened", "F", "65"): ("F", 20, 18, 19, None),
    ("tightened", "F", "100"): ("E", 13, 18, 19, "up"),
    # Table 2-C, reduced inspection: smaller samples per letter, Re one above Ac (no gap since 1999).
    ("reduced", "J", "2.5"): ("J", 32, 3, 4, None),
    ("reduced", "K", "2.5"): ("K", 50, 5, 6, None),
    ("reduced", "K", "4.0"): ("K", 50, 6, 7, None),
    ("reduced", "K", "6.5"): ("K", 50, 8, 9, None),
    ("reduced", "K", "10"): ("K", 50, 10, 11, None),
    ("reduced", "K", "15"): ("J", 32, 10, 11, "up"),
    ("reduced", "K", "0.25"): ("M", 125, 1, 2, "down"),
    ("reduced", "A", "6.5"): ("A", 2, 0, 1, None),
    ("reduced", "C", "1.5"): ("D", 3, 0, 1, "down"),
    ("reduced", "C", "100"): ("C", 2, 6, 7, None),
    ("reduced", "C", "1000"): ("B", 2, 30, 31, "up"),
    ("reduced", "Q", "0.025"): ("N", 200, 0, 1, "up"),
    ("reduced", "R", "0.040"): ("R", 800, 1, 2, None),
}


@pytest.mark.parametrize("cell", list(CELLS), ids=lambda cell: "-".join(cell))
def test_master_table_cells_as_the_standard_prints_them(cell):
    severity, letter, aql = cell
    used, size, accept, reject, arrow = CELLS[cell]
    plan, followed = master_plan(letter, Decimal(aql), Severity(severity))
    assert (plan.letter, plan.sample_size, plan.accept, plan.reject, followed) == (used, size, accept, reject, arrow)


#: Ac on the diagonals of Tables 2-A and 2-B: a cell's diagonal is its row (A = 0 … R = 15) plus its column
#: (AQL 0.010 = 0 … 1000 = 25), and along a diagonal the plan is the same.
NORMAL_DIAGONALS = {14: 0, 17: 1, 18: 2, 19: 3, 20: 5, 21: 7, 22: 10, 23: 14, 24: 21, 25: 30, 26: 44}
TIGHTENED_DIAGONALS = {15: 0, 18: 1, 19: 2, 20: 3, 21: 5, 22: 8, 23: 12, 24: 18, 25: 27, 26: 41}


@pytest.mark.parametrize(
    ("severity", "diagonals"),
    [(Severity.NORMAL, NORMAL_DIAGONALS), (Severity.TIGHTENED, TIGHTENED_DIAGONALS)],
    ids=["2-A", "2-B"],
)
def test_every_plan_of_tables_2a_and_2b_lies_on_its_diagonal(severity, diagonals):
    rows = "ABCDEFGHJKLMNPQR"
    seen = 0
    for row, letter in enumerate(rows):
        for column, aql in enumerate(sampling.aql_values()):
            plan, arrow = master_plan(letter, aql, severity)
            if arrow is None:
                seen += 1
                assert plan.accept == diagonals[row + column], (letter, aql)
                assert plan.reject == plan.accept + 1
            else:
                # The plan an arrow leads to lies on the diagonal of its own row.
                own_row = "ABCDEFGHJKLMNPQRS".index(plan.letter)
                assert plan.accept == diagonals[own_row + column], (letter, aql, plan)
    assert seen > 130


@pytest.mark.parametrize("severity", list(Severity))
def test_every_cell_of_every_table_leads_to_a_plan(severity):
    sizes = set()
    for letter in "ABCDEFGHJKLMNPQR":
        for aql in sampling.aql_values():
            plan, _ = master_plan(letter, aql, severity)
            assert plan.reject == plan.accept + 1
            assert plan.sample_size >= 2
            sizes.add(plan.sample_size)
    reduced_sizes = {2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800}
    normal_sizes = {2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000}
    expected = {
        Severity.NORMAL: normal_sizes,
        Severity.TIGHTENED: normal_sizes | {3150},
        Severity.REDUCED: reduced_sizes,
    }[severity]
    assert sizes == expected


def test_a_lot_smaller_than_its_sample_is_inspected_whole():
    plan = sampling_plan(5, "0.65")
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == ("A", 20, 0, 1)
    assert plan.full_inspection and plan.units_to_inspect == 5
    big = sampling_plan(1000, "2.5")
    assert not big.full_inspection and big.units_to_inspect == 80


def test_the_lot_is_accepted_up_to_ac_and_not_from_re():
    plan = sampling_plan(1000, 2.5)
    assert [plan.accepts(found) for found in (0, 5, 6, 20)] == [True, True, False, False]


def test_levels_and_severities_change_the_plan():
    assert sampling_plan(3000, "1.0", level="I").code_letter == "H"
    assert sampling_plan(3000, "1.0", level="III").code_letter == "L"
    assert sampling_plan(3000, "1.0", level="S-4").code_letter == "G"
    plans = {severity: sampling_plan(1000, "2.5", severity=severity) for severity in Severity}
    assert [(plan.sample_size, plan.accept) for plan in plans.values()] == [(80, 5), (80, 3), (32, 3)]
    assert plans[Severity.REDUCED].table == "ISO 2859-1:1999 / GB/T 2828.1-2012 Table 2-C"


@pytest.mark.parametrize("written", ["2.5", "2.50", 2.5, " 2.5 ", Decimal("2.5")])
def test_an_aql_may_be_written_as_number_or_text(written):
    assert sampling_plan(1000, written).aql == Decimal("2.5")


def test_every_field_the_standard_has_no_plan_for_is_named():
    with pytest.raises(ValidationError) as refused:
        sampling_plan(1, "2.4", level="IV", severity="strict")
    assert set(refused.value.fields) == {"lot_size", "aql", "level", "severity"}
    for aql in ("nan", "inf", "-2.5", "", "2,5", None, True):
        with pytest.raises(ValidationError) as refused:
            sampling_plan(100, aql)
        assert set(refused.value.fields) == {"aql"}, aql


# The API ----------------------------------------------------------------------------------------------------------


def test_the_api_answers_the_plan_with_the_contracts_fields(api):
    client = api("supervisor")
    response = client.get("/api/v1/sampling-plan?lot_size=1000&level=II&aql=2.5&severity=normal")
    assert response.status_code == 200, response.text
    body = response.json
    assert {k: body[k] for k in ("code_letter", "sample_size", "accept", "reject", "level", "aql", "severity")} == {
        "code_letter": "J",
        "sample_size": 80,
        "accept": 5,
        "reject": 6,
        "level": "II",
        "aql": 2.5,
        "severity": "normal",
    }
    assert body["arrow"] is None and body["full_inspection"] is False and body["units_to_inspect"] == 80


def test_the_api_follows_arrows_and_defaults_to_level_ii_normal(api):
    client = api("quality_manager")
    body = client.get("/api/v1/sampling-plan?lot_size=5&aql=0.65").json
    assert (body["code_letter"], body["plan_code_letter"], body["sample_size"], body["accept"], body["reject"]) == (
        "A",
        "F",
        20,
        0,
        1,
    )
    assert body["arrow"] == "down" and body["full_inspection"] is True and body["units_to_inspect"] == 5
    assert (body["level"], body["severity"]) == ("II", "normal")
    tightened = client.get("/api/v1/sampling-plan?lot_size=600000&aql=0.025&level=II&severity=tightened").json
    assert (tightened["code_letter"], tightened["plan_code_letter"], tightened["sample_size"]) == ("Q", "S", 3150)
    assert (tightened["accept"], tightened["reject"]) == (1, 2)
    assert tightened["table"].endswith("Table 2-B")


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("lot_size=1&aql=2.5", {"lot_size"}),
        ("lot_size=0&aql=2.5", {"lot_size"}),
        ("lot_size=12.5&aql=2.5", {"lot_size"}),
        ("lot_size=100&aql=2.4", {"aql"}),
        ("lot_size=100&aql=abc", {"aql"}),
        ("lot_size=100&aql=2.5&level=IV", {"level"}),
        ("lot_size=100&aql=2.5&severity=strict", {"severity"}),
        ("aql=2.5", {"lot_size"}),
        ("lot_size=100", {"aql"}),
        ("lot_size=1&aql=3&level=ii&severity=Normal", {"lot_size", "aql", "level", "severity"}),
        ("lot_size=100&aql=2.5&aql=4.0", {"aql"}),
    ],
)
def test_the_api_refuses_what_has_no_plan_naming_the_field(api, query, fields):
    response = api("supervisor").get(f"/api/v1/sampling-plan?{query}")
    assert response.status_code == 400, response.text
    assert response.json["error"]["code"] == "invalid"
    assert set(response.json["error"]["fields"]) == fields


def test_the_api_asks_for_a_token(api):
    response = api(None).get("/api/v1/sampling-plan?lot_size=100&aql=2.5")
    assert response.status_code == 401


# The page ---------------------------------------------------------------------------------------------------------


def _rows(html) -> dict[str, list[str]]:
    return {cells(row)[0]: cells(row)[1:] for row in table_rows(html)}


def test_the_page_shows_each_class_its_plan(client, auth):
    auth.as_role("supervisor")
    response = client.get("/sampling-plan?lot_size=1000&level=II&severity=normal&major=2.5&minor=4.0")
    assert response.status_code == 200
    html = response.text
    assert one(html, "h2").text(strip=True) == "Lot of 1,000 units: code letter J"
    rows = _rows(html)
    assert rows["Major"][:4] == ["2.5", "80", "5", "6"]
    assert rows["Minor"][:4] == ["4.0", "80", "7", "8"]
    # Any critical defect rejects: Ac 0 in the largest sample inspected.
    assert rows["Critical"][:4] == ["0", "80", "0", "1"]


def test_the_page_says_where_an_arrow_led_and_when_the_lot_is_inspected_whole(client, auth):
    auth.as_role("quality_manager")
    html = client.get("/sampling-plan?lot_size=5&level=II&severity=tightened&major=0.65&minor=4.0").text
    rows = _rows(html)
    assert rows["Major"][1] == "32 all 5 units"
    assert rows["Major"][4] == "Arrow down from letter A: the plan of letter G."
    assert "every unit of the lot is inspected" in html


def test_the_page_speaks_chinese(client, auth):
    auth.as_role("supervisor")
    client.post("/language", data={"language": "zh_Hans_CN"})
    html = client.get("/sampling-plan?lot_size=1000&level=II&severity=reduced&major=2.5&minor=4.0").text
    assert one(html, "h1").text(strip=True) == "抽样方案"
    assert "放宽检验" in html
    assert _rows(html)["严重"][:4] == ["2.5", "32", "3", "4"]


def test_the_page_keeps_what_was_typed_and_marks_each_bad_field(client, auth):
    auth.as_role("supervisor")
    response = client.get("/sampling-plan?lot_size=1&level=IV&severity=normal&major=2.4&minor=4.0")
    assert response.status_code == 400
    html = response.text
    assert fields_with_errors(html) == {"lot_size", "level", "major"}
    assert input_value(field_block(html, "lot_size")) == "1"
    assert selected_value(field_block(html, "minor")) == "4.0"
    assert not table_rows(html)


def test_the_page_starts_at_level_ii_normal_with_the_usual_aqls(client, auth):
    auth.as_role("supervisor")
    html = client.get("/sampling-plan").text
    assert (selected_value(field_block(html, "level")), selected_value(field_block(html, "severity"))) == (
        "II",
        "normal",
    )
    assert (selected_value(field_block(html, "major")), selected_value(field_block(html, "minor"))) == ("2.5", "4.0")
    assert not table_rows(html)
