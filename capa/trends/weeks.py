"""ISO weeks in the plant's time zone: Monday 00:00 to the next Monday 00:00, plant time.

A week is named ``2026-W47``. Its bounds are computed in the plant's zone and converted to UTC, so a week
is exact whatever the zone's offset, including a change of daylight-saving time inside it.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")


class InvalidWeek(ValueError):
    """Not a week name of the form 2026-W47, or no such week in that year."""


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Week":
        """``2026-W47`` → Week(2026, 47); raises InvalidWeek (also for W53 of a year without one)."""
        match = WEEK_PATTERN.fullmatch((text or "").strip().upper())
        if not match:
            raise InvalidWeek(f"{text!r} is not a week written like 2026-W47")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            raise InvalidWeek(f"{year} has no week {number}") from exc
        return cls(year, number)

    @classmethod
    def containing(cls, day: date) -> "Week":
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> "Week":
        return Week.containing(self.monday + timedelta(weeks=weeks))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the week as aware UTC datetimes."""
        start = datetime.combine(self.monday, time.min, zone)
        end = datetime.combine(self.monday + timedelta(days=7), time.min, zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def last_complete_week(now: datetime, zone: ZoneInfo) -> Week:
    """The latest week that has ended by ``now`` in the plant's zone."""
    return Week.containing(now.astimezone(zone).date()).shifted(-1)
