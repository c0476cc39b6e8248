"""Garment measurements against a style's measurement spec, in plain Python.

A spec is a tech pack's grid: points of measure (``A`` chest width, ``B`` body length…) by sizes, each point with
its target per size and its tolerance below and above, all in one unit, centimetres or inches. The rules:

- a reading is within tolerance when ``target - minus <= value <= target + plus``: a reading exactly on a limit
  is within (a tape read to the limit is what the buyer allowed);
- a garment is out of tolerance when any of its readings is; each such garment counts as one defect of the
  library's code MEA-01 in the final inspection (:mod:`capa.inspections.final`), whatever the number of its
  points off;
- numbers are exact decimals with at most 3 places (1/8 in is 0.125), and may be written as fractions of halves,
  quarters and eighths (``30 1/4``, ``3/8``), as inch tapes read; anything else is refused, never rounded.

:func:`parse_grid` reads a spec pasted from a spreadsheet (tabs, or commas, between cells): a header row
``Point, Description, Tol -, Tol +, <size>, <size>…`` then one row per point. It raises GridError naming the line
and the problem.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l

#: The most decimals a measurement or tolerance has (an eighth of an inch is 0.125).
PLACES = 3
#: The largest target (a gown's length in centimetres stays well under) and the largest tolerance.
LARGEST_VALUE = Decimal(1000)
LARGEST_TOLERANCE = Decimal(100)
MAX_POINTS = 60
MAX_SIZES = 20
#: A point's code and a size as the commands take them (upper-cased codes, :data:`capa.common.commands.CODE_PATTERN`).
POINT = re.compile(r"[A-Z0-9][A-Z0-9._/-]{0,11}")
SIZE = re.compile(r"[A-Z0-9][A-Z0-9._/-]{0,15}")
_NUMBER = re.compile(r"(?:(\d{1,4})\s+)?(\d{1,4})/(\d{1,2})|(\d{1,4}(?:\.\d{1,3})?)")


class MeasureUnit(StrEnum):
    CENTIMETRES = "cm"
    INCHES = "in"


class NotANumber(ValueError):
    """Text that is not a measurement as the module reads them."""


def read_number(text: str) -> Decimal:
    """``text`` as an exact decimal: ``30``, ``30.5``, ``0.125``, ``30 1/4``, ``3/8`` (halves, quarters and
    eighths only). Raises NotANumber."""
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        raise NotANumber(text)
    whole, numerator, denominator, decimal = found.groups()
    if decimal is not None:
        return Decimal(decimal)
    if int(denominator) not in (2, 4, 8) or int(numerator) >= int(denominator):
        raise NotANumber(text)
    return Decimal(whole or 0) + Decimal(numerator) / Decimal(denominator)


def shown(number: Decimal) -> str:
    """A measurement as the pages show it: no trailing zeros (``30``, ``30.5``, ``0.125``)."""
    return format(number.normalize(), "f")


@dataclass(frozen=True)
class PointSpec:
    """A point of measure: its target per size and its tolerance below and above."""

    point: str
    description: str
    minus: Decimal
    plus: Decimal
    targets: dict[str, Decimal]


@dataclass(frozen=True)
class Reading:
    """A point measured on one garment of a size (garments numbered from 1 within the sample)."""

    garment: int
    size: str
    point: str
    value: Decimal


@dataclass(frozen=True)
class JudgedReading:
    reading: Reading
    target: Decimal
    minus: Decimal
    plus: Decimal

    @property
    def deviation(self) -> Decimal:
        return self.reading.value - self.target

    @property
    def within(self) -> bool:
        return -self.minus <= self.deviation <= self.plus


def judge(points: dict[str, PointSpec], readings: Iterable[Reading]) -> list[JudgedReading]:
    """Each reading against its point's target for its size. Raises KeyError for a point or a size the spec
    lacks (the service refuses those first, naming them)."""
    judged = []
    for reading in readings:
        spec = points[reading.point]
        judged.append(JudgedReading(reading, spec.targets[reading.size], spec.minus, spec.plus))
    return judged


def garments_out_of_tolerance(judged: Iterable[JudgedReading]) -> list[tuple[str, int]]:
    """The garments (size, number) with any reading out of tolerance, in the order first found."""
    return list(dict.fromkeys((j.reading.size, j.reading.garment) for j in judged if not j.within))


# A spec pasted from a spreadsheet ----------------------------------------------------------------------------------


class GridError(ValueError):
    """A pasted spec that cannot be read: the line (1 for the header) and what is wrong there."""

    def __init__(self, line: int, problem):
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Grid:
    sizes: list[str]
    points: list[PointSpec]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in (line.split("\t") if "\t" in line else line.split(","))]


def _number(cell: str, line: int, what: str, *, largest: Decimal, zero: bool) -> Decimal:
    try:
        number = read_number(cell)
    except NotANumber:
        raise GridError(
            line, _l("%(what)s: %(cell)s is not a number (30, 30.5, 30 1/4).", what=what, cell=cell)
        ) from None
    if number > largest or (number == 0 and not zero):
        raise GridError(
            line,
            _l("%(what)s: must be 0 to %(n)s.", what=what, n=largest)
            if zero
            else _l("%(what)s: must be above 0 and at most %(n)s.", what=what, n=largest),
        )
    return number


def parse_grid(text: str) -> Grid:
    """The spec in ``text`` (see the module). Raises GridError: no header or no point, a header without the
    four first columns or without a size, a size or point code malformed or given twice, a row with another
    number of cells than the header, a number that cannot be read; at most MAX_POINTS points and MAX_SIZES
    sizes."""
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise GridError(1, _l("Paste the header row and a row per point of measure."))
    header_line, header = lines[0]
    head = _cells(header)
    sizes = [size.upper() for size in head[4:]]
    if len(head) < 5:
        raise GridError(header_line, _l("The header needs Point, Description, Tol -, Tol + and at least one size."))
    if len(sizes) > MAX_SIZES:
        raise GridError(header_line, _l("At most %(n)d sizes.", n=MAX_SIZES))
    for size in sizes:
        if not SIZE.fullmatch(size):
            raise GridError(header_line, _l("Size %(size)s: letters, digits and - _ . / (at most 16).", size=size))
    if len(set(sizes)) < len(sizes):
        raise GridError(header_line, _l("A size is given twice."))
    points: list[PointSpec] = []
    for line, row in lines[1:]:
        cells = _cells(row)
        if len(cells) != len(head):
            raise GridError(line, _l("%(n)d cells where the header has %(m)d.", n=len(cells), m=len(head)))
        code, description = cells[0].upper(), cells[1]
        if not POINT.fullmatch(code):
            raise GridError(line, _l("Point %(point)s: letters, digits and - _ . / (at most 12).", point=code))
        if any(p.point == code for p in points):
            raise GridError(line, _l("Point %(point)s is given twice.", point=code))
        if len(description) > 120:
            raise GridError(line, _l("The description is longer than 120 characters."))
        minus = _number(cells[2], line, "Tol -", largest=LARGEST_TOLERANCE, zero=True)
        plus = _number(cells[3], line, "Tol +", largest=LARGEST_TOLERANCE, zero=True)
        targets = {
            size: _number(cell, line, size, largest=LARGEST_VALUE, zero=False)
            for size, cell in zip(sizes, cells[4:], strict=True)
        }
        points.append(PointSpec(code, description, minus, plus, targets))
    if not points:
        raise GridError(header_line, _l("No point of measure under the header."))
    if len(points) > MAX_POINTS:
        raise GridError(lines[MAX_POINTS + 1][0], _l("At most %(n)d points of measure.", n=MAX_POINTS))
    return Grid(sizes, points)


def grid_text(sizes: list[str], points: Iterable[PointSpec]) -> str:
    """A spec written as :func:`parse_grid` reads it, tab-separated (what a spreadsheet pastes)."""
    rows = [["Point", "Description", "Tol -", "Tol +", *sizes]]
    for p in points:
        rows.append([p.point, p.description, shown(p.minus), shown(p.plus), *(shown(p.targets[s]) for s in sizes)])
    return "\n".join("\t".join(row) for row in rows)
