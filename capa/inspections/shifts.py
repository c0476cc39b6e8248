"""The plant's shifts (``CAPA_SHIFTS``, read by :mod:`capa.inspections.dhu`) as the floor's records use them: the
shift running now, one chosen by day and name, and the shift a record made at some moment counts in.

The rule for a record's moment: now unless given; never later than now, but a phone's clock running up to
:data:`CLOCK_SKEW` ahead is taken as now. :func:`chosen_shift` raises ValidationError naming ``shift`` (no such
shift, or a day given without it) or ``day`` (a shift given without it).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l

from capa.capas.lookup import invalid
from capa.common.clock import plant_time, plant_zone
from capa.common.types import utcnow
from capa.inspections.dhu import Shift, parse_shifts, shift_at, shift_window

#: A phone's clock runs a little ahead of the server's: a record this far "in the future" is taken as made now.
CLOCK_SKEW = timedelta(minutes=5)


@cache
def _shifts_of(text: str) -> tuple[Shift, ...]:
    return parse_shifts(text)


def check_settings(config) -> None:
    """Raise ShiftsMalformed when ``CAPA_SHIFTS`` cannot be read: the app does not start on it."""
    _shifts_of(config["CAPA_SHIFTS"])


def shifts() -> tuple[Shift, ...]:
    """The plant's shifts, in the order of their starts."""
    return _shifts_of(current_app.config["CAPA_SHIFTS"])


def shift_named(name: str) -> Shift | None:
    return next((shift for shift in shifts() if shift.name == name), None)


def current_shift() -> tuple[Shift, date]:
    """The shift running now, and the plant day it started on."""
    return shift_at(plant_time(utcnow()), shifts())


def chosen_shift(day: date | None, name: str | None) -> tuple[Shift, date]:
    """The shift ``name`` of ``day``, or the current one when neither is given (the errors: see the module)."""
    if day is None and name is None:
        return current_shift()
    names = ", ".join(shift.name for shift in shifts())
    if name is None:
        raise invalid({"shift": str(_l("Give the shift with the day: %(names)s.", names=names))})
    shift = shift_named(name)
    if shift is None:
        raise invalid({"shift": str(_l("No shift %(name)s: the shifts are %(names)s.", name=name, names=names))})
    if day is None:
        raise invalid({"day": str(_l("Give the day the shift started on with the shift."))})
    return shift, day


def window(shift: Shift, day: date) -> tuple[datetime, datetime]:
    """When ``shift`` of ``day`` starts and ends, in plant time."""
    return shift_window(shift, day, plant_zone())


@dataclass(frozen=True)
class Placed:
    """When a record was made, and the shift (and the day it started) it counts in."""

    at: datetime
    shift: Shift
    day: date


def place(moment: datetime | None, field: str, problems: dict[str, str]) -> Placed | None:
    """Where a record made at ``moment`` (now when None) counts; None, with the problem under ``field``, when the
    moment is later than now."""
    now = utcnow()
    moment = moment or now
    if moment > now + CLOCK_SKEW:
        problems[field] = str(_l("Cannot be in the future."))
        return None
    moment = min(moment, now)
    shift, day = shift_at(plant_time(moment), shifts())
    return Placed(moment, shift, day)
