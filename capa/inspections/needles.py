"""Needle and metal control: the needle log of each line, the metal detectors checked with their test piece at the
start of each shift, and the garments that set a detector off.

The rules:
- a broken needle is logged with its line, when it broke (now unless given; its shift follows, as for every floor
  record: :mod:`capa.inspections.shifts`), the operator, the machine, and whether every fragment was found. When
  a fragment is missing, the bundle being sewn must be named (it is isolated and passed through a metal
  detector), and a critical safety NC is raised in the same unit of work: source inline, defect type
  ``needle_or_metal_found``, on the line and on the batch when one is named. The bundle's pass is recorded on the
  log once (:func:`record_bundle_pass`): through a detector in use then (its latest check made by then passed),
  not before the needle broke, clean or setting the detector off;
- a metal detector is one of the plant's (``CAPA_METAL_DETECTORS``); it is checked at the start of each shift
  with a test piece, and a check whose test piece did not set it off fails: the detector is out of use until a
  later check passes. The control board shows each detector's state and whether it was checked in the shift;
- garments that set a detector off are isolated: a critical safety NC is raised with them in the same unit of
  work (source end of line, ``needle_or_metal_found``, on the line that made them); with their batch named, that
  many garments of it are held, to be released only by the quality manager's dispositions. Anyone who files NCs
  records them: isolating a garment that may hold metal does not wait for a manager.

:func:`log_needle_break` raises ValidationError naming ``line``, ``batch`` (unknown), ``bundle`` (missing while a
fragment is missing) and ``broken_at`` (later than now); :func:`record_detector_check` ``detector`` (not one of
the plant's) and ``checked_at``; :func:`record_metal_detection` ``detector``, ``line``, ``batch`` and
``detected_at``; :func:`record_bundle_pass` ``detector`` (not the plant's, or out of use) and ``checked_at``
(later than now, or before the needle broke), and Conflict naming ``bundle`` when no bundle was isolated or its
pass was recorded already.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.history import Journal
from capa.capas.lookup import invalid
from capa.capas.models import Hold, NonConformance, Severity, Source
from capa.common.commands import parse
from capa.common.errors import Conflict, NotFound
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections import shifts
from capa.inspections.commands import (
    BundlePassReport,
    DetectorCheckReport,
    MetalDetectionReport,
    NeedleBreakReport,
    NeedleLogFilters,
)
from capa.inspections.models import DetectorCheck, MetalDetection, NeedleBreak
from capa.masterdata.models import Batch, ProductionLine
from capa.masterdata.service import find_batch, find_line

#: The defect type of the NCs needle and metal control raises (seeded: capa.capas.defect_types).
NEEDLE_DEFECT_TYPE = "needle_or_metal_found"
LIST_LIMIT = 200


def _detectors_of(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    if len(set(codes)) != len(codes):
        raise ValueError("CAPA_METAL_DETECTORS names a detector twice")
    return codes


def check_settings(config: Mapping[str, Any]) -> None:
    """Raise ValueError when ``CAPA_METAL_DETECTORS`` cannot be read: the app does not start on it."""
    _detectors_of(config["CAPA_METAL_DETECTORS"])


def detectors() -> tuple[str, ...]:
    """The plant's metal detectors (``CAPA_METAL_DETECTORS``), in the order the setting names them."""
    return _detectors_of(current_app.config["CAPA_METAL_DETECTORS"])


def _check_detector(code: str, problems: dict[str, str]) -> None:
    if code not in detectors():
        problems["detector"] = str(
            _l("No metal detector %(code)s: the detectors are %(codes)s.", code=code, codes=", ".join(detectors()))
        )


def _line_and_batch(line_code: str, batch_number: str | None, problems: dict[str, str]):
    line = find_line(line_code)
    if line is None:
        problems["line"] = str(_l("No line %(code)s.", code=line_code))
    batch = find_batch(batch_number) if batch_number else None
    if batch_number and batch is None:
        problems["batch"] = str(_l("No batch %(number)s.", number=batch_number))
    return line, batch


def _safety_nc(
    title: str, description: str, source: Source, line: ProductionLine, batch: Batch | None, quantity: int | None
) -> FileNC:
    values: dict[str, Any] = {
        "title": title,
        "description": description,
        "defect_type": NEEDLE_DEFECT_TYPE,
        "source": source.value,
        "line": line.code,
        "severity": Severity.CRITICAL.value,
        "quantity_affected": quantity,
    }
    if batch is not None:
        values["batch"] = batch.number
    return parse(FileNC, values)


# The needle log ----------------------------------------------------------------------------------------------------


