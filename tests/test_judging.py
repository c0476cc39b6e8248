"""Judging a lab result against a limit: exact, per comparator, with every malformed value refused.

Plain Python, no app and no database: the rule lives in capa/safety/judging.py.
"""

import csv
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capa.safety.catalog import CATALOG_PATH
from capa.safety.judging import (
    InvalidLimit,
    Outcome,
    UnreadableValue,
    describe_limit,
    judge,
    parse_grade,
    parse_limit,
)

PASS, FAIL = Outcome.PASS, Outcome.FAIL
GRADES = ["1", "1-2", "2", "2-3", "3", "3-4", "4", "4-5", "5"]


def verdict(comparator, limit, unit, value, category="A"):
    return judge(comparator, limit, unit, value, category=category).outcome


with CATALOG_PATH.open(encoding="utf-8") as handle:
    CATALOG = list(csv.DictReader(handle))


def catalog_rows(*comparators):
    return [
        pytest.param(row, id=f"{row['code']}-{row['category']}") for row in CATALOG if row["comparator"] in comparators
    ]


# Every catalog limit, at, just inside and just outside ----


@pytest.mark.parametrize("row", catalog_rows("max"))
def test_every_max_limit_passes_at_and_below_and_fails_just_above(row):
    limit = Decimal(row["limit"])
    step = Decimal("0.01")
    judged = lambda value: verdict("max", row["limit"], row["unit"], str(value), row["category"])  # noqa: E731
    assert judged(limit) == PASS
    assert judged(limit - step) == PASS
    assert judged(limit + step) == FAIL


@pytest.mark.parametrize("row", catalog_rows("lt"))
def test_every_lt_limit_fails_at_the_limit_and_passes_just_below(row):
    limit = Decimal(row["limit"])
    judged = lambda value: verdict("lt", row["limit"], row["unit"], str(value), row["category"])  # noqa: E731
    assert judged(limit) == FAIL
    assert judged(limit - Decimal("0.001")) == PASS
    assert judged(limit + Decimal("0.001")) == FAIL


@pytest.mark.parametrize("row", catalog_rows("min"))
def test_every_min_limit_passes_at_and_above_and_fails_just_below(row):
    limit = Decimal(row["limit"])
    judged = lambda value: verdict("min", row["limit"], row["unit"], str(value), row["category"])  # noqa: E731
    assert judged(limit) == PASS
    assert judged(limit + Decimal("0.1")) == PASS
    assert judged(limit - Decimal("0.1")) == FAIL


@pytest.mark.parametrize("row", catalog_rows("range"))
def test_every_range_includes_both_ends_and_nothing_beyond(row):
    low, high = (Decimal(end) for end in row["limit"].split(".."))
    judged = lambda value: verdict("range", row["limit"], row["unit"], str(value), row["category"])  # noqa: E731
    assert judged(low) == PASS
    assert judged(high) == PASS
    assert judged((low + high) / 2) == PASS
    assert judged(low - Decimal("0.1")) == FAIL
    assert judged(high + Decimal("0.1")) == FAIL


@pytest.mark.parametrize("row", catalog_rows("grade_min"))
def test_every_grade_limit_passes_at_and_above_and_fails_half_a_grade_below(row):
    index = GRADES.index(row["limit"])
    judged = lambda value: verdict("grade_min", row["limit"], "grade", value, row["category"])  # noqa: E731
    assert judged(GRADES[index]) == PASS
    for better in GRADES[index + 1 :]:
        assert judged(better) == PASS
    for worse in GRADES[:index]:
        assert judged(worse) == FAIL


@pytest.mark.parametrize("row", catalog_rows("absent"))
def test_every_absent_requirement_passes_none_and_fails_found(row):
    assert verdict("absent", row["limit"], row["unit"], "none", row["category"]) == PASS
    assert verdict("absent", row["limit"], row["unit"], "found", row["category"]) == FAIL


@pytest.mark.parametrize("row", catalog_rows("pass_fail"))
def test_every_pass_fail_requirement_follows_the_lab_verdict(row):
    assert verdict("pass_fail", row["limit"], row["unit"], "pass", row["category"]) == PASS
    assert verdict("pass_fail", row["limit"], row["unit"], "fail", row["category"]) == FAIL


# The worked examples of the product ----


def test_formaldehyde_35_fails_category_a_and_passes_b():
    result = judge("max", "20", "mg/kg", 35, category="A")
    assert result.outcome == FAIL
    assert result.explanation == "35 mg/kg exceeds the category A limit of 20 mg/kg"
    assert judge("max", "75", "mg/kg", 35, category="B").outcome == PASS


