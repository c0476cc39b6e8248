"""Pages of the document register. Each view parses its form, calls one service function and renders."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.documents import service
from capa.documents.commands import NewDocument, NewRevision
from capa.http.downloads import send_private_download
from capa.web.documents.forms import KIND_LABELS, DocumentForm, ReviewForm, RevisionForm
from capa.web.forms import command_from, handle_form, show_errors

bp = Blueprint("documents", __name__)


@bp.app_context_processor
def labels():
    return {"document_kind_labels": KIND_LABELS}


@bp.route("/documents")
@requires(Permission.VIEW)
def documents():
    reviews = [service.review_of(document) for document in service.list_documents()]
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


def document_page(document, form=None, status: int = 200, review_form=None):
    """A document's page; ``form`` and ``review_form``: the new revision's form or the periodic review's as sent,
    when it was refused."""
    return render_template(
        "documents/document.html",
        document=document,
        review=service.review_of(document),
        form=form or RevisionForm(formdata=None),
        review_form=review_form or ReviewForm(formdata=None, prefix="review"),
        changes=records.history_of("document", document.id),
    ), status


@bp.post("/documents/<code>/revisions")
@requires(Permission.MAINTAIN_CATALOG)
def add_revision(code: str):
    """A new revision from the form on the document's page: back to the page, or the page with the form's errors
    (the file to be chosen again)."""
    document = service.get_document(code)
    form = RevisionForm()
    if form.validate_on_submit():
        try:
            values = {
                "revision": form.revision.data,
                "changes": form.changes.data,
                "effective_on": form.effective_on.data,
            }
            revision = service.add_revision(document, parse(NewRevision, values), _chosen(form.file), current_user)
        except DomainError as error:
            show_errors(form, error)
            if error.status >= 500:
                return document_page(document, form, error.status)
        else:
            flash(
                _("Revision %(revision)s recorded: it takes effect once approved.", revision=revision.revision),
                "success",
            )
            return redirect(url_for(".document", code=document.code) + "#revisions")
    flash(_("Please correct the fields marked."), "error")
    return document_page(document, form, 400)


def _chosen(field) -> tuple[str, bytes] | None:
    """The file chosen in a single file field, as its name and bytes; None when none was chosen."""
    chosen = field.data
    if not chosen or not getattr(chosen, "filename", ""):
        return None
    return chosen.filename, chosen.read()


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
    try:
        approved = service.approve_revision(service.get_revision(document, revision), current_user)
    except DomainError as error:
        flash(error.message, "error")
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