def log_needle_break(command: NeedleBreakReport, actor: User) -> NeedleBreak:
    """Log a broken needle; a missing fragment raises its NC with it (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    line, batch = _line_and_batch(command.line, command.batch, problems)
    if not command.all_fragments_found and not command.bundle:
        problems["bundle"] = str(_l("A fragment is missing: name the bundle isolated for the metal detector."))
    placed = shifts.place(command.broken_at, "broken_at", problems)
    if problems:
        raise invalid(problems)
    record = NeedleBreak(
        line=line,
        broken_at=placed.at,
        shift=placed.shift.name,
        shift_day=placed.day,
        operator=command.operator,
        machine=command.machine or "",
        all_fragments_found=command.all_fragments_found,
        bundle=command.bundle or "",
        batch=batch,
        note=command.note or "",
        recorded_by=actor,
    )
    if command.all_fragments_found:
        with unit_of_work() as session:
            session.add(record)
        return record
    filed = _safety_nc(
        str(_l("Broken needle on %(line)s: a fragment is missing", line=line.code)),
        str(
            _l(
                "A needle broke at %(operator)s's machine %(machine)s and not every fragment was found. Bundle "
                "%(bundle)s is isolated and passed through the metal detector.",
                operator=command.operator,
                machine=command.machine or "—",
                bundle=command.bundle,
            )
        )
        + (f"\n{command.note}" if command.note else ""),
        Source.INLINE,
        line,
        batch,
        None,
    )

    def log_it(nc: NonConformance, journal: Journal) -> None:
        record.nc = nc
        db.session.add(record)

    filing.file_nc(filed, actor, also=log_it)
    return record


def get_needle_break(break_id: int) -> NeedleBreak:
    """The broken needle ``break_id``; raises NotFound naming ``needle_break``."""
    found = db.session.get(NeedleBreak, break_id) if 0 < break_id < 2**31 else None
    if found is None:
        raise NotFound(str(_l("No broken needle %(id)s.", id=break_id)), fields={"needle_break": "unknown"})
    return found


def record_bundle_pass(needle_break: NeedleBreak, command: BundlePassReport, actor: User) -> NeedleBreak:
    """Record the pass of the bundle a missing fragment isolated through a metal detector (the module's rules;
    the errors it names)."""
    if needle_break.all_fragments_found:
        raise Conflict(
            str(_l("Every fragment of this needle was found: no bundle was isolated.")),
            fields={"bundle": str(_l("No bundle was isolated."))},
        )
    if needle_break.bundle_clean is not None:
        raise Conflict(
            str(_l("The pass of bundle %(bundle)s was recorded already.", bundle=needle_break.bundle)),
            fields={"bundle": str(_l("Recorded already."))},
        )
    problems: dict[str, str] = {}
    _check_detector(command.detector, problems)
    placed = shifts.place(command.checked_at, "checked_at", problems)
    if placed is not None and placed.at < needle_break.broken_at:
        problems["checked_at"] = str(_l("Before the needle broke."))
    if "detector" not in problems and placed is not None and not _in_use(command.detector, placed.at):
        problems["detector"] = str(
            _l("%(code)s is out of use until a check with its test piece passes.", code=command.detector)
        )
    if problems:
        raise invalid(problems)
    with unit_of_work() as session:
        # Only while none is recorded: of two sends at the same moment, the second changes nothing.
        recorded = session.execute(
            update(NeedleBreak)
            .where(NeedleBreak.id == needle_break.id, NeedleBreak.bundle_clean.is_(None))
            .values(
                bundle_detector=command.detector,
                bundle_clean=command.clean,
                bundle_checked_at=placed.at,
                bundle_checked_by_id=actor.id,
                bundle_note=command.note or "",
            )
        )
        if recorded.rowcount != 1:
            raise Conflict(
                str(_l("The pass of bundle %(bundle)s was recorded already.", bundle=needle_break.bundle)),
                fields={"bundle": str(_l("Recorded already."))},
            )
    session.refresh(needle_break)
    return needle_break


def _in_use(detector: str, moment) -> bool:
    """The detector was in use at ``moment``: its latest check made by then passed (its test piece set it off)."""
    latest = db.session.scalar(
        select(DetectorCheck.detected)
        .where(DetectorCheck.detector == detector, DetectorCheck.checked_at <= moment)
        .order_by(DetectorCheck.checked_at.desc(), DetectorCheck.id.desc())
        .limit(1)
    )
    return bool(latest)


# Metal detectors ---------------------------------------------------------------------------------------------------


def record_detector_check(command: DetectorCheckReport, actor: User) -> DetectorCheck:
    """Record a detector's check with its test piece (the module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    _check_detector(command.detector, problems)
    placed = shifts.place(command.checked_at, "checked_at", problems)
    if problems:
        raise invalid(problems)
    check = DetectorCheck(
        detector=command.detector,
        checked_at=placed.at,
        shift=placed.shift.name,
        shift_day=placed.day,
        test_piece=command.test_piece,
        detected=command.detected,
        note=command.note or "",
        checked_by=actor,
    )
    with unit_of_work() as session:
        session.add(check)
    return check


