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
  submitted, since the retests and the closing gates rest on them; after that a quality manager corrects
  them, with a reason (see :func:`edit_nc`);
- a filing may carry an idempotency key (the filing page's, a phone's offline outbox's, an API client's
  ``Idempotency-Key``) so that a filing sent twice files one NC: see :func:`file_nc_once`.
"""

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from capa.accounts.models import Role, User
from capa.capas import policy
from capa.capas.commands import FILING_KEY_MESSAGE, FILING_KEY_PATTERN, EditNC, FileNC
from capa.capas.errors import IdempotencyKeyReused
from capa.capas.history import Journal, changes_since, changing, entry_text
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
from capa.common.errors import Conflict, PermissionDenied
from capa.common.transaction import unit_of_work
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, batch_lots

RECURRENCE_WINDOW = timedelta(days=90)
#: What a filing does besides filing, in its unit of work (see :func:`file_nc`).
Also = Callable[[NonConformance, Journal], None]


def take_numbers(year: int, count: int = 1) -> int:
    """Take the next ``count`` numbers of ``year`` inside the caller's transaction; answers the first sequence.
    The counter row's lock (PostgreSQL) or the database write lock (SQLite) makes concurrent filers (and an
    import) wait for each other until the caller commits, so numbers are unique; a failed filing rolls its
    numbers back, so there are no gaps."""
    session = db.session
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(dialect_insert(NumberCounter).values(year=year, last=0).on_conflict_do_nothing())
    last = session.execute(
        update(NumberCounter)
        .where(NumberCounter.year == year)
        .values(last=NumberCounter.last + count)
        .returning(NumberCounter.last)
    ).scalar_one()
    return last - count + 1


def nc_number(year: int, sequence: int) -> str:
    """NC-2026-00042: the year of the report (plant time) and its sequence within it."""
    return f"NC-{year}-{sequence:05d}"


def _next_number(year: int) -> tuple[int, str]:
    """Take the next number of ``year`` (:func:`take_numbers`): its sequence and the number."""
    sequence = take_numbers(year)
    return sequence, nc_number(year, sequence)


def same_source(style_id: int | None, batch_id: int | None):
    """The SQL condition that an NC (``NonConformance`` in the enclosing query) is on the style ``style_id`` or on
    material of one of the suppliers of the batch ``batch_id``: with the same defect type, what makes one NC a
    recurrence of another. A batch's suppliers are those of its material lots: an NC without a batch, or on a
    batch without lots, shares no supplier with another."""
    mine, theirs = batch_lots.alias("mine"), batch_lots.alias("theirs")
    my_lot, their_lot = aliased(MaterialLot), aliased(MaterialLot)
    shares_a_supplier = (
        select(mine.c.lot_id)
        .join(my_lot, my_lot.id == mine.c.lot_id)
        .join(their_lot, their_lot.supplier_id == my_lot.supplier_id)
        .join(theirs, theirs.c.lot_id == their_lot.id)
        .where(mine.c.batch_id == batch_id, theirs.c.batch_id == NonConformance.batch_id)
        .exists()
    )
    return or_(
        false(),
        *([NonConformance.style_id == style_id] if style_id is not None else []),
        *([shares_a_supplier] if batch_id is not None else []),
    )


def find_recurrence(
    defect_type: DefectType, style_id: int | None, batch: Batch | None, reported_at: datetime
) -> NonConformance | None:
    """The latest CAPA closed within RECURRENCE_WINDOW before ``reported_at`` with the same defect type on
    the same style or on material of one of the same suppliers (:func:`same_source`): one query, served by the
    index on (defect type, closing time), whatever the number of CAPAs closed."""
    return db.session.scalar(
        select(NonConformance)
        .where(
            NonConformance.defect_type_id == defect_type.id,
            NonConformance.closed_at >= reported_at - RECURRENCE_WINDOW,
            NonConformance.closed_at <= reported_at,
            NonConformance.status == State.CLOSED,
            same_source(style_id, batch.id if batch is not None else None),
        )
        .order_by(NonConformance.closed_at.desc(), NonConformance.id.desc())
        .limit(1)
    )


def file_nc(command: FileNC, actor: User, *, also: Also | None = None) -> NonConformance:
    """File a non-conformance, with its photos; it starts ``reported``.

    ``also``, when given, is called with the new NC and its journal inside the filing's unit of work, after
    the NC is numbered: what it adds (a link, holds) is stored with the NC, and what it raises files nothing.

    The NC and its photos are stored in one unit of work: a photo that cannot be stored (the disk full) files
    nothing, so that the same filing may be sent again whole.

    Raises ValidationError naming each bad field (an unknown defect type, line, style, batch or parameter;
    a batch of another style), PermissionDenied when someone other than a quality manager or an
    administrator back-dates it with ``reported_at``, and StorageRefused (503) naming ``photos``.
    """
    with unit_of_work():
        return _with_photos(_record(command, actor, also=also, own_unit=False), command, actor)


def file_nc_within(command: FileNC, actor: User, *, also: Also | None = None) -> NonConformance:
    """File a non-conformance (without photos) inside the caller's unit of work, for a step that files one as
    part of itself (an effectiveness review's follow-up, :mod:`capa.capas.effectiveness`): numbered, recorded
    and checked for recurrence as :func:`file_nc` does, and stored or rolled back with the caller's change.
    Raises what :func:`file_nc` raises."""
    return _record(command, actor, also=also, own_unit=False)


def _with_photos(nc: NonConformance, command: FileNC, actor: User) -> NonConformance:
    if command.photos:
        add_photos(nc, command.photos, actor)
    return nc


def _record(
    command: FileNC,
    actor: User,
    filing_key: str | None = None,
    fingerprint: str | None = None,
    *,
    also: Also | None = None,
    own_unit: bool = True,
) -> NonConformance:
    """Check and store the NC (without its photos) in one unit of work (the caller's, unless ``own_unit``),
    under ``filing_key`` if given; raises what :func:`file_nc` raises, and Conflict when the reporter's key is
    taken meanwhile."""
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
    with unit_of_work() if own_unit else nullcontext(db.session) as session:
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
            filing_key=filing_key,
            filing_fingerprint=fingerprint,
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
        if also is not None:
            also(nc, journal)
    return nc


# Filing once per idempotency key ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    """What a filing sent with an idempotency key came to."""

    nc: NonConformance
    #: The key had filed ``nc`` already: this filing filed nothing.
    replayed: bool = False


def new_filing_key() -> str:
    """A fresh idempotency key, for one filing form as it is rendered."""
    return uuid.uuid4().hex


def check_filing_key(key: str) -> str:
    """``key`` without surrounding white space (HTTP drops it anyway); raises ValidationError naming
    ``idempotency_key`` unless it is 1 to 64 printable ASCII characters."""
    stripped = key.strip() if isinstance(key, str) else ""
    if not re.fullmatch(FILING_KEY_PATTERN, stripped):
        raise invalid({"idempotency_key": str(FILING_KEY_MESSAGE)})
    return stripped


def filing_fingerprint(command: FileNC) -> str:
    """SHA-256 of what ``command`` files: its fields as parsed (so ``b-1`` and ``B-1`` are one batch) and the
    name and content of each photo, in order."""
    content = {
        "fields": command.model_dump(mode="json", exclude={"photos"}),
        "photos": [[photo.filename, hashlib.sha256(photo.data).hexdigest()] for photo in command.photos],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def file_nc_once(command: FileNC, actor: User, idempotency_key: str | None) -> Filed:
    """File ``command`` at most once per idempotency key of ``actor``; without a key, as :func:`file_nc`.

    The rule: the first filing with a key files the NC and keeps the key with a fingerprint of what it filed.
    The same user sending the same key with the same content again files nothing and gets that NC back
    (``replayed``); with other content it is refused, since that is another filing under a reused key. Each
    user's keys are their own. A refused filing keeps no key, so the corrected one may be sent under the same
    key. Two filings racing with one key are decided by the unique (reporter, key) constraint: the one that
    loses rolls back (its number too, so numbers stay gapless) and answers as a resend of the winner.

    Raises ValidationError naming ``idempotency_key`` when the key is not 1 to 64 printable ASCII characters,
    IdempotencyKeyReused (409) when the key filed an NC with other content, and what :func:`file_nc` raises.
    """
    if idempotency_key is None:
        return Filed(file_nc(command, actor))
    key = check_filing_key(idempotency_key)
    fingerprint = filing_fingerprint(command)
    earlier = filed_with(actor, key)
    if earlier is not None:
        return _resent(earlier, fingerprint)
    try:
        # The NC with its photos, or nothing: a key never files an NC without the photos sent with it.
        with unit_of_work():
            nc = _with_photos(_record(command, actor, key, fingerprint, own_unit=False), command, actor)
    except Conflict:
        earlier = filed_with(actor, key)
        if earlier is None:
            raise  # another uniqueness race, not this key's
        return _resent(earlier, fingerprint)
    return Filed(nc)


def filed_with(actor: User, key: str) -> NonConformance | None:
    """The NC ``actor`` filed with the idempotency key ``key``, if any."""
    return db.session.scalar(
        select(NonConformance).where(NonConformance.reported_by_id == actor.id, NonConformance.filing_key == key)
    )


def _resent(earlier: NonConformance, fingerprint: str) -> Filed:
    if earlier.filing_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            str(
                _l(
                    "This key already filed %(number)s, with other content; nothing was filed. "
                    "To file another non-conformance, send it with a new key.",
                    number=earlier.number,
                )
            ),
            fields={"idempotency_key": str(_l("Already used for %(number)s.", number=earlier.number))},
            number=earlier.number,
        )
    return Filed(earlier, replayed=True)


# Editing ---------------------------------------------------------------------------------------------------


#: The fields of what an NC says that an edit changes, beside its linked parameters.
EDITED_FIELDS = ("title", "description", "severity", "quantity_affected")


def edit_nc(nc: NonConformance, command: EditNC, actor: User) -> NonConformance:
    """Change the description fields and linked parameters of an open NC (only the fields given).

    The rules:
    - a supervisor may edit only the NCs they reported, and change the linked parameters only until the first
      root cause is submitted, since the retests and the closing gates rest on them (ValidationError naming
      ``parameters``);
    - a quality manager may correct the linked parameters at any open state (Step.CORRECT_PARAMETERS), with a
      ``reason`` once a root cause has been submitted (ValidationError naming ``reason``); the change and its
      reason are kept in the history, safety-critical is worked out again as at filing, and the results
      recorded so far stay;
    - only what differs from the NC as it stands is changed. A save made on an older ``version`` changes the
      fields the person changed; a field someone changed since and that the save sends as the person saw it
      keeps the other person's value. The save is refused (StaleVersion, naming the other person's changes)
      only when another person changed one of the same fields since (:mod:`capa.capas.history`).
    """
    policy.check(actor, Step.EDIT, nc)
    values = command.given()
    version = values.get("version")
    wanted = {
        field: (values[field] or "") if field == "description" else values[field]
        for field in EDITED_FIELDS
        if field in values
    }
    parameters = (
        find_parameters(values["parameters"], "parameters", category=nc.effective_category)
        if values.get("parameters") is not None
        else None
    )
    old_codes = [p.code for p in nc.parameters]
    new_codes = sorted(p.code for p in parameters) if parameters is not None else old_codes
    changed = {field for field, value in wanted.items() if getattr(nc, field) != value}
    if new_codes != old_codes:
        changed.add("parameters")
    if changed and version is not None and version < nc.version:
        # What the person saw of a field changed since is the old value of its first change since.
        seen: dict[str, str] = {}
        for event in changes_since(nc, version):
            if event.kind == "field" and event.field in changed:
                seen.setdefault(event.field, event.old)
        sent = {**{field: entry_text(value) for field, value in wanted.items()}, "parameters": entry_text(new_codes)}
        changed -= {field for field, old in seen.items() if sent[field] == old}
    reason = values.get("reason")
    if "parameters" in changed:
        _check_parameters_change(nc, actor, reason)
    with changing(nc, actor, Step.EDIT, version=version, touches=frozenset(changed)) as journal:
        for field in EDITED_FIELDS:
            if field in changed:
                journal.set(field, wanted[field])
        if "parameters" in changed:
            nc.parameters = parameters
            journal.record("field", field="parameters", old=old_codes, new=new_codes, note=reason or "")
            journal.set("safety_critical", bool(parameters) and nc.effective_category == "A")
    return nc


def _check_parameters_change(nc: NonConformance, actor: User, reason: str | None) -> None:
    """Refuse a change of the linked parameters that ``actor`` may not make now (see :func:`edit_nc`)."""
    if policy.can(actor, Step.CORRECT_PARAMETERS, nc):
        if nc.analyses and not reason:
            raise invalid(
                {
                    "reason": str(
                        _l(
                            "Say why the linked parameters change: a root cause was submitted on them, and the "
                            "retests and the closing rest on them."
                        )
                    )
                }
            )
        return
    if nc.analyses or nc.status not in (State.REPORTED, State.INVESTIGATION):
        # Once a root cause is submitted, the retests and the closing gates rest on these parameters.
        raise invalid(
            {
                "parameters": str(
                    _l(
                        "The linked parameters can change only until the root cause is submitted; "
                        "a quality manager may correct them with a reason."
                    )
                )
            }
        )
