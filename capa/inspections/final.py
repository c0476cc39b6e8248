"""Final inspection of a batch offered for shipment, by ISO 2859-1 sampling, and what a rejection sets off.

The rules:
- the plan of each class (major and minor, each at the AQL given, else the style's own, else 2.5 and 4.0:
  :mod:`capa.inspections.aqls`) is read for the lot size, level (II unless given) and severity (as the switching
  rules say, below) by :mod:`capa.inspections.sampling`;
  the units inspected are the largest of the two samples, or the whole lot when a sample is as large;
- the defects are counted by code, each counting in the class its code has (:mod:`capa.inspections.defects`);
  the verdict is :func:`capa.inspections.verdict.judge_lot`: any critical defect rejects, and so does any failed
  carton or packing check (on the cartons opened, no more than the lot has), else each class at or under its Ac;
- a rejected inspection raises an NC (source final audit, the batch, its style and line, severity critical when a
  critical defect was found and major otherwise, the defect type of the most serious code found that names one,
  or the one the command gives, or ``packing_error`` for a lot rejected for its packing alone) and puts the
  batch on hold, in the same unit of work as the inspection: all is stored or nothing. The hold leaves quarantine
  as every hold does, by the quality manager's dispositions (a passing re-inspection is the evidence proposed
  for a release: :func:`passing_reinspections`);
- garments measured against the spec of the batch's style (:mod:`capa.inspections.specs`) count, each one with
  a point out of tolerance, as one defect of the library's MEA-01; the readings are kept with the targets and
  tolerances they were judged against;
- the photos sent with an inspection are stored with it, and the NC a rejection raises gets its own copies of
  them (:mod:`capa.inspections.photos`);
- a re-inspection names the rejected inspection of the same batch it inspects again;
- the severity follows the switching rules of ISO 2859-1 (:mod:`capa.inspections.switching`) over the final
  inspections of the batch's line for the buyer of its style, oldest first (the continuing series of one buyer's
  lots from one line, each inspection keeping the buyer it was recorded for; the lots of styles without a buyer
  are the line's own series; re-inspections, being resubmitted lots, left out): an inspection under another
  severity is refused naming ``severity``, and while the series' inspection is discontinued every inspection of
  it is refused (Conflict naming ``batch``) until a quality manager resumes it (:func:`resume_inspection`). The
  line's row is locked while the series is read and the inspection stored, so that two inspections at once are
  judged one after the other. A lot counts for the switching score by its classes' plans:
  when a class has Ac 2 or more, 3 points if each such class would have passed at its AQL one step tighter,
  otherwise 2 points if the lot was accepted (reset to 0 when it does not earn them). Reduced inspection needs
  ``CAPA_REDUCED_INSPECTION_ALLOWED``.

:func:`record_final_inspection` raises ValidationError naming each bad field: ``batch`` (unknown),
``defects[i].code`` (unknown, retired, or given twice), ``packing.cartons_opened`` (more than the lot's cartons),
``reinspection_of`` (not a rejected inspection of this
batch), ``severity`` (not the one the switching rules put the line on), ``defect_type`` (a rejection whose codes
name none and the command gives none, or an unknown one), ``photos`` (more than MAX_PHOTOS, or not a photo:
checked as the command is parsed), ``measurements…`` (what :func:`capa.inspections.specs.judged_measurements`
names) and ``defects[i].code`` for MEA-01 tallied beside measurements, and what
:func:`capa.inspections.sampling.sampling_plan` raises; Conflict naming ``batch`` while the line's inspection is
discontinued.
"""