def record_metal_detection(command: MetalDetectionReport, actor: User) -> MetalDetection:
    """Record garments that set a detector off: isolated, held with their batch, and an NC raised (the module's
    rules; the errors it names)."""
    problems: dict[str, str] = {}
    _check_detector(command.detector, problems)
    line, batch = _line_and_batch(command.line, command.batch, problems)
    placed = shifts.place(command.detected_at, "detected_at", problems)
    if problems:
        raise invalid(problems)
    record = MetalDetection(
        detector=command.detector,
        line=line,
        detected_at=placed.at,
        shift=placed.shift.name,
        shift_day=placed.day,
        batch=batch,
        bundle=command.bundle or "",
        garments=command.garments,
        note=command.note or "",
        recorded_by=actor,
    )
    filed = _safety_nc(
        str(_l("Metal detected in %(garments)d garments from %(line)s", garments=command.garments, line=line.code)),
        str(
            _l(
                "Metal detector %(detector)s was set off by %(garments)d garments (bundle %(bundle)s); they are "
                "isolated.",
                detector=command.detector,
                garments=command.garments,
                bundle=command.bundle or "—",
            )
        )
        + (f"\n{command.note}" if command.note else ""),
        Source.END_OF_LINE,
        line,
        batch,
        command.garments,
    )

    def isolate(nc: NonConformance, journal: Journal) -> None:
        record.nc = nc
        db.session.add(record)
        if batch is not None:
            nc.holds.append(Hold(batch=batch, held_by=actor, quantity=command.garments))
            journal.record("hold", new=batch.number, note=str(_l("Garments set off the metal detector.")))

    filing.file_nc(filed, actor, also=isolate)
    return record


# Reading -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectorState:
    """A detector on the control board: its checks in the shift, and its latest check of all."""

    detector: str
    checks: list[DetectorCheck]
    latest: DetectorCheck | None

    @property
    def in_use(self) -> bool:
        """Usable: its latest check passed."""
        return self.latest is not None and self.latest.detected

    @property
    def checked_this_shift(self) -> bool:
        return bool(self.checks)


def detector_states(shift: str, day: date) -> list[DetectorState]:
    """Each of the plant's detectors with its checks in the shift named ``shift`` of ``day`` and its latest check."""
    codes = detectors()
    in_shift = db.session.scalars(
        select(DetectorCheck)
        .options(selectinload(DetectorCheck.checked_by))
        .where(DetectorCheck.shift_day == day, DetectorCheck.shift == shift, DetectorCheck.detector.in_(codes))
        .order_by(DetectorCheck.checked_at, DetectorCheck.id)
    ).all()
    newest = (
        select(DetectorCheck.detector, func.max(DetectorCheck.id).label("id"))
        .where(DetectorCheck.detector.in_(codes))
        .group_by(DetectorCheck.detector)
        .subquery()
    )
    latest = {
        check.detector: check
        for check in db.session.scalars(select(DetectorCheck).join(newest, newest.c.id == DetectorCheck.id))
    }
    return [
        DetectorState(code, [check for check in in_shift if check.detector == code], latest.get(code)) for code in codes
    ]


def _filtered(model, moment, filters: NeedleLogFilters, limit: int | None):
    query = select(model).order_by(moment.desc(), model.id.desc()).limit(limit)
    if filters.line:
        query = query.join(ProductionLine, ProductionLine.id == model.line_id).where(
            ProductionLine.code == filters.line
        )
    if filters.day:
        query = query.where(model.shift_day == filters.day)
    if filters.shift:
        query = query.where(model.shift == filters.shift)
    return query


def list_needle_breaks(filters: NeedleLogFilters, limit: int | None = LIST_LIMIT) -> list[NeedleBreak]:
    """Broken needles matching ``filters``, latest first (200 at most unless ``limit`` says otherwise; None: all)."""
    query = _filtered(NeedleBreak, NeedleBreak.broken_at, filters, limit).options(
        selectinload(NeedleBreak.line),
        selectinload(NeedleBreak.batch),
        selectinload(NeedleBreak.recorded_by),
        selectinload(NeedleBreak.nc),
        selectinload(NeedleBreak.bundle_checked_by),
    )
    return list(db.session.scalars(query))


def list_metal_detections(filters: NeedleLogFilters, limit: int | None = LIST_LIMIT) -> list[MetalDetection]:
    """Metal detections matching ``filters``, latest first (200 at most unless ``limit`` says otherwise)."""
    query = _filtered(MetalDetection, MetalDetection.detected_at, filters, limit).options(
        selectinload(MetalDetection.line),
        selectinload(MetalDetection.batch),
        selectinload(MetalDetection.recorded_by),
        selectinload(MetalDetection.nc),
    )
    return list(db.session.scalars(query))


def list_detector_checks(filters: NeedleLogFilters, limit: int | None = LIST_LIMIT) -> list[DetectorCheck]:
    """Detector checks of the day and shift given, latest first (200 at most unless ``limit`` says otherwise);
    ``line`` does not apply."""
    query = (
        select(DetectorCheck)
        .options(selectinload(DetectorCheck.checked_by))
        .order_by(DetectorCheck.checked_at.desc(), DetectorCheck.id.desc())
        .limit(limit)
    )
    if filters.day:
        query = query.where(DetectorCheck.shift_day == filters.day)
    if filters.shift:
        query = query.where(DetectorCheck.shift == filters.shift)
    return list(db.session.scalars(query))
