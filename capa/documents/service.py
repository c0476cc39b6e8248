"""Rules of the document register.

- A document's code is unique (compared upper-cased); a quality manager registers it with its title, kind and
  review period.
- A revision carries its file (a PDF, judged by its bytes: its signature and its end, at most
  CAPA_EVIDENCE_MAX_BYTES), what changed and the day it takes effect; a revision name is used once per document.
  Its author records it; it takes effect only once approved by a quality manager other than its author, who signs
  the approval electronically with their password (:mod:`capa.accounts.signing`; ValidationError naming ``file``,
  ``revision``, ``password``; SignatureRefused naming ``password``; PermissionDenied naming ``approved_by`` for the
  author's own approval; Conflict naming ``revision`` when it was approved already).
- The current revision is the approved one with the latest effective date not after the day asked about (the one
  recorded last among those of the same day); earlier revisions stay readable.
- A document is due for its periodic review ``review_months`` after its current revision took effect, or after the
  last review that confirmed that revision without changing it (recorded by a quality manager with what was
  checked: :func:`record_review`), whichever is later; one with no current revision is due at once.
- A standard revision action of a CAPA naming a registered document must name one of its approved revisions
  (:func:`registered_revision`).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts import signing
from capa.accounts.models import User
from capa.audit import records
from capa.common import files as storage
from capa.common.clock import plant_today
from capa.common.errors import Conflict, Duplicate, NotFound, PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import identifier, utcnow
from capa.documents.commands import NewDocument, NewRevision, RevisionApproval
from capa.documents.models import ControlledDocument, DocumentRevision
from capa.extensions import db
from capa.safety.reports import display_name

PLEASE_CORRECT = _l("Please correct the fields marked.")
#: How far ahead the register lists the reviews coming due.
REVIEW_NOTICE_DAYS = 30


def _find(code: str) -> ControlledDocument | None:
    code = identifier(code, upper=True)
    if code is None:
        return None
    revisions = selectinload(ControlledDocument.revisions)
    return db.session.scalar(
        select(ControlledDocument)
        .where(ControlledDocument.code == code)
        .options(revisions.selectinload(DocumentRevision.author), revisions.selectinload(DocumentRevision.approved_by))
    )


def get_document(code: str) -> ControlledDocument:
    """The document ``code`` with its revisions; raises NotFound naming ``code``."""
    document = _find(code)
    if document is None:
        raise NotFound(str(_l("No document %(code)s.", code=code)), fields={"code": "unknown"})
    return document


def list_documents() -> list[ControlledDocument]:
    """Every document by code, with its revisions read in the same go."""
    query = select(ControlledDocument).options(selectinload(ControlledDocument.revisions))
    return list(db.session.scalars(query.order_by(ControlledDocument.code)))


def create_document(command: NewDocument, actor: User | None) -> ControlledDocument:
    """Register a document (the module's rules); raises Duplicate naming ``code``."""
    if _find(command.code) is not None:
        raise Duplicate(
            str(_l("A document %(code)s exists already.", code=command.code)),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        document = ControlledDocument(
            code=command.code, title=command.title, kind=command.kind.value, review_months=command.review_months or 12
        )
        session.add(document)
        summary = {"title": document.title, "kind": document.kind, "review_months": document.review_months}
        records.note_created("document", document, actor, summary)
    return document


def _pdf_problem(file: tuple[str, bytes] | None) -> str | None:
    """What is wrong with a revision's file, or None: missing, larger than the evidence limit, not a PDF by its
    bytes, or a PDF cut short."""
    if file is None or not file[1]:
        return str(_l("Send the revision's file: one PDF."))
    name, data = display_name(file[0]), file[1]
    limit = current_app.config["CAPA_EVIDENCE_MAX_BYTES"]
    if len(data) > limit:
        return str(_l("%(name)s is larger than %(size)s MB.", name=name, size=limit // (1024 * 1024)))
    if not data.startswith(storage.PDF_SIGNATURE):
        return str(_l("%(name)s is not a PDF.", name=name))
    if storage.PDF_END not in data[-storage.PDF_END_WINDOW :]:
        return str(_l("%(name)s is a PDF cut short: its end is missing.", name=name))
    return None


def add_revision(
    document: ControlledDocument, command: NewRevision, file: tuple[str, bytes] | None, actor: User
) -> DocumentRevision:
    """Record a new revision of ``document`` with its ``file`` (name, bytes), waiting for approval (the module's
    rules)."""
    problems: dict[str, str] = {}
    if any(revision.revision == command.revision for revision in document.revisions):
        problems["revision"] = str(
            _l("%(code)s has a revision %(revision)s already.", code=document.code, revision=command.revision)
        )
    problem = _pdf_problem(file)
    if problem:
        problems["file"] = problem
    if problems:
        raise ValidationError(str(PLEASE_CORRECT), fields=problems)
    name, data = file
    with unit_of_work():
        revision = DocumentRevision(
            revision=command.revision,
            changes=command.changes,
            effective_on=command.effective_on,
            key=storage.save(data, ".pdf", field="file"),
            original_name=display_name(name),
            content_type="application/pdf",
            size=len(data),
            author=actor,
        )
        document.revisions.append(revision)
        records.note_event(
            "document",
            document,
            actor,
            "revision",
            field=command.revision,
            new=command.effective_on,
            reason=command.changes,
        )
    return revision


def get_revision(document: ControlledDocument, name: str) -> DocumentRevision:
    """The revision ``name`` of ``document``; raises NotFound naming ``revision``."""
    wanted = identifier(name, upper=True)
    for revision in document.revisions:
        if revision.revision == wanted:
            return revision
    message = _l("%(code)s has no revision %(revision)s.", code=document.code, revision=name)
    raise NotFound(str(message), fields={"revision": "unknown"})


def approve_revision(revision: DocumentRevision, command: RevisionApproval, actor: User) -> DocumentRevision:
    """Approve ``revision`` with ``actor``'s electronic signature (the module's rules): from its effective date it
    is the document's current one. The password is checked last, once the approval itself is allowed: a missing
    one is refused naming ``password`` (400), a wrong one as SignatureRefused (401) naming it."""
    if revision.approved_at is not None:
        raise Conflict(
            str(_l("Revision %(revision)s is approved already.", revision=revision.revision)),
            fields={"revision": str(_l("Approved already."))},
        )
    if revision.author_id == actor.id:
        raise PermissionDenied(
            str(_l("A revision is approved by someone other than its author.")),
            fields={"approved_by": str(_l("You wrote this revision."))},
        )
    signing.check_password(actor, command.password)
    with unit_of_work():
        revision.approved_by, revision.approved_at = actor, utcnow()
        revision.approved_by_name = signing.signer_name(actor)
        records.note_event("document", revision.document, actor, "approved", field=revision.revision)
    return revision


def current_revision(document: ControlledDocument, day: date | None = None) -> DocumentRevision | None:
    """The revision in effect on ``day`` (today unless given), or None (the module's rules)."""
    day = day or plant_today()
    in_effect = [r for r in document.revisions if r.approved_at is not None and r.effective_on <= day]
    return max(in_effect, key=lambda r: (r.effective_on, r.id), default=None)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Review:
    """When a document is next reviewed, and whether that is due (within the notice) or past."""

    document: ControlledDocument
    current: DocumentRevision | None
    due_on: date | None
    overdue: bool
    due_soon: bool


def review_of(document: ControlledDocument, today: date | None = None) -> Review:
    today = today or plant_today()
    current = current_revision(document, today)
    if current is None:
        return Review(document, None, None, overdue=True, due_soon=False)
    since = max(current.effective_on, document.reviewed_on or current.effective_on)
    due_on = _add_months(since, document.review_months)
    return Review(
        document,
        current,
        due_on,
        overdue=due_on < today,
        due_soon=today <= due_on <= today + timedelta(days=REVIEW_NOTICE_DAYS),
    )


def due_for_review(today: date | None = None) -> list[Review]:
    """The documents whose periodic review is past or comes within REVIEW_NOTICE_DAYS, or that have no revision in
    effect, soonest first."""
    reviews = [review_of(document, today) for document in list_documents()]
    due = [review for review in reviews if review.overdue or review.due_soon]
    return sorted(due, key=lambda review: (review.due_on or date.min, review.document.code))


def record_review(document: ControlledDocument, note: str, actor: User) -> Review:
    """Record today's periodic review of ``document`` that confirms its current revision unchanged, with ``note``
    (what was checked); the next review falls due ``review_months`` from today. Raises ValidationError naming
    ``note`` when none is given, Conflict naming ``document`` when no revision is in effect (a new revision is
    what it needs)."""
    if not note.strip():
        raise ValidationError(str(PLEASE_CORRECT), fields={"note": str(_l("Say what the review checked."))})
    today = plant_today()
    current = current_revision(document, today)
    if current is None:
        raise Conflict(
            str(_l("%(code)s has no revision in effect to confirm: record a new revision.", code=document.code)),
            fields={"document": str(_l("No revision in effect."))},
        )
    with unit_of_work():
        previous, document.reviewed_on = document.reviewed_on, today
        records.note_event(
            "document",
            document,
            actor,
            "reviewed",
            field=current.revision,
            old=previous,
            new=today,
            reason=note.strip(),
        )
    return review_of(document, today)


def registered_revision(document_code: str, revision_name: str) -> DocumentRevision | None:
    """The approved revision a standard revision action names, when its document is registered: None for a
    document not in the register (named in words only). Raises ValidationError naming ``revision`` for a
    registered document's revision that does not exist or is not approved."""
    document = _find(document_code) if document_code else None
    if document is None:
        return None
    wanted = identifier(revision_name, upper=True) if revision_name else None
    for revision in document.revisions:
        if revision.revision == wanted and revision.approved_at is not None:
            return revision
    approved = ", ".join(r.revision for r in document.revisions if r.approved_at is not None) or "—"
    raise ValidationError(
        str(PLEASE_CORRECT),
        fields={
            "revision": str(
                _l(
                    "%(code)s has no approved revision %(revision)s (approved: %(approved)s).",
                    code=document.code,
                    revision=revision_name or "",
                    approved=approved,
                )
            )
        },
    )


def download_name(revision: DocumentRevision) -> str:
    """The name a revision's file is downloaded under: as its author sent it, else the document's code and
    revision."""
    return revision.original_name or f"{revision.document.code}-{revision.revision}.pdf"


def read_file(revision: DocumentRevision) -> storage.Stored:
    return storage.open_stored(revision.key, folder=storage.FILES)
