"""Inline and end-of-line figures, and the shifts a line's checks fall in, as plain Python.

The figures:
- DHU, defects per hundred units = defects found * 100 / units checked: a unit with three defects counts three;
- defective rate = defective units * 100 / units checked: a unit counts once however many defects it has;
both exact (Fractions), shown rounded half up to hundredths. A line's figures within a shift are those of the
sums of its checks (units, defects and defective units added up, then divided), never an average of hourly
figures: a check of 10 units weighs a tenth of one of 100.

The shifts: the plant's day is divided into named shifts that together cover the 24 hours once, so that every
check falls in exactly one shift. A shift may run past midnight and belongs to the day it starts on: a night
shift 19:00–07:00 that starts on 3 December holds a check made at 02:00 on 4 December. The shifts are written
``day=07:00-19:00,night=19:00-07:00`` (a single shift ``day=00:00-00:00`` covers the whole day).

The alert: a line is over its alert level in a shift when the shift's DHU is above the level (a DHU equal to the
level is not over it).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from capa.inspections.fourpoint import shown

MINUTES_PER_DAY = 24 * 60


class ShiftsMalformed(ValueError):
    """The shifts as written do not name, once each, shifts that cover the day exactly once."""


@dataclass(frozen=True)
class Shift:
    """A named shift, from ``start`` up to (not including) ``end`` in plant time; past midnight when ``end`` is
    not after ``start``."""

    name: str
    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def minutes(self) -> range:
        """The minutes of the day (0–1439) the shift holds, counted from its start (past 1439 after midnight)."""
        first = self.start.hour * 60 + self.start.minute
        last = self.end.hour * 60 + self.end.minute
        if last <= first:
            last += MINUTES_PER_DAY
        return range(first, last)

    def __str__(self) -> str:
        return f"{self.name}={self.start:%H:%M}-{self.end:%H:%M}"


_SHIFT = re.compile(r"^\s*([A-Za-z0-9_-]{1,20})\s*=\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _clock(hours: str, minutes: str, written: str) -> time:
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        raise ShiftsMalformed(f"{written!r}: not a time of day")
    return time(hour, minute)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_shifts(text: str) -> tuple[Shift, ...]:
    """The shifts written in ``text`` (``name=HH:MM-HH:MM`` separated by commas), in the order of their starts.

    Raises ShiftsMalformed when an entry is not of that form, a name is given twice, two shifts overlap, or a
    minute of the day is in no shift.
    """
    shifts: list[Shift] = []
    for written in text.split(","):
        match = _SHIFT.match(written)
        if match is None:
            raise ShiftsMalformed(f"{written.strip()!r}: write a shift as name=HH:MM-HH:MM")
        name, start_h, start_m, end_h, end_m = match.groups()
        if any(shift.name == name for shift in shifts):
            raise ShiftsMalformed(f"{name!r} is named twice")
        shifts.append(Shift(name, _clock(start_h, start_m, written), _clock(end_h, end_m, written)))
    held_by: dict[int, str] = {}
    for shift in shifts:
        for minute in shift.minutes():
            minute %= MINUTES_PER_DAY
            if minute in held_by:
                raise ShiftsMalformed(f"{shift.name!r} overlaps {held_by[minute]!r} at {_hhmm(minute)}")
            held_by[minute] = shift.name
    if len(held_by) < MINUTES_PER_DAY:
        free = min(set(range(MINUTES_PER_DAY)) - held_by.keys())
        raise ShiftsMalformed(f"{_hhmm(free)} is in no shift")
    return tuple(sorted(shifts, key=lambda shift: shift.start))


def shift_at(moment: datetime, shifts: tuple[Shift, ...]) -> tuple[Shift, date]:
    """The shift ``moment`` (in plant time, naive or aware) falls in, and the day that shift started on."""
    minute = moment.hour * 60 + moment.minute
    for shift in shifts:
        minutes = shift.minutes()
        if minute in minutes:
            return shift, moment.date()
        if minute + MINUTES_PER_DAY in minutes:
            # After midnight in a shift that started the evening before.
            return shift, moment.date() - timedelta(days=1)
    raise ShiftsMalformed(f"{moment:%H:%M} is in no shift")


def shift_window(shift: Shift, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """When ``shift`` of ``day`` starts and ends, as aware datetimes in ``zone``."""
    start = datetime.combine(day, shift.start, tzinfo=zone)
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    return start, datetime.combine(end_day, shift.end, tzinfo=zone)


def per_hundred(count: int, units: int) -> Fraction:
    """``count`` per hundred of ``units`` (units must be at least 1)."""
    if units < 1:
        raise ValueError("no units checked")
    return Fraction(count * 100, units)


@dataclass(frozen=True)
class Tally:
    """What one or more checks found: units checked, defective units among them, and defects in all."""

    units: int = 0
    defective: int = 0
    defects: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.units + other.units, self.defective + other.defective, self.defects + other.defects)

    @property
    def dhu(self) -> Fraction | None:
        """Defects per hundred units; None before any unit was checked."""
        return per_hundred(self.defects, self.units) if self.units else None

    @property
    def defective_rate(self) -> Fraction | None:
        """Defective units per hundred units; None before any unit was checked."""
        return per_hundred(self.defective, self.units) if self.units else None

    @property
    def dhu_shown(self) -> Decimal | None:
        return None if self.dhu is None else shown(self.dhu)

    @property
    def defective_rate_shown(self) -> Decimal | None:
        return None if self.defective_rate is None else shown(self.defective_rate)

    def over(self, alert_level: Decimal) -> bool:
        """True when the DHU is above ``alert_level`` (equal is not over)."""
        return self.dhu is not None and self.dhu > Fraction(alert_level)


class TallyProblem(StrEnum):
    """Why a check's counts cannot be: the field named is the one to correct."""

    #: More defective units than units checked (``defective_units``).
    DEFECTIVE_OVER_UNITS = "defective_units"
    #: Fewer defects than defective units: each defective unit has one defect at least (``defects``).
    DEFECTS_UNDER_DEFECTIVE = "defects"
    #: Defects found but no defective unit (``defective_units``).
    NO_DEFECTIVE_UNIT = "no_defective_unit"


TALLY_MESSAGES = {
    TallyProblem.DEFECTIVE_OVER_UNITS: _l("More defective units than units checked."),
    TallyProblem.DEFECTS_UNDER_DEFECTIVE: _l("Fewer defects than defective units: each has one defect at least."),
    TallyProblem.NO_DEFECTIVE_UNIT: _l("Defects were found: how many units had them?"),
}


def tally_problems(tally: Tally) -> dict[str, str]:
    """What makes ``tally`` impossible, under the field of a check at fault (``defective_units`` or ``defects``);
    empty when its counts can be."""
    problem = tally_problem(tally)
    if problem is None:
        return {}
    field = "defects" if problem is TallyProblem.DEFECTS_UNDER_DEFECTIVE else "defective_units"
    return {field: str(TALLY_MESSAGES[problem])}


def tally_problem(tally: Tally) -> TallyProblem | None:
    """What makes ``tally`` impossible, or None when its counts can be."""
    if tally.defective > tally.units:
        return TallyProblem.DEFECTIVE_OVER_UNITS
    if tally.defects < tally.defective:
        return TallyProblem.DEFECTS_UNDER_DEFECTIVE
    if tally.defects and not tally.defective:
        return TallyProblem.NO_DEFECTIVE_UNIT
    return None
