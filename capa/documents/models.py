"""Stored records of the document register: a controlled document and its revisions, each with its file."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db


class DocumentKind(StrEnum):
    PROCEDURE = "procedure"
    WORK_INSTRUCTION = "work_instruction"
    STANDARD = "standard"
    POLICY = "policy"
    FORM = "form"


class ControlledDocument(db.Model):
    """A controlled document (the incoming-inspection procedure, the needle policy, a stitch-density standard):
    its code, title and kind, and how often it is reviewed."""

    __tablename__ = "documents"
    __table_args__ = (one_of("kind", DocumentKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Months between periodic reviews, counted from the current revision's effective date or the last review
    #: that confirmed it, whichever is later.
    review_months: Mapped[int] = mapped_column(Integer, default=12)
    #: The day of the last periodic review that confirmed the current revision without changing it.
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    revisions: Mapped[list["DocumentRevision"]] = relationship(
        back_populates="document", order_by="DocumentRevision.id", cascade="all, delete-orphan"
    )


class DocumentRevision(db.Model):
    """One revision of a document: its file, what changed, who wrote and who approved it, and from when it is in
    effect. Only an approved revision takes effect."""

    __tablename__ = "document_revisions"
    __table_args__ = (UniqueConstraint("document_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    #: As the document names it ("4", "B").
    revision: Mapped[str] = mapped_column(String(20))
    #: What changed from the revision before.
    changes: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date] = mapped_column(Date)
    #: The file in the app's file storage (folder ``files``), with the name the author's device gave.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The approval is an electronic signature (capa.accounts.signing): the name shown with it, as it was when
    #: signed; empty for a revision approved before approvals were signed.
    approved_by_name: Mapped[str] = mapped_column(String(120), default="", server_default="")

    document: Mapped[ControlledDocument] = relationship(back_populates="revisions")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
