"""The effectiveness review of a closed CAPA (verification of effectiveness): when it is due, what the reviewer
looks at, the verdict, the follow-up CAPA of a review that failed, and the reviews due and done.

The rules:
- closing sets the review date: the closing's plant date plus the defect type's ``effectiveness_days`` (90
  unless a quality manager set 1 to 730 on the type), or the date the quality manager closing it gives
  (``review_on``, from tomorrow on: the Close command refuses an earlier one, 400 naming ``review_on``);
- the evidence since closing, shown above the review form and answered by the API:
  * the recurrences: the NCs flagged as recurrences of it, and the NCs of the same defect type on the same
    style or on material of one of the same suppliers (the recurrence notion of
    :func:`capa.capas.filing.same_source`, the same SQL condition) reported since it closed; cancelled NCs and
    its own follow-ups are left out; the EVIDENCE_LIMIT newest, chosen in one query;
  * the failing lab results of its linked parameters on the same style (on a batch of the style, or recorded
    on an NC of the style) tested on or after the closing date, newest first, at most EVIDENCE_LIMIT;
- the review is the quality manager's (PermissionDenied, 403), on a closed CAPA only (InvalidState, 409),
  at any time after closing (the due date reminds, it does not lock), and once (AlreadyReviewed, 409). It
  records the verdict (effective or not effective, no default), whether the problem recurred and a note
  (each required: ValidationError, 400, naming the field), who and when; a stale ``version`` is refused
  (StaleVersion, 409). It is signed electronically with the reviewer's ``password`` (meaning
  ``reviewed_effectiveness``; missing: 400, wrong: 401 ``signature_refused``, both naming ``password``:
  :mod:`capa.capas.signatures`);
- "not effective" files a follow-up CAPA in the same unit of work, through the filing service (numbering,
  history, the recurrence check): the same defect type, line, style (or category), batch, linked parameters,
  source and severity; titled "Follow-up of NC-…: <title>"; its description names the review's note; linked
  to the reviewed CAPA (``follow_up_of``). The reviewed CAPA's history records the review
  (``effectiveness_review``) and the follow-up (``follow_up``), the follow-up's its origin (``follow_up_of``).
  When the follow-up cannot be filed (its defect type is no longer in use, a parameter lost its limit), the
  review is refused with the reason beside ``verdict`` and nothing is stored;
- reviews due on a day: closed CAPAs due on or before it with no verdict yet, the earliest due first, at most
  DUE_LIMIT;
- a week's counts (:func:`review_counts`): due (the review date falls within the week), done (reviewed within
  the week) and failed (of those, found not effective).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.capas import filing, signatures
from capa.capas.commands import EffectivenessReview, FileNC
from capa.capas.errors import AlreadyReviewed
from capa.capas.history import Journal, changing
from capa.capas.lookup import invalid
from capa.capas.models import EffectivenessVerdict, NonConformance, SignatureMeaning, stated
from capa.capas.states import State, Step
from capa.common.clock import plant_time, plant_zone
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import Batch
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult

#: At most this many recurrences and this many failing results are shown as evidence.
EVIDENCE_LIMIT = 20
#: At most this many reviews are listed as due (the queue, a reminder mail).
DUE_LIMIT = 100
TITLE_LENGTH = 200
DESCRIPTION_LENGTH = 4000


def review_date(nc: NonConformance, closed_on: date) -> date:
    """The plant date the effectiveness review of ``nc``, closed on ``closed_on``, falls due."""
    return closed_on + timedelta(days=nc.defect_type.effectiveness_days)


# The evidence since closing ----------------------------------------------------------------------------------


@dataclass
class Evidence:
    """What happened since a CAPA closed that bears on its effectiveness (see the module's rules)."""

    recurrences: list[NonConformance] = field(default_factory=list)
    failing_results: list[LabResult] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.recurrences or self.failing_results)


