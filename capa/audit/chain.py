"""Hash chains over the history tables, so that a history entry changed, deleted or reordered in the database
outside the app is found.

The rule: every history entry belongs to one chain, the history of one record (``nc_events:12`` is the history of
the NC with id 12, ``record_changes:supplier:3`` that of supplier 3). Within its chain an entry has a position
(``chain_seq``: 1, 2, 3, … with no gap) and a hash (``chain_hash``): SHA-256 of the chain's name, the position,
the previous entry's hash (empty for the first) and the entry's recorded fields in a canonical form
(:func:`entry_hash`). Each chain's head (the last hash and the length) is kept in ``audit_chains``, so that the
last entry deleted is found too.

Entries are chained when they are written, in the same transaction (:func:`_chain_new_entries`, after each
flush): the chain's head row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time),
so two transactions appending to one chain are ordered by the lock, not by their ids. Two transactions starting
the same new chain at once collide on its name and the second is refused (409) to be tried again.

:func:`verify` recomputes every chain and names the first entry of each that does not match; it is what
``flask --app capa audit verify`` runs and what a record's page asks for its own chain (:func:`verify_chain`).

What the chain proves: that the history is as the app wrote it, unless whoever changed it also recomputed every
later hash and the head with this public rule. To make even that visible, the check prints a digest of all
heads (:func:`digest`) that can be kept outside the database (the weekly summary, an auditor's notes) and
compared later.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from capa.audit.models import AuditChain, Chained, chain_name_of
from capa.extensions import db


def canonical(value: Any) -> Any:
    """A recorded value as the hash reads it; the same value reads the same on SQLite and PostgreSQL."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    return value


def entry_hash(chain: str, seq: int, previous: str, values: dict[str, Any]) -> str:
    """The hash of one entry. This rule must never change: every stored hash was computed with it."""
    payload = json.dumps(
        {"chain": chain, "seq": seq, "previous": previous, "values": canonical(values)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chained_models() -> list[type]:
    """Every chained history table of the app, in a stable order."""
    found = [mapper.class_ for mapper in db.Model.registry.mappers if issubclass(mapper.class_, Chained)]
    return sorted(found, key=lambda model: model.__tablename__)


# Writing ---------------------------------------------------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _chain_new_entries(session: Session, _flush_context) -> None:
    """Give every entry the flush inserted its place and hash in its chain and move the chain's head."""
    entries = [item for item in session.new if isinstance(item, Chained)]
    if not entries:
        return
    by_chain: dict[str, list[Chained]] = {}
    for entry in sorted(entries, key=lambda item: (type(item).__tablename__, item.id)):
        by_chain.setdefault(entry.chain_name(), []).append(entry)
    connection = session.connection()
    heads = {
        row.name: row
        for row in connection.execute(
            select(AuditChain.name, AuditChain.head, AuditChain.length)
            .where(AuditChain.name.in_(sorted(by_chain)))
            .with_for_update()
        )
    }
    table = AuditChain.__table__
    for name, chain_entries in by_chain.items():
        head = heads.get(name)
        previous, length = (head.head, head.length) if head else ("", 0)
        updates = []
        for entry in chain_entries:
            length += 1
            previous = entry_hash(name, length, previous, entry.chain_values())
            set_committed_value(entry, "chain_seq", length)
            set_committed_value(entry, "chain_hash", previous)
            updates.append({"_id": entry.id, "chain_seq": length, "chain_hash": previous})
        entry_table = inspect(type(chain_entries[0])).local_table
        connection.execute(
            entry_table.update()
            .where(entry_table.c.id == db.bindparam("_id"))
            .values(chain_seq=db.bindparam("chain_seq"), chain_hash=db.bindparam("chain_hash")),
            updates,
        )
        if head:
            connection.execute(table.update().where(table.c.name == name).values(head=previous, length=length))
        else:
            connection.execute(table.insert().values(name=name, head=previous, length=length))


# Checking --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """Where a chain stops matching: the chain, the position (and row id) of the first entry that does not
    match, and what is wrong."""

    chain: str
    seq: int | None
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f" entry {self.seq} (id {self.entry_id})" if self.seq is not None else ""
        return f"{self.chain}{where}: {self.problem}"


def _check_entries(name: str, entries: Iterable[Chained], head: tuple[str, int] | None) -> Break | None:
    previous, expected = "", 0
    for entry in entries:
        expected += 1
        if entry.chain_seq != expected:
            problem = "an entry is missing before it" if (entry.chain_seq or 0) > expected else "out of order"
            return Break(name, entry.chain_seq, entry.id, problem)
        if entry.chain_hash != entry_hash(name, expected, previous, entry.chain_values()):
            return Break(name, expected, entry.id, "its content does not match its hash")
        previous = entry.chain_hash
    if head is None:
        return Break(name, None, None, "the chain has entries but no recorded head") if expected else None
    if head != (previous, expected):
        if expected < head[1]:
            return Break(name, expected + 1, None, "entries at the end are missing")
        return Break(name, None, None, "the recorded head does not match the last entry")
    return None


def verify_chain(model: type, key: Sequence[Any], loaded: Iterable[Chained] | None = None) -> Break | None:
    """Check one record's history (``verify_chain(Event, [nc.id])``): None when it matches, else the first
    entry that does not. ``loaded``: the record's entries when the caller has read them already (a page
    showing the history), so they are not read twice."""
    if loaded is not None:
        return verify_loaded((model, key, loaded))
    name = chain_name_of(model, key)
    where = [getattr(model, column) == value for column, value in zip(model.__chain_by__, key, strict=True)]
    entries = db.session.scalars(select(model).where(*where).order_by(model.chain_seq, model.id))
    head = db.session.execute(select(AuditChain.head, AuditChain.length).where(AuditChain.name == name)).first()
    return _check_entries(name, entries, tuple(head) if head else None)


def verify_loaded(*chains: tuple[type, Sequence[Any], Iterable[Chained]]) -> Break | None:
    """The first break among chains whose entries the caller has read (``verify_loaded((Event, [nc.id],
    nc.events), (Signature, [nc.id], nc.signatures))``), or None when each verifies; their recorded heads are
    read in one statement."""
    names = [chain_name_of(model, key) for model, key, _loaded in chains]
    heads = {
        name: (head, length)
        for name, head, length in db.session.execute(
            select(AuditChain.name, AuditChain.head, AuditChain.length).where(AuditChain.name.in_(names))
        )
    }
    for name, (_model, _key, loaded) in zip(names, chains, strict=True):
        entries = sorted(loaded, key=lambda entry: (entry.chain_seq or 0, entry.id))
        found = _check_entries(name, entries, heads.get(name))
        if found:
            return found
    return None


def first_break(*chains: tuple[type, Sequence[Any]]) -> Break | None:
    """The first break among some records' chains (``first_break((StyleChange, [style.id]), (PlanChange,
    [style.id]))``), or None when each verifies: what a record's page warns of."""
    for model, key in chains:
        found = verify_chain(model, key)
        if found:
            return found
    return None


