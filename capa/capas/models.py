from datetime import date, datetime
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
    bindparam,
    func,
    literal,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from capa.accounts.models import User
from capa.audit.models import Chained
from capa.capas.states import State
from capa.common.clock import plant_today
from capa.common.types import UTCDateTime, one_of, utcnow
from capa.documents.models import DocumentRevision
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, SafetyCategory, Style
from capa.safety.models import LabResult, SafetyParameter


class Source(StrEnum):
    INLINE = "inline"
    END_OF_LINE = "end_of_line"
    FINAL_AUDIT = "final_audit"
    LAB_TEST = "lab_test"
    CUSTOMER_COMPLAINT = "customer_complaint"
    INCOMING_MATERIAL = "incoming_material"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ActionKind(StrEnum):
    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"
    STANDARD_REVISION = "standard_revision"
    SCAR = "scar"
    #: Retraining the people concerned (evidence names who was trained).
    TRAINING = "training"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class DispositionKind(StrEnum):
    """What a quality manager decides for goods on hold (see :mod:`capa.capas.dispositions`)."""

    RELEASE = "release"
    #: Reworked, then re-inspected: the goods stay controlled until the re-inspection is recorded.
    REWORK = "rework"
    SCRAP = "scrap"
    RETURN_TO_SUPPLIER = "return_to_supplier"
    #: Used as they are under a buyer's concession (the buyer and the concession's reference are required).
    USE_AS_IS = "use_as_is"


class EffectivenessVerdict(StrEnum):
    """The verdict of a closed CAPA's effectiveness review."""

    EFFECTIVE = "effective"
    NOT_EFFECTIVE = "not_effective"


class AttachmentPurpose(StrEnum):
    """What an evidence file stands for: an action's evidence, the closing's, or the effectiveness review's."""

    ACTION = "action"
    CLOSING = "closing"
    EFFECTIVENESS = "effectiveness"


class ReviewDecision(StrEnum):
    """A quality manager's decision on a submitted root cause."""

    APPROVE = "approve"
    RETURN = "return"


class FishboneCategory(StrEnum):
    """The 6M of an Ishikawa diagram."""

    MAN = "man"
    MACHINE = "machine"
    METHOD = "method"
    MATERIAL = "material"
    MEASUREMENT = "measurement"
    ENVIRONMENT = "environment"


defect_type_parameters = Table(
    "defect_type_parameters",
    db.metadata,
    Column("defect_type_id", ForeignKey("defect_types.id", ondelete="CASCADE"), primary_key=True),
    Column("parameter_id", ForeignKey("safety_parameters.id"), primary_key=True),
)

nc_parameters = Table(
    "nc_parameters",
    db.metadata,
    Column("nc_id", ForeignKey("nonconformances.id", ondelete="CASCADE"), primary_key=True),
    Column("parameter_id", ForeignKey("safety_parameters.id"), primary_key=True, index=True),
)


