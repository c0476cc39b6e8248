"""Stored records of inspections: the defect library (coded defects with their class and area) and the
inspections of batches with the defects found."""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from capa.accounts.models import User
from capa.capas.models import DefectType, NonConformance, StoredPhoto
from capa.common.types import Hundredths, Thousandths, UTCDateTime, one_of, utcnow
from capa.extensions import db
from capa.inspections.dhu import Tally
from capa.inspections.fourpoint import LengthUnit, WidthUnit
from capa.inspections.measurements import MeasureUnit
from capa.inspections.sampling import AQL_SERIES, SamplingPlan, written
from capa.masterdata.models import Batch, Buyer, MaterialLot, ProductionLine, Style, Supplier
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


class PackingCheck(StrEnum):
    """A carton and packing check of a final inspection, made on the cartons opened."""

    #: Shipping marks and carton labels as the buyer specifies them.
    CARTON_MARKS = "carton_marks"
    #: Sizes and colours in each carton as the packing list says (the assortment).
    ASSORTMENT = "assortment"
    #: Garments per carton as the packing list says.
    QUANTITY = "quantity"
    #: Cartons of the specified dimensions and strength, undamaged and sealed.
    CARTON_CONDITION = "carton_condition"
    #: Polybags with the suffocation warning and air holes, and each garment folded and tagged as specified.
    POLYBAGS = "polybags"


class InspectionKind(StrEnum):
    #: Final inspection of a batch offered for shipment, by ISO 2859-1 AQL sampling.
    FINAL = "final"


class InspectionVerdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SampledByAttributes:
    """The columns of an inspection by attributes: the lot, each class's ISO 2859-1 plan as it was read (so the
    record says what was done even after the standard's tables or the settings change), the defects found per
    class and the verdict."""

    lot_size: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(4))
    #: Table 1's letter for the lot size and level.
    code_letter: Mapped[str] = mapped_column(String(1))
    #: The AQL of each class as the standard writes it (``2.5``).
    aql_major: Mapped[str] = mapped_column(String(6))
    aql_minor: Mapped[str] = mapped_column(String(6))
    major_sample: Mapped[int] = mapped_column(Integer)
    major_accept: Mapped[int] = mapped_column(Integer)
    major_reject: Mapped[int] = mapped_column(Integer)
    minor_sample: Mapped[int] = mapped_column(Integer)
    minor_accept: Mapped[int] = mapped_column(Integer)
    minor_reject: Mapped[int] = mapped_column(Integer)
    #: The units inspected: the largest of the classes' samples, or the whole lot.
    units_inspected: Mapped[int] = mapped_column(Integer)
    critical_found: Mapped[int] = mapped_column(Integer)
    major_found: Mapped[int] = mapped_column(Integer)
    minor_found: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(10))

    def record_plans(
        self, plans: Mapping[DefectClass, SamplingPlan], found: Mapping[DefectClass, int], accepted: bool
    ) -> None:
        """Set the plan of each class with an AQL (major, minor), the counts ``found`` per class and the verdict."""
        major, minor = plans[DefectClass.MAJOR], plans[DefectClass.MINOR]
        self.lot_size = major.lot_size
        self.level = major.level.value
        self.code_letter = major.code_letter
        self.aql_major, self.aql_minor = written(major.aql), written(minor.aql)
        self.major_sample, self.major_accept, self.major_reject = major.sample_size, major.accept, major.reject
        self.minor_sample, self.minor_accept, self.minor_reject = minor.sample_size, minor.accept, minor.reject
        self.units_inspected = max(major.units_to_inspect, minor.units_to_inspect)
        self.critical_found = found.get(DefectClass.CRITICAL, 0)
        self.major_found = found.get(DefectClass.MAJOR, 0)
        self.minor_found = found.get(DefectClass.MINOR, 0)
        self.verdict = (InspectionVerdict.ACCEPTED if accepted else InspectionVerdict.REJECTED).value


