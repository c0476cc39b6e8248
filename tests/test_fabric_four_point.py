"""The 4-point system (ASTM D5430) as plain Python: the points of a defect by its size, the 4-point cap per linear
yard, the formula per 100 square yards with worked examples in yards and inches and in metres and centimetres,
and the verdict of a roll and of a lot."""

from decimal import Decimal
from fractions import Fraction

import pytest

from capa.inspections.fourpoint import (
    DefectMark,
    LengthUnit,
    Roll,
    RollFault,
    WidthUnit,
    defect_points,
    in_inches,
    in_yards,
    judge_fabric_lot,
    judge_roll,
    points_per_100_square_yards,
    shown,
    yard_points,
)

YD, M = LengthUnit.YARDS, LengthUnit.METRES
IN, CM = WidthUnit.INCHES, WidthUnit.CENTIMETRES


@pytest.mark.parametrize(
    ("size", "unit", "hole", "points"),
    [
        ("0.1", IN, False, 1),
        ("3", IN, False, 1),
        ("3.01", IN, False, 2),
        ("6", IN, False, 2),
        ("6.01", IN, False, 3),
        ("9", IN, False, 3),
        ("9.01", IN, False, 4),
        ("60", IN, False, 4),
        ("7.62", CM, False, 1),  # exactly 3 in
        ("7.63", CM, False, 2),
        ("15.24", CM, False, 2),  # exactly 6 in
        ("22.86", CM, False, 3),  # exactly 9 in
        ("22.87", CM, False, 4),
        ("1", IN, True, 2),
        ("1.01", IN, True, 4),
        ("2.54", CM, True, 2),  # exactly 1 in
        ("2.55", CM, True, 4),
    ],
)
def test_a_defect_scores_by_its_size_in_inches(size, unit, hole, points):
    assert defect_points(in_inches(Decimal(size), unit), hole=hole) == points


def test_units_convert_exactly():
    assert in_yards(Decimal("0.9144"), M) == 1
    assert in_yards(Decimal("100"), M) == Fraction(100) / Fraction("0.9144")
    assert in_inches(Decimal("2.54"), CM) == 1
    assert in_yards(Decimal("12.5"), YD) == Fraction(25, 2)


def test_no_linear_yard_scores_more_than_4_points():
    five_small = [DefectMark(at=Fraction(10) + Fraction(i, 10), size=Fraction(1)) for i in range(5)]
    assert yard_points(five_small, Fraction(100)) == {10: 4}
    # The same five spread over two yards: 4 (capped) and 1.
    spread = [*five_small[:4], DefectMark(at=Fraction(11), size=Fraction(1))]
    assert yard_points(spread, Fraction(100)) == {10: 4, 11: 1}


def test_a_running_defect_scores_4_in_every_yard_it_touches():
    running = DefectMark(at=Fraction(60), through=Fraction(125, 2))  # 60 to 62.5 yd: yards 60, 61 and 62
    assert yard_points([running], Fraction(100)) == {60: 4, 61: 4, 62: 4}
    ending_on_a_mark = DefectMark(at=Fraction(60), through=Fraction(62))
    assert yard_points([ending_on_a_mark], Fraction(100)) == {60: 4, 61: 4}


def test_a_defect_at_the_very_end_counts_in_the_last_yard():
    assert yard_points([DefectMark(at=Fraction(100), size=Fraction(2))], Fraction(100)) == {99: 1}


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (DefectMark(at=Fraction(101), size=Fraction(1)), "within the roll"),
        (DefectMark(at=Fraction(-1), size=Fraction(1)), "within the roll"),
        (DefectMark(at=Fraction(5), through=Fraction(5)), "end after it starts"),
        (DefectMark(at=Fraction(5), through=Fraction(101)), "end after it starts"),
        (DefectMark(at=Fraction(5)), "needs its size"),
        (DefectMark(at=Fraction(5), size=Fraction(0)), "above 0"),
    ],
)
def test_impossible_marks_are_refused(mark, message):
    with pytest.raises(ValueError, match=message):
        yard_points([mark], Fraction(100))


def test_worked_example_in_yards_and_inches():
    """120 yd of 58 in cuttable width with: a 2 in slub at yard 3 (1 point); a 5 in and an 8 in defect in yard 10
    (2 + 3, capped at 4); a 1/2 in hole at yard 20 (2); a 1 1/2 in hole at yard 50 (4); a crease from 60 to 62.5 yd
    (4 in each of yards 60, 61, 62). 23 points; 23 * 3,600 / (120 * 58) = 11.8965… = 11.90 per 100 square yards."""
    marks = (
        DefectMark.measured(Decimal(3), Decimal(2), YD, IN),
        DefectMark.measured(Decimal("10.2"), Decimal(5), YD, IN),
        DefectMark.measured(Decimal("10.7"), Decimal(8), YD, IN),
        DefectMark.measured(Decimal(20), Decimal("0.5"), YD, IN, hole=True),
        DefectMark.measured(Decimal(50), Decimal("1.5"), YD, IN, hole=True),
        DefectMark.measured(Decimal(60), None, YD, IN, through=Decimal("62.5")),
    )
    judged = judge_roll(Roll("R1", Fraction(120), Fraction(58), marks), 40)
    assert judged.points == 23
    assert judged.per_100_square_yards == Fraction(23 * 3600, 120 * 58)
    assert shown(judged.per_100_square_yards) == Decimal("11.90")
    assert judged.accepted


