"""A style's measurement spec, and the measurements of a final inspection read against it.

The rules:
- a quality manager sets a style's spec whole (its unit, its sizes in order, and its points of measure, each with
  its tolerances and a target for every size), with a reason; the change is kept in the style's spec history
  (``records`` type ``measurement_spec``, the grid before and after), and the inspections recorded before keep the
  targets and tolerances they were judged against;
- a spec's sizes are distinct, so are its points, and each point has a target for each size and for no other;
- a final inspection's measurements are read against the spec of its batch's style
  (:func:`judged_measurements`): each names a point and a size of the spec, once per garment, and a garment
  numbered within the units inspected; the judging itself is :mod:`capa.inspections.measurements`.

:func:`set_measurement_spec` raises ValidationError naming ``sizes`` (a size twice), ``points[i].point`` (a point
twice) and ``points[i].targets`` (not one target per size).
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas.lookup import invalid
from capa.common.errors import NotFound
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.commands import MeasuredPoint, MeasurementSpecChange
from capa.inspections.measurements import (
    JudgedReading,
    MeasureUnit,
    PointSpec,
    Reading,
    grid_text,
    judge,
    shown,
)
from capa.inspections.models import MeasurementPoint, MeasurementSpec
from capa.masterdata.models import Style

#: The record type of a style's spec history.
HISTORY = "measurement_spec"


@dataclass(frozen=True)
class StyleSpec:
    """A style's measurement spec as the pages, the API and the judging read it."""

    unit: MeasureUnit
    sizes: list[str]
    points: list[PointSpec]

    @property
    def by_point(self) -> dict[str, PointSpec]:
        return {point.point: point for point in self.points}

    @property
    def grid(self) -> str:
        """The spec as a tab-separated grid (what a spreadsheet pastes, and what the spec form reads)."""
        return grid_text(self.sizes, self.points)


def _spec(stored: MeasurementSpec) -> StyleSpec:
    return StyleSpec(
        MeasureUnit(stored.unit),
        list(stored.sizes),
        [
            PointSpec(
                p.point,
                p.description,
                p.tol_minus,
                p.tol_plus,
                {size: Decimal(p.targets[size]) for size in stored.sizes},
            )
            for p in stored.points
        ],
    )


def spec_of(style: Style) -> StyleSpec | None:
    """``style``'s measurement spec, or None when it has none (two statements)."""
    stored = db.session.scalar(
        select(MeasurementSpec)
        .where(MeasurementSpec.style_id == style.id)
        .options(selectinload(MeasurementSpec.points))
    )
    return _spec(stored) if stored is not None else None


def get_spec(style: Style) -> StyleSpec:
    """``style``'s measurement spec; raises NotFound naming ``style`` when it has none."""
    spec = spec_of(style)
    if spec is None:
        raise NotFound(str(_l("Style %(code)s has no measurement spec.", code=style.code)), fields={"style": "no_spec"})
    return spec


def _history_text(spec: StyleSpec | None) -> str:
    return f"{spec.unit.value}\n{spec.grid}" if spec is not None else ""


def set_measurement_spec(style: Style, command: MeasurementSpecChange, actor: User) -> StyleSpec:
    """Replace ``style``'s measurement spec (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    sizes = list(command.sizes)
    if len(set(sizes)) < len(sizes):
        problems["sizes"] = str(_l("A size is given twice."))
    seen: set[str] = set()
    for index, point in enumerate(command.points):
        if point.point in seen:
            problems[f"points[{index}].point"] = str(_l("Point %(point)s is given twice.", point=point.point))
        seen.add(point.point)
        if "sizes" not in problems and set(point.targets) != set(sizes):
            problems[f"points[{index}].targets"] = str(
                _l("Give a target for each size of the spec: %(sizes)s.", sizes=", ".join(sizes))
            )
    if problems:
        raise invalid(problems)
    before = spec_of(style)
    with unit_of_work() as session:
        stored = session.get(MeasurementSpec, style.id)
        if stored is None:
            stored = MeasurementSpec(style=style)
            session.add(stored)
        stored.unit, stored.sizes = command.unit.value, sizes
        stored.points.clear()
        session.flush()  # the old points go before the new ones take their codes
        for position, point in enumerate(command.points):
            stored.points.append(
                MeasurementPoint(
                    position=position,
                    point=point.point,
                    description=point.description or "",
                    tol_minus=point.tol_minus,
                    tol_plus=point.tol_plus,
                    targets={size: shown(point.targets[size]) for size in sizes},
                    style_id=style.id,
                )
            )
        after = _spec(stored)
        records.note_changes(
            HISTORY, style, actor, {"spec": (_history_text(before), _history_text(after))}, command.reason
        )
    return after


def judged_measurements(
    measured: list[MeasuredPoint], style: Style | None, units_inspected: int | None, problems: dict[str, str]
) -> tuple[StyleSpec | None, list[JudgedReading]]:
    """The inspection's measurements judged against ``style``'s spec, adding to ``problems`` what is wrong with
    them: ``measurements`` (the style has no spec, or more garments measured than units inspected; a garment is
    its size and its number within that size), ``measurements[i].point`` or ``.size`` (not in the spec, or
    measured twice on a garment), ``measurements[i].garment`` (beyond the units inspected)."""
    if not measured or style is None:
        return None, []
    spec = spec_of(style)
    if spec is None:
        problems["measurements"] = str(
            _l("Style %(code)s has no measurement spec: set it on the style's page first.", code=style.code)
        )
        return None, []
    points = spec.by_point
    seen: set[tuple[int, str, str]] = set()
    readings: list[Reading] = []
    for index, entry in enumerate(measured):
        where = f"measurements[{index}]"
        if entry.point not in points:
            problems[f"{where}.point"] = str(
                _l("Style %(code)s has no point %(point)s.", code=style.code, point=entry.point)
            )
        elif entry.size not in spec.sizes:
            problems[f"{where}.size"] = str(
                _l("Style %(code)s has no size %(size)s.", code=style.code, size=entry.size)
            )
        elif (entry.garment, entry.size, entry.point) in seen:
            problems[f"{where}.point"] = str(_l("Measured twice on the same garment."))
        elif units_inspected is not None and entry.garment > units_inspected:
            problems[f"{where}.garment"] = str(_l("Beyond the %(n)d units inspected.", n=units_inspected))
        else:
            seen.add((entry.garment, entry.size, entry.point))
            readings.append(Reading(entry.garment, entry.size, entry.point, entry.value))
    garments = {(reading.size, reading.garment) for reading in readings}
    if units_inspected is not None and len(garments) > units_inspected:
        problems["measurements"] = str(
            _l(
                "%(n)d garments measured, more than the %(units)d units inspected.",
                n=len(garments),
                units=units_inspected,
            )
        )
    return spec, judge(points, readings)
