"""The 8D report of a CAPA: everything it shows, read at once. Nothing here changes anything.

- :func:`eight_d` reads the NC by its number (case-insensitive, as :func:`capa.capas.lookup.get_nc`; an unknown
  number raises NotFound) with everything its report shows: photos, holds and their dispositions with the
  results they rest on, every root-cause round with its submitter and reviewer, the actions with their evidence
  files, the retests, the evidence of the closing and of the effectiveness review, the follow-ups, the electronic
  signatures (:mod:`capa.capas.signatures`). It takes a fixed number of queries however many rounds, actions,
  holds, files or signatures the NC has (never a query per row).
- The team (D1) is every person who took part, in the order of the 8D steps they first took part in, each with
  what they did: filed the NC, contained it (wrote the containment or put goods on hold), submitted a root
  cause, reviewed one, owns or finished an action, decided a disposition or re-inspected a rework, recorded a
  retest, closed the CAPA, reviewed its effectiveness; anyone else whose name is in the NC's history took part
  as a contributor.
- The retests are given oldest first (the report reads as the CAPA went); the closing's and the effectiveness
  review's evidence files apart from the actions' (an action's files are on the action).
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from capa.accounts.models import User
from capa.capas import lookup
from capa.capas.models import (
    Action,
    Attachment,
    AttachmentPurpose,
    Disposition,
    Event,
    Hold,
    NonConformance,
    RootCauseAnalysis,
)
from capa.capas.states import State
from capa.common.types import identifier
from capa.documents.models import DocumentRevision
from capa.extensions import db
from capa.safety.models import LabResult


class Part(StrEnum):
    """What a person did in a CAPA, as its team (D1) lists it."""

    REPORTED = "reported"
    CONTAINED = "contained"
    ANALYSED = "analysed"
    REVIEWED = "reviewed"
    OWNS_ACTION = "owns_action"
    COMPLETED_ACTION = "completed_action"
    DISPOSED = "disposed"
    REINSPECTED = "reinspected"
    TESTED = "tested"
    CLOSED = "closed"
    REVIEWED_EFFECTIVENESS = "reviewed_effectiveness"
    CONTRIBUTED = "contributed"


@dataclass(frozen=True)
class Member:
    """One person of the team and what they did, in the order of :class:`Part`."""

    user: User
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class EightD:
    """What the 8D report of one NC shows."""

    nc: NonConformance
    team: list[Member]
    #: The NC's retests, oldest first.
    tests: list[LabResult]
    #: Who closed the CAPA (from its history), when it is closed.
    closed_by: User | None
    #: The evidence files of the closing (D8) and of the effectiveness review.
    closing_files: list[Attachment]
    effectiveness_files: list[Attachment]


def eight_d(number: str) -> EightD:
    """The 8D report of the NC numbered ``number``; raises NotFound for an unknown number."""
    key = identifier(number, upper=True)
    nc = None if key is None else db.session.scalar(_report_query().where(NonConformance.number == key))
    if nc is None:
        lookup.get_nc(number)  # raises NotFound, worded as everywhere else
        raise AssertionError("unreachable")  # pragma: no cover
    tests = list(
        db.session.scalars(
            select(LabResult)
            .where(LabResult.nc_id == nc.id)
            .options(joinedload(LabResult.parameter), joinedload(LabResult.recorded_by))
            .order_by(LabResult.tested_at, LabResult.recorded_at, LabResult.id)
        )
    )
    closed_by = _closed_by(nc)
    return EightD(
        nc=nc,
        team=_team(nc, tests, closed_by),
        tests=tests,
        closed_by=closed_by,
        closing_files=_files(nc, AttachmentPurpose.CLOSING),
        effectiveness_files=_files(nc, AttachmentPurpose.EFFECTIVENESS),
    )


def _report_query():
    dispositions = selectinload(Hold.dispositions)
    return select(NonConformance).options(
        *lookup.NAMED_RECORDS,
        selectinload(NonConformance.parameters),
        selectinload(NonConformance.photos),
        selectinload(NonConformance.follow_ups),
        selectinload(NonConformance.holds).options(
            joinedload(Hold.batch),
            joinedload(Hold.lot),
            joinedload(Hold.held_by),
            joinedload(Hold.released_by),
            dispositions.joinedload(Disposition.decided_by),
            dispositions.joinedload(Disposition.reinspected_by),
            dispositions.selectinload(Disposition.results).joinedload(LabResult.parameter),
        ),
        selectinload(NonConformance.analyses).options(
            joinedload(RootCauseAnalysis.submitted_by), joinedload(RootCauseAnalysis.reviewed_by)
        ),
        selectinload(NonConformance.actions).options(
            joinedload(Action.owner),
            joinedload(Action.completed_by),
            selectinload(Action.attachments),
            joinedload(Action.document_revision).joinedload(DocumentRevision.document),
        ),
        selectinload(NonConformance.attachments).joinedload(Attachment.uploaded_by),
        selectinload(NonConformance.events).joinedload(Event.actor),
        selectinload(NonConformance.signatures),
    )


def _files(nc: NonConformance, purpose: AttachmentPurpose) -> list[Attachment]:
    return [a for a in nc.attachments if a.purpose == purpose and a.action_id is None]


def _closed_by(nc: NonConformance) -> User | None:
    if nc.status != State.CLOSED:
        return None
    closing = [e for e in nc.events if e.kind == "state" and e.new == State.CLOSED]
    return closing[-1].actor if closing else None


def _team(nc: NonConformance, tests: list[LabResult], closed_by: User | None) -> list[Member]:
    """Every person who took part, in the order of the 8D steps they first took part in, each with what they
    did."""
    taken: dict[int, tuple[User, set[Part]]] = {}

    def took(user: User | None, part: Part) -> None:
        if user is not None:
            taken.setdefault(user.id, (user, set()))[1].add(part)

    took(nc.reported_by, Part.REPORTED)
    for event in nc.events:
        if event.kind == "field" and event.field == "containment":
            took(event.actor, Part.CONTAINED)
    for hold in nc.holds:
        took(hold.held_by, Part.CONTAINED)
        for disposition in hold.dispositions:
            took(disposition.decided_by, Part.DISPOSED)
            took(disposition.reinspected_by, Part.REINSPECTED)
    for analysis in nc.analyses:
        took(analysis.submitted_by, Part.ANALYSED)
        took(analysis.reviewed_by, Part.REVIEWED)
    for action in nc.actions:
        took(action.owner, Part.OWNS_ACTION)
        took(action.completed_by, Part.COMPLETED_ACTION)
    for result in tests:
        took(result.recorded_by, Part.TESTED)
    took(closed_by, Part.CLOSED)
    took(nc.effectiveness_reviewed_by, Part.REVIEWED_EFFECTIVENESS)
    for event in nc.events:
        if event.actor is not None and event.actor.id not in taken:
            took(event.actor, Part.CONTRIBUTED)
    order = list(Part)
    return [Member(user, tuple(sorted(parts, key=order.index))) for user, parts in taken.values()]
