from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db


class SupplierApproval(StrEnum):
    APPROVED = "approved"
    CONDITIONAL = "conditional"
    SUSPENDED = "suspended"


class SafetyCategory(StrEnum):
    """GB 18401 categories: A infants (36 months and under), B skin contact, C no skin contact."""

    A = "A"
    B = "B"
    C = "C"


class LotKind(StrEnum):
    FABRIC = "fabric"
    DYE_LOT = "dye_lot"
    TRIM = "trim"
    THREAD = "thread"
    LABEL = "label"
    PACKAGING = "packaging"
    OTHER = "other"


class ProductionLine(db.Model):
    __tablename__ = "production_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Supplier(db.Model):
    __tablename__ = "suppliers"
    __table_args__ = (one_of("approval", SupplierApproval),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: May its material be used: approved, conditional (with extra checks) or suspended.
    approval: Mapped[str] = mapped_column(String(16), default=SupplierApproval.APPROVED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lots: Mapped[list["MaterialLot"]] = relationship(back_populates="supplier")


class Style(db.Model):
    __tablename__ = "styles"
    __table_args__ = (one_of("category", SafetyCategory),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The GB 18401 safety category; it selects the limits every result for this style is judged against.
    category: Mapped[str] = mapped_column(String(1))
    #: The tech pack requires CMIA compliance: the style gets a quality plan of safety parameters.
    cmia_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batches: Mapped[list["Batch"]] = relationship(back_populates="style")


batch_lots = Table(
    "batch_lots",
    db.metadata,
    Column("batch_id", ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("lot_id", ForeignKey("material_lots.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class MaterialLot(db.Model):
    """A received lot of material (fabric roll, dye lot, trims); one lot may feed several batches."""

    __tablename__ = "material_lots"
    __table_args__ = (one_of("kind", LotKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    supplier: Mapped[Supplier] = relationship(back_populates="lots")
    batches: Mapped[list["Batch"]] = relationship(secondary=batch_lots, back_populates="lots")


class Batch(db.Model):
    """A production batch of one style on one line, traceable to the material lots it was made from."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    style: Mapped[Style] = relationship(back_populates="batches")
    line: Mapped[ProductionLine] = relationship()
    lots: Mapped[list[MaterialLot]] = relationship(
        secondary=batch_lots, back_populates="batches", order_by=MaterialLot.number
    )
