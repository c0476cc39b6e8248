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
    Judgement,
    Outcome,
    Undecidable,
    UnreadableReportingLimit,
    UnreadableValue,
    describe_limit,
    is_not_applicable,
    judge,
    parse_decimal,
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
        ("max", "20", "mg/kg", "20 ppm"),
        ("max", "20", "mg/kg", "1,000"),
        ("max", "20", "mg/kg", "20,5,0"),
        ("max", "20", "mg/kg", "20.5,0"),
        ("max", "20", "mg/kg", "20 5"),
        ("max", "20", "mg/kg", "N/A"),
        ("max", "20", "mg/kg", "<"),
        ("max", "20", "mg/kg", "ND (<)"),
        ("max", "20", "mg/kg", "ND (<20) mg/kg"),
        ("max", "20", "mg/kg", "<-5"),
        ("max", "20", "mg/kg", "1e400"),
        ("max", "20", "mg/kg", Decimal("1E+999999999")),
        ("min", "70", "N", "DNI"),
        ("max", "3.5", "s", "DNI"),
        ("range", "4.0..7.5", "pH", "7.2 mg/kg"),
        ("grade_min", "4", "grade", "4/3-4"),
        ("grade_min", "4", "grade", "4/5/3"),
        ("grade_min", "4", "grade", "4/3"),
        ("grade_min", "4", "grade", "ND"),
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


# How labs write results ----
# Full-width forms are written as escapes (ruff flags them as confusable): \uff1c and \uff1e are the less-than and
# greater-than signs, \uff0c the comma, \uff08 and \uff09 the brackets, \uff5e the tilde.


@pytest.mark.parametrize(
    "written",
    [
        "ND (<20)",
        "ND(<20)",
        "nd (< 20)",
        "ND (< 20 mg/kg)",
        "N.D. (<20)",
        "n.d.(<20)",
        "N.D (<20)",
        "not detected (<20 mg/kg)",
        "Not Detected (<20)",
        "未检出(<20)",
        "未检出\uff08\uff1c20\uff09",
        "  ND  ( <20 )  ",
    ],
)
def test_not_detected_with_its_reporting_limit_is_read_in_every_notation(written):
    result = judge("max", "20", "mg/kg", written, category="A")
    assert result == Judgement(
        PASS,
        "ND (<20)",
        "not detected (reporting limit 20 mg/kg) is within the category A limit of 20 mg/kg",
        near_limit=True,
        reporting_limit=Decimal(20),
    )


@pytest.mark.parametrize("written", ["ND", "N.D.", "n.d.", "N.D", "nd", "not detected", "NOT  DETECTED", "未检出"])
def test_not_detected_takes_the_reporting_limit_given_beside_it(written):
    result = judge("max", "20", "mg/kg", written, category="A", reporting_limit="10 mg/kg")
    assert (result.outcome, result.value, result.reporting_limit) == (PASS, "ND (<10)", Decimal(10))
    assert result.explanation == "not detected (reporting limit 10 mg/kg) is within the category A limit of 20 mg/kg"
    assert result.near_limit is False


@pytest.mark.parametrize("written", ["<20", "< 20", "<20 mg/kg", "< 20 MG/KG", "\uff1c20", "  <20  "])
def test_below_the_reporting_limit_is_read_in_every_notation(written):
    result = judge("max", "20", "mg/kg", written, category="all")
    assert (result.outcome, result.value, result.reporting_limit) == (PASS, "<20", Decimal(20))
    assert result.explanation == "less than 20 mg/kg is within the limit of 20 mg/kg"


@pytest.mark.parametrize(
    ("written", "canonical"), [(">90", ">90"), ("> 90 N", ">90"), (">90n", ">90"), ("\uff1e90", ">90")]
)
def test_above_is_read_in_every_notation(written, canonical):
    result = judge("min", "70", "N", written, category="A")
    assert (result.outcome, result.value, result.reporting_limit) == (PASS, canonical, None)
    assert result.explanation == "more than 90 N meets the category A minimum of 70 N"


