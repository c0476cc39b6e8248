"""The 4-point system of incoming fabric inspection (ASTM D5430), with its units explicit.

The rules:
- every defect seen on a roll scores points by its size, measured in inches: up to 3 in, 1 point; over 3 up to
  6 in, 2; over 6 up to 9 in, 3; over 9 in, 4. A hole or opening scores 2 points up to 1 in, 4 over 1 in;
- a running defect (one that goes on along the roll, from one mark to another) scores 4 points in every linear
  yard it touches, whatever its width;
- no linear yard of a roll scores more than 4 points, however many defects it has; yard *k* is the stretch from
  *k* to *k* + 1 yards from the roll's start (a defect at the very end of the roll counts in its last yard);
- points per 100 square yards = points * 3,600 / (yards inspected * cuttable width in inches) (3,600 = 100 square
  yards of 36 in * 36 in, over the 36 in of one yard's length);
- lengths may be measured in yards or metres and widths and sizes in inches or centimetres: they are converted
  exactly (1 yd = 0.9144 m and 1 in = 2.54 cm by definition), and the figures are kept as exact fractions, so a
  size of 7.62 cm is 3 in, 1 point, and a limit is met or missed by the figure itself, not its rounding;
- a roll is rejected when its points per 100 square yards exceed the acceptance points (40 unless the supplier
  or the style sets fewer or more), when its cuttable width is under the width required, or when its shade does
  not match the approved standard;
- the lot's figure is its points over its whole inspected area (the rolls' areas summed, so a long roll weighs
  more than a short one); the lot is rejected when that figure exceeds the acceptance points, or when any roll
  is off shade or under width (a lot whose rolls differ in shade or width cannot be cut as one). A roll rejected
  on points alone in a lot that passes is returned by itself; the lot stands.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from math import ceil, floor

METRES_PER_YARD = Fraction("0.9144")
CENTIMETRES_PER_INCH = Fraction("2.54")
#: Square inches of 100 square yards over the 36 inches of a linear yard.
FORMULA_FACTOR = 3600
MAX_POINTS_PER_YARD = 4
#: Points per 100 square yards a roll and a lot may have when neither the supplier nor the style sets a limit.
DEFAULT_ACCEPTANCE_POINTS = 40


class LengthUnit(StrEnum):
    """How a roll's length and a defect's place along it are measured."""

    YARDS = "yd"
    METRES = "m"


class WidthUnit(StrEnum):
    """How a roll's cuttable width and a defect's size are measured."""

    INCHES = "in"
    CENTIMETRES = "cm"


class RollFault(StrEnum):
    """Why a roll, or a lot, is rejected."""

    POINTS = "points"
    WIDTH = "width"
    SHADE = "shade"


def in_yards(length: Decimal | Fraction | int, unit: LengthUnit) -> Fraction:
    """A length in yards, exactly."""
    value = Fraction(length)
    return value if unit is LengthUnit.YARDS else value / METRES_PER_YARD


def in_inches(size: Decimal | Fraction | int, unit: WidthUnit) -> Fraction:
    """A width or size in inches, exactly."""
    value = Fraction(size)
    return value if unit is WidthUnit.INCHES else value / CENTIMETRES_PER_INCH


def defect_points(size_inches: Fraction, *, hole: bool = False) -> int:
    """The points of one defect of ``size_inches`` (the module's bands); raises ValueError for a size not above 0."""
    if size_inches <= 0:
        raise ValueError("a defect's size must be above 0")
    if hole:
        return 2 if size_inches <= 1 else 4
    if size_inches <= 3:
        return 1
    if size_inches <= 6:
        return 2
    if size_inches <= 9:
        return 3
    return 4


@dataclass(frozen=True)
class DefectMark:
    """A defect found on a roll, in yards and inches: where it is along the roll and how big, or, for a running
    defect, where it ends (``through``)."""

    at: Fraction
    size: Fraction | None = None
    hole: bool = False
    through: Fraction | None = None

    @classmethod
    def measured(
        cls,
        at: Decimal,
        size: Decimal | None,
        length_unit: LengthUnit,
        width_unit: WidthUnit,
        *,
        hole: bool = False,
        through: Decimal | None = None,
    ) -> "DefectMark":
        """A mark as measured in the given units."""
        return cls(
            at=in_yards(at, length_unit),
            size=None if size is None else in_inches(size, width_unit),
            hole=hole,
            through=None if through is None else in_yards(through, length_unit),
        )


def _yard_of(position: Fraction, roll_yards: Fraction) -> int:
    # The last yard of the roll is the one a mark at the roll's very end falls in.
    return min(floor(position), max(ceil(roll_yards) - 1, 0))


def _running_yards(mark: DefectMark, roll_yards: Fraction) -> range:
    """The linear yards a running defect touches."""
    return range(_yard_of(mark.at, roll_yards), ceil(mark.through))


def mark_points(mark: DefectMark, roll_yards: Fraction) -> int:
    """A mark's own points before its yard's cap: by its size, or 4 in each linear yard a running defect touches."""
    if mark.through is not None:
        return MAX_POINTS_PER_YARD * len(_running_yards(mark, roll_yards))
    return defect_points(mark.size, hole=mark.hole)


def yard_points(marks: Iterable[DefectMark], roll_yards: Fraction) -> dict[int, int]:
    """The points of each linear yard of a roll that has any, each capped at 4. Raises ValueError for a mark off
    the roll, a running defect that does not run forward, or a defect with neither a size nor an end."""
    points: dict[int, int] = defaultdict(int)
    for mark in marks:
        if not 0 <= mark.at <= roll_yards:
            raise ValueError("a defect must be within the roll's length")
        if mark.through is not None:
            if not mark.at < mark.through <= roll_yards:
                raise ValueError("a running defect must end after it starts, within the roll")
            for yard in _running_yards(mark, roll_yards):
                points[yard] = MAX_POINTS_PER_YARD
            continue
        if mark.size is None:
            raise ValueError("a defect needs its size")
        yard = _yard_of(mark.at, roll_yards)
        points[yard] = min(MAX_POINTS_PER_YARD, points[yard] + defect_points(mark.size, hole=mark.hole))
    return dict(points)


def points_per_100_square_yards(points: int, yards: Fraction, width_inches: Fraction) -> Fraction:
    """points * 3,600 / (yards * cuttable width in inches); raises ValueError for an area that is not above 0."""
    if yards <= 0 or width_inches <= 0:
        raise ValueError("the inspected length and width must be above 0")
    return Fraction(points * FORMULA_FACTOR) / (yards * width_inches)


def shown(figure: Fraction, places: int = 2) -> Decimal:
    """A figure as shown and stored: rounded half up to ``places`` decimals."""
    return (Decimal(figure.numerator) / Decimal(figure.denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class Roll:
    """A roll as inspected, in yards and inches."""

    number: str
    yards: Fraction
    width_inches: Fraction
    marks: tuple[DefectMark, ...] = ()
    shade_matches: bool = True


@dataclass(frozen=True)
class RollJudgement:
    roll: Roll
    points: int
    per_100_square_yards: Fraction
    faults: tuple[RollFault, ...]

    @property
    def accepted(self) -> bool:
        return not self.faults


@dataclass(frozen=True)
class LotJudgement:
    rolls: tuple[RollJudgement, ...]
    points: int
    yards: Fraction
    square_yards: Fraction
    per_100_square_yards: Fraction
    acceptance_points: int
    faults: tuple[RollFault, ...]

    @property
    def accepted(self) -> bool:
        return not self.faults

    @property
    def rejected_rolls(self) -> list[RollJudgement]:
        return [roll for roll in self.rolls if not roll.accepted]


def judge_roll(roll: Roll, acceptance_points: int, required_width_inches: Fraction | None = None) -> RollJudgement:
    """A roll's points, its figure per 100 square yards and its faults (the module's rules). Raises ValueError
    as :func:`yard_points` and :func:`points_per_100_square_yards` do."""
    points = sum(yard_points(roll.marks, roll.yards).values())
    figure = points_per_100_square_yards(points, roll.yards, roll.width_inches)
    faults = []
    if figure > acceptance_points:
        faults.append(RollFault.POINTS)
    if required_width_inches is not None and roll.width_inches < required_width_inches:
        faults.append(RollFault.WIDTH)
    if not roll.shade_matches:
        faults.append(RollFault.SHADE)
    return RollJudgement(roll, points, figure, tuple(faults))


def judge_fabric_lot(
    rolls: Sequence[Roll], acceptance_points: int = DEFAULT_ACCEPTANCE_POINTS, required_width_inches=None
) -> LotJudgement:
    """Each roll judged, and the lot by its points over its whole area (the module's rules). Raises ValueError
    for a lot without rolls, and as :func:`judge_roll` does."""
    if not rolls:
        raise ValueError("a lot is judged on at least one roll")
    judged = tuple(judge_roll(roll, acceptance_points, required_width_inches) for roll in rolls)
    points = sum(roll.points for roll in judged)
    square_yards = sum((roll.yards * roll.width_inches / 36 for roll in rolls), Fraction(0))
    figure = Fraction(points * 100) / square_yards
    faults = []
    if figure > acceptance_points:
        faults.append(RollFault.POINTS)
    for fault in (RollFault.WIDTH, RollFault.SHADE):
        if any(fault in roll.faults for roll in judged):
            faults.append(fault)
    return LotJudgement(
        rolls=judged,
        points=points,
        yards=sum((roll.yards for roll in rolls), Fraction(0)),
        square_yards=square_yards,
        per_100_square_yards=figure,
        acceptance_points=acceptance_points,
        faults=tuple(faults),
    )
