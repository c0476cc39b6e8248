"""Stored records of inspections: the defect library (coded defects with their class and area)."""

from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.capas.models import DefectType
from capa.common.types import one_of
from capa.extensions import db
from capa.safety.models import SafetyParameter


class DefectClass(StrEnum):
    """The class of a nonconformity (ISO 2859-1, 3.1.10): what an AQL is set for, per class."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class DefectArea(StrEnum):
    """Where in the garment or its making a defect is found."""

    FABRIC = "fabric"
    SEWING = "sewing"
    TRIMS = "trims"
    MEASUREMENT = "measurement"
    PACKING = "packing"
    LABELLING = "labelling"
    SAFETY = "safety"


defect_code_parameters = Table(
    "defect_code_parameters",
    db.metadata,
    Column("defect_code_id", ForeignKey("defect_codes.id", ondelete="CASCADE"), primary_key=True),
    Column("parameter_id", ForeignKey("safety_parameters.id"), primary_key=True),
)


class DefectCode(db.Model):
    """A coded defect of the library (``SEW-03`` open seam): what inspectors count, by code, in a sample."""

    __tablename__ = "defect_codes"
    __table_args__ = (
        one_of("defect_class", DefectClass, name="defect_class_known"),
        one_of("area", DefectArea, name="area_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The name in Simplified Chinese; the English name stands in when empty.
    name_zh: Mapped[str] = mapped_column(String(120), default="", server_default="")
    defect_class: Mapped[str] = mapped_column(String(10))
    area: Mapped[str] = mapped_column(String(20))
    #: The defect type an NC raised for this defect is filed under.
    defect_type_id: Mapped[int | None] = mapped_column(ForeignKey("defect_types.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    defect_type: Mapped[DefectType | None] = relationship()
    parameters: Mapped[list[SafetyParameter]] = relationship(
        secondary=defect_code_parameters, order_by=SafetyParameter.code
    )