# The reporting limit decides a "not detected" or "<X" result ----


#: A "not detected" or "<X" result with the reporting limit ``rl`` written in every way it may reach the judge:
#: (the value, the keyword arguments), each from ``rl`` as text.
REPORTING_LIMIT_FORMS = {
    "in the value": lambda rl: (f"ND (<{rl})", {}),
    "below": lambda rl: (f"<{rl}", {}),
    "given as text": lambda rl: ("ND", {"reporting_limit": rl}),
    "given with its unit": lambda rl: ("ND", {"reporting_limit": f"{rl} mg/kg"}),
    "given as <X": lambda rl: ("ND", {"reporting_limit": f"<{rl}"}),
    "given as a decimal": lambda rl: ("ND", {"reporting_limit": Decimal(rl)}),
    "catalog default": lambda rl: ("ND", {"default_reporting_limit": Decimal(rl)}),
    "catalog default as text": lambda rl: ("ND", {"default_reporting_limit": rl}),
    "value over default": lambda rl: (f"ND (<{rl})", {"default_reporting_limit": Decimal(5)}),
    "value and the same given": lambda rl: (f"ND (<{rl})", {"reporting_limit": rl}),
    "below and the same given": lambda rl: (f"<{rl}", {"reporting_limit": f"{Decimal(rl):.3f}"}),
}


@pytest.mark.parametrize("comparator", ["max", "lt"])
@pytest.mark.parametrize("form", list(REPORTING_LIMIT_FORMS))
@pytest.mark.parametrize(
    ("rl", "passes"), [("10", True), ("19.99", True), ("20", True), ("20.01", False), ("50", False)]
)
def test_not_detected_passes_only_when_the_reporting_limit_is_at_or_below_the_limit(comparator, form, rl, passes):
    value, arguments = REPORTING_LIMIT_FORMS[form](rl)
    if passes:
        result = judge(comparator, "20", "mg/kg", value, category="A", **arguments)
        assert result.outcome == PASS
        assert result.reporting_limit == Decimal(rl)
    else:
        with pytest.raises(Undecidable) as refused:
            judge(comparator, "20", "mg/kg", value, category="A", **arguments)
        assert str(refused.value) == (
            f"The lab's reporting limit {rl} mg/kg is above the limit 20 mg/kg: ask for a lower reporting limit."
        )


def test_the_reporting_limit_comes_from_the_value_then_the_result_then_the_catalog():
    judged = lambda value, **kw: judge("max", "20", "mg/kg", value, category="A", **kw).reporting_limit  # noqa: E731
    assert judged("ND (<5)", default_reporting_limit=Decimal(10)) == Decimal(5)
    assert judged("ND", reporting_limit=7, default_reporting_limit=Decimal(10)) == Decimal(7)
    assert judged("ND", reporting_limit="", default_reporting_limit=Decimal(10)) == Decimal(10)
    assert judged("ND", default_reporting_limit=Decimal(10)) == Decimal(10)
    assert judged("35") is None


def test_a_reporting_limit_in_the_value_that_contradicts_the_one_given_is_refused_naming_both():
    with pytest.raises(UnreadableReportingLimit) as refused:
        judge("max", "20", "mg/kg", "ND (<10)", category="A", reporting_limit="20 mg/kg")
    assert str(refused.value) == (
        "The value gives the reporting limit 10 mg/kg but the reporting limit given is 20 mg/kg: correct one of them."
    )
    with pytest.raises(UnreadableReportingLimit):
        judge("max", "20", "mg/kg", "<10", category="A", reporting_limit=Decimal(5))


@pytest.mark.parametrize("given", ["abc", "20 ppm", "-1", "0", True, "1,000"])
def test_an_unreadable_reporting_limit_is_refused_as_such(given):
    with pytest.raises(UnreadableReportingLimit):
        judge("max", "20", "mg/kg", "ND", category="A", reporting_limit=given)


