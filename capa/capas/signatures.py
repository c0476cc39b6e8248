"""Electronic signatures on the steps of a CAPA that decide something (21 CFR Part 11 §11.50, §11.200): the
review of a root cause, each disposition of goods on hold, the closing and the effectiveness review.

The rules:
- the person taking a signing step re-enters their password with it; the step and its signature are one unit of
  work: :func:`sign` is called inside the step's unit of work before the step changes anything (a disposition,
  which its signature names, checks the password there first, :func:`check_password`, and records the signature
  once the disposition exists, :func:`record`), so a refused signature refuses the step whole and nothing is
  written (no signature, no history entry, no new version);
- a missing or empty password is refused as ValidationError (400) naming ``password``; a wrong one as
  SignatureRefused (401, ``signature_refused``) naming ``password``: the person is logged in, the signature is
  what is refused. The password is checked only once the step's own checks passed (role, state, version, its
  fields), just before anything is written;
- a signature records the signer, the name shown with it (the account's full name, or its user name when no
  full name was given, kept as it was when signing), the time, and its meaning, which the step decides
  (:func:`review_meaning`, :func:`disposition_meaning`; closing: ``closed_capa``; the effectiveness review:
  ``reviewed_effectiveness``), and for a disposition the disposition signed;
- signatures are kept, never edited or deleted, and chained per NC with its history (:mod:`capa.audit.chain`).
  They are not repeated in the NC's history: the step's own history entry says what was done, by whom and
  when; the signature beside it says who signed for it and what the signature means;
- with ``CAPA_SEPARATE_ROOT_CAUSE_APPROVER`` on, the quality manager who submitted the root-cause round under
  review may not approve it (SamePerson, 403 ``same_person``): another quality manager approves it. Returning
  it with a question stays allowed, since a return approves nothing and only asks for another round
  (:func:`check_approver`).

Reading: :func:`of` reads an NC's signatures; :func:`placed` tells which belongs beside which step, for the NC
page and the 8D report.
"""

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from capa.accounts import signing
from capa.accounts.models import User
from capa.capas.errors import SamePerson
from capa.capas.models import (
    Disposition,
    DispositionKind,
    NonConformance,
    ReviewDecision,
    RootCauseAnalysis,
    Signature,
    SignatureMeaning,
)
from capa.extensions import db

#: The setting that keeps the approval of a root cause from the quality manager who submitted it.
SEPARATE_APPROVER = "CAPA_SEPARATE_ROOT_CAUSE_APPROVER"

#: What a root-cause review's signature means, by its decision.
REVIEW_MEANINGS = {
    ReviewDecision.APPROVE: SignatureMeaning.APPROVED_ROOT_CAUSE,
    ReviewDecision.RETURN: SignatureMeaning.RETURNED_ROOT_CAUSE,
}
#: What a disposition's signature means, by its kind.
DISPOSITION_MEANINGS = {
    DispositionKind.RELEASE: SignatureMeaning.RELEASED_BATCH,
    DispositionKind.REWORK: SignatureMeaning.REWORKED_BATCH,
    DispositionKind.SCRAP: SignatureMeaning.SCRAPPED_BATCH,
    DispositionKind.RETURN_TO_SUPPLIER: SignatureMeaning.RETURNED_TO_SUPPLIER,
    DispositionKind.USE_AS_IS: SignatureMeaning.USED_AS_IS,
}
#: The signatures of a root-cause review.
REVIEW_SIGNATURES = frozenset(REVIEW_MEANINGS.values())


def review_meaning(decision: ReviewDecision | str) -> SignatureMeaning:
    return REVIEW_MEANINGS[ReviewDecision(decision)]


def disposition_meaning(kind: DispositionKind | str) -> SignatureMeaning:
    return DISPOSITION_MEANINGS[DispositionKind(kind)]


#: The signer's checks live with the accounts, as every signed record uses them (capa.accounts.signing).
signer_name = signing.signer_name
check_password = signing.check_password