from collections import Counter
from collections.abc import Iterable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.history import Journal
from capa.capas.lookup import find_defect_type, invalid
from capa.capas.models import Hold, NonConformance, Severity, Source
from capa.capas.photos import CheckedPhoto, attach_photo
from capa.capas.raising import DESCRIPTION_LENGTH
from capa.common.clock import plant_time
from capa.common.commands import parse
from capa.common.errors import Conflict, NotFound
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.aqls import DEFAULT_AQLS, aqls_for
from capa.inspections.commands import NewFinalInspection
from capa.inspections.defects import found_codes
from capa.inspections.measurements import garments_out_of_tolerance
from capa.inspections.models import (
    DefectClass,
    DefectCode,
    Inspection,
    InspectionDefect,
    InspectionKind,
    InspectionMeasurement,
    InspectionPhoto,
    InspectionResumption,
    InspectionVerdict,
)
from capa.inspections.photos import photo_of
from capa.inspections.sampling import (
    Level,
    SamplingPlan,
    sampling_plan,
    tighter_accept_number,
)
from capa.inspections.sampling import Severity as Inspected
from capa.inspections.specs import judged_measurements
from capa.inspections.switching import SEVERITY_WORDS, LotOutcome, Resumed, SwitchingState, switching_state
from capa.inspections.verdict import Verdict, judge_lot
from capa.masterdata.models import Batch, Buyer, ProductionLine

#: The defect type of the NC of a lot rejected for its packing alone (seeded: capa.capas.defect_types).
PACKING_DEFECT_TYPE = "packing_error"
#: The library's code of a garment measured out of tolerance (seeded: capa.inspections.defects).
OUT_OF_TOLERANCE_CODE = "MEA-01"
#: The order in which found codes are looked at for the NC's defect type: the most serious first.
SERIOUSNESS = {DefectClass.CRITICAL: 0, DefectClass.MAJOR: 1, DefectClass.MINOR: 2}


def get_inspection(inspection_id: int) -> Inspection:
    """The inspection ``inspection_id`` with its defects; raises NotFound."""
    found = (
        db.session.scalar(
            select(Inspection)
            .where(Inspection.id == inspection_id)
            .options(
                selectinload(Inspection.defects).selectinload(InspectionDefect.defect_code),
                selectinload(Inspection.photos).selectinload(InspectionPhoto.uploaded_by),
                selectinload(Inspection.measurements),
            )
        )
        if 0 < inspection_id < 2**31
        else None
    )
    if found is None:
        raise NotFound(str(_l("No inspection %(id)s.", id=inspection_id)), fields={"inspection": "unknown"})
    return found


def passing_reinspections(nc: NonConformance) -> list[Inspection]:
    """The accepted re-inspections of the final inspection that raised ``nc`` (none for another NC), oldest first:
    the evidence a release of its batch may rest on, which the quality manager decides (one statement)."""
    raised = select(Inspection.id).where(Inspection.nc_id == nc.id).scalar_subquery()
    return list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.reinspection_of_id == raised, Inspection.verdict == InspectionVerdict.ACCEPTED.value)
            .order_by(Inspection.inspected_at, Inspection.id)
        )
    )


def reinspection_evidence(inspection: Inspection) -> str:
    """How a passing re-inspection reads as the evidence of a release."""
    return str(
        _l(
            "Final re-inspection %(id)d of %(batch)s on %(day)s accepted the lot: %(units)d units inspected, "
            "%(major)d major and %(minor)d minor defects found (Ac %(major_ac)d and %(minor_ac)d), none critical.",
            id=inspection.id,
            batch=inspection.batch.number,
            day=plant_time(inspection.inspected_at).date().isoformat(),
            units=inspection.units_inspected,
            major=inspection.major_found,
            minor=inspection.minor_found,
            major_ac=inspection.major_accept,
            minor_ac=inspection.minor_accept,
        )
    )


def _listed(batch: Batch | None, limit: int | None, *, measurements: bool = False):
    """Inspections, newest first, with their batches (style, line), inspectors, NCs, defects and photos read in
    the same go, and their measurements when asked for (a list page or an export shows only their count)."""
    query = (
        select(Inspection)
        .options(
            selectinload(Inspection.batch).selectinload(Batch.style),
            selectinload(Inspection.batch).selectinload(Batch.line),
            selectinload(Inspection.inspector),
            selectinload(Inspection.nc),
            selectinload(Inspection.defects).selectinload(InspectionDefect.defect_code),
            selectinload(Inspection.photos).selectinload(InspectionPhoto.uploaded_by),
        )
        .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
        .limit(limit)
    )
    if measurements:
        query = query.options(selectinload(Inspection.measurements))
    return query if batch is None else query.where(Inspection.batch_id == batch.id)