def test_a_malformed_default_reporting_limit_is_a_catalog_error():
    with pytest.raises(InvalidLimit):
        judge("max", "20", "mg/kg", "ND", category="A", default_reporting_limit="abc")


@pytest.mark.parametrize("comparator", ["max", "lt"])
def test_not_detected_without_any_reporting_limit_cannot_be_judged(comparator):
    with pytest.raises(Undecidable) as refused:
        judge(comparator, "20", "mg/kg", "ND", category="A")
    assert str(refused.value) == (
        "Not detected without a reporting limit cannot be judged against the limit 20 mg/kg: give the lab's "
        "reporting limit, such as ND (<20)."
    )


def test_undecidable_is_an_unreadable_value_so_nothing_is_recorded():
    assert issubclass(Undecidable, UnreadableValue)
    assert issubclass(UnreadableReportingLimit, UnreadableValue)


def test_below_and_above_against_a_minimum():
    below = judge("min", "70", "N", "<50", category="A")
    assert (below.outcome, below.value, below.explanation) == (
        FAIL,
        "<50",
        "less than 50 N is below the category A minimum of 70 N",
    )
    assert verdict("min", "70", "N", "<70") == FAIL
    with pytest.raises(Undecidable):
        judge("min", "70", "N", "<90", category="A")
    assert verdict("min", "70", "N", ">70") == PASS
    with pytest.raises(Undecidable):
        judge("min", "70", "N", ">60", category="A")
    with pytest.raises(UnreadableValue):
        judge("min", "70", "N", "ND (<5)", category="A")


@pytest.mark.parametrize("comparator", ["max", "lt"])
def test_above_fails_a_maximum_at_or_over_the_limit_and_cannot_decide_under_it(comparator):
    result = judge(comparator, "20", "mg/kg", ">20", category="A")
    assert (result.outcome, result.value) == (FAIL, ">20")
    assert result.explanation == "more than 20 mg/kg exceeds the category A limit of 20 mg/kg"
    assert verdict(comparator, "20", "mg/kg", "> 35 mg/kg") == FAIL
    with pytest.raises(Undecidable):
        judge(comparator, "20", "mg/kg", ">19.9", category="A")


@pytest.mark.parametrize("value", ["ND", "ND (<5)", "<5", ">5", "not detected"])
def test_a_range_needs_the_measured_number(value):
    with pytest.raises(UnreadableValue) as refused:
        judge("range", "4.0..7.5", "pH", value, category="A", reporting_limit="5")
    assert str(refused.value) == f"{value} cannot be judged against a range: give the number the lab measured."


def test_a_below_or_not_detected_pass_is_near_the_limit_when_its_reporting_limit_is():
    assert judge("max", "20", "mg/kg", "ND (<18)", category="A").near_limit is True
    assert judge("max", "20", "mg/kg", "ND (<17.9)", category="A").near_limit is False
    assert judge("max", "20", "mg/kg", "<20", category="A").near_limit is True
    assert judge("lt", "0.1", "% (w/w)", "<0.05", category="all").near_limit is False
    assert judge("min", "70", "N", ">77", category="A").near_limit is True
    assert judge("min", "70", "N", ">77.1", category="A").near_limit is False


# Decimal commas, units ----


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("20,5", "20.5"),
        ("20\uff0c5", "20.5"),
        ("0,10", "0.10"),
        ("1,0000", "1.0000"),
        ("0,100", "0.100"),
        ("12,25 mg/kg", "12.25"),
    ],
)
def test_a_decimal_comma_reads_as_a_point(written, canonical):
    assert judge("max", "20", "mg/kg", written, category="A").value == canonical


