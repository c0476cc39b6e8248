"""Filing a non-conformance and editing what it says.

The rules:
- numbers are NC-<year>-<5 digits>, per year of the report in plant time, unique and without gaps;
- linked safety parameters default from the defect type (those with a limit for the NC's category); an NC
  linked to a safety parameter on a category A style (or category A given without a style) is
  safety-critical;
- a new NC of the same defect type on the same style, or on material of the same supplier, as a CAPA closed
  within RECURRENCE_WINDOW before it is a recurrence of that CAPA (the latest such);
- only quality managers and administrators may back-date a report (``reported_at``);
- a supervisor edits only the NCs they reported; the linked parameters change only until the root cause is
  submitted, since the retests and the closing gates rest on them.
"""

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from capa.accounts.models import Role, User
from capa.capas.history import Journal, changing
from capa.capas.lookup import find_defect_type, find_parameters, invalid
from capa.capas.models import (
    DefectType,
    NonConformance,
    NumberCounter,
    Severity,
    Source,
)
from capa.capas.photos import Upload, add_photos, check_photos, photo_limit_bytes
from capa.capas.states import State, Step
from capa.common.clock import plant_zone
from capa.common.errors import PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.common.validation import (
    Choice,
    Code,
    Integer,
    Moment,
    Schema,
    Strings,
    Text,
)
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch

RECURRENCE_WINDOW = timedelta(days=90)


FILE_SCHEMA = Schema(
    title=Text(200),
    description=Text(4000, required=False),
    defect_type=Text(40, lower=True),
    source=Choice([s.value for s in Source]),
    line=Code(),
    style=Code(required=False),
    batch=Code(64, required=False),
    category=Choice(["A", "B", "C"], required=False),
    severity=Choice([s.value for s in Severity], required=False, default=Severity.MAJOR.value),
    quantity_affected=Integer(required=False, maximum=10_000_000),
    parameters=Strings(Code(40)),
    reported_at=Moment(plant_zone, required=False),
)


def _next_number(year: int) -> tuple[int, str]:
    """Take the next number of ``year`` inside the caller's transaction. The counter row's lock (PostgreSQL)
    or the database write lock (SQLite) makes concurrent filers wait for each other, so numbers are unique;
    a failed filing rolls its number back, so there are no gaps."""
    session = db.session
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(dialect_insert(NumberCounter).values(year=year, last=0).on_conflict_do_nothing())
    sequence = session.execute(
        update(NumberCounter)
        .where(NumberCounter.year == year)
        .values(last=NumberCounter.last + 1)
        .returning(NumberCounter.last)
    ).scalar_one()
    return sequence, f"NC-{year}-{sequence:05d}"


def _suppliers_of(batch: Batch | None) -> set[int]:
    return {lot.supplier_id for lot in batch.lots} if batch is not None else set()


def find_recurrence(
    defect_type: DefectType, style_id: int | None, batch: Batch | None, reported_at: datetime
) -> NonConformance | None:
    """The latest CAPA closed within RECURRENCE_WINDOW before ``reported_at`` with the same defect type on
    the same style or on material of one of the same suppliers."""
    candidates = db.session.scalars(
        select(NonConformance)
        .where(
            NonConformance.defect_type_id == defect_type.id,
            NonConformance.status == State.CLOSED,
            NonConformance.closed_at >= reported_at - RECURRENCE_WINDOW,
            NonConformance.closed_at <= reported_at,
        )
        .options(selectinload(NonConformance.batch).selectinload(Batch.lots))
        .order_by(NonConformance.closed_at.desc())
    )
    suppliers = _suppliers_of(batch)
    for candidate in candidates:
        if style_id is not None and candidate.style_id == style_id:
            return candidate
        if suppliers & _suppliers_of(candidate.batch):
            return candidate
    return None