def list_inspections(batch: Batch | None = None, limit: int = 200, *, measurements: bool = False) -> list[Inspection]:
    """The latest ``limit`` inspections, newest first (of one batch, when given), with their measurements when
    asked for."""
    return list(db.session.scalars(_listed(batch, limit, measurements=measurements)))


def exported_inspections() -> Iterable[Inspection]:
    """Every inspection, newest first, read a chunk at a time (an export of years of them runs in constant
    memory)."""
    return db.session.scalars(_listed(None, None).execution_options(yield_per=500))


def _measured_code(command: NewFinalInspection, judged: list, problems: dict[str, str]) -> DefectCode | None:
    """The library's code the garments measured out of tolerance count as, when garments were measured; a tally
    of that code beside the measurements is refused (it would count them twice)."""
    if not judged:
        return None
    for index, entry in enumerate(command.defects):
        if entry.code == OUT_OF_TOLERANCE_CODE:
            problems[f"defects[{index}].code"] = str(
                _l("Counted from the measurements: leave %(code)s out of the tally.", code=OUT_OF_TOLERANCE_CODE)
            )
    code = db.session.scalar(select(DefectCode).where(DefectCode.code == OUT_OF_TOLERANCE_CODE))
    if code is None:
        problems["measurements"] = str(_l("The defect library has no code %(code)s.", code=OUT_OF_TOLERANCE_CODE))
    return code


def _nc_defect_type(command: NewFinalInspection, found: list[tuple[DefectCode, int]]) -> str | None:
    """The defect type of the NC a rejection raises: that of the most serious, then most frequent, code found
    that names one; else the command's."""
    ranked = sorted(found, key=lambda pair: (SERIOUSNESS[DefectClass(pair[0].defect_class)], -pair[1]))
    for code, _count in ranked:
        if code.defect_type is not None and code.defect_type.active:
            return code.defect_type.code
    return command.defect_type


def _lot_outcome(row) -> LotOutcome:
    """A stored inspection as the switching rules read it (see the module for the score)."""
    accepted = row.verdict == InspectionVerdict.ACCEPTED
    classes = [
        (row.aql_major, row.major_sample, row.major_accept, row.major_found),
        (row.aql_minor, row.minor_sample, row.minor_accept, row.minor_found),
    ]
    wide = [entry for entry in classes if entry[2] >= 2]
    tighter = accepted and all(found <= (tighter_accept_number(size, aql) or 0) for aql, size, _ac, found in wide)
    return LotOutcome(
        Inspected(row.severity),
        accepted=accepted,
        accept_number=max(entry[2] for entry in classes),
        accepted_one_step_tighter=bool(wide) and tighter,
        resubmitted=row.reinspection_of_id is not None,
    )


def _series_states(line: ProductionLine, buyer_ids: set[int | None] | None = None) -> dict[int | None, SwitchingState]:
    """Where the switching rules put each series of ``line``'s final inspections now, by buyer id (None: the lots
    of styles without a buyer), from its final inspections and its resumptions, oldest first: every series of the
    line, or those of ``buyer_ids``, in two statements whatever the number of series and lots. A series asked for
    without any lot starts on normal inspection."""
    inspected = (
        select(
            Inspection.buyer_id,
            Inspection.inspected_at,
            Inspection.id,
            Inspection.severity,
            Inspection.verdict,
            Inspection.reinspection_of_id,
            Inspection.aql_major,
            Inspection.major_sample,
            Inspection.major_accept,
            Inspection.major_found,
            Inspection.aql_minor,
            Inspection.minor_sample,
            Inspection.minor_accept,
            Inspection.minor_found,
        )
        .join(Batch, Batch.id == Inspection.batch_id)
        .where(Batch.line_id == line.id, Inspection.kind == InspectionKind.FINAL.value)
    )
    resumptions = select(InspectionResumption.buyer_id, InspectionResumption.resumed_at, InspectionResumption.id).where(
        InspectionResumption.line_id == line.id
    )
    if buyer_ids is not None:
        inspected = inspected.where(_of_buyers(Inspection.buyer_id, buyer_ids))
        resumptions = resumptions.where(_of_buyers(InspectionResumption.buyer_id, buyer_ids))
    events: dict[int | None, list] = {buyer_id: [] for buyer_id in buyer_ids or ()}
    for row in db.session.execute(inspected):
        events.setdefault(row.buyer_id, []).append(((row.inspected_at, 0, row.id), _lot_outcome(row)))
    for buyer_id, moment, key in db.session.execute(resumptions):
        events.setdefault(buyer_id, []).append(((moment, 1, key), Resumed()))
    allowed = bool(current_app.config["CAPA_REDUCED_INSPECTION_ALLOWED"])
    return {
        buyer_id: switching_state(
            (event for _, event in sorted(series, key=lambda event: event[0])), reduced_allowed=allowed
        )
        for buyer_id, series in events.items()
    }


