from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, SafetyCategory, Style
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
    #: True when the parameter came from the shipped catalog, False when a quality manager added it.
    from_catalog: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    limits: Mapped[list["ParameterLimit"]] = relationship(
        back_populates="parameter", order_by="ParameterLimit.category", cascade="all, delete-orphan"
    )
    changes: Mapped[list["LimitChange"]] = relationship(
        back_populates="parameter", order_by="LimitChange.changed_at.desc(), LimitChange.id.desc()"
    )

    def limit_for(self, category: str) -> "ParameterLimit | None":
        """The limit that applies to a style of ``category``: its own, else the one for all categories."""
        by_category = {limit.category: limit for limit in self.limits}
        return by_category.get(category) or by_category.get("all")


class ParameterLimit(db.Model):
    """The limit of one parameter for one category (A, B, C) or for all categories."""

    __tablename__ = "parameter_limits"
    __table_args__ = (
        UniqueConstraint("parameter_id", "category"),
        one_of("category", LimitCategory),
        one_of("comparator", Comparator),
        one_of("catalog_comparator", Comparator, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    category: Mapped[str] = mapped_column(String(3))
    comparator: Mapped[str] = mapped_column(String(16))
    #: The limit as written: "20", "4.0..7.5", "3-4", or the requirement in words for absent/pass_fail.
    limit: Mapped[str] = mapped_column(String(200))
    #: What the shipped catalog said when it was last loaded; a newer catalog file is detected against it.
    catalog_limit: Mapped[str | None] = mapped_column(String(200))
    catalog_comparator: Mapped[str | None] = mapped_column(String(16))
    clause: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    parameter: Mapped[SafetyParameter] = relationship(back_populates="limits")


class LimitChange(db.Model):
    """One change of a limit: who, when, the old and the new value, and why. Never edited or deleted."""

    __tablename__ = "limit_changes"
    __table_args__ = (
        one_of("category", LimitCategory),
        one_of("old_comparator", Comparator, nullable=True),
        one_of("new_comparator", Comparator, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    category: Mapped[str] = mapped_column(String(3))
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


class LabResult(db.Model):
    """A lab result for one parameter on a batch (and optionally one of its lots), judged when recorded.

    The category, comparator and limit it was judged against are copied in, so a later correction of the
    catalog never changes a verdict already given.
    """

    __tablename__ = "lab_results"
    __table_args__ = (
        one_of("verdict", Outcome),
        one_of("category", SafetyCategory),
        one_of("comparator", Comparator, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("material_lots.id"), index=True)
    #: Set for a retest recorded on a non-conformance (D6).
    nc_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"), index=True)
    #: The value as read, canonical ("35", "3-4", "not detected").
    value: Mapped[str] = mapped_column(String(100))
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


class PlanChange(db.Model):
    """The history of plan adjustments: which parameter was added or dropped for a style, by whom, why."""

    __tablename__ = "plan_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("safety_parameters.id"))
    included: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parameter: Mapped[SafetyParameter] = relationship()
    changed_by: Mapped[User] = relationship()