def sign(
    nc: NonConformance,
    signer: User,
    password: SecretStr | str | None,
    meaning: SignatureMeaning,
    *,
    disposition: Disposition | None = None,
) -> Signature:
    """Sign a step on ``nc`` as ``signer`` with the ``meaning`` the step gives it (and the ``disposition`` it
    decides): called inside the step's unit of work, before the step changes anything. Raises ValidationError
    (400) for a missing password and SignatureRefused (401) for a wrong one, both naming ``password``; then the
    signature is added to the NC, written with the step."""
    check_password(signer, password)
    return record(nc, signer, meaning, disposition=disposition)


def record(
    nc: NonConformance, signer: User, meaning: SignatureMeaning, *, disposition: Disposition | None = None
) -> Signature:
    """Add the signature of a step whose password :func:`check_password` accepted in this unit of work (a step
    that signs a record it creates, a disposition, checks the password first and records the signature once the
    record exists). Every field the chain hashes is given here, before the signature is first written: one
    changed afterwards would no longer match its hash."""
    signature = Signature(
        signer=signer, signer_name=signer_name(signer), meaning=meaning.value, disposition=disposition
    )
    nc.signatures.append(signature)
    return signature


def check_approver(analysis: RootCauseAnalysis | None, actor: User, decision: ReviewDecision | str) -> None:
    """With CAPA_SEPARATE_ROOT_CAUSE_APPROVER on, refuse ``actor`` approving the round they submitted
    (SamePerson, 403 ``same_person``, naming ``decision``). Returning it is allowed."""
    if not current_app.config.get(SEPARATE_APPROVER) or analysis is None:
        return
    if ReviewDecision(decision) is ReviewDecision.APPROVE and analysis.submitted_by_id == actor.id:
        raise SamePerson(
            str(_l("You submitted this root cause: another quality manager approves it.")),
            fields={"decision": str(_l("Another quality manager approves a root cause you submitted."))},
        )


def may_approve(analysis: RootCauseAnalysis | None, actor: User) -> bool:
    """Whether ``actor`` may approve ``analysis`` as far as :func:`check_approver` is concerned."""
    return not (
        current_app.config.get(SEPARATE_APPROVER) and analysis is not None and analysis.submitted_by_id == actor.id
    )


# Reading -----------------------------------------------------------------------------------------------------


def of(nc: NonConformance) -> list[Signature]:
    """The signatures of ``nc``, oldest first, with their signers, in one query."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.nc_id == nc.id)
            .options(joinedload(Signature.signer))
            .order_by(Signature.id)
        )
    )


@dataclass(frozen=True)
class Placed:
    """The signatures of one NC by the step they sign: the review of each root-cause round (by round), each
    disposition (by its id), the closing and the effectiveness review."""

    rounds: dict[int, Signature] = field(default_factory=dict)
    dispositions: dict[int, Signature] = field(default_factory=dict)
    closing: Signature | None = None
    effectiveness: Signature | None = None


def placed(nc: NonConformance) -> Placed:
    """Which of the NC's signatures belongs beside which step. A disposition's signature names it; the closing
    and the effectiveness review happen once. Rounds are reviewed one after the other and every review is
    signed, so the review signatures, in order, sign the latest reviewed rounds (rounds reviewed before
    signatures were recorded have none); one whose signer or meaning does not match its round is not placed."""
    signatures = list(nc.signatures)
    closing = [s for s in signatures if s.meaning == SignatureMeaning.CLOSED_CAPA]
    reviewed_effectiveness = [s for s in signatures if s.meaning == SignatureMeaning.REVIEWED_EFFECTIVENESS]
    reviews = [s for s in signatures if s.meaning in REVIEW_SIGNATURES]
    reviewed = [analysis for analysis in nc.analyses if analysis.decision is not None]
    rounds = {}
    for analysis, signature in zip(reversed(reviewed), reversed(reviews), strict=False):
        if signature.signer_id == analysis.reviewed_by_id and signature.meaning == review_meaning(analysis.decision):
            rounds[analysis.round] = signature
    return Placed(
        rounds=rounds,
        dispositions={s.disposition_id: s for s in signatures if s.disposition_id is not None},
        closing=closing[-1] if closing else None,
        effectiveness=reviewed_effectiveness[-1] if reviewed_effectiveness else None,
    )
