"""Evidence files of a CAPA (capa.capas.evidence): adding them to an action or to the closing, and reading them.

Files are sent as ``multipart/form-data`` (a JSON body cannot carry them); completing an action and closing
then name them by id in ``attachments``, or the files may be left at that.
"""

from typing import Any

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp, With
from capa.capas import evidence, lookup
from capa.capas.commands import AddEvidence
from capa.capas.models import Attachment, AttachmentPurpose
from capa.capas.photos import Upload
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import DomainError, ValidationError
from capa.http.downloads import send_private_download
from capa.http.guard import request_user

#: What multipart framing may add to the files of an upload, beyond their own limit.
MULTIPART_ALLOWANCE = 64 * 1024
#: The fields an upload may carry: the files under ``file``, and the form fields.
FILE_FIELD = "file"
FORM_FIELDS = ("purpose", "action")


class AttachmentRecord(Record):
    """An evidence file: of an action, of the closing, or of the effectiveness review."""

    id: int
    #: The file name the client's device gave, for display only.
    name: str = Field(validation_alias="original_name")
    #: As judged by the file's content: ``application/pdf``, the XLSX type, ``image/jpeg`` (a HEIC photo is
    #: stored as a JPEG) or ``image/png``.
    content_type: str
    #: Bytes, as stored.
    size: int
    purpose: AttachmentPurpose
    #: The action's id, for an action's evidence; null otherwise.
    action: int | None = Field(validation_alias="action_id")
    uploaded_by: str = Ref("uploaded_by", "username")
    uploaded_at: Timestamp
    #: Where to download it.
    url: str

    @model_validator(mode="before")
    @classmethod
    def _with_url(cls, attachment: Any) -> Any:
        if isinstance(attachment, Attachment):
            return With(attachment, url=f"/api/v1/attachments/{attachment.id}")
        return attachment


class Attachments(Answer):
    items: list[AttachmentRecord]


EVIDENCE_BODY = {
    "required": True,
    "description": "One or more files in the field `file` (PDF, XLSX, JPEG, PNG or HEIC, judged by their content; "
    "each at most CAPA_EVIDENCE_MAX_BYTES, 20 MB by default; at most 10 per action and 10 for the closing), "
    "`purpose` (`action` or `closing`) and, for an action's evidence, `action` (the action's id). A refused file "
    "is named by its position, `file[0]`; nothing is stored when any is refused.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "purpose"],
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "purpose": {"type": "string", "enum": ["action", "closing"]},
                    "action": {"type": "integer", "minimum": 1},
                },
            }
        }
    },
}
FILE_ANSWER = {
    "description": "The file's bytes, with its type and its name as an attachment (`Content-Disposition`).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def upload_limit() -> int:
    """The largest upload body: a page's (MAX_CONTENT_LENGTH), and at least one whole file with its framing."""
    return max(current_app.config["MAX_CONTENT_LENGTH"] or 0, evidence.evidence_limit_bytes() + MULTIPART_ALLOWANCE)


def multipart_files(limit: int, form_fields: tuple[str, ...] = ()) -> tuple[list[Upload], dict[str, str]]:
    """The files of a ``multipart/form-data`` request in the field ``file``, and its form fields that are not
    empty, the body at most ``limit`` bytes (413 beyond). Raises ValidationError naming ``file`` for another kind
    of body, and naming each field other than ``file`` and ``form_fields`` as unknown."""
    request.max_content_length = limit
    if request.mimetype != "multipart/form-data":
        raise ValidationError(
            str(PLEASE_CORRECT),
            fields={FILE_FIELD: str(_l("Send the files as multipart/form-data, in the field file."))},
        )
    unknown = (set(request.form) - set(form_fields)) | (set(request.files) - {FILE_FIELD})
    if unknown:
        raise ValidationError(str(PLEASE_CORRECT), fields={name: str(_l("Unknown field.")) for name in sorted(unknown)})
    uploads = []
    for part in request.files.getlist(FILE_FIELD):
        data = part.read()
        if part.filename or data:
            uploads.append(Upload(part.filename or "", data))
    return uploads, {name: request.form[name] for name in form_fields if request.form.get(name, "") != ""}


@bp.post("/nonconformances/<number>/attachments")
@bp.output(Attachments, status_code=201)
@bp.doc(
    extensions={"requestBody": EVIDENCE_BODY},
    responses={
        403: "Neither a quality manager nor, for an action's evidence, the action's owner (`forbidden`).",
        409: "The NC is closed or cancelled (`invalid_state`).",
        413: "The body is larger than MAX_CONTENT_LENGTH (`payload_too_large`); nothing was stored.",
    },
)
@requires(step_permission(Step.ADD_EVIDENCE))
def add_attachments(number: str):
    """Add evidence files to an action or to the closing

    Allowed to a quality manager, and to an action's owner for its evidence, while the NC is open. The files are
    then listed with the action (`actions[].attachments`) and the NC (`attachments`); completing the action or
    closing may name them in `attachments`.
    """
    nc = lookup.get_nc(number)
    uploads, values = multipart_files(upload_limit(), FORM_FIELDS)
    # Errors name the files as this request sent them: ``file``, ``file[0]``.
    aliases = {"files": FILE_FIELD, **{f"files[{i}]": f"{FILE_FIELD}[{i}]" for i in range(len(uploads))}}
    try:
        command = parse(AddEvidence, {**values, "files": uploads})
        stored = evidence.add_evidence(nc, command, request_user())
    except DomainError as error:
        raise error.renamed(aliases) from None
    return {"items": stored}


@bp.get("/attachments/<int:attachment_id>")
@bp.doc(responses={200: FILE_ANSWER})
@requires(Permission.VIEW)
def get_attachment(attachment_id: int):
    """An evidence file

    Answered as a download with its type, `X-Content-Type-Options: nosniff` and `Cache-Control: private`.
    """
    attachment = evidence.get_attachment(attachment_id)
    return send_private_download(
        evidence.open_file(attachment),
        mimetype=attachment.content_type,
        download_name=evidence.download_name(attachment),
    )