def file_nc(data: Any, actor: User, photos: list[Upload] | tuple = ()) -> NonConformance:
    """File a non-conformance from ``data`` (see FILE_SCHEMA); it starts ``reported``.

    Raises ValidationError naming each bad field (an unknown defect type, line, style, batch or parameter;
    a batch of another style), and PermissionDenied when someone other than a quality manager or an
    administrator back-dates it with ``reported_at``.
    """
    values, errors = FILE_SCHEMA.check(data)
    if photos:
        try:
            check_photos(list(photos), 0, photo_limit_bytes())
        except ValidationError as exc:
            errors.update(exc.fields)
    if values["reported_at"] is not None and actor.role not in (Role.QUALITY_MANAGER, Role.ADMIN):
        raise PermissionDenied(
            str(_l("Only quality managers and administrators may enter a report time.")),
            fields={"reported_at": str(_l("Not allowed for your role."))},
        )
    # References are looked up even when other fields are wrong, so that every problem shows in one round.
    defect_type = find_defect_type(values["defect_type"]) if values["defect_type"] else None
    if values["defect_type"] and (defect_type is None or not defect_type.active):
        errors["defect_type"] = str(_l("No defect type %(code)s.", code=values["defect_type"]))
    line = masterdata.find_line(values["line"]) if values["line"] else None
    if values["line"] and line is None:
        errors["line"] = str(_l("No line %(value)s.", value=values["line"]))
    style = masterdata.find_style(values["style"]) if values["style"] else None
    if values["style"] and style is None:
        errors["style"] = str(_l("No style %(value)s.", value=values["style"]))
    batch = masterdata.find_batch(values["batch"]) if values["batch"] else None
    if values["batch"] and batch is None:
        errors["batch"] = str(_l("No batch %(value)s.", value=values["batch"]))
    if batch is not None and style is not None and batch.style_id != style.id:
        errors["batch"] = str(_l("Batch %(batch)s is of style %(style)s.", batch=batch.number, style=batch.style.code))
    if batch is not None and style is None and not values["style"]:
        style = batch.style
    category = style.category if style is not None else values["category"]
    try:
        if values["parameters"] is not None:
            parameters = find_parameters(values["parameters"], "parameters", category=category)
        else:
            # The defect type's usual parameters, those that have a limit for this NC's category.
            usual = list(defect_type.parameters if defect_type is not None else [])
            parameters = [p for p in usual if category is None or p.limit_for(category) is not None]
    except ValidationError as exc:
        errors.update(exc.fields)
        parameters = []
    if errors:
        raise invalid(errors)

    reported_at = values["reported_at"] or utcnow()
    recurrence_of = find_recurrence(defect_type, style.id if style else None, batch, reported_at)
    with unit_of_work() as session:
        year = reported_at.astimezone(plant_zone()).year
        sequence, number = _next_number(year)
        nc = NonConformance(
            number=number,
            year=year,
            sequence=sequence,
            status=State.REPORTED.value,
            version=1,
            title=values["title"],
            description=values["description"] or "",
            defect_type=defect_type,
            source=values["source"],
            severity=values["severity"],
            line=line,
            style=style,
            batch=batch,
            category=None if style is not None else values["category"],
            quantity_affected=values["quantity_affected"],
            parameters=parameters,
            safety_critical=bool(parameters) and category == "A",
            recurrence_of=recurrence_of,
            reported_by=actor,
            reported_at=reported_at,
        )
        session.add(nc)
        journal = Journal(nc, actor)
        journal.record("filed", new=number, note=values["title"])
        if recurrence_of is not None:
            journal.record(
                "recurrence",
                new=recurrence_of.number,
                note=str(
                    _l(
                        "Same defect type as %(number)s, closed %(date)s.",
                        number=recurrence_of.number,
                        date=recurrence_of.closed_at.astimezone(plant_zone()).date().isoformat(),
                    )
                ),
            )
            # A note on the closed CAPA, not a change to it: its content and version stay as they were.
            Journal(recurrence_of, actor).record("recurred", new=number, note=values["title"])
    if photos:
        add_photos(nc, list(photos), actor)
    return nc


# Editing ---------------------------------------------------------------------------------------------------

EDIT_SCHEMA = Schema(
    title=Text(200),
    description=Text(4000, required=False),
    severity=Choice([s.value for s in Severity]),
    quantity_affected=Integer(required=False, maximum=10_000_000),
    parameters=Strings(Code(40)),
    version=Integer(required=False, minimum=1),
)


def edit_nc(nc: NonConformance, data: Any, actor: User) -> NonConformance:
    """Change the description fields and linked parameters of an open NC (only the fields given).

    A supervisor may edit only the NCs they reported. Raises StaleVersion when ``version`` is not the current
    one, so a second save never overwrites the first.
    """
    if actor.role == Role.SUPERVISOR and nc.reported_by_id != actor.id:
        raise PermissionDenied(str(_l("Supervisors edit only the non-conformances they reported.")))
    values = EDIT_SCHEMA.validate(data, partial=True)
    if values.get("parameters") is not None and nc.status not in (State.REPORTED, State.INVESTIGATION):
        # Once a root cause is submitted, the retests and the closing gates rest on these parameters.
        raise invalid(
            {"parameters": str(_l("The linked parameters can change only until the root cause is submitted."))}
        )
    parameters = (
        find_parameters(values["parameters"], "parameters", category=nc.effective_category)
        if values.get("parameters") is not None
        else None
    )
    with changing(nc, actor, Step.EDIT, version=values.get("version")) as journal:
        for field in ("title", "description", "severity", "quantity_affected"):
            if field in values:
                journal.set(field, values[field] if field != "description" else values[field] or "")
        if parameters is not None:
            old = [p.code for p in nc.parameters]
            if old != sorted(p.code for p in parameters):
                nc.parameters = parameters
                journal.record("field", field="parameters", old=old, new=sorted(p.code for p in parameters))
            journal.set("safety_critical", bool(nc.parameters) and nc.effective_category == "A")
    return nc
