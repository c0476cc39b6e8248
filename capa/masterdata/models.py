from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, String, Table, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.accounts.models import User
from capa.audit.models import Chained
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db


class SupplierApproval(StrEnum):
    APPROVED = "approved"
    #: May supply under extra checks: its lots go into a CMIA batch only under a recorded concession.
    CONDITIONAL = "conditional"
    SUSPENDED = "suspended"
    #: Struck off: not to be used again without a new approval.
    DISQUALIFIED = "disqualified"


class SafetyCategory(StrEnum):
    """GB 18401 categories: A infants (36 months and under), B skin contact, C no skin contact."""

    A = "A"
    B = "B"
    C = "C"


class AgeGroup(StrEnum):
    """Who a garment is made for; cord and drawstring rules depend on it (GB 31701, EN 14682)."""

    #: 36 months and under.
    INFANT = "infant"
    #: Over 36 months up to 7 years (about 130 cm).
    CHILD_3_7 = "child_3_7"
    #: 7 to 14 years.
    CHILD_7_14 = "child_7_14"


class Market(StrEnum):
    """Where a style is sold: each market's rules apply to it (GB codes in China, CPSIA in the US, REACH in
    the EU)."""

    CN = "CN"
    EU = "EU"
    US = "US"


class TrimSize(StrEnum):
    """Size classes of attachments (buttons, snaps, sequins) by their largest dimension (GB 31701)."""

    #: 3 mm or less.
    SMALL = "small"
    #: Over 3 mm up to 6 mm.
    MEDIUM = "medium"
    #: Over 6 mm.
    LARGE = "large"


class CordPlace(StrEnum):
    """Where a garment has cords, drawstrings or ties."""

    HOOD_NECK = "hood_neck"
    WAIST = "waist"
    HEM = "hem"
    SLEEVE = "sleeve"
    BACK = "back"
    TIE_BELT = "tie_belt"
    SHOULDER_STRAP = "shoulder_strap"
    OTHER = "other"


class Fill(StrEnum):
    NONE = "none"
    FIBRE = "fibre"
    DOWN = "down"


class LotKind(StrEnum):
    FABRIC = "fabric"
    DYE_LOT = "dye_lot"
    TRIM = "trim"
    THREAD = "thread"
    LABEL = "label"
    PACKAGING = "packaging"
    OTHER = "other"


#: Dyed fabric: the greige or finished fabric and the dye lot it was dyed in. Lab dips are of these, their failures
#: of colour and chemistry are theirs, and they are inspected on receipt by the 4-point system.
DYED_FABRIC = frozenset({LotKind.FABRIC, LotKind.DYE_LOT})


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
    #: May its material be used: approved, conditional (with extra checks), suspended or disqualified.
    approval: Mapped[str] = mapped_column(String(16), default=SupplierApproval.APPROVED)
    #: The material kinds (LotKind values) its approval covers; empty: every kind.
    approved_kinds: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: The codes of the safety parameters its approval covers (a lot is to meet those of its style's plan that
    #: concern its kind); empty: every parameter. Set by a quality manager's decision, checked against the catalog.
    approved_parameters: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: The day its approval is to be evaluated again; after it the approval has lapsed. None: no date set.
    reevaluate_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lots: Mapped[list["MaterialLot"]] = relationship(back_populates="supplier")


class Buyer(db.Model):
    """A customer whose styles the factory makes (a brand or retailer): its requirements (AQLs) apply to all of
    them, and the final inspections of its lots on a line are one continuing series for the switching rules."""

    __tablename__ = "buyers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Style(db.Model):
    __tablename__ = "styles"
    __table_args__ = (
        one_of("category", SafetyCategory),
        one_of("age_group", AgeGroup, nullable=True),
        one_of("fill", Fill),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The GB 18401 safety category; it selects the limits every result for this style is judged against.
    category: Mapped[str] = mapped_column(String(1))
    #: The tech pack requires CMIA compliance: the style gets a quality plan of safety parameters.
    cmia_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Whose style it is; None for the factory's own or when not said.
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"), index=True)

    # What decides which safety parameters apply to the garment (capa.safety.applicability).
    #: AgeGroup; None until somebody says (then only rules that do not depend on age apply).
    age_group: Mapped[str | None] = mapped_column(String(16))
    #: Markets (Market values) the style is sold in.
    markets: Mapped[list] = mapped_column(JSON, default=lambda: [Market.CN.value], server_default=text("'[\"CN\"]'"))
    #: Has prints or coatings (heavy metals and phthalates in prints apply).
    prints: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Size classes (TrimSize values) of its attachments; empty when it has none.
    trims: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: Has metal parts (snaps, rivets, zips): nickel release and lead in substrate apply.
    metal_parts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Where it has cords (CordPlace values); empty when it has none.
    cords: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: Fill of padded garments: none, fibre or down/feather.
    fill: Mapped[str] = mapped_column(String(8), default=Fill.NONE, server_default=Fill.NONE.value)
    #: Dark shade (deeper than 1/1 standard depth): wet rubbing fastness has its own limit.
    dark_shade: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Raised-fibre surface (fleece, pile): 16 CFR 1610 judges it by the raised-surface rule.
    raised_surface: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Children's sleepwear (16 CFR 1615/1616).
    sleepwear: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: A child-care article (bib, sleepwear for 3 years and under) under CPSIA s.108 and REACH entry 52.
    childcare: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Fibre content as on the label, "95% cotton, 5% elastane"; some exemptions depend on it.
    fibre_content: Mapped[str] = mapped_column(String(200), default="", server_default="")

    buyer: Mapped[Buyer | None] = relationship()
    batches: Mapped[list["Batch"]] = relationship(back_populates="style")
    changes: Mapped[list["StyleChange"]] = relationship(
        back_populates="style", order_by="StyleChange.changed_at.desc(), StyleChange.id.desc()"
    )


class StyleChange(Chained, db.Model):
    """One change of a style field: who, when, old and new, and why (required where it decides its safety
    judgements). Chained by style."""

    __tablename__ = "style_changes"
    __chain_by__ = ("style_id",)
    __chain_fields__ = ("style_id", "field", "old", "new", "reason", "changed_by_id", "changed_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    style: Mapped[Style] = relationship(back_populates="changes")
    changed_by: Mapped[User | None] = relationship()


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
    #: By number, so that a lot's batches read the same on every page and database.
    batches: Mapped[list["Batch"]] = relationship(secondary=batch_lots, back_populates="lots", order_by="Batch.number")


class Batch(db.Model):
    """A production batch of one style on one line, traceable to the material lots it was made from."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"), index=True)
    #: The colourways made in this batch ("navy", "red"); coverage is judged per colourway.
    colourways: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    style: Mapped[Style] = relationship(back_populates="batches")
    line: Mapped[ProductionLine] = relationship()
    lots: Mapped[list[MaterialLot]] = relationship(
        secondary=batch_lots, back_populates="batches", order_by=MaterialLot.number
    )
    concessions: Mapped[list["LotConcession"]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="LotConcession.id"
    )


class LotConcession(db.Model):
    """A quality manager's recorded concession to use a lot in a CMIA batch although its supplier is not approved
    for that material (capa.masterdata.approval): who allowed it, when and why."""

    __tablename__ = "lot_concessions"
    __table_args__ = (UniqueConstraint("batch_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("material_lots.id"), index=True)
    #: The supplier's approval as it stood, and why it did not cover the lot.
    approval: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="concessions")
    lot: Mapped[MaterialLot] = relationship()
    granted_by: Mapped[User | None] = relationship()