def _of_buyers(column, buyer_ids: set[int | None]):
    """``column`` holds one of ``buyer_ids``, None among them meaning no buyer."""
    named = [buyer_id for buyer_id in buyer_ids if buyer_id is not None]
    conditions = ([column.in_(named)] if named else []) + ([column.is_(None)] if None in buyer_ids else [])
    return or_(*conditions)


def line_switching(line: ProductionLine, buyer: Buyer | None = None) -> SwitchingState:
    """Where the switching rules put the final inspection of ``buyer``'s lots on ``line`` now (of the lots of
    styles without a buyer when ``buyer`` is None): from those final inspections and the resumptions of that series,
    oldest first (two statements, whatever the number of lots)."""
    buyer_id = buyer.id if buyer is not None else None
    return _series_states(line, {buyer_id})[buyer_id]


def switching_series(line: ProductionLine) -> list[tuple[Buyer | None, SwitchingState]]:
    """Each series of ``line``'s final inspections (one per buyer, the lots of styles without a buyer first) with
    where the switching rules put it now; a line with no final inspection has the one series without a buyer
    (three statements, whatever the number of series)."""
    states = _series_states(line) or _series_states(line, {None})
    buyers = sorted(
        db.session.scalars(select(Buyer).where(Buyer.id.in_(set(states) - {None}))), key=lambda buyer: buyer.code
    )
    series: list[Buyer | None] = ([None] if None in states else []) + buyers
    return [(buyer, states[buyer.id if buyer is not None else None]) for buyer in series]


def batch_switching(batch: Batch) -> tuple[str, SwitchingState]:
    """The series a batch's lot belongs to (its line and its style's buyer), as messages name it, and where the
    switching rules put it now."""
    return series_name(batch.line, batch.style.buyer), line_switching(batch.line, batch.style.buyer)


def _lock_line(line_id: int) -> None:
    """Hold the line's row until the transaction ends, so that two final inspections (or a resumption) of one line
    at once are judged one after the other against the switching state the other left (PostgreSQL; SQLite
    writes one transaction at a time and has no row locks)."""
    db.session.execute(select(ProductionLine.id).where(ProductionLine.id == line_id).with_for_update())


def series_name(line: ProductionLine, buyer: Buyer | None) -> str:
    """A series of lots as messages name it: the line, and the buyer when it has one."""
    return line.code if buyer is None else f"{line.code} / {buyer.code}"


def resume_inspection(
    line: ProductionLine, reason: str, actor: User, buyer: Buyer | None = None
) -> InspectionResumption:
    """Resume the discontinued final inspection of ``buyer``'s lots on ``line`` (of styles without a buyer when
    None), tightened (ISO 2859-1, 9.4). Raises Conflict naming ``line`` when that series is not discontinued,
    ValidationError naming ``reason`` when none is given."""
    if not reason.strip():
        raise invalid({"reason": str(_l("Say what was corrected before inspection resumes."))})
    _lock_line(line.id)
    if not line_switching(line, buyer).discontinued:
        raise Conflict(
            str(_l("Final inspection of line %(line)s is not discontinued.", line=series_name(line, buyer))),
            fields={"line": str(_l("Not discontinued."))},
        )
    with unit_of_work() as session:
        resumption = InspectionResumption(line=line, buyer=buyer, reason=reason.strip(), resumed_by=actor)
        session.add(resumption)
    return resumption