class Inspection(SampledByAttributes, db.Model):
    """An inspection of a batch: the plan it was inspected by (per class), what was found, and its verdict. The
    plan is stored as it was read, so the record says what was done even after the standard's tables or the
    settings change."""

    __tablename__ = "inspections"
    __table_args__ = (
        one_of("kind", InspectionKind),
        one_of("verdict", InspectionVerdict),
        one_of("severity", ("normal", "tightened", "reduced")),
        Index("ix_inspections_batch_id_inspected_at", "batch_id", "inspected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    #: The buyer of the batch's style when it was inspected: the lots of one buyer on one line are one series for
    #: the switching rules. None for a style without a buyer.
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"))
    severity: Mapped[str] = mapped_column(String(10))
    #: Cartons in the lot and cartons opened for the carton and packing checks; None when none were made.
    cartons_offered: Mapped[int | None] = mapped_column(Integer)
    cartons_opened: Mapped[int | None] = mapped_column(Integer)
    #: The packing checks that failed (PackingCheck values): any one rejects the lot.
    packing_failed: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    note: Mapped[str] = mapped_column(Text, default="")
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The NC a rejected inspection raised.
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    #: The rejected inspection this one inspects again.
    reinspection_of_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    #: The unit of its measurements (MeasureUnit), None when no garment was measured.
    measure_unit: Mapped[str | None] = mapped_column(String(2))
    #: The garments measured out of tolerance, each counted as one MEA-01 defect.
    garments_out_of_tolerance: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    batch: Mapped[Batch] = relationship()
    buyer: Mapped[Buyer | None] = relationship()
    inspector: Mapped[User] = relationship()
    nc: Mapped[NonConformance | None] = relationship()
    reinspection_of: Mapped["Inspection | None"] = relationship(remote_side=[id])
    defects: Mapped[list["InspectionDefect"]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="InspectionDefect.id"
    )
    photos: Mapped[list["InspectionPhoto"]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="InspectionPhoto.id"
    )
    measurements: Mapped[list["InspectionMeasurement"]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="InspectionMeasurement.id"
    )


class InspectionDefect(db.Model):
    """Defects of one code found in an inspection, with the class the code had then."""

    __tablename__ = "inspection_defects"
    __table_args__ = (one_of("defect_class", DefectClass), CheckConstraint("count > 0", name="count_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    defect_code_id: Mapped[int] = mapped_column(ForeignKey("defect_codes.id"))
    defect_class: Mapped[str] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(Integer)

    inspection: Mapped[Inspection] = relationship(back_populates="defects")
    defect_code: Mapped[DefectCode] = relationship()


class InspectionPhoto(StoredPhoto, db.Model):
    """A photo taken in an inspection (a defect as found, a carton), stored as an NC's photos are
    (:mod:`capa.inspections.photos`)."""

    __tablename__ = "inspection_photos"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)

    inspection: Mapped[Inspection] = relationship(back_populates="photos")
    uploaded_by: Mapped[User] = relationship()


class InspectionMeasurement(db.Model):
    """A point measured on one garment of the sample, with the target and tolerances it was judged against as
    the style's spec had them then."""

    __tablename__ = "inspection_measurements"
    __table_args__ = (CheckConstraint("garment > 0", name="garment_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    garment: Mapped[int] = mapped_column(Integer)
    size: Mapped[str] = mapped_column(String(16))
    point: Mapped[str] = mapped_column(String(12))
    value: Mapped[Decimal] = mapped_column(Thousandths)
    target: Mapped[Decimal] = mapped_column(Thousandths)
    tol_minus: Mapped[Decimal] = mapped_column(Thousandths)
    tol_plus: Mapped[Decimal] = mapped_column(Thousandths)
    within: Mapped[bool] = mapped_column(Boolean)

    inspection: Mapped[Inspection] = relationship(back_populates="measurements")


class MeasurementSpec(db.Model):
    """A style's measurement spec (its tech pack's grid): the unit and the sizes, in order; the points below."""

    __tablename__ = "measurement_specs"
    __table_args__ = (one_of("unit", MeasureUnit),)

    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), primary_key=True, autoincrement=False)
    unit: Mapped[str] = mapped_column(String(2))
    sizes: Mapped[list] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    style: Mapped[Style] = relationship()
    points: Mapped[list["MeasurementPoint"]] = relationship(
        back_populates="spec", cascade="all, delete-orphan", order_by="MeasurementPoint.position"
    )


class MeasurementPoint(db.Model):
    """A point of measure of a style's spec: its tolerances and its target per size (exact decimals as text)."""

    __tablename__ = "measurement_points"
    __table_args__ = (UniqueConstraint("style_id", "point"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("measurement_specs.style_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    point: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(120), default="")
    tol_minus: Mapped[Decimal] = mapped_column(Thousandths)
    tol_plus: Mapped[Decimal] = mapped_column(Thousandths)
    #: {size: target} with each target written as an exact decimal (``"30.5"``).
    targets: Mapped[dict] = mapped_column(JSON)

    spec: Mapped[MeasurementSpec] = relationship(back_populates="points")


class InspectionResumption(db.Model):
    """A quality manager's decision that a line's final inspection, discontinued after 5 lots not accepted on
    tightened inspection (ISO 2859-1, 9.4), resumes: the causes were corrected. It resumes tightened."""

    __tablename__ = "inspection_resumptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"), index=True)
    #: The buyer whose series of lots on the line resumes; None for the lots of styles without a buyer.
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"))
    reason: Mapped[str] = mapped_column(Text)
    resumed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    resumed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line: Mapped[ProductionLine] = relationship()
    buyer: Mapped[Buyer | None] = relationship()
    resumed_by: Mapped[User] = relationship()


class AqlPair:
    """The AQL of each class, as the standard writes it (``2.5``, ``0.65``), checked against its series."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            one_of("aql_major", AQL_SERIES, name="aql_major_known"),
            one_of("aql_minor", AQL_SERIES, name="aql_minor_known"),
        )

    aql_major: Mapped[str] = mapped_column(String(6))
    aql_minor: Mapped[str] = mapped_column(String(6))


class StyleAqls(AqlPair, db.Model):
    """A style's own AQLs for its final inspections (a buyer's requirement in its tech pack), in place of its
    buyer's or the defaults (major 2.5, minor 4.0)."""

    __tablename__ = "style_aqls"

    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), primary_key=True, autoincrement=False)

    style: Mapped[Style] = relationship()


class BuyerAqls(AqlPair, db.Model):
    """A buyer's AQLs for the final inspections of its styles, in place of the defaults; a style's own AQLs come
    before them."""

    __tablename__ = "buyer_aqls"

    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), primary_key=True, autoincrement=False)

    buyer: Mapped[Buyer] = relationship()


