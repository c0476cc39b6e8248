"""DHU, the defective rate and the plant's shifts as plain Python (capa.inspections.dhu), without a request."""

from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from capa.inspections.dhu import (
    Shift,
    ShiftsMalformed,
    Tally,
    TallyProblem,
    parse_shifts,
    per_hundred,
    shift_at,
    shift_window,
    tally_problem,
)

TWO = parse_shifts("day=07:00-19:00,night=19:00-07:00")


def test_shifts_are_read_in_the_order_of_their_starts():
    three = parse_shifts(" C = 22:00-06:00 , A=06:00-14:00,B=14:00-22:00")
    assert [str(shift) for shift in three] == ["A=06:00-14:00", "B=14:00-22:00", "C=22:00-06:00"]
    assert [shift.crosses_midnight for shift in three] == [False, False, True]
    assert parse_shifts("all=00:00-00:00") == (Shift("all", time(0), time(0)),)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("day=07:00-19:00", "00:00 is in no shift"),
        ("day=07:00-19:00,night=18:59-07:00", "'night' overlaps 'day' at 18:59"),
        ("day=07:00-19:00,day=19:00-07:00", "'day' is named twice"),
        ("day=7-19,night=19:00-07:00", "write a shift as name=HH:MM-HH:MM"),
        ("day=07:00-24:00,night=00:00-07:00", "not a time of day"),
        ("", "write a shift as name=HH:MM-HH:MM"),
    ],
)
def test_shifts_that_do_not_cover_the_day_once_are_refused(written, said):
    with pytest.raises(ShiftsMalformed, match=said):
        parse_shifts(written)


@pytest.mark.parametrize(
    ("moment", "shift", "day"),
    [
        (datetime(2026, 12, 3, 7, 0), "day", date(2026, 12, 3)),
        (datetime(2026, 12, 3, 18, 59), "day", date(2026, 12, 3)),
        (datetime(2026, 12, 3, 19, 0), "night", date(2026, 12, 3)),
        (datetime(2026, 12, 3, 23, 59), "night", date(2026, 12, 3)),
        # After midnight, the night shift that started the evening before.
        (datetime(2026, 12, 4, 0, 0), "night", date(2026, 12, 3)),
        (datetime(2026, 12, 4, 6, 59), "night", date(2026, 12, 3)),
        (datetime(2027, 1, 1, 2, 0), "night", date(2026, 12, 31)),
    ],
)
def test_a_moment_falls_in_one_shift_of_the_day_it_started(moment, shift, day):
    found, started = shift_at(moment, TWO)
    assert (found.name, started) == (shift, day)


def test_a_shift_past_midnight_ends_the_next_day():
    zone = ZoneInfo("Asia/Shanghai")
    night = TWO[1]
    assert shift_window(night, date(2026, 12, 31), zone) == (
        datetime(2026, 12, 31, 19, 0, tzinfo=zone),
        datetime(2027, 1, 1, 7, 0, tzinfo=zone),
    )
    assert shift_window(TWO[0], date(2026, 12, 31), zone)[1] == datetime(2026, 12, 31, 19, 0, tzinfo=zone)


def test_dhu_counts_every_defect_and_the_defective_rate_every_unit_once():
    # 50 units, 4 of them defective, one with three defects: 6 defects.
    tally = Tally(units=50, defective=4, defects=6)
    assert tally.dhu == 12
    assert tally.defective_rate == 8
    assert Tally(units=30, defective=1, defects=1).dhu == Fraction(10, 3)
    assert Tally(units=30, defective=1, defects=1).dhu_shown == Decimal("3.33")
    assert Tally(units=8, defective=1, defects=1).dhu_shown == Decimal("12.50")
    # 1 in 24 = 4.1666…: rounded half up to hundredths only when shown.
    assert Tally(units=24, defective=1, defects=1).dhu_shown == Decimal("4.17")
    assert Tally().dhu is None and Tally().dhu_shown is None


def test_a_shift_sums_its_checks_before_dividing():
    # An hour of 10 units with 5 defects and one of 90 with none: 5 in 100, not the mean of 50 and 0.
    shift = Tally(10, 3, 5) + Tally(90, 0, 0)
    assert shift == Tally(100, 3, 5)
    assert shift.dhu == 5


def test_over_the_alert_level_means_above_it():
    assert not Tally(100, 5, 5).over(Decimal("5"))
    assert Tally(100, 5, 6).over(Decimal("5"))
    assert Tally(300, 16, 16).over(Decimal("5.33"))  # 5.333… > 5.33
    assert not Tally(300, 16, 16).over(Decimal("5.34"))
    assert not Tally().over(Decimal("0.01"))


@pytest.mark.parametrize(
    ("tally", "problem"),
    [
        (Tally(10, 11, 11), TallyProblem.DEFECTIVE_OVER_UNITS),
        (Tally(10, 3, 2), TallyProblem.DEFECTS_UNDER_DEFECTIVE),
        (Tally(10, 0, 2), TallyProblem.NO_DEFECTIVE_UNIT),
        (Tally(10, 10, 40), None),
        (Tally(10, 0, 0), None),
    ],
)
def test_impossible_counts_are_named(tally, problem):
    assert tally_problem(tally) is problem


def test_per_hundred_needs_units():
    assert per_hundred(1, 3) == Fraction(100, 3)
    with pytest.raises(ValueError, match="no units"):
        per_hundred(1, 0)