@pytest.mark.parametrize("written", ["1,000", "20,000", "+2,500", "1,000 mg/kg"])
def test_a_comma_before_three_digits_is_ambiguous_and_refused(written):
    with pytest.raises(UnreadableValue) as refused:
        judge("max", "20", "mg/kg", written, category="A")
    assert "ambiguous" in str(refused.value)
    assert "without the comma" in str(refused.value)


def test_the_ambiguous_comma_says_both_ways_to_write_it():
    with pytest.raises(UnreadableValue) as refused:
        judge("max", "20", "mg/kg", "1,000", category="A")
    assert str(refused.value) == (
        "1,000 is ambiguous: the comma may separate thousands or decimals. Write it without the comma (1000) or "
        "with a decimal point (1.000)."
    )


def test_commas_still_separate_grades():
    assert judge("grade_min", "4", "grade", "4,3-4", category="A").value == "3-4"


@pytest.mark.parametrize(
    ("comparator", "limit", "unit", "written", "canonical"),
    [
        ("max", "20", "mg/kg", "20 mg/kg", "20"),
        ("max", "20", "mg/kg", "20mg/kg", "20"),
        ("max", "20", "mg/kg", "20 MG/KG", "20"),
        ("max", "20", "mg/kg per amine", "20 mg/kg", "20"),
        ("min", "70", "N", "70 N", "70"),
        ("lt", "0.1", "% (w/w)", "0.05 %", "0.05"),
        ("lt", "0.1", "% (w/w)", "0.05 % w/w", "0.05"),
        ("lt", "0.1", "% (w/w)", "0.05 %(w/w)", "0.05"),
        ("lt", "0.1", "% (w/w)", "0.05 % (w/w)", "0.05"),
        ("max", "0.5", "ug/cm2/week", "0.2 ug/cm2/week", "0.2"),
        ("max", "0.5", "ug/cm2/week", "0.2 \u00b5g/cm\u00b2/week", "0.2"),
        ("max", "0.5", "ug/cm2/week", "0.2 \u03bcg/cm2/week", "0.2"),
        ("max", "100", "ppm", "90 ppm", "90"),
        ("min", "3.5", "s", "4.2 s", "4.2"),
        ("max", "3", "mm", "2 mm", "2"),
        ("range", "4.0..7.5", "pH", "pH 7.2", "7.2"),
        ("range", "4.0..7.5", "pH", "PH7.2", "7.2"),
        ("range", "4.0..7.5", "pH", "7.2 pH", "7.2"),
        ("range", "4.0..7.5", "pH", "7.2", "7.2"),
        ("range", "4.0..7.5", "pH", "7,2", "7.2"),
    ],
)
def test_a_value_may_carry_the_parameters_own_unit(comparator, limit, unit, written, canonical):
    result = judge(comparator, limit, unit, written, category="A")
    assert result.outcome == PASS
    assert result.value == canonical


@pytest.mark.parametrize(
    ("limit", "unit", "written", "message"),
    [
        ("20", "mg/kg", "20 ppm", "20 ppm is in ppm; this parameter is measured in mg/kg."),
        ("20", "mg/kg", "ND (<20 ppm)", "ND (<20 ppm) is in ppm; this parameter is measured in mg/kg."),
        ("20", "mg/kg", "<20 ppm", "<20 ppm is in ppm; this parameter is measured in mg/kg."),
        ("100", "ppm", "20 mg/kg", "20 mg/kg is in mg/kg; this parameter is measured in ppm."),
        ("3", "mm", "2 cm", "2 cm is in cm; this parameter is measured in mm."),
        ("70", "N", "7 kg", "7 kg is in kg; this parameter is measured in N."),
        ("0.1", "% (w/w)", "0.05 mg/kg", "0.05 mg/kg is in mg/kg; this parameter is measured in % (w/w)."),
    ],
)
def test_a_value_in_another_unit_is_refused_naming_the_unit_expected(limit, unit, written, message):
    with pytest.raises(UnreadableValue) as refused:
        judge("max", limit, unit, written, category="A")
    assert str(refused.value) == message


