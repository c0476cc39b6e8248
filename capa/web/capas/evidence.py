"""Evidence files on the NC page (capa.capas.evidence): the files a step form sends, kept across its refused
rounds, the forms that complete each open action, and the answer that serves a stored file.

A step form with a file input (completing an action, closing) sends the files chosen now and, after a refused
round, the tokens of the files kept from before (``kept_file``), but those ticked "remove" (``remove_file``).
Refused again, it keeps what it sent that is itself valid (the form shows each kept file by name with its
"remove" box), so that nobody has to choose a file twice; once the step is taken, the kept files are gone.
"""

from flask import request
from flask_login import current_user

from capa.capas import evidence
from capa.capas.models import Action, Attachment
from capa.capas.photos import Upload
from capa.common.errors import DomainError
from capa.http.downloads import send_stored
from capa.web.capas.forms import EVIDENCE_ACCEPT, CompleteActionForm


class EvidenceRound:
    """The evidence files one submission of a step form sends: those kept from its refused rounds, then those
    chosen now. Files ticked "remove" are discarded as the round begins."""

    def __init__(self, name: str = "files"):
        removed = request.form.getlist("remove_file")
        evidence.discard_kept(removed, current_user)
        self.tokens = [token for token in request.form.getlist("kept_file") if token not in set(removed)]
        # An empty file input sends one nameless part, which is no file.
        self.chosen = [
            Upload(storage.filename, storage.read()) for storage in request.files.getlist(name) if storage.filename
        ]

    def files(self) -> list[Upload]:
        """What the step stores; raises ValidationError naming ``files`` when a kept file is gone."""
        return [*evidence.load_kept(self.tokens, current_user), *self.chosen]

    def taken(self) -> None:
        """The step was taken with the files: the kept ones are no longer needed."""
        evidence.discard_kept(self.tokens, current_user)

    def refused(self, form, refusal: DomainError | None = None) -> None:
        """The step was refused (by ``refusal``, or by the form's own checks): keep what the form sent that is
        itself valid, for the form shown again."""
        form.kept_files = evidence.keep_after_refusal(self.tokens, self.chosen, current_user, refusal)


def complete_form(action: Action, submitted: CompleteActionForm | None = None) -> CompleteActionForm:
    """The form that completes ``action`` on the NC page: the one refused (with what was typed, its errors and
    the files kept), or a fresh one. Its fields get ids of their own, as every open action has one."""
    form = submitted if submitted is not None else CompleteActionForm(formdata=None)
    for field in form:
        field.id = field.label.field_id = f"complete-{action.id}-{field.name}"
    if not hasattr(form, "kept_files"):
        form.kept_files = []
    return form


def template_helpers() -> dict:
    """What the templates listing evidence need (``capas/_evidence.html``)."""
    return {
        "evidence_by_action": evidence.by_action,
        "evidence_type": evidence.type_label,
        "evidence_size": evidence.size_text,
        "evidence_accept": EVIDENCE_ACCEPT,
        "complete_action_form": complete_form,
    }


def download(attachment: Attachment):
    """A stored evidence file, for this user only: a photo shown in place (the NC page's thumbnails), any other
    file as a download under its name; never sniffed as another type, never kept by a shared cache."""
    response = send_stored(
        evidence.open_file(attachment),
        mimetype=attachment.content_type,
        as_attachment=not evidence.is_photo(attachment),
        download_name=evidence.download_name(attachment),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.cache_control.private = True
    response.cache_control.public = False
    return response