class DefectType(db.Model):
    """A kind of defect (loose button, formaldehyde over limit…) and the parameters it usually concerns."""

    __tablename__ = "defect_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The name in Simplified Chinese (纽扣松脱); empty when nobody gave one.
    name_zh: Mapped[str] = mapped_column(String(120), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Days from closing to the effectiveness review of a CAPA of this type.
    effectiveness_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")

    parameters: Mapped[list[SafetyParameter]] = relationship(
        secondary=defect_type_parameters, order_by=SafetyParameter.code
    )


class NumberCounter(db.Model):
    """The last NC number issued per year. Taken and raised in the filing transaction, so numbers have no
    gaps: a filing that fails rolls its number back with it."""

    __tablename__ = "nc_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


#: The conditions of the partial indexes (an index over the rows meeting it alone), as the queries state them.
OPEN_NC = f"status NOT IN ('{State.CLOSED}', '{State.CANCELLED}')"
CANCELLED_NC = f"status = '{State.CANCELLED}'"
PENDING_REVIEW = f"status = '{State.CLOSED}' AND effectiveness_verdict IS NULL"
OPEN_ACTION = f"status = '{ActionStatus.OPEN}'"
ON_HOLD = "released_at IS NULL"
RETURNED_ANALYSIS = f"decision = '{ReviewDecision.RETURN}'"


def _where(condition: str) -> dict:
    """The keyword arguments of a partial index with ``condition`` on both engines."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


def stated(value: str | list[str]):
    """``value`` (or a list of values, for IN) written into the SQL rather than sent as a parameter, for the
    terms of a query that repeat a partial index's condition: SQLite uses a partial index only when the query
    states its condition with the same constants, which a bound parameter hides from it, and so does a generic plan
    of a statement PostgreSQL has prepared (``capa.common.transaction``)."""
    if isinstance(value, list):
        return bindparam(None, value, expanding=True, literal_execute=True)
    return literal(value, literal_execute=True)


class NonConformance(db.Model):
    """One observed problem (the NC) and the corrective action record it drives (the CAPA): one number."""

    __tablename__ = "nonconformances"
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        # A filing resent with its key finds the NC it filed; NCs filed without a key (NULL) never collide.
        UniqueConstraint("reported_by_id", "filing_key"),
        one_of("status", State),
        one_of("category", SafetyCategory, nullable=True),
        one_of("source", Source),
        one_of("severity", Severity),
        one_of("effectiveness_verdict", EffectivenessVerdict, nullable=True),
        # The NC list, newest first (reported_at, id descending), filtered by none or one of these: each index
        # hands out the rows in order, so a page reads its 25 rows and stops (capa.capas.paging). Trigram
        # indexes for text search follow the class.
        Index("ix_nonconformances_reported_at_id", "reported_at", "id"),
        Index("ix_nonconformances_status_reported_at", "status", "reported_at", "id"),
        Index("ix_nonconformances_line_reported_at", "line_id", "reported_at", "id"),
        Index("ix_nonconformances_style_reported_at", "style_id", "reported_at", "id"),
        Index("ix_nonconformances_defect_type_reported_at", "defect_type_id", "reported_at", "id"),
        Index("ix_nonconformances_reported_by_reported_at", "reported_by_id", "reported_at", "id"),
        # The recurrence check at filing (capa.capas.filing.find_recurrence): the CAPAs of a defect type closed
        # within the window, the latest first.
        Index("ix_nonconformances_defect_type_closed_at", "defect_type_id", "closed_at"),
        # Partial indexes: the few open, pending or cancelled NCs among a million closed ones, for the home page's
        # queues and counts (capa.capas.queries.queue_for, capa.trends.figures.current_counts), which read them
        # from these without visiting the closed NCs.
        Index("ix_nonconformances_open_by_reporter", "reported_by_id", "reported_at", "id", **_where(OPEN_NC)),
        Index("ix_nonconformances_open_safety_critical", "safety_critical", "status", **_where(OPEN_NC)),
        Index(
            "ix_nonconformances_effectiveness_pending", "effectiveness_due", "number", "id", **_where(PENDING_REVIEW)
        ),
        Index("ix_nonconformances_cancelled", "id", **_where(CANCELLED_NC)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NC-2026-00042: the year of the report (plant time) and a gapless sequence within it.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    #: Raised by every change; a save that carries an older version is refused (optimistic locking).
    version: Mapped[int] = mapped_column(Integer, default=1)

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    defect_type_id: Mapped[int] = mapped_column(ForeignKey("defect_types.id"))
    source: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16), default=Severity.MAJOR)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_lines.id"))
    style_id: Mapped[int | None] = mapped_column(ForeignKey("styles.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    #: The safety category results are judged against when the NC names no style.
    category: Mapped[str | None] = mapped_column(String(1))
    quantity_affected: Mapped[int | None] = mapped_column(Integer)
    #: Linked to a safety parameter on a category A (infant) style.
    safety_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    recurrence_of_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    #: The failing lab result this NC was raised from, when it was.
    source_result_id: Mapped[int | None] = mapped_column(
        # Added after both tables exist: lab_results.nc_id points back at this table.
        ForeignKey("lab_results.id", use_alter=True),
        # One NC per failing result, also when two people raise it at the same moment.
        index=True,
        unique=True,
    )

    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The idempotency key the reporter filed it with (the page's, the phone's outbox's or an API client's):
    #: the same key sent again answers with this NC instead of filing another one.
    filing_key: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of what was filed with the key, to tell a resend from a different filing under a reused key.
    filing_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: Where an NC taken in from a factory's earlier spreadsheet came from (its number in the sheet, or a
    #: fingerprint of its row): importing the same sheet again finds it and adds nothing. NULL when filed here.
    import_reference: Mapped[str | None] = mapped_column(String(200), unique=True)

    containment: Mapped[str] = mapped_column(Text, default="")
    effectiveness: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: The effectiveness review of a closed CAPA: due on this plant date (set at closing), then its verdict.
    effectiveness_due: Mapped[date | None] = mapped_column(Date, index=True)
    effectiveness_verdict: Mapped[str | None] = mapped_column(String(16))
    effectiveness_review: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Whether the problem recurred since closing, as the reviewer found it.
    effectiveness_recurred: Mapped[bool | None] = mapped_column(Boolean)
    effectiveness_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effectiveness_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When the reminder mail for a due review went out (sent once).
    effectiveness_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The closed CAPA whose review found it not effective and opened this one.
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformances.id"), index=True)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    defect_type: Mapped[DefectType] = relationship()
    line: Mapped[ProductionLine] = relationship()
    style: Mapped[Style | None] = relationship()
    batch: Mapped[Batch | None] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])
    recurrence_of: Mapped["NonConformance | None"] = relationship(
        remote_side=[id], foreign_keys=[recurrence_of_id], back_populates="recurrences"
    )
    recurrences: Mapped[list["NonConformance"]] = relationship(
        back_populates="recurrence_of", foreign_keys=[recurrence_of_id]
    )
    source_result: Mapped[LabResult | None] = relationship(foreign_keys=[source_result_id])
    parameters: Mapped[list[SafetyParameter]] = relationship(secondary=nc_parameters, order_by=SafetyParameter.code)
    holds: Mapped[list["Hold"]] = relationship(back_populates="nc", order_by="Hold.id")
    analyses: Mapped[list["RootCauseAnalysis"]] = relationship(back_populates="nc", order_by="RootCauseAnalysis.round")
    actions: Mapped[list["Action"]] = relationship(back_populates="nc", order_by="Action.id")
    photos: Mapped[list["Photo"]] = relationship(back_populates="nc", order_by="Photo.id")
    events: Mapped[list["Event"]] = relationship(back_populates="nc", order_by="Event.id")
    signatures: Mapped[list["Signature"]] = relationship(back_populates="nc", order_by="Signature.id")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="nc", order_by="Attachment.id")
    effectiveness_reviewed_by: Mapped[User | None] = relationship(foreign_keys=[effectiveness_reviewed_by_id])
    follow_up_of: Mapped["NonConformance | None"] = relationship(
        remote_side=[id], foreign_keys=[follow_up_of_id], back_populates="follow_ups"
    )
    follow_ups: Mapped[list["NonConformance"]] = relationship(
        back_populates="follow_up_of", foreign_keys=[follow_up_of_id]
    )

    @property
    def overdue_actions(self) -> int:
        return sum(1 for action in self.actions if action.overdue)

    @property
    def effective_category(self) -> str | None:
        return self.style.category if self.style is not None else self.category


# Text search (capa.capas.queries.text_clause) by index, on each engine its own way. PostgreSQL: trigram (pg_trgm)
# GIN indexes on the lowered number, title and description serve ``lower(column) LIKE '%text%'``.
for _column in ("number", "title", "description"):
    Index(
        f"ix_nonconformances_{_column}_trgm",
        func.lower(getattr(NonConformance, _column)).label(f"{_column}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_column}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")

#: SQLite: the FTS5 table (trigram tokenizer) over the NCs' number, title and description, made by migration 0014
#: with the triggers that keep it in step with ``nonconformances``; no model maps it. Its own tables
#: (``nc_search_data``, ``_idx``, ``_docsize``, ``_config``) start with the same name.
SEARCH_TABLE = "nc_search"


def is_search_table(name: str) -> bool:
    """Whether ``name`` is the SQLite search table or one of its own tables (no model maps them: the
    comparison of the models with the migrations leaves them out)."""
    return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")


#: The NC raised from a lab result, read beside the result (capa.capas.raising raises at most one per result);
#: loaded with the results, in one query however many, since every answer about a result names it.
LabResult.raised_nc = relationship(
    NonConformance,
    primaryjoin=LabResult.id == foreign(NonConformance.source_result_id),
    viewonly=True,
    uselist=False,
    lazy="selectin",
)


class Hold(db.Model):
    """A batch or a lot put on hold (quarantine) by an NC's containment. It leaves quarantine only by the
    quality manager's dispositions covering its whole quantity (``released_at`` is then set), or when its NC is
    cancelled."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("(batch_id IS NULL) <> (lot_id IS NULL)", name="batch_or_lot"),
        # The holds still in quarantine, oldest first: the long-hold alerts of the home page and the summary.
        Index("ix_holds_on_hold_held_at", "held_at", "id", **_where(ON_HOLD)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("material_lots.id"), index=True)
    #: Pieces (or metres, for a fabric lot) held; unknown when the containment did not say.
    quantity: Mapped[int | None] = mapped_column(Integer)
    held_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why it left quarantine: the dispositions that covered it, or the cancelling of its NC.
    release_reason: Mapped[str] = mapped_column(Text, default="")

    nc: Mapped[NonConformance] = relationship(back_populates="holds")
    batch: Mapped[Batch | None] = relationship()
    lot: Mapped[MaterialLot | None] = relationship()
    held_by: Mapped[User] = relationship(foreign_keys=[held_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    dispositions: Mapped[list["Disposition"]] = relationship(back_populates="hold", order_by="Disposition.id")

    @property
    def subject(self) -> str:
        return self.batch.number if self.batch is not None else self.lot.number


disposition_results = Table(
    "disposition_results",
    db.metadata,
    Column("disposition_id", ForeignKey("dispositions.id", ondelete="CASCADE"), primary_key=True),
    Column("result_id", ForeignKey("lab_results.id"), primary_key=True, index=True),
)


class Disposition(db.Model):
    """A quality manager's decision on (part of) a hold: release, rework then re-inspect, scrap, return to
    supplier, or use as is under a buyer's concession. Kept, never edited; a rework gets its re-inspection."""

    __tablename__ = "dispositions"
    __table_args__ = (
        one_of("kind", DispositionKind),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="positive_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: The quantity it covers; NULL means the rest of a hold whose quantity was never given.
    quantity: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: What the decision rests on, in words (the results it rests on are linked in ``results``).
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    concession_buyer: Mapped[str] = mapped_column(String(120), default="", server_default="")
    concession_reference: Mapped[str] = mapped_column(String(120), default="", server_default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A rework's re-inspection: when, by whom, passed or not, and what was found.
    reinspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reinspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reinspection_passed: Mapped[bool | None] = mapped_column(Boolean)
    reinspection_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    hold: Mapped[Hold] = relationship(back_populates="dispositions")
    decided_by: Mapped[User] = relationship(foreign_keys=[decided_by_id])
    reinspected_by: Mapped[User | None] = relationship(foreign_keys=[reinspected_by_id])
    results: Mapped[list[LabResult]] = relationship(secondary=disposition_results, order_by=LabResult.id)


class RootCauseAnalysis(db.Model):
    """One round of root-cause analysis (D4) and the quality manager's review of it. Every round is kept."""

    __tablename__ = "root_cause_analyses"
    __table_args__ = (
        UniqueConstraint("nc_id", "round"),
        one_of("category", FishboneCategory),
        # Empty while the analysis waits for its review.
        one_of("decision", ["", *ReviewDecision]),
        # The analyses returned with a question, a tenth of all: the home page's "returned" queue probes them for
        # each NC in investigation.
        Index("ix_root_cause_analyses_returned", "nc_id", "round", **_where(RETURNED_ANALYSIS)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    #: The 5 Whys, in order.
    whys: Mapped[list] = mapped_column(JSON, default=list)
    #: Fishbone causes by 6M category: {"method": ["stitch density below standard"], …}.
    fishbone: Mapped[dict] = mapped_column(JSON, default=dict)
    category: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: approve or return; empty while waiting for review.
    decision: Mapped[str] = mapped_column(String(16), default="")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    nc: Mapped[NonConformance] = relationship(back_populates="analyses")
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


class Action(db.Model):
    """A corrective, preventive or standard-revision action, or a supplier corrective action request."""

    __tablename__ = "capa_actions"
    __table_args__ = (
        one_of("kind", ActionKind),
        one_of("status", ActionStatus),
        # Overdue actions (open, due before today): the NC list's ``overdue`` filter probes an NC's open actions
        # by their due date, or reads the overdue ones in due-date order (a quality manager's queue, reminders).
        Index("ix_capa_actions_nc_status_due_date", "nc_id", "status", "due_date"),
        Index("ix_capa_actions_status_due_date", "status", "due_date", "nc_id"),
        # The open actions alone: every overdue one in due-date order, and each owner's (the home page's queues).
        Index("ix_capa_actions_open_due", "due_date", "id", "nc_id", **_where(OPEN_ACTION)),
        Index("ix_capa_actions_open_by_owner", "owner_id", "due_date", "id", **_where(OPEN_ACTION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(8), default=ActionStatus.OPEN)
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The root-cause round the action answers (the approved analysis it was added under).
    round: Mapped[int | None] = mapped_column(Integer)
    #: A standard revision's evidence: the document revised and its new revision.
    document: Mapped[str] = mapped_column(String(200), default="", server_default="")
    revision: Mapped[str] = mapped_column(String(40), default="", server_default="")
    #: The revision of the document register it names, when the document is registered (capa.documents).
    document_revision_id: Mapped[int | None] = mapped_column(ForeignKey("document_revisions.id"))
    #: A retraining's evidence: who was trained.
    trained: Mapped[str] = mapped_column(Text, default="", server_default="")

    nc: Mapped[NonConformance] = relationship(back_populates="actions")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="action", order_by="Attachment.id")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    document_revision: Mapped[DocumentRevision | None] = relationship()

    @property
    def overdue(self) -> bool:
        """Open, due before today in plant time, and of an NC that was not cancelled (the same rule as the NC
        list's ``overdue`` filter, :func:`capa.capas.queries.overdue_clause`)."""
        return self.status == ActionStatus.OPEN and self.due_date < plant_today() and self.nc.status != State.CANCELLED


class StoredPhoto:
    """The columns of a photo kept in the app's file storage under a name the app chose (an NC's, an
    inspection's: :mod:`capa.capas.photos`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    #: The file name the user's device gave, shown only as text.
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Photo(StoredPhoto, db.Model):
    """A photo of the defect."""

    __tablename__ = "nc_photos"

    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)

    nc: Mapped[NonConformance] = relationship(back_populates="photos")


class Attachment(db.Model):
    """An evidence file (photo, PDF, XLSX) of an action, of the closing or of the effectiveness review, kept in
    the app's file storage (:mod:`capa.common.files`) under its key."""

    __tablename__ = "nc_attachments"
    __table_args__ = (one_of("purpose", AttachmentPurpose),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("capa_actions.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: The file name the user's device gave, shown only as text.
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    nc: Mapped[NonConformance] = relationship(back_populates="attachments")
    action: Mapped[Action | None] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()


class SignatureMeaning(StrEnum):
    """What a signer's signature means (21 CFR Part 11 §11.50: the meaning is shown with the name and time)."""

    APPROVED_ROOT_CAUSE = "approved_root_cause"
    RETURNED_ROOT_CAUSE = "returned_root_cause"
    RELEASED_BATCH = "released_batch"
    REWORKED_BATCH = "reworked_batch"
    SCRAPPED_BATCH = "scrapped_batch"
    RETURNED_TO_SUPPLIER = "returned_to_supplier"
    USED_AS_IS = "used_as_is"
    CLOSED_CAPA = "closed_capa"
    REVIEWED_EFFECTIVENESS = "reviewed_effectiveness"


class Signature(Chained, db.Model):
    """An electronic signature on a step of an NC: the signer (and the full name as it stood when signing), the
    time and the meaning, given by re-entering the password. Kept, never edited; chained by NC."""

    __tablename__ = "signatures"
    __table_args__ = (one_of("meaning", SignatureMeaning),)
    __chain_by__ = ("nc_id",)
    __chain_fields__ = ("nc_id", "signer_id", "signer_name", "meaning", "signed_at", "disposition_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The signer's full name when signing (the account's name may change later; the signature does not).
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The disposition signed, for a signature on a disposition.
    disposition_id: Mapped[int | None] = mapped_column(ForeignKey("dispositions.id"))

    nc: Mapped[NonConformance] = relationship(back_populates="signatures")
    signer: Mapped[User] = relationship()
    disposition: Mapped[Disposition | None] = relationship()


class Event(Chained, db.Model):
    """One entry of an NC's history: who, when, what, old and new. Appended, never edited or deleted; chained
    by NC (:mod:`capa.audit.chain`)."""

    __tablename__ = "nc_events"
    __chain_by__ = ("nc_id",)
    __chain_fields__ = ("nc_id", "at", "actor_id", "kind", "field", "old", "new", "note", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: What happened: filed, state, field, containment, hold, release, root_cause, review, action, …
    kind: Mapped[str] = mapped_column(String(24))
    field: Mapped[str] = mapped_column(String(40), default="")
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: The NC version the change produced: a save made on an older version is refused only when a change since
    #: touched what it depends on (see :func:`capa.capas.history.authorize`). NULL for entries from before.
    version: Mapped[int | None] = mapped_column(Integer)

    nc: Mapped[NonConformance] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