class FabricInspection(db.Model):
    """An incoming inspection of a fabric lot by the 4-point system (:mod:`capa.inspections.fourpoint`): its rolls
    as measured, in the units they were measured in, the acceptance points it was judged against and where they
    came from, and its verdict. A rejected lot may raise an NC that puts the lot on hold (``nc``)."""

    __tablename__ = "fabric_inspections"
    __table_args__ = (
        one_of("verdict", InspectionVerdict),
        one_of("length_unit", LengthUnit),
        one_of("width_unit", WidthUnit),
        one_of("acceptance_source", ("style", "supplier", "default")),
        Index("ix_fabric_inspections_lot_id_inspected_at", "lot_id", "inspected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("material_lots.id"))
    #: The style the fabric is for, when the inspector named it: its acceptance points may apply.
    style_id: Mapped[int | None] = mapped_column(ForeignKey("styles.id"))
    length_unit: Mapped[str] = mapped_column(String(2))
    width_unit: Mapped[str] = mapped_column(String(2))
    #: The cuttable width ordered, in ``width_unit``; no width check when not given.
    required_width: Mapped[Decimal | None] = mapped_column(Hundredths)
    acceptance_points: Mapped[int] = mapped_column(Integer)
    #: Whose acceptance points they were: the style's, the supplier's (the stricter when both are set) or the
    #: default 40.
    acceptance_source: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column(Integer)
    #: The rolls' lengths summed, in ``length_unit``.
    length_inspected: Mapped[Decimal] = mapped_column(Hundredths)
    #: The area inspected in square yards, rounded to hundredths: the denominator of figures over many lots.
    square_yards: Mapped[Decimal] = mapped_column(Hundredths)
    #: Points per 100 square yards of the whole lot, rounded half up to hundredths (the verdict used the exact
    #: figure).
    points_per_100: Mapped[Decimal] = mapped_column(Hundredths)
    verdict: Mapped[str] = mapped_column(String(10))
    #: Why the lot was rejected: ``points``, ``width``, ``shade``.
    faults: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    note: Mapped[str] = mapped_column(Text, default="")
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The NC raised for a rejected lot (with the lot on hold).
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)

    lot: Mapped[MaterialLot] = relationship()
    style: Mapped[Style | None] = relationship()
    inspector: Mapped[User] = relationship()
    nc: Mapped[NonConformance | None] = relationship()
    rolls: Mapped[list["FabricRoll"]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="FabricRoll.id"
    )


class FabricRoll(db.Model):
    """A roll of a fabric inspection as measured, with its points, figure and faults."""

    __tablename__ = "fabric_rolls"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("fabric_inspections.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    #: Length inspected and cuttable width, in the inspection's units.
    length: Mapped[Decimal] = mapped_column(Hundredths)
    width: Mapped[Decimal] = mapped_column(Hundredths)
    shade_matches: Mapped[bool] = mapped_column(Boolean, default=True)
    points: Mapped[int] = mapped_column(Integer)
    points_per_100: Mapped[Decimal] = mapped_column(Hundredths)
    faults: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))

    inspection: Mapped[FabricInspection] = relationship(back_populates="rolls")
    defects: Mapped[list["FabricDefect"]] = relationship(
        back_populates="roll", cascade="all, delete-orphan", order_by="FabricDefect.id"
    )


