"""Stored records of change control: a change request, the conditions it takes effect on, and its links to the
styles it names and to NCs."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.capas.models import Action, NonConformance
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db
from capa.inspections.models import Inspection
from capa.masterdata.models import Buyer, LotKind, ProductionLine, Style, Supplier
from capa.safety.models import LabResult, SafetyParameter


class ChangeSubject(StrEnum):
    """What changes."""

    #: Another supplier for a material.
    SUPPLIER = "supplier"
    #: Another fabric, yarn or construction from the same supplier.
    MATERIAL = "material"
    #: A dye or a finishing chemical (a fixing agent, a softener, a resin).
    CHEMICAL = "chemical"
    #: A process of the factory: a stitch setting, a machine, a washing recipe.
    PROCESS = "process"
    #: A button, snap, zip or other trim.
    TRIM = "trim"


class ChangeStatus(StrEnum):
    PROPOSED = "proposed"
    #: Approved by a quality manager: it takes effect once every condition is met.
    APPROVED = "approved"
    EFFECTIVE = "effective"
    REJECTED = "rejected"


class ConditionKind(StrEnum):
    #: A lab test of the new material that must pass (a new lab dip for the affected colourways).
    LAB_TEST = "lab_test"
    #: A first article or pilot lot inspected and accepted.
    FIRST_ARTICLE = "first_article"
    #: A buyer told of the change, where the buyer requires it.
    BUYER_NOTIFICATION = "buyer_notification"


change_request_styles = Table(
    "change_request_styles",
    db.metadata,
    Column("change_id", ForeignKey("change_requests.id", ondelete="CASCADE"), primary_key=True),
    Column("style_id", ForeignKey("styles.id"), primary_key=True),
)

#: NCs linked to a change, both ways: the NC whose CAPA raised it, or a later NC whose cause it was.
change_request_ncs = Table(
    "change_request_ncs",
    db.metadata,
    Column("change_id", ForeignKey("change_requests.id", ondelete="CASCADE"), primary_key=True),
    Column("nc_id", ForeignKey("nonconformances.id"), primary_key=True, index=True),
)


class ChangeRequest(db.Model):
    """A request to change a supplier, a material, a chemical, a process or a trim, with why and from when. Its
    impact is computed from the records (:mod:`capa.changes.service`); it takes effect only once approved and every
    condition is met, and until then lots of the new material are held."""

    __tablename__ = "change_requests"
    __table_args__ = (
        one_of("subject", ChangeSubject),
        one_of("status", ChangeStatus),
        one_of("lot_kind", LotKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(12))
    #: What changes, in a line ("Fixing agent FA-2 replaced by FA-7").
    title: Mapped[str] = mapped_column(String(200))
    #: From what to what, in full.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    reason: Mapped[str] = mapped_column(Text)
    #: The supplier whose material changes (or the new supplier); its lots of ``lot_kind`` are the new material.
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    #: The kind of material that changes; None: every kind of the supplier.
    lot_kind: Mapped[str | None] = mapped_column(String(16))
    #: The line a process change is made on.
    line_id: Mapped[int | None] = mapped_column(ForeignKey("production_lines.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=ChangeStatus.PROPOSED)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The CAPA action that raised it, when one did.
    action_id: Mapped[int | None] = mapped_column(ForeignKey("capa_actions.id"))
    #: The supplier's answer to a corrective action request that opened it (a chemical changed).
    scar_answer_id: Mapped[int | None] = mapped_column(ForeignKey("scar_answers.id"))

    supplier: Mapped[Supplier | None] = relationship()
    line: Mapped[ProductionLine | None] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    action: Mapped[Action | None] = relationship()
    styles: Mapped[list[Style]] = relationship(secondary=change_request_styles, order_by=Style.code)
    ncs: Mapped[list[NonConformance]] = relationship(secondary=change_request_ncs, order_by=NonConformance.number)
    conditions: Mapped[list["ChangeCondition"]] = relationship(
        back_populates="change", order_by="ChangeCondition.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return f"CR-{self.id:05d}"


class ChangeCondition(db.Model):
    """A condition a change takes effect on, and how it was met: the passing lab result, the accepted inspection,
    or the reference of the buyer's notification."""

    __tablename__ = "change_conditions"
    __table_args__ = (one_of("kind", ConditionKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: A lab test's parameter.
    parameter_id: Mapped[int | None] = mapped_column(ForeignKey("safety_parameters.id"))
    #: The buyer to notify.
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"))
    #: What is asked, in words ("lab dip of the three colourways, saliva fastness").
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result_id: Mapped[int | None] = mapped_column(ForeignKey("lab_results.id"))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    #: The buyer's notification as sent (a mail's date and subject, a letter's number).
    reference: Mapped[str] = mapped_column(Text, default="", server_default="")

    change: Mapped[ChangeRequest] = relationship(back_populates="conditions")
    parameter: Mapped[SafetyParameter | None] = relationship()
    buyer: Mapped[Buyer | None] = relationship()
    met_by: Mapped[User | None] = relationship()
    result: Mapped[LabResult | None] = relationship()
    inspection: Mapped[Inspection | None] = relationship()
