"""Stored records of supplier evaluation: a quality manager's approval decision with the scorecard it was taken on."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
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