def test_a_non_numeric_value_says_what_the_parameter_is_measured_in():
    with pytest.raises(UnreadableValue) as refused:
        judge("max", "20", "mg/kg", "abc", category="A")
    assert str(refused.value) == "abc is not a number. This parameter is measured as a number in mg/kg."


# Grades, verdicts and words as labs write them ----


@pytest.mark.parametrize(
    ("written", "grade"),
    [
        ("4", "4"),
        ("4级", "4"),
        ("4 级", "4"),
        ("3-4", "3-4"),
        ("3-4级", "3-4"),
        ("3/4", "3-4"),
        ("4/5", "4-5"),
        ("3–4", "3-4"),
        ("3\uff5e4", "3-4"),
        ("3.5", "3-4"),
        ("grade 4", "4"),
        ("GRADE 3-4", "3-4"),
        ("4, 3-4", "3-4"),
        ("4；3-4", "3-4"),
        ("4 ; 4-5", "4"),
        ("变色4级 沾色3-4级", "3-4"),
        ("变色 4 级，沾色 4-5 级", "4"),
        ("change 4 staining 3-4", "3-4"),
        ("colour change: 4, staining: 3-4", "3-4"),
        ("Color change: 4-5; Staining: 4", "4"),
        (["4", "3-4"], "3-4"),
        (["4级", "4-5级"], "4"),
        ([Decimal("4.5"), 4], "4"),
        (Decimal("3.5"), "3-4"),
    ],
)
def test_grades_are_read_as_labs_write_them(written, grade):
    assert judge("grade_min", "4", "grade", written, category="A").value == grade


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("pass", PASS),
        ("passed", PASS),
        ("P", PASS),
        ("合格", PASS),
        ("符合", PASS),
        ("fail", FAIL),
        ("FAILED", FAIL),
        ("f", FAIL),
        ("不合格", FAIL),
        ("不符合", FAIL),
        (" 合格 ", PASS),
    ],
)
def test_pass_fail_reads_the_verdict_in_english_and_chinese(word, expected):
    result = judge("pass_fail", "marked", "-", word, category="all")
    assert (result.outcome, result.value) == (expected, expected.value)


@pytest.mark.parametrize(
    ("word", "expected", "canonical"),
    [
        ("无", PASS, "无"),
        ("无异味", PASS, "无异味"),
        ("none", PASS, "none"),
        ("no odour", PASS, "no odour"),
        ("No Odor", PASS, "no odor"),
        ("nil", PASS, "nil"),
        ("未发现", PASS, "未发现"),
        ("not found", PASS, "not found"),
        ("ND", PASS, "not detected"),
        ("N.D.", PASS, "not detected"),
        ("未检出", PASS, "not detected"),
        ("ND (<0.1)", PASS, "not detected"),
        ("pass", PASS, "pass"),
        ("合格", PASS, "pass"),
        ("有", FAIL, "有"),
        ("有异味", FAIL, "有异味"),
        ("odour detected", FAIL, "odour detected"),
        ("found", FAIL, "found"),
        ("detected", FAIL, "detected"),
        ("检出", FAIL, "检出"),
        ("present", FAIL, "present"),
        ("fail", FAIL, "fail"),
        ("不合格", FAIL, "fail"),
    ],
)
def test_absent_reads_odour_and_presence_checks_and_the_lab_verdict(word, expected, canonical):
    result = judge("absent", "no odour", "-", word, category="all")
    assert (result.outcome, result.value) == (expected, canonical)


# Burn times: did not ignite, ignited but extinguished ----


