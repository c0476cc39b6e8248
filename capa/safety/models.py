from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.audit.models import Chained
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db
from capa.masterdata.models import Batch, Market, MaterialLot, SafetyCategory, Style, StyleChange
from capa.safety.judging import Comparator, Outcome


class ParameterKind(StrEnum):
    CHEMICAL = "chemical"
    PHYSICAL = "physical"
    COLORFASTNESS = "colorfastness"
    LABELLING = "labelling"


class LimitCategory(StrEnum):
    """A limit holds for one style category (GB 18401 A, B, C) or for all of them."""

    A = "A"
    B = "B"
    C = "C"
    ALL = "all"


class Component(StrEnum):
    """What a lab tested: the finished garment or a part of it, or a material before production."""

    #: The finished garment (the final batch test).
    WHOLE_GARMENT = "whole_garment"
    #: A print or coating cut from the garment.
    PRINT = "print"
    #: A trim or attachment (button, snap, zip).
    TRIM = "trim"
    #: Fabric or a lab dip before production: never the final garment test.
    FABRIC = "fabric"


#: Components whose results count for a batch's final garment test.
GARMENT_COMPONENTS = frozenset({Component.WHOLE_GARMENT, Component.PRINT, Component.TRIM})

LIMIT_CATEGORIES = tuple(LimitCategory)
KINDS = tuple(ParameterKind)


