"""The document register: ``/documents`` with their revisions, their files and their approval, and the documents
due for their periodic review."""

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.evidence import FILE_ANSWER, FILE_FIELD, multipart_files, upload_limit
from capa.api.models import Answer, Record, Ref, Timestamp
from capa.common.commands import Choice, Command, parse
from capa.common.errors import ValidationError
from capa.documents import service
from capa.documents.commands import NewDocument, NewRevision, PeriodicReview, RevisionApproval
from capa.documents.models import DocumentKind
from capa.http.downloads import send_private_download
from capa.http.guard import request_user


class RevisionRecord(Record):
    revision: str
    changes: str
    effective_on: date
    author: str = Ref("author", "username")
    created_at: Timestamp
    #: Who approved it; null until a quality manager other than its author does (only then it takes effect).
    approved_by: str | None = Ref("approved_by", "username", default=None)
    approved_at: Timestamp | None = None
    #: The name shown with the approval's electronic signature; empty for one approved before approvals were signed.
    approved_by_name: str = ""
    original_name: str
    content_type: str
    size: int


class DocumentRecord(Answer):
    code: str
    title: str
    kind: DocumentKind
    review_months: int
    #: The revision in effect today (approved, effective date not after today); null when none is.
    current: str | None
    #: The day its periodic review is due; null while no revision is in effect (due at once).
    review_due_on: date | None
    review_overdue: bool
    #: The day of the last periodic review that confirmed the current revision unchanged; null when none.
    reviewed_on: date | None = None
    #: Every revision, oldest first.
    revisions: list[RevisionRecord] = []


class Documents(Answer):
    items: list[DocumentRecord]


def _record(document) -> DocumentRecord:
    review = service.review_of(document)
    return DocumentRecord(
        code=document.code,
        title=document.title,
        kind=document.kind,
        review_months=document.review_months,
        current=review.current.revision if review.current else None,
        review_due_on=review.due_on,
        review_overdue=review.overdue,
        reviewed_on=document.reviewed_on,
        revisions=[RevisionRecord.model_validate(revision) for revision in document.revisions],
    )


class Due(StrEnum):
    TRUE = "true"
    FALSE = "false"


class DocumentFilters(Command):
    """The filters of the register (query parameters)."""

    #: ``true``: only the documents whose periodic review is past or due within 30 days, or that have no
    #: revision in effect, soonest first.
    due: Choice(Due, required=False) = None


@bp.get("/documents")
@bp.input(DocumentFilters, location="query", arg_name="filters")
@bp.output(Documents)
@requires(Permission.VIEW)
def list_documents(filters: DocumentFilters):
    """The document register, by code (or the documents due for review, with `due=true`)"""
    documents = (
        [review.document for review in service.due_for_review()]
        if filters.due is Due.TRUE
        else service.list_documents()
    )
    return Documents(items=[_record(document) for document in documents])


@bp.post("/documents")
@bp.input(NewDocument, arg_name="command")
@bp.output(DocumentRecord, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def create_document(command: NewDocument):
    """Register a document; 409 naming `code` when it is taken."""
    return _record(service.create_document(command, request_user()))


@bp.get("/documents/<code>")
@bp.output(DocumentRecord)
@requires(Permission.VIEW)
def get_document(code: str):
    return _record(service.get_document(code))


REVISION_BODY = {
    "required": True,
    "description": "The revision's file in the field `file` (one PDF, judged by its content, at most "
    "CAPA_EVIDENCE_MAX_BYTES), with `revision`, `changes` and `effective_on` (`YYYY-MM-DD`).",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "revision", "changes", "effective_on"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "revision": {"type": "string", "maxLength": 20},
                    "changes": {"type": "string", "maxLength": 4000},
                    "effective_on": {"type": "string", "format": "date"},
                },
            }
        }
    },
}


@bp.post("/documents/<code>/revisions")
@bp.output(RevisionRecord, status_code=201)
@bp.doc(
    extensions={"requestBody": REVISION_BODY},
    responses={413: "The body is larger than allowed (`payload_too_large`); nothing was stored."},
)
@requires(Permission.MAINTAIN_CATALOG)
def add_revision(code: str):
    """Add a revision of a document, with its file

    It takes effect on its `effective_on` once a quality manager other than its author approves it. 400 naming
    `revision` (used already for this document), `file` (none, several, or not a PDF),
    `changes`, `effective_on`.
    """
    document = service.get_document(code)
    uploads, values = multipart_files(upload_limit(), ("revision", "changes", "effective_on"))
    command = parse(NewRevision, values)
    if len(uploads) > 1:
        raise ValidationError(str(service.PLEASE_CORRECT), fields={FILE_FIELD: str(_l("Send one file."))})
    file = (uploads[0].filename, uploads[0].data) if uploads else None
    return service.add_revision(document, command, file, request_user())


@bp.post("/documents/<code>/revisions/<revision>/approval")
@bp.input(RevisionApproval, arg_name="command")
@bp.output(RevisionRecord)
@requires(Permission.MAINTAIN_CATALOG)
def approve_revision(code: str, revision: str, command: RevisionApproval):
    """Approve a revision, signed with the approver's `password`: from its effective date it is the document's
    current one

    400 naming `password` when none is given, 401 `signature_refused` naming it when wrong; 403 naming
    `approved_by` for its own author, 409 naming `revision` when it is approved already.
    """
    document = service.get_document(code)
    return service.approve_revision(service.get_revision(document, revision), command, request_user())


@bp.post("/documents/<code>/review")
@bp.input(PeriodicReview, arg_name="command")
@bp.output(DocumentRecord)
@requires(Permission.MAINTAIN_CATALOG)
def review_document(code: str, command: PeriodicReview):
    """Record a periodic review that confirms the current revision unchanged

    The next review falls due the review period from today. 400 naming `note`, 409 naming `document` when no
    revision is in effect (a new revision is what it needs).
    """
    document = service.get_document(code)
    service.record_review(document, command.note, request_user())
    return _record(document)


@bp.get("/documents/<code>/revisions/<revision>/file")
@bp.doc(responses={200: FILE_ANSWER})
@requires(Permission.VIEW)
def get_revision_file(code: str, revision: str):
    """A revision's file, as a download (earlier revisions stay readable)."""
    found = service.get_revision(service.get_document(code), revision)
    return send_private_download(
        service.read_file(found),
        mimetype=found.content_type,
        download_name=service.download_name(found),
    )
