"""The history of master data and accounts: who created or changed a line, a supplier, a batch, a lot, a user or
a defect type, when, from what to what, and why.

The rules:
- every creation and every change is appended as a :class:`~capa.audit.models.RecordChange` in the unit of work
  of the change itself (the caller's: nothing is committed here), so a refused change leaves no entry and a
  stored change always has one;
- a creation is one entry of kind ``created`` whose ``new`` sums the record up (:func:`summary`); each changed
  field is one entry of kind ``field`` with its old and new value as text (:func:`text_of`); a field given with
  the value it already has records nothing;
- other events are entries of their own kind (``lots``: lots added to a batch; ``password``; ``token_issued``,
  ``token_revoked``), never with a value that must stay secret;
- the reason given for a change is kept with each of its entries;
- entries are never edited or deleted: each record's entries form a hash chain (:mod:`capa.audit.chain`).

Other histories (a style's :class:`StyleChange`, a parameter's limit changes) keep their own tables; pages and
the API show them through the same :class:`Entry`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.audit import chain
from capa.audit.models import RecordChange
from capa.extensions import db

#: The kinds of record whose history is kept in RecordChange.
RECORD_TYPES = (
    "line",
    "supplier",
    "buyer",
    "batch",
    "lot",
    "user",
    "defect_type",
    "defect_code",
    "style_aqls",
    "buyer_aqls",
    "style_fabric",
    "measurement_spec",
    "document",
)


def text_of(value: Any) -> str:
    """A value as the history writes it: a list joined with commas, true/false as ``yes``/``no``, an enum as its
    value, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(text_of(item) for item in value)
    return str(value)


def summary(values: Mapping[str, Any]) -> str:
    """What a new record holds, for its ``created`` entry: ``name: Snap Co; approval: approved`` (fields with no
    value left out)."""
    return "; ".join(f"{name}: {text_of(value)}" for name, value in values.items() if text_of(value) != "")


def _record_id(record: Any) -> int:
    if record.id is None:
        # A record created in this unit of work gets its id when flushed.
        db.session.flush()
    return record.id


def _append(record_type: str, record: Any, actor: Any, kind: str, **values: str) -> RecordChange:
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown record type {record_type!r}")
    entry = RecordChange(
        record_type=record_type,
        record_id=_record_id(record),
        actor_id=getattr(actor, "id", None),
        kind=kind,
        **values,
    )
    db.session.add(entry)
    return entry


def note_created(record_type: str, record: Any, actor: Any, values: Mapping[str, Any]) -> RecordChange:
    """Record that ``actor`` (None: the system, the command line) created ``record`` holding ``values``."""
    return _append(record_type, record, actor, "created", new=summary(values))


def note_saved(
    record_type: str, record: Any, actor: Any, before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> None:
    """Record a save of ``record``: its creation holding ``after`` (``before`` None), or each field whose value
    differs between ``before`` and ``after``."""
    if before is None:
        note_created(record_type, record, actor, after)
    else:
        note_changes(record_type, record, actor, {name: (before[name], after[name]) for name in after})


def note_changes(
    record_type: str, record: Any, actor: Any, changes: Mapping[str, tuple[Any, Any]], reason: str | None = None
) -> list[RecordChange]:
    """Record each changed field of ``changes`` (name -> (old, new)) with the ``reason`` given; a field whose
    old and new text are the same records nothing. Returns the entries added."""
    entries = []
    for name, (old, new) in changes.items():
        old_text, new_text = text_of(old), text_of(new)
        if old_text != new_text:
            entries.append(
                _append(
                    record_type, record, actor, "field", field=name, old=old_text, new=new_text, reason=reason or ""
                )
            )
    return entries


def note_event(
    record_type: str,
    record: Any,
    actor: Any,
    kind: str,
    *,
    field: str = "",
    old: Any = "",
    new: Any = "",
    reason: str | None = None,
) -> RecordChange:
    """Record an event of ``kind`` on ``record`` other than a creation or a field change (lots added to a
    batch, a new password)."""
    return _append(
        record_type, record, actor, kind, field=field, old=text_of(old), new=text_of(new), reason=reason or ""
    )


def set_changed(record: Any, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set ``values`` on ``record`` and return those that changed, name -> (old, new)."""
    changed = {}
    for name, value in values.items():
        old = getattr(record, name)
        if old != value:
            changed[name] = (old, value)
            setattr(record, name, value)
    return changed


# Reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of a record's history as pages and the API show it, whatever table it is kept in: when, who
    (None: the system or the shipped catalog), what kind of change, the field, old and new as text, why, and
    what else the change did (the results a style change judged again)."""

    at: datetime
    actor: Any
    kind: str
    field: str = ""
    old: str = ""
    new: str = ""
    reason: str = ""
    details: tuple[Any, ...] = ()


def changes_of(record_type: str, record_ids: Iterable[int]) -> list[RecordChange]:
    """The RecordChange entries of some records of one type, newest first, their actors loaded with them."""
    return list(
        db.session.scalars(
            select(RecordChange)
            .where(RecordChange.record_type == record_type, RecordChange.record_id.in_(list(record_ids)))
            .options(selectinload(RecordChange.actor))
            .order_by(RecordChange.at.desc(), RecordChange.id.desc())
        )
    )


def _entry(change: RecordChange) -> Entry:
    return Entry(
        at=change.at,
        actor=change.actor,
        kind=change.kind,
        field=change.field,
        old=change.old,
        new=change.new,
        reason=change.reason,
    )


def history_of(record_type: str, record_id: int) -> list[Entry]:
    """The history of one line, supplier, batch, lot, user or defect type, newest first (one query for the
    entries, one for their actors)."""
    return [_entry(change) for change in changes_of(record_type, [record_id])]


def histories_of(record_type: str, record_ids: Iterable[int]) -> dict[int, list[Entry]]:
    """The history of each of some records of one type (the lots of a batch), newest first, in two queries
    whatever their number; a record without entries has an empty list."""
    record_ids = list(record_ids)
    found: dict[int, list[Entry]] = {record_id: [] for record_id in record_ids}
    if record_ids:
        for change in changes_of(record_type, record_ids):
            found[change.record_id].append(_entry(change))
    return found


def tampering(record_type: str, *record_ids: int) -> chain.Break | None:
    """The first entry of these records' histories that is not as the app wrote it, or None."""
    return chain.first_break(*((RecordChange, (record_type, record_id)) for record_id in record_ids))


def newest_first(*histories: Iterable[Entry]) -> list[Entry]:
    """Several histories of one record as one, newest first (entries of one moment keep their order)."""
    merged = [entry for history in histories for entry in history]
    return sorted(merged, key=lambda entry: entry.at, reverse=True)


__all__ = [
    "RECORD_TYPES",
    "Entry",
    "changes_of",
    "histories_of",
    "history_of",
    "newest_first",
    "note_changes",
    "note_created",
    "note_event",
    "note_saved",
    "set_changed",
    "summary",
    "tampering",
    "text_of",
]