@pytest.mark.parametrize(
    ("written", "canonical", "explanation"),
    [
        ("DNI", "DNI", "did not ignite (DNI): class 1"),
        ("dni", "DNI", "did not ignite (DNI): class 1"),
        (" DNI ", "DNI", "did not ignite (DNI): class 1"),
        ("IBE", "IBE", "ignited but extinguished (IBE): class 1"),
        ("ibe", "IBE", "ignited but extinguished (IBE): class 1"),
    ],
)
def test_a_specimen_that_did_not_burn_is_class_1(written, canonical, explanation):
    result = judge("min", "3.5", "s", written, category="all")
    assert result == Judgement(PASS, canonical, explanation)


# Not applicable is not a value ----


@pytest.mark.parametrize(
    "written", ["N/A", "NA", "n/a", "na", "not applicable", "Not Applicable", "不适用", "/", " N/A "]
)
@pytest.mark.parametrize(
    ("comparator", "limit", "unit"),
    [
        ("max", "20", "mg/kg"),
        ("range", "4.0..7.5", "pH"),
        ("grade_min", "4", "grade"),
        ("absent", "none", "-"),
        ("pass_fail", "marked", "-"),
    ],
)
def test_not_applicable_is_refused_as_a_value_for_every_comparator(written, comparator, limit, unit):
    assert is_not_applicable(written)
    with pytest.raises(UnreadableValue) as refused:
        judge(comparator, limit, unit, written, category="A")
    assert str(refused.value) == (
        "N/A is recorded with a reason where the parameter does not apply to the garment, not as a value."
    )


@pytest.mark.parametrize("value", ["ND", "none", "20", "3/4", "", None, 0, ["N/A"], "n/a/b"])
def test_only_the_not_applicable_notations_are_not_applicable(value):
    assert is_not_applicable(value) is False


# Near-limit warnings for ranges ----


@pytest.mark.parametrize(
    ("value", "near"),
    [
        ("4.0", True),
        ("4.3", True),
        ("4.35", True),
        ("4.36", False),
        ("5.5", False),
        ("7.14", False),
        ("7.15", True),
        ("7.2", True),
        ("7.5", True),
        ("7.6", False),
        ("3.9", False),
    ],
)
def test_a_pass_within_ten_percent_of_the_span_from_either_end_of_a_range_is_near_it(value, near):
    assert judge("range", "4.0..7.5", "pH", value, category="A").near_limit is near


# Exact decimals ----


def test_a_decimal_is_read_exactly():
    exact = Decimal("20.000000000000001")
    assert parse_decimal(exact) == exact
    assert str(parse_decimal(exact)) == "20.000000000000001"
    assert verdict("max", "20", "mg/kg", exact) == FAIL
    assert judge("max", "20", "mg/kg", exact, category="A").value == "20.000000000000001"
    assert verdict("max", "20", "mg/kg", Decimal("20.000")) == PASS


# Every canonical value reads back to the same judgement ----

ROUND_TRIPS = [
    ("max", "20", "mg/kg", "35", {}),
    ("max", "20", "mg/kg", "20,5 mg/kg", {}),
    ("max", "20", "mg/kg", Decimal("20.000000000000001"), {}),
    ("max", "20", "mg/kg", 0.1, {}),
    ("max", "20", "mg/kg", "ND (< 20 mg/kg)", {}),
    ("max", "20", "mg/kg", "未检出\uff08\uff1c5\uff09", {}),
    ("max", "20", "mg/kg", "n.d.", {"reporting_limit": "10 mg/kg"}),
    ("max", "20", "mg/kg", "ND", {"reporting_limit": Decimal("19.5")}),
    ("max", "20", "mg/kg", "not detected", {"default_reporting_limit": Decimal(10)}),
    ("max", "20", "mg/kg", "\uff1c20", {}),
    ("max", "20", "mg/kg", "> 30 mg/kg", {}),
    ("lt", "0.1", "% (w/w)", "<0.05 %", {}),
    ("lt", "0.1", "% (w/w)", "0,10 % w/w", {}),
    ("min", "70", "N", "> 90 N", {}),
    ("min", "70", "N", "<50 N", {}),
    ("min", "70", "N", "77 N", {}),
    ("min", "3.5", "s", "DNI", {}),
    ("min", "3.5", "s", "IBE", {}),
    ("range", "4.0..7.5", "pH", "pH 7.2", {}),
    ("range", "4.0..7.5", "pH", "4,3", {}),
    ("max", "0.5", "ug/cm2/week", "0.20 \u00b5g/cm\u00b2/week", {}),
    ("grade_min", "4", "grade", "变色4级 沾色3-4级", {}),
    ("grade_min", "4", "grade", "colour change: 4-5, staining: 4", {}),
    ("grade_min", "4", "grade", ["4", "3/4"], {}),
    ("absent", "none", "-", "N.D.", {}),
    ("absent", "none", "-", "无异味", {}),
    ("absent", "none", "-", "有", {}),
    ("absent", "none", "-", "合格", {}),
    ("pass_fail", "marked", "-", "不符合", {}),
    ("pass_fail", "marked", "-", "P", {}),
]