def evidence_since_closing(nc: NonConformance) -> Evidence:
    """The recurrences and the failing results since ``nc`` closed, each newest first and bounded; empty for
    an NC that is not closed."""
    if nc.status != State.CLOSED or nc.closed_at is None:
        return Evidence()
    return Evidence(_recurrences(nc), _failing_results(nc))


def _recurrences(nc: NonConformance) -> list[NonConformance]:
    since = and_(
        NonConformance.defect_type_id == nc.defect_type_id,
        NonConformance.reported_at >= nc.closed_at,
        filing.same_source(nc.style_id, nc.batch_id),
    )
    return list(
        db.session.scalars(
            select(NonConformance)
            .where(
                or_(NonConformance.recurrence_of_id == nc.id, since),
                NonConformance.id != nc.id,
                NonConformance.status != State.CANCELLED,
                or_(NonConformance.follow_up_of_id.is_(None), NonConformance.follow_up_of_id != nc.id),
            )
            .options(selectinload(NonConformance.style), selectinload(NonConformance.batch))
            .order_by(NonConformance.reported_at.desc(), NonConformance.id.desc())
            .limit(EVIDENCE_LIMIT)
        )
    )


def _failing_results(nc: NonConformance) -> list[LabResult]:
    parameter_ids = [parameter.id for parameter in nc.parameters]
    if nc.style_id is None or not parameter_ids:
        return []
    closed_on = plant_time(nc.closed_at).date()
    batches_of_style = select(Batch.id).where(Batch.style_id == nc.style_id)
    ncs_of_style = select(NonConformance.id).where(NonConformance.style_id == nc.style_id)
    query = (
        select(LabResult)
        .where(
            LabResult.parameter_id.in_(parameter_ids),
            LabResult.verdict == Outcome.FAIL,
            LabResult.tested_at >= closed_on,
            or_(LabResult.batch_id.in_(batches_of_style), LabResult.nc_id.in_(ncs_of_style)),
        )
        .options(selectinload(LabResult.parameter), selectinload(LabResult.batch))
    )
    return list(db.session.scalars(safety.newest_first(query).limit(EVIDENCE_LIMIT)))


# The review ------------------------------------------------------------------------------------------------


def review_effectiveness(nc: NonConformance, command: EffectivenessReview, actor: User) -> NonConformance:
    """Record the effectiveness review of the closed CAPA ``nc``; "not effective" files its follow-up CAPA in
    the same unit of work (see the module's rules); the review is signed electronically with the reviewer's
    ``password`` (meaning ``reviewed_effectiveness``: :mod:`capa.capas.signatures`). Raises PermissionDenied,
    InvalidState, StaleVersion, AlreadyReviewed, then ValidationError (missing) or SignatureRefused (wrong) naming
    ``password``, and ValidationError naming ``verdict`` when the follow-up cannot be filed; nothing is stored
    when any is raised."""
    with changing(nc, actor, Step.REVIEW_EFFECTIVENESS, version=command.version) as journal:
        if nc.effectiveness_verdict is not None:
            raise AlreadyReviewed(
                str(_l("The effectiveness of %(number)s was reviewed already.", number=nc.number)),
                fields={"verdict": str(_l("Reviewed already: %(verdict)s.", verdict=nc.effectiveness_verdict))},
            )
        signatures.sign(nc, actor, command.password, SignatureMeaning.REVIEWED_EFFECTIVENESS)
        nc.effectiveness_verdict = command.verdict.value
        nc.effectiveness_recurred = command.recurred
        nc.effectiveness_review = command.note
        nc.effectiveness_reviewed_at = utcnow()
        nc.effectiveness_reviewed_by = actor
        journal.record("effectiveness_review", new=command.verdict.value, note=command.note)
        if command.verdict is EffectivenessVerdict.NOT_EFFECTIVE:
            follow_up = _file_follow_up(nc, command, actor)
            journal.record("follow_up", new=follow_up.number, note=follow_up.title)
    return nc


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _follow_up_filing(nc: NonConformance, command: EffectivenessReview) -> FileNC:
    title = str(_l("Follow-up of %(number)s: %(title)s", number=nc.number, title=nc.title))
    if command.recurred:
        found = _l(
            "The effectiveness review of %(number)s found it not effective; the problem recurred.", number=nc.number
        )
    else:
        found = _l("The effectiveness review of %(number)s found it not effective.", number=nc.number)
    return parse(
        FileNC,
        {
            "title": _shortened(title, TITLE_LENGTH),
            "description": _shortened(f"{found}\n{command.note}", DESCRIPTION_LENGTH),
            "defect_type": nc.defect_type.code,
            "source": nc.source,
            "line": nc.line.code,
            "style": nc.style.code if nc.style is not None else None,
            "batch": nc.batch.number if nc.batch is not None else None,
            "category": nc.category if nc.style is None else None,
            "severity": nc.severity,
            "parameters": [parameter.code for parameter in nc.parameters],
        },
    )


