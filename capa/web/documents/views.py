"""Pages of the document register. Each view parses its form, calls one service function and renders."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.common import pending
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.documents import service
from capa.documents.commands import NewDocument, NewRevision, RevisionApproval
from capa.http.downloads import send_private_download
from capa.web import exports
from capa.web.documents.forms import KIND_LABELS, ApprovalForm, DocumentForm, ReviewForm, RevisionForm
from capa.web.forms import command_from, handle_form, show_errors

bp = Blueprint("documents", __name__)


@bp.app_context_processor
def labels():
    return {"document_kind_labels": KIND_LABELS}


def _approver(revision) -> str:
    """The name shown with a revision's approval: its signature's, or its approver's user name before signing."""
    if revision is None or revision.approved_by is None:
        return ""
    return revision.approved_by_name or revision.approved_by.username


#: The register as a download (``/documents?format=csv`` or ``xlsx``): one row per document, its revision in effect.
REGISTER_COLUMNS = [
    exports.Column(_l("Code"), lambda review: review.document.code),
    exports.Column(_l("Title"), lambda review: review.document.title),
    exports.Column(_l("Kind"), lambda review: KIND_LABELS.get(review.document.kind, review.document.kind)),
    exports.Column(_l("Current revision"), lambda review: review.current.revision if review.current else ""),
    exports.Column(_l("In effect from"), lambda review: review.current.effective_on if review.current else None),
    exports.Column(
        _l("Approved by"),
        lambda review: (
            (review.current.approved_by_name or review.current.approved_by.username) if review.current else ""
        ),
    ),
    exports.Column(_l("Reviewed every (months)"), lambda review: review.document.review_months),
    exports.Column(_l("Next review"), lambda review: review.due_on),
    exports.Column(_l("Review overdue"), lambda review: _("yes") if review.overdue else _("no")),
]


@bp.route("/documents")
@requires(Permission.VIEW)
def documents():
    reviews = [service.review_of(document) for document in service.list_documents()]
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        name = f"documents-{plant_today().isoformat()}.{export}"
        sheet = exports.table(str(_("Documents")), reviews, REGISTER_COLUMNS)
        return exports.csv_download(name, sheet) if export == "csv" else exports.xlsx_download(name, [sheet])
    return render_template(
        "documents/documents.html",
        reviews=reviews,
        due=[review for review in reviews if review.overdue or review.due_soon],
    )


@bp.route("/documents/new", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def document_new():
    form = DocumentForm()
    return handle_form(
        form,
        lambda: service.create_document(command_from(form, NewDocument), current_user),
        success=lambda document: url_for(".document", code=document.code),
        message=lambda document: _("Document %(code)s registered.", code=document.code),
        template="documents/document_form.html",
        title=_("Register a document"),
    )


@bp.route("/documents/<code>")
@requires(Permission.VIEW)
def document(code: str):
    return document_page(service.get_document(code))


def document_page(document, form=None, status: int = 200, review_form=None, kept_file: str | None = None):
    """A document's page; ``form`` and ``review_form``: the new revision's form or the periodic review's as sent,
    when it was refused (``kept_file``: the name of the file the refused revision form keeps)."""
    return render_template(
        "documents/document.html",
        document=document,
        review=service.review_of(document),
        form=form or RevisionForm(formdata=None),
        review_form=review_form or ReviewForm(formdata=None, prefix="review"),
        kept_file=kept_file,
        changes=records.history_of("document", document.id),
    ), status


#: Revision files kept while their form is refused.
PENDING_FILE = "revision-files"


@bp.post("/documents/<code>/revisions")
@requires(Permission.MAINTAIN_CATALOG)
def add_revision(code: str):
    """A new revision from the form on the document's page: back to the page, or the page with the form's errors
    and the file it sent kept (unless the file itself was refused), so that it need not be chosen again."""
    document = service.get_document(code)
    form = RevisionForm()
    chosen = _chosen(form)
    refusal = None
    if form.validate_on_submit():
        try:
            values = {
                "revision": form.revision.data,
                "changes": form.changes.data,
                "effective_on": form.effective_on.data,
            }
            revision = service.add_revision(document, parse(NewRevision, values), chosen, current_user)
        except DomainError as error:
            refusal = error
            show_errors(form, error)
            if error.status >= 500:
                return document_page(document, form, error.status)
        else:
            pending.discard(PENDING_FILE, current_user.id, form.file_token.data)
            flash(
                _("Revision %(revision)s recorded: it takes effect once approved.", revision=revision.revision),
                "success",
            )
            return redirect(url_for(".document", code=document.code) + "#revisions")
    flash(_("Please correct the fields marked."), "error")
    return document_page(document, form, 400, kept_file=_keep(form, chosen, refusal))


def _chosen(form: RevisionForm) -> tuple[str, bytes] | None:
    """The file the form sends: one chosen now, else the one kept from a refused round (unless removed)."""
    chosen = form.file.data
    if chosen and getattr(chosen, "filename", ""):
        return chosen.filename, chosen.read()
    if form.file_discard.data:
        pending.discard(PENDING_FILE, current_user.id, form.file_token.data)
        return None
    return pending.load(PENDING_FILE, current_user.id, form.file_token.data)


def _keep(form: RevisionForm, chosen: tuple[str, bytes] | None, refusal: DomainError | None) -> str | None:
    """Keep a refused form's file, unless the file itself was refused; the name to show beside the file field."""
    form.file_discard.data = False
    if chosen is None or (refusal is not None and "file" in refusal.fields):
        form.file_token.data = ""
        return None
    chosen_now = bool(form.file.data and getattr(form.file.data, "filename", ""))
    if chosen_now or pending.load(PENDING_FILE, current_user.id, form.file_token.data) is None:
        form.file_token.data = pending.keep(PENDING_FILE, current_user.id, chosen[1], chosen[0])
    return chosen[0]


@bp.post("/documents/<code>/review")
@requires(Permission.MAINTAIN_CATALOG)
def review_document(code: str):
    """A periodic review from the form on the document's page: back to the page, or the page with the form's
    errors."""
    document = service.get_document(code)
    form = ReviewForm(prefix="review")
    if form.validate_on_submit():
        try:
            service.record_review(document, form.note.data or "", current_user)
        except DomainError as error:
            show_errors(form, error)
            if error.status == 409:
                flash(error.message, "error")
                return document_page(document, review_form=form, status=409)
        else:
            flash(_("The review of %(code)s is recorded.", code=document.code), "success")
            return redirect(url_for(".document", code=document.code))
    flash(_("Please correct the fields marked."), "error")
    return document_page(document, review_form=form, status=400)


@bp.post("/documents/<code>/revisions/<revision>/approval")
@requires(Permission.MAINTAIN_CATALOG)
def approve_revision(code: str, revision: str):
    document = service.get_document(code)
    form = ApprovalForm()
    try:
        command = parse(RevisionApproval, {"password": form.password.data})
        approved = service.approve_revision(service.get_revision(document, revision), command, current_user)
    except DomainError as error:
        flash(error.fields.get("password", error.message), "error")
        return document_page(document, status=error.status)
    flash(_("Revision %(revision)s approved.", revision=approved.revision), "success")
    return redirect(url_for(".document", code=document.code) + "#revisions")


@bp.route("/documents/<code>/revisions/<revision>/file")
@requires(Permission.VIEW)
def revision_file(code: str, revision: str):
    found = service.get_revision(service.get_document(code), revision)
    return send_private_download(
        service.read_file(found),
        mimetype=found.content_type,
        download_name=service.download_name(found),
    )