def _check_switching(batch: Batch, severity: Inspected | None, problems: dict[str, str]) -> Inspected:
    """The severity the switching rules put the series of the batch (its line and its style's buyer) on; refuses
    another one, and any while that series' inspection is discontinued."""
    _lock_line(batch.line_id)
    series, state = batch_switching(batch)
    if state.discontinued:
        raise Conflict(
            str(
                _l(
                    "Final inspection of line %(line)s is discontinued: %(reason)s",
                    line=series,
                    reason=state.reason_text,
                )
            ),
            fields={"batch": str(_l("Its line's final inspection is discontinued."))},
        )
    if severity is not None and severity != state.severity:
        problems["severity"] = str(
            _l(
                "Line %(line)s is on %(severity)s: %(reason)s",
                line=series,
                severity=SEVERITY_WORDS[state.severity],
                reason=state.reason_text,
            )
        )
    return state.severity


def record_final_inspection(command: NewFinalInspection, actor: User) -> Inspection:
    """Record a final inspection of a batch and, when it rejects the lot, raise its NC and hold the batch (the
    module's rules; the errors it names)."""
    problems: dict[str, str] = {}
    batch = db.session.scalar(select(Batch).where(Batch.number == command.batch))
    if batch is None:
        problems["batch"] = str(_l("No batch %(number)s.", number=command.batch))
    codes = found_codes(command.defects, problems)
    earlier = None
    if command.reinspection_of is not None:
        earlier = db.session.get(Inspection, command.reinspection_of) if command.reinspection_of < 2**31 else None
        if earlier is None or batch is None or earlier.batch_id != batch.id or earlier.verdict != "rejected":
            problems["reinspection_of"] = str(_l("Not a rejected inspection of this batch."))
    if command.defect_type and find_defect_type(command.defect_type) is None:
        problems["defect_type"] = str(_l("No defect type %(code)s.", code=command.defect_type))
    packing = command.packing
    if packing is not None and packing.cartons_opened > packing.cartons_offered:
        problems["packing.cartons_opened"] = str(_l("More cartons opened than the lot has."))
    level = command.level or Level.II
    severity = command.severity or Inspected.NORMAL
    if batch is not None:
        severity = _check_switching(batch, command.severity, problems)
    settings = aqls_for(batch.style) if batch is not None else None
    aqls = {
        DefectClass.MAJOR: command.aql_major or (settings.major if settings else DEFAULT_AQLS[DefectClass.MAJOR]),
        DefectClass.MINOR: command.aql_minor or (settings.minor if settings else DEFAULT_AQLS[DefectClass.MINOR]),
    }
    plans = {cls: sampling_plan(command.lot_size, aql, level=level, severity=severity) for cls, aql in aqls.items()}
    units = max(plan.units_to_inspect for plan in plans.values())
    spec, judged = judged_measurements(command.measurements, batch.style if batch else None, units, problems)
    out_of_tolerance = garments_out_of_tolerance(judged)
    measured_code = _measured_code(command, judged, problems)
    if problems:
        raise invalid(problems)
    found = [(code, entry.count) for code, entry in zip(codes, command.defects, strict=True) if code is not None]
    if out_of_tolerance:
        found.append((measured_code, len(out_of_tolerance)))
    counts: Counter[DefectClass] = Counter()
    for code, count in found:
        counts[DefectClass(code.defect_class)] += count
    verdict = judge_lot(counts, plans, packing.failed if packing is not None else ())
    defect_type = None if verdict.accepted else _nc_defect_type(command, found)
    if defect_type is None and verdict.packing_failed and not verdict.failed_classes:
        # Rejected for its packing alone.
        defect_type = PACKING_DEFECT_TYPE
    if not verdict.accepted and defect_type is None:
        raise invalid(
            {"defect_type": str(_l("No defect code found names a defect type: choose the defect type of the NC."))}
        )
    with unit_of_work() as session:
        inspection = _inspection(command, batch, plans, verdict, counts, actor)
        inspection.reinspection_of = earlier
        for code, count in found:
            inspection.defects.append(InspectionDefect(defect_code=code, defect_class=code.defect_class, count=count))
        inspection.photos.extend(photo_of(photo, actor) for photo in command.photos)
        if judged:
            inspection.measure_unit = spec.unit.value
            inspection.garments_out_of_tolerance = len(out_of_tolerance)
            inspection.measurements.extend(
                InspectionMeasurement(
                    garment=j.reading.garment,
                    size=j.reading.size,
                    point=j.reading.point,
                    value=j.reading.value,
                    target=j.target,
                    tol_minus=j.minus,
                    tol_plus=j.plus,
                    within=j.within,
                )
                for j in judged
            )
        session.add(inspection)
        if not verdict.accepted:
            inspection.nc = _raise_nc(inspection, verdict, found, defect_type, command.photos, actor)
    return inspection