def _file_follow_up(nc: NonConformance, command: EffectivenessReview, actor: User) -> NonConformance:
    def link(follow_up: NonConformance, journal: Journal) -> None:
        follow_up.follow_up_of = nc
        journal.record("follow_up_of", new=nc.number, note=command.note)

    try:
        return filing.file_nc_within(_follow_up_filing(nc, command), actor, also=link)
    except ValidationError as error:
        reasons = "; ".join(f"{name}: {message}" for name, message in error.fields.items()) or error.message
        raise invalid(
            {"verdict": str(_l("The follow-up CAPA cannot be filed (%(reasons)s).", reasons=reasons))}
        ) from None


# Reviews due and done ----------------------------------------------------------------------------------------


def _due_on_or_before(day: date):
    return and_(
        NonConformance.status == stated(State.CLOSED),
        NonConformance.effectiveness_due <= day,
        NonConformance.effectiveness_verdict.is_(None),
    )


def due_clause(on: date):
    """The closed CAPAs whose effectiveness review is due on or before the plant date ``on`` and not yet recorded
    (what :func:`reviews_due` lists), for counting them and for the NC list's ``queue=effectiveness_due``."""
    return _due_on_or_before(on)


def reviews_due(on: date, *, limit: int = DUE_LIMIT) -> list[NonConformance]:
    """The closed CAPAs whose effectiveness review is due on or before the plant date ``on`` and not yet
    recorded, the earliest due first, at most ``limit``."""
    return list(
        db.session.scalars(
            select(NonConformance)
            .where(_due_on_or_before(on))
            .options(selectinload(NonConformance.defect_type))
            .order_by(NonConformance.effectiveness_due, NonConformance.number)
            .limit(limit)
        )
    )


def unreminded_due_clause(on: date):
    """The reviews due on or before ``on``, not recorded, whose reminder has not gone out (the reminder job's
    claim, :mod:`capa.trends.scheduler`)."""
    return and_(_due_on_or_before(on), NonConformance.effectiveness_reminded_at.is_(None))


def _moment(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.min, plant_zone())


def review_counts(start: date | datetime, end: date | datetime) -> tuple[int, int, int]:
    """``(due, done, failed)`` for the period [start, end): aware datetimes (``Week.bounds``) or plant dates
    (a Monday and the next Monday). ``due``: reviews whose date falls within it (plant dates), reviewed or not;
    ``done``: reviews recorded within it; ``failed``: those of them found not effective. One query."""
    start_at, end_at = _moment(start), _moment(end)
    first_day, end_day = plant_time(start_at).date(), plant_time(end_at).date()
    reviewed = and_(
        NonConformance.effectiveness_reviewed_at >= start_at, NonConformance.effectiveness_reviewed_at < end_at
    )
    due = and_(NonConformance.effectiveness_due >= first_day, NonConformance.effectiveness_due < end_day)
    failed = and_(reviewed, NonConformance.effectiveness_verdict == EffectivenessVerdict.NOT_EFFECTIVE)
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((due, 1), else_=0)), 0),
            func.coalesce(func.sum(case((reviewed, 1), else_=0)), 0),
            func.coalesce(func.sum(case((failed, 1), else_=0)), 0),
        ).where(or_(due, reviewed))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
