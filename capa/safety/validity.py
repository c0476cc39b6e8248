"""How long a lab result counts: a report is valid for a number of months per parameter kind.

Rule: a result counts for coverage until ``valid_until`` (inclusive): its report's date (the test date for a
result entered without a report) plus the months set for its parameter's kind in
``CAPA_REPORT_VALIDITY_MONTHS`` (``chemical=12,physical=24``); a kind not listed, or no setting, is 12
months. A day past it, the result is expired: listed as "retest due", never counted as a pass.
"""

import calendar
from datetime import date

from flask import current_app

from capa.safety.models import LabResult, ParameterKind

DEFAULT_MONTHS = 12


class InvalidValiditySetting(ValueError):
    """CAPA_REPORT_VALIDITY_MONTHS cannot be read; the message names the part."""


def months_by_kind(setting: str) -> dict[str, int]:
    """``chemical=12, physical=24`` read; raises InvalidValiditySetting for an unknown kind or a bad number."""
    months: dict[str, int] = {}
    for part in (setting or "").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, number = part.partition("=")
        kind, number = kind.strip(), number.strip()
        if kind not in set(ParameterKind) or not number.isdigit() or not 1 <= int(number) <= 120:
            raise InvalidValiditySetting(f"CAPA_REPORT_VALIDITY_MONTHS: cannot read {part!r}")
        months[kind] = int(number)
    return months


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day kept where the month has it (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def validity_months(kind: str) -> int:
    return months_by_kind(current_app.config.get("CAPA_REPORT_VALIDITY_MONTHS", "")).get(kind, DEFAULT_MONTHS)


def issued_on(result: LabResult) -> date:
    """The day a result's validity runs from: its report's date, else its test date."""
    return result.report.report_date if result.report is not None else result.tested_at


def valid_until(result: LabResult) -> date:
    """The last day ``result`` counts for coverage."""
    return add_months(issued_on(result), validity_months(result.parameter.kind))


def is_expired(result: LabResult, today: date) -> bool:
    return today > valid_until(result)