def _inspection(
    command: NewFinalInspection,
    batch: Batch,
    plans: dict[DefectClass, SamplingPlan],
    verdict: Verdict,
    counts: Counter,
    actor: User,
) -> Inspection:
    inspection = Inspection(
        kind=InspectionKind.FINAL.value,
        batch=batch,
        buyer_id=batch.style.buyer_id,
        severity=plans[DefectClass.MAJOR].severity.value,
        cartons_offered=command.packing.cartons_offered if command.packing else None,
        cartons_opened=command.packing.cartons_opened if command.packing else None,
        packing_failed=[check.value for check in verdict.packing_failed],
        note=command.note or "",
        inspector=actor,
    )
    inspection.record_plans(plans, counts, verdict.accepted)
    return inspection


def _clipped(text: str) -> str:
    """A description within what a filing takes: a sheet of many codes is cut, the inspection keeps them all."""
    return text if len(text) <= DESCRIPTION_LENGTH else text[: DESCRIPTION_LENGTH - 1] + "…"


def _raise_nc(
    inspection: Inspection,
    verdict: Verdict,
    found: list[tuple[DefectCode, int]],
    defect_type: str,
    photos: list[CheckedPhoto],
    actor: User,
) -> NonConformance:
    batch = inspection.batch
    listed = ", ".join(f"{code.code} {code.name}: {count}" for code, count in found)
    command = parse(
        FileNC,
        {
            "title": str(_l("Final inspection of %(batch)s rejected", batch=batch.number)),
            "description": _clipped(
                "\n".join(
                    [
                        verdict.reason,
                        str(
                            _l(
                                "Lot %(lot)d, %(units)d units inspected (code letter %(letter)s, %(severity)s).",
                                lot=inspection.lot_size,
                                units=inspection.units_inspected,
                                letter=inspection.code_letter,
                                severity=SEVERITY_WORDS[Inspected(inspection.severity)],
                            )
                        ),
                        *([str(_l("Defects found: %(listed)s.", listed=listed))] if listed else []),
                    ]
                )
            ),
            "defect_type": defect_type,
            "source": Source.FINAL_AUDIT.value,
            "line": batch.line.code,
            "style": batch.style.code,
            "batch": batch.number,
            "severity": (Severity.CRITICAL if inspection.critical_found else Severity.MAJOR).value,
            "quantity_affected": inspection.lot_size,
        },
    )

    def hold_batch_with_photos(nc: NonConformance, journal: Journal) -> None:
        nc.holds.append(Hold(batch=batch, held_by=actor, quantity=inspection.lot_size))
        journal.record("hold", new=batch.number, note=str(_l("Final inspection rejected the lot.")))
        for photo in photos:
            attach_photo(nc, photo, actor, journal)

    return filing.file_nc_within(command, actor, also=hold_batch_with_photos)
