"""Stored records of supplier evaluation and corrective action: a quality manager's approval decision with the
scorecard it was taken on, and the corrective action requests sent to suppliers with their answers."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.capas.models import Action
from capa.common.types import Hundredths, UTCDateTime, one_of, utcnow
from capa.extensions import db
from capa.masterdata.models import Supplier, SupplierApproval


class SupplierDecision(db.Model):
    """A quality manager's decision on a supplier's approval, taken on its scorecard: the approval and scope
    decided (the same as before when it confirms them), the rolling 12 months' score, grade and suggested
    approval as they stood, and why."""

    __tablename__ = "supplier_decisions"
    __table_args__ = (one_of("approval", SupplierApproval), one_of("previous_approval", SupplierApproval))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    previous_approval: Mapped[str] = mapped_column(String(16))
    approval: Mapped[str] = mapped_column(String(16))
    #: The material kinds the approval covers after the decision (empty: all).
    approved_kinds: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: The safety parameters' codes the approval covers after the decision (empty: all).
    approved_parameters: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    reevaluate_on: Mapped[date | None] = mapped_column(Date)
    #: The rolling 12 months' score, grade and suggested approval when decided; None for a supplier with no
    #: records then.
    score: Mapped[Decimal | None] = mapped_column(Hundredths)
    grade: Mapped[str | None] = mapped_column(String(8))
    suggested_approval: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    decided_by: Mapped[User | None] = relationship()


class ScarStatus(StrEnum):
    #: Sent to the supplier: its answer is awaited (again, after an answer was returned).
    SENT = "sent"
    #: The supplier answered: a quality manager's review is awaited.
    ANSWERED = "answered"
    #: A quality manager accepted an answer: the request is closed.
    ACCEPTED = "accepted"


class ScarDecision(StrEnum):
    ACCEPT = "accept"
    RETURN = "return"


class ScarRequest(db.Model):
    """A supplier corrective action request: a SCAR action of an NC sent to the supplier, with the days its
    containment and its root cause and actions are due. What the supplier may see of the NC is what the request
    shares (:mod:`capa.suppliers.scars`)."""

    __tablename__ = "scar_requests"
    __table_args__ = (
        one_of("status", ScarStatus),
        CheckConstraint("answer_due >= containment_due", name="answer_after_containment"),
        Index("ix_scar_requests_supplier_id_status", "supplier_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The SCAR action it was sent for: one request each.
    action_id: Mapped[int] = mapped_column(ForeignKey("capa_actions.id"), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    #: What the quality manager asks of the supplier, beside what failed.
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    containment_due: Mapped[date] = mapped_column(Date)
    #: The day the root cause and the actions are due (moved when an answer is returned with a new day).
    answer_due: Mapped[date] = mapped_column(Date)
    #: The day they were first due, as sent: whether the supplier answered on time is judged against it.
    first_answer_due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=ScarStatus.SENT)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The reminders mailed to the supplier's accounts, each once: before the answer is due, and once it is late.
    reminded_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_late_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The same of the containment, while no answer gave it (:mod:`capa.suppliers.scars`).
    containment_reminded_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    containment_reminded_late_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    action: Mapped[Action] = relationship()
    supplier: Mapped[Supplier] = relationship()
    sent_by: Mapped[User | None] = relationship()
    answers: Mapped[list["ScarAnswer"]] = relationship(
        back_populates="request", order_by="ScarAnswer.round", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return f"SCAR-{self.id:05d}"


class ScarAnswer(db.Model):
    """One round of a supplier's answer to a request: its containment, 5 Whys, root cause and actions (with
    evidence files), and the quality manager's review of it, accepted or returned with a comment. Every round is
    kept."""

    __tablename__ = "scar_answers"
    __table_args__ = (
        UniqueConstraint("request_id", "round"),
        CheckConstraint("decision IS NULL OR decision IN ('accept', 'return')", name="decision_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("scar_requests.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    containment: Mapped[str] = mapped_column(Text)
    #: The 5 Whys, as asked and answered, in order (one to five).
    whys: Mapped[list] = mapped_column(JSON, default=list)
    root_cause: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The quality manager's review: None until reviewed.
    decision: Mapped[str | None] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[ScarRequest] = relationship(back_populates="answers")
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    files: Mapped[list["ScarFile"]] = relationship(
        back_populates="answer", order_by="ScarFile.id", cascade="all, delete-orphan"
    )


class ScarFile(db.Model):
    """An evidence file of a supplier's answer (a PDF, XLSX or photo), kept in the app's file storage."""

    __tablename__ = "scar_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("scar_answers.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)

    answer: Mapped[ScarAnswer] = relationship(back_populates="files")
