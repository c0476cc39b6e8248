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

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from capa.accounts.models import Role, User
from capa.capas import policy
from capa.capas.commands import EditNC, FileNC
from capa.capas.history import Journal, changing
from capa.capas.lookup import find_parameters, invalid
from capa.capas.models import (
    DefectType,
    NonConformance,
    NumberCounter,
)
from capa.capas.photos import add_photos
from capa.capas.references import resolve_filing
from capa.capas.states import State, Step
from capa.common.clock import plant_zone
from capa.common.errors import PermissionDenied
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import Batch

RECURRENCE_WINDOW = timedelta(days=90)


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


def file_nc(command: FileNC, actor: User) -> NonConformance:
    """File a non-conformance, with its photos; it starts ``reported``.

    Raises ValidationError naming each bad field (an unknown defect type, line, style, batch or parameter;
    a batch of another style), and PermissionDenied when someone other than a quality manager or an
    administrator back-dates it with ``reported_at``.
    """
    if command.reported_at is not None and actor.role not in (Role.QUALITY_MANAGER, Role.ADMIN):
        raise PermissionDenied(
            str(_l("Only quality managers and administrators may enter a report time.")),
            fields={"reported_at": str(_l("Not allowed for your role."))},
        )
    found = resolve_filing(command.model_dump(exclude={"photos"}))
    if found.problems:
        raise invalid(found.problems)
    defect_type, style, batch, category, parameters = (
        found.defect_type,
        found.style,
        found.batch,
        found.category,
        found.parameters,
    )
    reported_at = command.reported_at or utcnow()
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
            title=command.title,
            description=command.description or "",
            defect_type=defect_type,
            source=command.source,
            severity=command.severity,
            line=found.line,
            style=style,
            batch=batch,
            category=None if style is not None else command.category,
            quantity_affected=command.quantity_affected,
            parameters=parameters,
            safety_critical=bool(parameters) and category == "A",
            recurrence_of=recurrence_of,
            reported_by=actor,
            reported_at=reported_at,
        )
        session.add(nc)
        journal = Journal(nc, actor)
        journal.record("filed", new=number, note=command.title)
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
            Journal(recurrence_of, actor).record("recurred", new=number, note=command.title)
    if command.photos:
        add_photos(nc, command.photos, actor)
    return nc


# Editing ---------------------------------------------------------------------------------------------------


def edit_nc(nc: NonConformance, command: EditNC, actor: User) -> NonConformance:
    """Change the description fields and linked parameters of an open NC (only the fields given).

    A supervisor may edit only the NCs they reported. Raises StaleVersion when ``version`` is not the current
    one, so a second save never overwrites the first.
    """
    policy.check(actor, Step.EDIT, nc)
    values = command.given()
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
