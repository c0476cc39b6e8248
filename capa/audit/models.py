"""The heads of the history chains and the history of master data."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.common.types import UTCDateTime, utcnow
from capa.extensions import db


class Chained:
    """Mixin of a history table whose entries are chained.

    A model declares ``__chain_by__`` (the columns that name the record whose history the entry belongs to,
    e.g. ``("nc_id",)``) and ``__chain_fields__`` (the recorded columns the hash covers). The list of fields
    is fixed per table: a column added later is not part of old entries' hashes and must not be added to it.
    """

    __chain_by__: ClassVar[tuple[str, ...]]
    __chain_fields__: ClassVar[tuple[str, ...]]

    chain_seq: Mapped[int | None] = mapped_column(Integer)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    def chain_name(self) -> str:
        return chain_name_of(type(self), [getattr(self, column) for column in self.__chain_by__])

    def chain_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__chain_fields__}


def chain_name_of(model: type, key: Sequence[Any]) -> str:
    """The name of the chain of one record's history in ``model``: the table and the record's key."""
    return ":".join([model.__tablename__, *(str(part) for part in key)])


class AuditChain(db.Model):
    """The last hash and the length of one record's history chain (see :mod:`capa.audit.chain`)."""

    __tablename__ = "audit_chains"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    head: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer)


class RecordChange(Chained, db.Model):
    """One change of a master-data record (a line, a supplier, a batch, a lot, a user, a defect type): who,
    when, the field with its old and new value, and why where the change bears on safety judgements.
    Appended, never edited or deleted; chained by record."""

    __tablename__ = "record_changes"
    __table_args__ = (Index("ix_record_changes_record", "record_type", "record_id"),)
    __chain_by__ = ("record_type", "record_id")
    __chain_fields__ = ("record_type", "record_id", "at", "actor_id", "kind", "field", "old", "new", "reason")

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What kind of record: line, supplier, batch, lot, user, defect_type.
    record_type: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: created, field (one field changed), lots (lots added to a batch), …
    kind: Mapped[str] = mapped_column(String(24))
    field: Mapped[str] = mapped_column(String(40), default="")
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped["User | None"] = relationship("User")  # noqa: F821 - accounts sit above this layer