def test_numbers_are_decimals_not_floats():
    assert verdict("max", "20", "mg/kg", 20) == PASS
    assert verdict("max", "20", "mg/kg", 20.0) == PASS
    assert verdict("max", "20", "mg/kg", "20.00") == PASS
    assert verdict("max", "20", "mg/kg", 20.01) == FAIL
    assert verdict("max", "20", "mg/kg", "20.000001") == FAIL
    # 0.1 + 0.2 is 0.30000000000000004 as a float; as given by a lab it is exactly 0.3.
    assert verdict("max", "0.3", "% (w/w)", "0.3") == PASS
    assert verdict("max", "0.1", "% (w/w)", 0.1) == PASS


def test_reach_entry_51_fails_exactly_at_the_limit():
    result = judge("lt", "0.1", "% (w/w)", "0.10", category="all")
    assert result.outcome == FAIL
    assert result.explanation == "0.10 % (w/w) is not below the limit of 0.1 % (w/w)"


def test_saliva_3_4_fails_a_limit_of_4():
    result = judge("grade_min", "4", "grade", "3-4", category="A")
    assert result.outcome == FAIL
    assert result.explanation == "grade 3-4 is below the category A minimum of grade 4"


def test_ph_range_explanation_names_the_range():
    result = judge("range", "4.0..7.5", "pH", "8.0", category="A")
    assert result.outcome == FAIL
    assert result.explanation == "pH 8.0 is outside the category A range pH 4.0–7.5"


def test_attachment_strength_below_the_minimum_fails():
    result = judge("min", "70", "N", "65", category="A")
    assert result.outcome == FAIL
    assert result.explanation == "65 N is below the category A minimum of 70 N"


# Grades ----


@pytest.mark.parametrize(
    ("written", "half_steps"),
    [
        ("1", 2),
        ("1-2", 3),
        ("2", 4),
        ("2-3", 5),
        ("3", 6),
        ("3-4", 7),
        ("4", 8),
        ("4-5", 9),
        ("5", 10),
        ("3/4", 7),
        ("3–4", 7),
        ("3 - 4", 7),
        ("3.5", 7),
        ("Grade 4", 8),
        (4, 8),
        ("4.0", 8),
        (3.5, 7),
    ],
)
def test_grades_are_read_in_all_their_written_forms(written, half_steps):
    assert parse_grade(written) == half_steps


def test_the_lowest_of_several_grades_decides():
    assert verdict("grade_min", "4", "grade", "4-5, 3-4") == FAIL
    assert verdict("grade_min", "4", "grade", ["4-5", "4"]) == PASS
    assert judge("grade_min", "4", "grade", "5; 4; 4-5", category="A").value == "4"


@given(st.sampled_from(GRADES), st.sampled_from(GRADES))
def test_a_grade_passes_exactly_when_it_is_at_least_the_limit(value, limit):
    expected = PASS if GRADES.index(value) >= GRADES.index(limit) else FAIL
    assert verdict("grade_min", limit, "grade", value) == expected


# Properties: the verdict flips exactly at the limit ----

limits = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2)
offsets = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)


@given(limits, offsets)
def test_max_flips_exactly_at_the_limit(limit, offset):
    assert verdict("max", str(limit), "mg/kg", str(limit)) == PASS
    assert verdict("max", str(limit), "mg/kg", str(limit + offset)) == FAIL
    below = limit - offset
    if below >= 0:
        assert verdict("max", str(limit), "mg/kg", str(below)) == PASS


@given(limits, offsets)
def test_lt_flips_just_below_the_limit(limit, offset):
    assert verdict("lt", str(limit), "mg/kg", str(limit)) == FAIL
    below = limit - offset
    if below >= 0:
        assert verdict("lt", str(limit), "mg/kg", str(below)) == PASS


@given(limits, offsets)
def test_min_flips_exactly_at_the_limit(limit, offset):
    assert verdict("min", str(limit), "N", str(limit)) == PASS
    assert verdict("min", str(limit), "N", str(limit + offset)) == PASS
    below = limit - offset
    if below >= 0:
        assert verdict("min", str(limit), "N", str(below)) == FAIL


@given(
    st.decimals(min_value=0, max_value=7, places=1),
    st.decimals(min_value=0, max_value=7, places=1),
    st.decimals(min_value=0, max_value=14, places=2),
)
def test_range_passes_exactly_between_its_ends(a, b, value):
    low, high = min(a, b), max(a, b)
    expected = PASS if low <= value <= high else FAIL
    assert verdict("range", f"{low}..{high}", "pH", str(value)) == expected