def test_the_same_roll_measured_in_metres_and_centimetres_scores_the_same():
    """The roll above as a metric tape reads it: 109.728 m, 147.32 cm; sizes 5.08, 12.7, 20.32 cm; holes 1.27 and
    3.81 cm; the crease from 54.864 to 57.15 m."""
    metres = [Decimal("2.7432"), Decimal("9.32688"), Decimal("9.78408"), Decimal("18.288"), Decimal("45.72")]
    sizes = [Decimal("5.08"), Decimal("12.7"), Decimal("20.32"), Decimal("1.27"), Decimal("3.81")]
    holes = [False, False, False, True, True]
    marks = [
        DefectMark.measured(at, size, M, CM, hole=hole) for at, size, hole in zip(metres, sizes, holes, strict=True)
    ]
    marks.append(DefectMark.measured(Decimal("54.864"), None, M, CM, through=Decimal("57.15")))
    roll = Roll("R1", in_yards(Decimal("109.728"), M), in_inches(Decimal("147.32"), CM), tuple(marks))
    judged = judge_roll(roll, 40)
    assert judged.points == 23
    assert judged.per_100_square_yards == Fraction(23 * 3600, 120 * 58)


def test_worked_example_in_metres_and_centimetres():
    """100 m of 150 cm with 20 points: 20 * 3,600 / ((100 / 0.9144) * (150 / 2.54)) = 11.1483648 exactly."""
    figure = points_per_100_square_yards(20, in_yards(Decimal(100), M), in_inches(Decimal(150), CM))
    assert figure == Fraction("11.1483648")
    assert shown(figure) == Decimal("11.15")


def test_a_roll_at_the_acceptance_points_passes_and_one_point_more_fails():
    # 100 yd * 36 in = 100 square yards: points and figure are the same number.
    at_limit = Roll("R", Fraction(100), Fraction(36), tuple(DefectMark(Fraction(i), Fraction(10)) for i in range(10)))
    assert judge_roll(at_limit, 40).per_100_square_yards == 40
    assert judge_roll(at_limit, 40).accepted
    over = Roll("R", Fraction(100), Fraction(36), (*at_limit.marks, DefectMark(Fraction(50), Fraction(1))))
    assert judge_roll(over, 40).faults == (RollFault.POINTS,)
    assert judge_roll(over, 41).accepted


def test_width_and_shade_reject_a_roll_whatever_its_points():
    clean = Roll("R", Fraction(100), Fraction(57))
    assert judge_roll(clean, 40, required_width_inches=Fraction(58)).faults == (RollFault.WIDTH,)
    assert judge_roll(clean, 40, required_width_inches=Fraction(57)).accepted
    off_shade = Roll("R", Fraction(100), Fraction(58), shade_matches=False)
    assert judge_roll(off_shade, 40).faults == (RollFault.SHADE,)


def test_the_lot_figure_weighs_each_roll_by_its_area():
    """A 100 yd roll of 36 in with 60 points (60 per 100 sq yd, rejected) and a 400 yd roll of 36 in with 40 points
    (10): the lot has 100 points over 500 square yards, 20 per 100: accepted, the first roll returned alone (an
    average of the rolls' figures, 35, would be another number)."""
    bad = Roll("R1", Fraction(100), Fraction(36), tuple(DefectMark(Fraction(i), Fraction(10)) for i in range(15)))
    good = Roll("R2", Fraction(400), Fraction(36), tuple(DefectMark(Fraction(i), Fraction(10)) for i in range(10)))
    lot = judge_fabric_lot([bad, good])
    assert (lot.points, lot.square_yards, lot.per_100_square_yards) == (100, 500, 20)
    assert lot.accepted
    assert [roll.roll.number for roll in lot.rejected_rolls] == ["R1"]


def test_a_lot_over_its_points_or_with_a_roll_off_shade_or_under_width_is_rejected():
    heavy = Roll("R1", Fraction(100), Fraction(36), tuple(DefectMark(Fraction(i), Fraction(10)) for i in range(11)))
    assert judge_fabric_lot([heavy]).faults == (RollFault.POINTS,)
    assert judge_fabric_lot([heavy], acceptance_points=50).accepted
    off_shade = Roll("R2", Fraction(100), Fraction(36), shade_matches=False)
    narrow = Roll("R3", Fraction(100), Fraction(35))
    lot = judge_fabric_lot([off_shade, narrow], required_width_inches=Fraction(36))
    assert lot.faults == (RollFault.WIDTH, RollFault.SHADE)
    with pytest.raises(ValueError, match="at least one roll"):
        judge_fabric_lot([])