class FabricDefect(db.Model):
    """A defect marked on a roll: where along it (and to where, for a running defect), its size, and the points it
    scored before the 4-point cap of its yard."""

    __tablename__ = "fabric_defects"

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("fabric_rolls.id", ondelete="CASCADE"), index=True)
    #: In the inspection's length unit, from the roll's start.
    at: Mapped[Decimal] = mapped_column(Hundredths)
    through: Mapped[Decimal | None] = mapped_column(Hundredths)
    #: In the inspection's width unit; none for a running defect.
    size: Mapped[Decimal | None] = mapped_column(Hundredths)
    hole: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(Integer)
    defect_code_id: Mapped[int | None] = mapped_column(ForeignKey("defect_codes.id"))

    roll: Mapped[FabricRoll] = relationship(back_populates="defects")
    defect_code: Mapped[DefectCode | None] = relationship()


class SupplierFabricLimit(db.Model):
    """A supplier's acceptance points per 100 square yards for its fabric, in place of the default 40."""

    __tablename__ = "supplier_fabric_limits"
    __table_args__ = (CheckConstraint("points BETWEEN 1 AND 1000", name="points_in_range"),)

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(Integer)

    supplier: Mapped[Supplier] = relationship()


class StyleFabricLimit(db.Model):
    """A style's acceptance points per 100 square yards for the fabric cut for it (a buyer's tech pack)."""

    __tablename__ = "style_fabric_limits"
    __table_args__ = (CheckConstraint("points BETWEEN 1 AND 1000", name="points_in_range"),)

    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(Integer)

    style: Mapped[Style] = relationship()


# Inline and end-of-line checks (DHU) -----------------------------------------------------------------------------


class CheckStage(StrEnum):
    """Where on the line a check is made; an NC raised from a shift's checks has the same source."""

    #: At the machines, during sewing: an operation's or an operator's work, hour by hour.
    INLINE = "inline"
    #: Garments finished by the line, checked before they leave it.
    END_OF_LINE = "end_of_line"


