"""The floor record that raised an NC, for the NC's page to link back to: a final or fabric inspection, a shift
over its DHU alert level, a broken needle whose fragment was not all found, or a metal detection. Read in one
statement, whatever raised it (an NC filed by hand has none)."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import Date, Integer, String, cast, literal, null, select, union_all

from capa.capas.models import NonConformance
from capa.extensions import db
from capa.inspections.models import (
    FabricInspection,
    Inspection,
    MetalDetection,
    NeedleBreak,
    ShiftAlertNC,
)


class OriginKind(StrEnum):
    FINAL_INSPECTION = "final_inspection"
    FABRIC_INSPECTION = "fabric_inspection"
    SHIFT_ALERT = "shift_alert"
    NEEDLE_BREAK = "needle_break"
    METAL_DETECTION = "metal_detection"


@dataclass(frozen=True)
class Origin:
    """What raised an NC: its kind, the record's id (none for a shift alert), and the plant day and shift of a
    shift alert, a needle break or a metal detection."""

    kind: OriginKind
    record_id: int | None = None
    line_id: int | None = None
    day: date | None = None
    shift: str | None = None


def _by_id(kind: OriginKind, model, nc_id: int, *, in_shift: bool = False):
    """The record of ``model`` that raised the NC; with its plant day and shift for a floor record that has them
    (a needle break, a metal detection: the control board shows a shift)."""
    return select(
        literal(kind.value, String).label("kind"),
        cast(model.id, Integer).label("record_id"),
        cast(null(), Integer).label("line_id"),
        model.shift_day.label("day") if in_shift else cast(null(), Date).label("day"),
        model.shift.label("shift") if in_shift else cast(null(), String).label("shift"),
    ).where(model.nc_id == nc_id)


def origin_of(nc: NonConformance) -> Origin | None:
    """The record that raised ``nc``, or None for an NC filed by hand (one statement)."""
    shift = select(
        literal(OriginKind.SHIFT_ALERT.value, String).label("kind"),
        cast(null(), Integer).label("record_id"),
        ShiftAlertNC.line_id.label("line_id"),
        ShiftAlertNC.shift_day.label("day"),
        ShiftAlertNC.shift.label("shift"),
    ).where(ShiftAlertNC.nc_id == nc.id)
    found = db.session.execute(
        union_all(
            _by_id(OriginKind.FINAL_INSPECTION, Inspection, nc.id),
            _by_id(OriginKind.FABRIC_INSPECTION, FabricInspection, nc.id),
            shift,
            _by_id(OriginKind.NEEDLE_BREAK, NeedleBreak, nc.id, in_shift=True),
            _by_id(OriginKind.METAL_DETECTION, MetalDetection, nc.id, in_shift=True),
        ).limit(1)
    ).first()
    if found is None:
        return None
    return Origin(OriginKind(found.kind), found.record_id, found.line_id, found.day, found.shift)
