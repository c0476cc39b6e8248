"""How values are written for their reader: a record's name in the reader's language, dates and moments as
the reader's language writes them (moments in the plant's time). Used by pages, exports and mails alike."""

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from flask_babel import get_locale

from capa.common.clock import plant_zone


def local_name(record: Any) -> str:
    """A named record (a safety parameter, a defect type, or one as a stored summary keeps it: a mapping) in the
    reader's language: its Chinese name (``name_zh``) on Chinese pages when it has one, else its name."""
    locale = get_locale()
    if isinstance(record, Mapping):
        chinese = record.get("name_zh", "") if locale is not None and locale.language == "zh" else ""
        return chinese or record["name"]
    chinese = getattr(record, "name_zh", "") if locale is not None and locale.language == "zh" else ""
    return chinese or record.name


def _reader_locale() -> Any:
    return get_locale() or "en"


@lru_cache(maxsize=4096)
def _written_date(day: date, locale: str) -> str:
    # A page writes the same few days again and again (a history of hundreds of entries): each is formatted once.
    return format_date(day, "medium", locale=locale)


def local_moment(moment: datetime | None) -> str:
    """A stored UTC moment in the plant's time, to the minute, written as the reader's language writes it
    (``Mar 5, 2026 14:30``, ``2026年3月5日 14:30``); empty for none."""
    return moment_writer()(moment)


def moment_writer() -> Callable[[datetime | None], str]:
    """:func:`local_moment` with the plant's zone and the reader's language looked up once, for a page that
    writes hundreds of moments (an NC's history)."""
    zone, locale = plant_zone(), str(_reader_locale())

    def write(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return f"{_written_date(local.date(), locale)} {local:%H:%M}"

    return write


def local_date(day: date | str | None) -> str:
    """A calendar date as the reader's language writes it (``Mar 5, 2026``, ``2026年3月5日``); empty for none."""
    if day is None or day == "":
        return ""
    if isinstance(day, str):  # a date kept as text in a stored summary
        day = date.fromisoformat(day)
    return _written_date(day, str(_reader_locale()))
