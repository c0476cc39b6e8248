"""The effectiveness review of a closed CAPA as the API answers it, inside the NC's whole record
(``NCDetail.effectiveness_review``): its date, its verdict, the follow-up CAPAs it opened and the evidence
since closing (the rules: :mod:`capa.capas.effectiveness`)."""

from datetime import date
from typing import Any

from pydantic import Field

from capa.api.models import Codes, OrNone, Record, Ref, Timestamp, With
from capa.api.safety import Result
from capa.capas import effectiveness
from capa.capas.models import EffectivenessVerdict, NonConformance
from capa.capas.states import State


class EvidenceSinceClosing(Record):
    """What happened since the CAPA closed that bears on its effectiveness, newest first, each list bounded."""

    #: Numbers of the NCs that recurred: flagged as its recurrences, or of the same defect type on the same style
    #: or on material of the same suppliers, reported since it closed.
    recurrences: Codes("number")
    #: Failing results of its linked parameters on the same style, tested since it closed.
    failing_results: list[Result]


class EffectivenessReviewRecord(Record):
    """A closed CAPA's effectiveness review: due on ``due``, then its verdict."""

    #: The plant date the review is due (set at closing); null for a CAPA closed before reviews were dated.
    due: date | None = Field(validation_alias="effectiveness_due")
    #: ``effective`` or ``not_effective``; null until reviewed.
    verdict: EffectivenessVerdict | None = Field(validation_alias="effectiveness_verdict")
    #: Whether the problem recurred, as the reviewer found it; null until reviewed.
    recurred: bool | None = Field(validation_alias="effectiveness_recurred")
    note: OrNone = Field(validation_alias="review_note")
    reviewed_by: str | None = Ref("effectiveness_reviewed_by", "username", default=None)
    reviewed_at: Timestamp | None = Field(validation_alias="effectiveness_reviewed_at")
    #: Numbers of the follow-up CAPAs a "not effective" review opened.
    follow_ups: Codes("number")
    evidence_since_closing: EvidenceSinceClosing


def review_of(nc: NonConformance) -> Any:
    """What ``NCDetail.effectiveness_review`` reads for ``nc``: None unless it is closed."""
    if nc.status != State.CLOSED:
        return None
    return With(
        nc, review_note=nc.effectiveness_review, evidence_since_closing=effectiveness.evidence_since_closing(nc)
    )