class LineCheck(db.Model):
    """An inline or end-of-line check of a line: units checked, defective units among them, and the defects found
    by code (:class:`LineCheckDefect`). ``defects`` is their sum, kept so that a shift's figures are one sum."""

    __tablename__ = "line_checks"
    __table_args__ = (
        one_of("stage", CheckStage),
        CheckConstraint("units_checked > 0", name="units_checked_positive"),
        CheckConstraint("defective_units BETWEEN 0 AND units_checked", name="defective_within_units"),
        CheckConstraint("defects >= defective_units", name="defects_cover_defective"),
        UniqueConstraint("recorded_by_id", "filing_key"),
        Index("ix_line_checks_line_id_shift_day", "line_id", "shift_day", "shift"),
        Index("ix_line_checks_checked_at", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"))
    stage: Mapped[str] = mapped_column(String(12))
    #: When the check was made (on the phone: when it was saved there, which may be long before it was sent).
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The shift it fell in, and the plant day that shift started on (capa.inspections.dhu).
    shift: Mapped[str] = mapped_column(String(20))
    shift_day: Mapped[date] = mapped_column(Date)
    #: The bundle checked, when checked per bundle (its ticket number).
    bundle: Mapped[str] = mapped_column(String(40), default="")
    #: The operation or operator checked inline (``collar attach``, ``op 12``).
    operation: Mapped[str] = mapped_column(String(80), default="")
    units_checked: Mapped[int] = mapped_column(Integer)
    defective_units: Mapped[int] = mapped_column(Integer)
    defects: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The idempotency key it was sent with (the page's, the phone's outbox's or an API client's) and a
    #: fingerprint of what it said: the same check sent twice is recorded once.
    filing_key: Mapped[str | None] = mapped_column(String(64))
    filing_fingerprint: Mapped[str | None] = mapped_column(String(64))

    line: Mapped[ProductionLine] = relationship()
    recorded_by: Mapped[User] = relationship()
    found: Mapped[list["LineCheckDefect"]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="LineCheckDefect.id"
    )

    @property
    def tally(self) -> Tally:
        """The check's counts, with its DHU and defective rate."""
        return Tally(self.units_checked, self.defective_units, self.defects)


class LineCheckDefect(db.Model):
    """Defects of one code found in a line check."""

    __tablename__ = "line_check_defects"
    __table_args__ = (
        UniqueConstraint("check_id", "defect_code_id"),
        CheckConstraint("count > 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("line_checks.id", ondelete="CASCADE"))
    defect_code_id: Mapped[int] = mapped_column(ForeignKey("defect_codes.id"))
    count: Mapped[int] = mapped_column(Integer)

    check: Mapped[LineCheck] = relationship(back_populates="found")
    defect_code: Mapped[DefectCode] = relationship()


class LineAlertLevel(db.Model):
    """A line's own DHU alert level, in place of the plant's (``CAPA_DHU_ALERT_LEVEL``)."""

    __tablename__ = "line_alert_levels"
    __table_args__ = (CheckConstraint("alert_level > 0", name="alert_level_positive"),)

    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"), primary_key=True, autoincrement=False)
    #: DHU above which the line is alerted, in exact hundredths.
    alert_level: Mapped[Decimal] = mapped_column(Hundredths)

    line: Mapped[ProductionLine] = relationship()


class ShiftAlertNC(db.Model):
    """The NC raised for a line over its DHU alert level in a shift, at a stage: one per line, shift and stage."""

    __tablename__ = "shift_alert_ncs"
    __table_args__ = (one_of("stage", CheckStage),)

    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"), primary_key=True, autoincrement=False)
    shift_day: Mapped[date] = mapped_column(Date, primary_key=True)
    shift: Mapped[str] = mapped_column(String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(String(12), primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), unique=True)

    line: Mapped[ProductionLine] = relationship()
    nc: Mapped[NonConformance] = relationship()


# Needle and metal control ------------------------------------------------------------------------------------------


class NeedleBreak(db.Model):
    """A broken needle on a line, logged as the needle policy says: when, at whose machine, and whether every
    fragment was found. A fragment missing isolates the bundle being sewn and raises a critical safety NC."""

    __tablename__ = "needle_breaks"
    __table_args__ = (Index("ix_needle_breaks_line_id_broken_at", "line_id", "broken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"))
    broken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift: Mapped[str] = mapped_column(String(20))
    shift_day: Mapped[date] = mapped_column(Date)
    #: The operator's name or number, as the needle log names them.
    operator: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(40), default="")
    all_fragments_found: Mapped[bool] = mapped_column(Boolean)
    #: The bundle being sewn; isolated and passed through the metal detector when a fragment is missing.
    bundle: Mapped[str] = mapped_column(String(40), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The critical safety NC a missing fragment raised.
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    #: The isolated bundle's pass through a metal detector (a missing fragment only): the detector, whether the
    #: bundle passed clean, when and by whom; None until it is recorded.
    bundle_detector: Mapped[str | None] = mapped_column(String(20))
    bundle_clean: Mapped[bool | None] = mapped_column(Boolean)
    bundle_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bundle_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bundle_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    line: Mapped[ProductionLine] = relationship()
    batch: Mapped[Batch | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    nc: Mapped[NonConformance | None] = relationship()
    bundle_checked_by: Mapped[User | None] = relationship(foreign_keys=[bundle_checked_by_id])

    @property
    def awaiting_bundle_pass(self) -> bool:
        """A fragment is missing and the isolated bundle's pass through a detector is not recorded yet."""
        return not self.all_fragments_found and self.bundle_clean is None


class DetectorCheck(db.Model):
    """A metal detector checked with its test piece, at the start of a shift: ``detected`` when the test piece set
    it off. A detector whose latest check failed is not to be used."""

    __tablename__ = "detector_checks"
    __table_args__ = (Index("ix_detector_checks_detector_checked_at", "detector", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The detector's code (``CAPA_METAL_DETECTORS``).
    detector: Mapped[str] = mapped_column(String(40))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift: Mapped[str] = mapped_column(String(20))
    shift_day: Mapped[date] = mapped_column(Date)
    #: The test piece passed through it (``Fe 1.0 mm``).
    test_piece: Mapped[str] = mapped_column(String(60))
    detected: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    checked_by: Mapped[User] = relationship()


class MetalDetection(db.Model):
    """Garments that set off a metal detector: isolated (held, when their batch is named) and a critical safety NC
    raised with them."""

    __tablename__ = "metal_detections"
    __table_args__ = (
        CheckConstraint("garments > 0", name="garments_positive"),
        Index("ix_metal_detections_detected_at", "detected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    detector: Mapped[str] = mapped_column(String(40))
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift: Mapped[str] = mapped_column(String(20))
    shift_day: Mapped[date] = mapped_column(Date)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    bundle: Mapped[str] = mapped_column(String(40), default="")
    garments: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)

    line: Mapped[ProductionLine] = relationship()
    batch: Mapped[Batch | None] = relationship()
    recorded_by: Mapped[User] = relationship()
    nc: Mapped[NonConformance] = relationship()


class IncomingInspection(SampledByAttributes, db.Model):
    """An incoming inspection by attributes of a material lot counted in pieces (trims, labels, thread, packaging):
    an ISO 2859-1 single sampling plan per class, stored as it was read, what was found and the verdict
    (:mod:`capa.inspections.incoming`). Fabric is inspected by the 4-point system instead (FabricInspection)."""

    __tablename__ = "incoming_inspections"
    __table_args__ = (
        one_of("verdict", InspectionVerdict),
        one_of("aql_major", AQL_SERIES, name="aql_major_known"),
        one_of("aql_minor", AQL_SERIES, name="aql_minor_known"),
        Index("ix_incoming_inspections_lot_id_inspected_at", "lot_id", "inspected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("material_lots.id"))
    #: What was found, in the inspector's words (a snap's prongs bent, a label's print smudged).
    note: Mapped[str] = mapped_column(Text, default="")
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The NC raised for a rejected lot (with the lot on hold).
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)

    lot: Mapped[MaterialLot] = relationship()
    inspector: Mapped[User] = relationship()
    nc: Mapped[NonConformance | None] = relationship()
