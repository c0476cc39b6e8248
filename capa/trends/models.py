from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db


class SummaryStatus(StrEnum):
    BUILDING = "building"
    BUILT = "built"
    FAILED = "failed"


class MailStatus(StrEnum):
    #: No mail server configured when it was built: nothing to send.
    NOT_CONFIGURED = "not_configured"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


#: Mail that is still to go out: never tried, or tried and failed.
UNSENT = (MailStatus.PENDING, MailStatus.FAILED)


class WeeklySummary(db.Model):
    """The summary of one ISO week. The unique week is the claim that makes building it happen once: a
    second builder (a second scheduler, a repeated run) fails to insert and leaves the first one's alone."""

    __tablename__ = "weekly_summaries"
    __table_args__ = (one_of("status", SummaryStatus), one_of("mail_status", MailStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 2026-W47
    week: Mapped[str] = mapped_column(String(8), unique=True)
    monday: Mapped[date] = mapped_column(Date)
    #: The figures as the API answers them; empty while the summary is being built.
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=SummaryStatus.BUILDING)
    #: When the current build, or the current mailing, was claimed: a claim older than STALE_CLAIM is
    #: taken over, since its process must have died.
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mail_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: not_configured, pending, sending, sent or failed: the mail of this summary, sent once.
    mail_status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    mail_error: Mapped[str] = mapped_column(Text, default="")
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobClaim(db.Model):
    """A job run claimed once: (job, key) is unique, e.g. the overdue reminders of one day."""

    __tablename__ = "job_claims"
    __table_args__ = (UniqueConstraint("job", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
