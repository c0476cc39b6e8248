"""The plant's calendar: dates a person means are dates in the plant's time zone (CAPA_TIMEZONE)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from capa.common.types import utcnow


def plant_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CAPA_TIMEZONE"])


def plant_today() -> date:
    return utcnow().astimezone(plant_zone()).date()


def plant_time(moment: datetime) -> datetime:
    return moment.astimezone(plant_zone())