@pytest.mark.parametrize(("comparator", "limit", "unit", "value", "arguments"), ROUND_TRIPS)
@pytest.mark.parametrize("category", ["A", "all"])
def test_every_canonical_value_reads_back_to_the_same_judgement(comparator, limit, unit, value, arguments, category):
    first = judge(comparator, limit, unit, value, category=category, **arguments)
    assert judge(comparator, limit, unit, first.value, category=category, **arguments) == first
    # Stored values are judged again without the reporting limit they were given with: the value carries it.
    assert judge(comparator, limit, unit, first.value, category=category) == first


written_numbers = st.decimals(min_value=0, max_value=Decimal(1000), places=3)
reporting_limits = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100), places=3)


@given(
    written_numbers,
    st.sampled_from(["{}", "{} mg/kg", "{}mg/kg", "{comma}", "{comma} mg/kg", " {} "]),
    limits,
)
def test_any_written_number_reads_back_to_the_same_judgement(number, form, limit):
    text = format(number, "f")
    comma = text.replace(".", ",")
    if "," in comma and len(comma.partition(",")[2]) == 3 and comma.partition(",")[0] != "0":
        comma = text  # 1,000 is ambiguous, refused above
    written = form.format(text, comma=comma)
    first = judge("max", str(limit), "mg/kg", written, category="A")
    assert Decimal(first.value) == number
    assert first.outcome == (PASS if number <= limit else FAIL)
    assert judge("max", str(limit), "mg/kg", first.value, category="A") == first


@given(reporting_limits, limits, st.sampled_from(["ND (<{})", "<{}", "ND", "未检出(<{} mg/kg)"]))
def test_any_reporting_limit_passes_only_at_or_below_the_limit_and_reads_back(reporting_limit, limit, form):
    written = form.format(reporting_limit)
    try:
        first = judge("max", str(limit), "mg/kg", written, category="A", reporting_limit=reporting_limit)
    except Undecidable:
        assert reporting_limit > limit
        return
    assert reporting_limit <= limit
    assert (first.outcome, first.reporting_limit) == (PASS, reporting_limit)
    assert judge("max", str(limit), "mg/kg", first.value, category="A") == first


@pytest.mark.parametrize("written", ["3,5", "4,5", "2,5 4"])
def test_a_grade_with_a_comma_between_two_digits_is_refused_as_ambiguous(written):
    # Grade 3.5 with a decimal comma, or colour change 3 and staining 5: one passes a limit of 3-4, one fails it.
    with pytest.raises(UnreadableValue, match="decimal comma or two grades"):
        judge("grade_min", "3-4", "grade", written, category="A")


def test_grades_separated_by_a_comma_and_a_space_are_two_readings():
    assert judge("grade_min", "3-4", "grade", "4, 5", category="A").value == "4"
    assert judge("grade_min", "3-4", "grade", "3, 5", category="A").outcome == FAIL