def _entries_by_chain(model: type) -> Iterator[tuple[str, list[Chained]]]:
    """Every chain of one table, one at a time, reading the table once in chain order."""
    columns = [getattr(model, column) for column in model.__chain_by__]
    query = select(model).order_by(*columns, model.chain_seq, model.id).execution_options(yield_per=2000)
    current: str | None = None
    batch: list[Chained] = []
    for entry in db.session.scalars(query):
        name = entry.chain_name()
        if name != current:
            if current is not None:
                yield current, batch
            current, batch = name, []
        batch.append(entry)
    if current is not None:
        yield current, batch


def verify() -> list[Break]:
    """Check every chain of every history table and every recorded head; the first break of each chain that
    does not match, in a stable order (an empty list: every history is as the app wrote it)."""
    heads = {row.name: (row.head, row.length) for row in db.session.scalars(select(AuditChain))}
    breaks: list[Break] = []
    seen: set[str] = set()
    for model in chained_models():
        for name, entries in _entries_by_chain(model):
            seen.add(name)
            found = _check_entries(name, entries, heads.get(name))
            if found:
                breaks.append(found)
            for entry in entries:
                db.session.expunge(entry)
    for name in sorted(set(heads) - seen):
        breaks.append(Break(name, 1, None, "every entry of the chain is missing"))
    return breaks


def digest() -> str:
    """One SHA-256 over every chain's head: kept outside the database, it shows later whether any history was
    rewritten, even with its hashes recomputed."""
    hasher = hashlib.sha256()
    for row in db.session.scalars(select(AuditChain).order_by(AuditChain.name)):
        hasher.update(f"{row.name}\t{row.head}\t{row.length}\n".encode())
    return hasher.hexdigest()


__all__ = ["Break", "Chained", "chain_name_of", "chained_models", "digest", "entry_hash", "verify", "verify_chain"]