class SafetyParameter(db.Model):
    """One CMIA safety parameter (formaldehyde, pH, saliva fastness…) with its limits by category."""

    __tablename__ = "safety_parameters"
    __table_args__ = (one_of("kind", ParameterKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code, e.g. CN-FORM; records link to parameters by it.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The name in Simplified Chinese as the standards write it (甲醛含量); empty when nobody gave one.
    name_zh: Mapped[str] = mapped_column(String(200), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(32))
    standard: Mapped[str] = mapped_column(String(120))
    clause: Mapped[str] = mapped_column(String(200), default="")
    test_method: Mapped[str] = mapped_column(String(200), default="")
    #: The market whose rules it belongs to (CN, EU, US); it applies only to styles sold there.
    market: Mapped[str] = mapped_column(String(2), default=Market.CN, server_default=Market.CN.value)
    #: When it applies to a garment, written in capa.safety.applicability's terms ("prints", "age=infant;
    #: cords=hood_neck"); empty: to every garment of the market with a limit for its category.
    applies_when: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: Always applies where its market and category apply: a quality manager cannot mark it not applicable.
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The usual reporting limit of its test method, used for "not detected" written without one.
    reporting_limit: Mapped[str | None] = mapped_column(String(32))
    #: Taken out of the shipped catalog (merged into another parameter): no longer in new plans, records keep it.
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: True when the parameter came from the shipped catalog, False when a quality manager added it.
    from_catalog: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    limits: Mapped[list["ParameterLimit"]] = relationship(
        back_populates="parameter",
        order_by="[ParameterLimit.category, ParameterLimit.condition]",
        cascade="all, delete-orphan",
    )
    changes: Mapped[list["LimitChange"]] = relationship(
        back_populates="parameter", order_by="LimitChange.changed_at.desc(), LimitChange.id.desc()"
    )

    def limit_for(self, category: str, conditions_met: "set[str] | None" = None) -> "ParameterLimit | None":
        """The limit that applies to a style of ``category``: its own, else the one for all categories.

        A limit row with a condition (wet rubbing of a dark shade) replaces the plain row of its category for
        a style whose profile meets it; ``conditions_met`` is the set of those conditions (see
        :func:`capa.safety.applicability.limit_for`), none when not given.
        """
        conditions_met = conditions_met or set()
        for wanted in (category, "all"):
            rows = [limit for limit in self.limits if limit.category == wanted]
            conditional = [limit for limit in rows if limit.condition and limit.condition in conditions_met]
            plain = [limit for limit in rows if not limit.condition]
            if conditional or plain:
                return (conditional or plain)[0]
        return None


class ParameterLimit(db.Model):
    """The limit of one parameter for one category (A, B, C) or for all categories."""

    __tablename__ = "parameter_limits"
    __table_args__ = (
        UniqueConstraint("parameter_id", "category", "condition"),
        one_of("category", LimitCategory),
        one_of("comparator", Comparator),
        one_of("catalog_comparator", Comparator, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    category: Mapped[str] = mapped_column(String(3))
    #: Empty for the category's limit; a condition on the garment ("dark_shade") for a limit that replaces it
    #: where the condition holds.
    condition: Mapped[str] = mapped_column(String(120), default="", server_default="")
    comparator: Mapped[str] = mapped_column(String(16))
    #: The limit as written: "20", "4.0..7.5", "3-4", or the requirement in words for absent/pass_fail.
    limit: Mapped[str] = mapped_column(String(200))
    #: What the shipped catalog said when it was last loaded; a newer catalog file is detected against it.
    catalog_limit: Mapped[str | None] = mapped_column(String(200))
    catalog_comparator: Mapped[str | None] = mapped_column(String(16))
    clause: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    #: False while no public source confirmed the figure (a recalled value): shown as unconfirmed.
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parameter: Mapped[SafetyParameter] = relationship(back_populates="limits")


class LimitChange(Chained, db.Model):
    """One change of a limit: who, when, the old and the new value, and why. Never edited or deleted."""

    __tablename__ = "limit_changes"
    __chain_by__ = ("parameter_id",)
    __chain_fields__ = (
        "parameter_id",
        "category",
        "condition",
        "old_comparator",
        "old_limit",
        "new_comparator",
        "new_limit",
        "reason",
        "changed_by_id",
        "changed_at",
    )
    __table_args__ = (
        one_of("category", LimitCategory),
        one_of("old_comparator", Comparator, nullable=True),
        one_of("new_comparator", Comparator, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    category: Mapped[str] = mapped_column(String(3))
    condition: Mapped[str] = mapped_column(String(120), default="", server_default="")
    old_comparator: Mapped[str | None] = mapped_column(String(16))
    old_limit: Mapped[str | None] = mapped_column(String(200))
    new_comparator: Mapped[str | None] = mapped_column(String(16))
    new_limit: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    #: Who made the change; empty when a newer shipped catalog changed it.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parameter: Mapped[SafetyParameter] = relationship(back_populates="changes")
    changed_by: Mapped[User | None] = relationship()


class ParameterChange(Chained, db.Model):
    """One change of what a parameter is, other than its limits (when it applies, whether it is mandatory, its
    reporting limit, its retirement): who, when, old and new, and why. Never edited or deleted."""

    __tablename__ = "parameter_changes"
    __chain_by__ = ("parameter_id",)
    __chain_fields__ = ("parameter_id", "field", "old", "new", "reason", "changed_by_id", "changed_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    #: Who made the change; empty when a newer shipped catalog changed it.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parameter: Mapped[SafetyParameter] = relationship()
    changed_by: Mapped[User | None] = relationship()


class Laboratory(db.Model):
    """A testing laboratory and its accreditation, as its reports state it."""

    __tablename__ = "laboratories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    #: China National Accreditation Service number (CNAS L1234).
    cnas_number: Mapped[str] = mapped_column(String(40), default="")
    #: China Inspection Body and Laboratory Mandatory Approval number (CMA).
    cma_number: Mapped[str] = mapped_column(String(40), default="")
    #: Another ISO/IEC 17025 accreditation: body and number (A2LA 1234.01).
    iso17025: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def accreditation(self) -> str:
        return "; ".join(
            part
            for part in (
                f"CNAS {self.cnas_number}" if self.cnas_number else "",
                f"CMA {self.cma_number}" if self.cma_number else "",
                self.iso17025,
            )
            if part
        )


lab_report_lots = Table(
    "lab_report_lots",
    db.metadata,
    Column("report_id", ForeignKey("lab_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("lot_id", ForeignKey("material_lots.id"), primary_key=True, index=True),
)


class LabReport(db.Model):
    """One test report of a laboratory: its results on one sample (a colourway and a component of a batch, or
    a material lot), with the PDF the lab issued."""

    __tablename__ = "lab_reports"
    __table_args__ = (UniqueConstraint("laboratory_id", "number"), one_of("component", Component))

    id: Mapped[int] = mapped_column(primary_key=True)
    laboratory_id: Mapped[int] = mapped_column(ForeignKey("laboratories.id"), index=True)
    #: The laboratory's report number, unique in the whole app whatever its case (an index on lower(number)).
    number: Mapped[str] = mapped_column(String(64))
    sample_description: Mapped[str] = mapped_column(Text, default="")
    #: The colourway sampled ("navy"); empty when the style has one.
    colourway: Mapped[str] = mapped_column(String(80), default="")
    component: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    sample_date: Mapped[date | None] = mapped_column(Date)
    test_date: Mapped[date] = mapped_column(Date)
    report_date: Mapped[date] = mapped_column(Date)
    #: The report's PDF in the file storage; empty until attached.
    pdf_key: Mapped[str] = mapped_column(String(120), default="")
    pdf_name: Mapped[str] = mapped_column(String(200), default="")
    pdf_size: Mapped[int] = mapped_column(Integer, default=0)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    laboratory: Mapped[Laboratory] = relationship()
    batch: Mapped[Batch | None] = relationship()
    lots: Mapped[list[MaterialLot]] = relationship(secondary=lab_report_lots, order_by=MaterialLot.number)
    results: Mapped[list["LabResult"]] = relationship(back_populates="report", order_by="LabResult.id")
    recorded_by: Mapped[User] = relationship()


# Two laboratories' reports may not share a number either: the record it names must be one.
Index("uq_lab_reports_number", func.lower(LabReport.number), unique=True)


class LabResult(db.Model):
    """A lab result for one parameter on a batch (and optionally one of its lots), judged when recorded.

    The category, comparator and limit it is judged against are copied in. When the style's category or
    attributes change, or a limit is corrected, the result is judged again and the earlier verdict kept in a
    :class:`ResultRejudgement`.
    """

    __tablename__ = "lab_results"
    __table_args__ = (
        one_of("verdict", Outcome),
        one_of("category", SafetyCategory),
        one_of("comparator", Comparator, nullable=True),
        one_of("component", Component, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("material_lots.id"), index=True)
    #: Set for a retest recorded on a non-conformance (D6).
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    #: The lab report it is one row of; empty for a result entered on its own.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("lab_reports.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    #: The value as read, canonical ("35", "3-4", "not detected", "ND (<20)").
    value: Mapped[str] = mapped_column(String(100))
    #: The value as the lab wrote it ("ND", "20,5 mg/kg", "4级").
    reported: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: The reporting limit applied to a "not detected" or "<X" result.
    reporting_limit: Mapped[str | None] = mapped_column(String(32))
    #: Why the parameter does not apply, for a result recorded as N/A.
    na_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The colourway and component sampled (copied from the report, or given with the result).
    colourway: Mapped[str] = mapped_column(String(80), default="", server_default="")
    component: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(1))
    comparator: Mapped[str | None] = mapped_column(String(16))
    limit: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    near_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    lab: Mapped[str] = mapped_column(String(120), default="")
    report_number: Mapped[str] = mapped_column(String(64), default="")
    tested_at: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[Batch | None] = relationship()
    lot: Mapped[MaterialLot | None] = relationship()
    parameter: Mapped[SafetyParameter] = relationship()
    recorded_by: Mapped[User] = relationship()
    report: Mapped[LabReport | None] = relationship(back_populates="results")
    rejudgements: Mapped[list["ResultRejudgement"]] = relationship(
        back_populates="result", order_by="ResultRejudgement.id"
    )


class ResultRejudgement(Chained, db.Model):
    """A result judged again because the rule changed: its verdict and limit before and after, and the change
    that caused it (a style's category or attributes, or a limit). Never edited or deleted."""

    __tablename__ = "result_rejudgements"
    __chain_by__ = ("result_id",)
    __chain_fields__ = (
        "result_id",
        "cause",
        "style_change_id",
        "limit_change_id",
        "old_verdict",
        "new_verdict",
        "old_category",
        "new_category",
        "old_limit",
        "new_limit",
        "reason",
        "changed_by_id",
        "changed_at",
    )
    __table_args__ = (
        one_of("old_verdict", Outcome),
        one_of("new_verdict", Outcome),
        one_of("cause", ("style", "limit", "catalog")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("lab_results.id"), index=True)
    cause: Mapped[str] = mapped_column(String(8))
    style_change_id: Mapped[int | None] = mapped_column(ForeignKey("style_changes.id"))
    limit_change_id: Mapped[int | None] = mapped_column(ForeignKey("limit_changes.id"))
    old_verdict: Mapped[str] = mapped_column(String(16))
    new_verdict: Mapped[str] = mapped_column(String(16))
    old_category: Mapped[str] = mapped_column(String(1))
    new_category: Mapped[str] = mapped_column(String(1))
    old_limit: Mapped[str] = mapped_column(String(220), default="")
    new_limit: Mapped[str] = mapped_column(String(220), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    result: Mapped[LabResult] = relationship(back_populates="rejudgements")
    style_change: Mapped[StyleChange | None] = relationship()
    limit_change: Mapped[LimitChange | None] = relationship()
    changed_by: Mapped[User | None] = relationship()


class PlanAdjustment(db.Model):
    """A quality manager's choice to add a parameter to, or drop it from, a style's derived quality plan."""

    __tablename__ = "plan_adjustments"
    __table_args__ = (UniqueConstraint("style_id", "parameter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"))
    included: Mapped[bool] = mapped_column(Boolean)

    style: Mapped[Style] = relationship()
    parameter: Mapped[SafetyParameter] = relationship()


class PlanChange(Chained, db.Model):
    """The history of plan adjustments: which parameter was added or dropped for a style, by whom, why."""

    __tablename__ = "plan_changes"
    __chain_by__ = ("style_id",)
    __chain_fields__ = ("style_id", "parameter_id", "included", "reason", "changed_by_id", "changed_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"))
    included: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parameter: Mapped[SafetyParameter] = relationship()
    changed_by: Mapped[User] = relationship()