@given(limits, st.decimals(min_value=0, max_value=Decimal(2000), places=3))
def test_max_agrees_with_decimal_comparison_for_any_value(limit, value):
    assert verdict("max", str(limit), "mg/kg", str(value)) == (PASS if value <= limit else FAIL)


# Near-limit warnings ----


def test_a_pass_within_ten_percent_of_a_max_or_min_limit_is_near_the_limit():
    assert judge("max", "20", "mg/kg", "18", category="A").near_limit is True
    assert judge("max", "20", "mg/kg", "17.9", category="A").near_limit is False
    assert judge("max", "20", "mg/kg", "21", category="A").near_limit is False
    assert judge("min", "70", "N", "77", category="A").near_limit is True
    assert judge("min", "70", "N", "77.1", category="A").near_limit is False


# Words ----


@pytest.mark.parametrize("word", ["none", "None", "NOT DETECTED", "not  detected", "n.d.", "ND", "absent", "not found"])
def test_absent_accepts_the_ways_labs_write_nothing_found(word):
    assert verdict("absent", "none", "-", word) == PASS


@pytest.mark.parametrize("word", ["found", "Detected", "present", "yes"])
def test_absent_fails_anything_recorded_as_found(word):
    assert verdict("absent", "none", "-", word) == FAIL


@pytest.mark.parametrize(("word", "expected"), [("pass", PASS), ("PASS", PASS), ("passed", PASS), ("Fail", FAIL)])
def test_pass_fail_takes_the_lab_verdict(word, expected):
    assert verdict("pass_fail", "marked", "-", word) == expected


# Refusals ----


@pytest.mark.parametrize(
    ("comparator", "limit", "unit", "value"),
    [
        ("max", "20", "mg/kg", "3-4"),
        ("max", "20", "mg/kg", "abc"),
        ("max", "20", "mg/kg", ""),
        ("max", "20", "mg/kg", None),
        ("max", "20", "mg/kg", True),
        ("max", "20", "mg/kg", -1),
        ("max", "20", "mg/kg", "-0.5"),
        ("max", "20", "mg/kg", "NaN"),
        ("max", "20", "mg/kg", float("nan")),
        ("max", "20", "mg/kg", float("inf")),
        ("max", "20", "mg/kg", "1e3"),
        ("max", "20", "mg/kg", "20 mg/kg"),
        ("max", "20", "mg/kg", "20,5"),
        ("max", "20", "mg/kg", {"value": 20}),
        ("max", "0.1", "% (w/w)", "101"),
        ("range", "4.0..7.5", "pH", 15),
        ("range", "4.0..7.5", "pH", "-1"),
        ("range", "4.0..7.5", "pH", "neutral"),
        ("grade_min", "4", "grade", "6"),
        ("grade_min", "4", "grade", "0"),
        ("grade_min", "4", "grade", "2-4"),
        ("grade_min", "4", "grade", "4-3"),
        ("grade_min", "4", "grade", "4.2"),
        ("grade_min", "4", "grade", "good"),
        ("grade_min", "4", "grade", []),
        ("grade_min", "4", "grade", True),
        ("absent", "none", "-", "maybe"),
        ("absent", "none", "-", 0),
        ("pass_fail", "marked", "-", "ok"),
        ("pass_fail", "marked", "-", True),
    ],
)
def test_unreadable_values_are_refused(comparator, limit, unit, value):
    with pytest.raises(UnreadableValue):
        judge(comparator, limit, unit, value, category="A")


@pytest.mark.parametrize(
    ("comparator", "limit"),
    [
        ("max", "abc"),
        ("max", "-1"),
        ("max", ""),
        ("range", "7.5..4.0"),
        ("range", "4.0-7.5"),
        ("grade_min", "6"),
        ("absent", "  "),
    ],
)
def test_malformed_limits_are_refused(comparator, limit):
    with pytest.raises(InvalidLimit):
        parse_limit(comparator, limit)


def test_limits_read_as_people_write_them():
    assert describe_limit("max", "20", "mg/kg") == "≤ 20 mg/kg"
    assert describe_limit("lt", "0.1", "% (w/w)") == "< 0.1 % (w/w)"
    assert describe_limit("min", "70", "N") == "≥ 70 N"
    assert describe_limit("range", "4.0..7.5", "pH") == "pH 4.0–7.5"
    assert describe_limit("grade_min", "3-4", "grade") == "≥ 3-4"
    assert describe_limit("absent", "none", "-") == "none"
