"""Supplier corrective action requests: a SCAR action sent to its supplier (``POST /scar-requests``), the requests,
the supplier's answers in rounds and the quality manager's review of each.

A supplier's account (role ``supplier``) reaches these endpoints alone, and only for the requests sent to its
supplier: another's request answers 404, as one that does not exist.
"""

from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator

from capa.accounts.models import STAFF
from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.evidence import FILE_ANSWER, FILE_FIELD, multipart_files, upload_limit
from capa.api.models import Answer, Record, Ref, Timestamp, With
from capa.capas import lookup, photos
from capa.common.commands import PLEASE_CORRECT, Integer, parse
from capa.common.errors import DomainError, ValidationError
from capa.common.files import open_stored
from capa.http.downloads import send_private_download, send_stored
from capa.http.guard import request_user
from capa.suppliers import scars
from capa.suppliers.commands import NewScarRequest, ScarAnswerCommand, ScarFilters, ScarReview
from capa.suppliers.models import ScarDecision, ScarFile, ScarRequest, ScarStatus


class ScarFileRecord(Record):
    id: int
    name: str = Field(validation_alias="original_name")
    content_type: str
    size: int
    #: Where to download it.
    url: str

    @model_validator(mode="before")
    @classmethod
    def _with_url(cls, found: Any) -> Any:
        if isinstance(found, ScarFile):
            return With(found, url=f"/api/v1/scar-requests/{found.answer.request_id}/files/{found.id}")
        return found


class ScarAnswerRecord(Record):
    round: int
    containment: str
    whys: list[str]
    root_cause: str
    actions: str
    submitted_by: str = Ref("submitted_by", "username")
    submitted_at: Timestamp
    files: list[ScarFileRecord] = []
    #: The quality manager's review: null until reviewed.
    decision: ScarDecision | None = None
    comment: str = ""
    reviewed_by: str | None = Ref("reviewed_by", "username", default=None)
    reviewed_at: Timestamp | None = None
    #: The change request the answer opened (it said a chemical changed), by number; null when none.
    change_request: str | None = None


class SharedResult(Record):
    """A lab result the request shares: the one the NC was raised from or a retest, on the supplier's lot or none."""

    parameter: str = Ref("parameter", "code")
    parameter_name: str = Ref("parameter", "name")
    value: str
    unit: str
    limit: str | None = None
    verdict: str
    lot: str | None = Ref("lot", "number", default=None)
    tested_at: date
    lab: str
    report_number: str


class SharedPhoto(Answer):
    id: int
    url: str


class SharedNc(Answer):
    """What failed, as the request shares it with the supplier."""

    #: The factory's NC number; null for a supplier's account (the request's number is its reference).
    number: str | None
    title: str
    description: str
    defect_type: str
    reported_at: Timestamp
    #: The safety parameters it concerns, by code.
    parameters: list[str]
    results: list[SharedResult]
    photos: list[SharedPhoto]


class ScarRequestRecord(Answer):
    id: int
    #: ``SCAR-00001``.
    number: str
    supplier: str
    #: The SCAR action's id; null for a supplier's account.
    action: int | None
    #: The SCAR action's description, as the quality manager wrote it.
    action_description: str
    message: str
    containment_due: date
    answer_due: date
    #: ``sent`` (the supplier's answer awaited), ``answered`` (a review awaited), ``accepted``.
    status: ScarStatus
    #: Awaiting the supplier's answer after the day it was due.
    late: bool
    sent_by: str | None
    sent_at: Timestamp
    accepted_at: Timestamp | None
    nc: SharedNc
    #: Every round, oldest first.
    answers: list[ScarAnswerRecord]


class ScarRequestSummary(Answer):
    id: int
    number: str
    supplier: str
    #: The NC's number; null for a supplier's account.
    nc: str | None
    title: str
    containment_due: date
    answer_due: date
    status: ScarStatus
    late: bool
    rounds: int


class ScarRequests(Answer):
    items: list[ScarRequestSummary]


def _for_factory() -> bool:
    """Whether the caller is the factory's: a supplier's account is not shown the factory's own references."""
    return request_user().role in STAFF


def _summary(found: ScarRequest) -> ScarRequestSummary:
    return ScarRequestSummary(
        id=found.id,
        number=found.number,
        supplier=found.supplier.code,
        nc=found.action.nc.number if _for_factory() else None,
        title=found.action.nc.title,
        containment_due=found.containment_due,
        answer_due=found.answer_due,
        status=found.status,
        late=scars.is_late(found),
        rounds=len(found.answers),
    )


def _answer(entry, opened: dict) -> ScarAnswerRecord:
    change = opened.get(entry.id)
    number = change.number if change else None
    return ScarAnswerRecord.model_validate(entry).model_copy(update={"change_request": number})


def _record(found: ScarRequest) -> ScarRequestRecord:
    nc = found.action.nc
    opened = scars.changes_opened(found)
    return ScarRequestRecord(
        id=found.id,
        number=found.number,
        supplier=found.supplier.code,
        action=found.action_id if _for_factory() else None,
        action_description=found.action.description,
        message=found.message,
        containment_due=found.containment_due,
        answer_due=found.answer_due,
        status=found.status,
        late=scars.is_late(found),
        sent_by=found.sent_by.username if found.sent_by else None,
        sent_at=found.sent_at,
        accepted_at=found.accepted_at,
        nc=SharedNc(
            number=nc.number if _for_factory() else None,
            title=nc.title,
            description=nc.description,
            defect_type=nc.defect_type.name,
            reported_at=nc.reported_at,
            parameters=[parameter.code for parameter in nc.parameters],
            results=[SharedResult.model_validate(result) for result in scars.shared_results(found)],
            photos=[
                SharedPhoto(id=photo.id, url=f"/api/v1/scar-requests/{found.id}/photos/{photo.id}")
                for photo in nc.photos
            ],
        ),
        answers=[_answer(entry, opened) for entry in found.answers],
    )


class SendScarRequest(NewScarRequest):
    """A SCAR action sent to its supplier."""

    #: The SCAR action's id (``actions[].id`` of its NC).
    action: Integer(minimum=1)


@bp.post("/scar-requests")
@bp.input(SendScarRequest, arg_name="command")
@bp.output(ScarRequestRecord, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def send_scar_request(command: SendScarRequest):
    """Send a SCAR action to its supplier

    The supplier's accounts then see the request with what failed (the NC's description, parameters, photos and its
    lab results on that supplier's lots). 400 naming `supplier`, `containment_due` (before today), `answer_due`
    (before the containment's); 404 naming `id` for no such action; 409 naming `action` (not a SCAR, sent already,
    its NC closed or cancelled).
    """
    action = lookup.get_action(command.action)
    return _record(scars.send(action, command, request_user()))


@bp.get("/scar-requests")
@bp.input(ScarFilters, location="query", arg_name="filters")
@bp.output(ScarRequests)
@requires(Permission.READ_SCARS)
def list_scar_requests(filters: ScarFilters):
    """The requests: all for the factory's people (`supplier`, `status` filter them), a supplier's own for its
    accounts; those awaiting someone first, the answer due soonest first."""
    return ScarRequests(items=[_summary(found) for found in scars.list_requests(request_user(), filters)])


@bp.get("/scar-requests/<int:request_id>")
@bp.output(ScarRequestRecord)
@requires(Permission.READ_SCARS)
def get_scar_request(request_id: int):
    """A request with what it shares and every round of its answers; 404 for another supplier's."""
    return _record(scars.get_request(request_id, request_user()))


ANSWER_BODY = {
    "required": True,
    "description": "JSON, or `multipart/form-data` with evidence files in the field `file` (PDF, XLSX or photos "
    "judged by their content, at most 10) and `whys` given once per Why.",
    "content": {
        "application/json": {"schema": ScarAnswerCommand.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["containment", "whys", "root_cause", "actions"],
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "containment": {"type": "string", "maxLength": 4000},
                    "whys": {"type": "array", "items": {"type": "string", "maxLength": 1000}, "maxItems": 5},
                    "root_cause": {"type": "string", "maxLength": 4000},
                    "actions": {"type": "string", "maxLength": 4000},
                    "chemical_change": {"type": "string", "maxLength": 1000},
                },
            }
        },
    },
}


@bp.post("/scar-requests/<int:request_id>/answers")
@bp.output(ScarAnswerRecord, status_code=201)
@bp.doc(
    extensions={"requestBody": ANSWER_BODY},
    responses={
        409: "The request awaits no answer now: under review or accepted (`conflict`, naming `request`).",
        413: "The body is larger than allowed (`payload_too_large`); nothing was stored.",
    },
)
@requires(Permission.ANSWER_SCARS)
def answer_scar_request(request_id: int):
    """Answer a request (a supplier's account): containment, 5 Whys, root cause, actions and evidence files

    Each answer is a new round, reviewed by a quality manager. With `chemical_change` (a dye or chemical the
    supplier changed) it opens a change request, answered in `change_request`. 400 naming `containment`, `whys`,
    `root_cause`, `actions`, `file[i]`.
    """
    found = scars.get_request(request_id, request_user())
    uploads = []
    if request.mimetype == "multipart/form-data":
        uploads, values = multipart_files(
            upload_limit(), ("containment", "whys", "root_cause", "actions", "chemical_change")
        )
        data: dict[str, Any] = {**values, "whys": request.form.getlist("whys")}
    else:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError(str(PLEASE_CORRECT), fields={"body": str(_l("Send a JSON object."))})
    aliases = {"files": FILE_FIELD, **{f"files[{i}]": f"{FILE_FIELD}[{i}]" for i in range(len(uploads))}}
    try:
        entry = scars.answer(found, parse(ScarAnswerCommand, data), uploads, request_user())
    except DomainError as error:
        raise error.renamed(aliases) from None
    return _answer(entry, scars.changes_opened(found))


@bp.post("/scar-requests/<int:request_id>/answers/<int:round_number>/review")
@bp.input(ScarReview, arg_name="command")
@bp.output(ScarAnswerRecord)
@requires(Permission.MAINTAIN_CATALOG)
def review_scar_answer(request_id: int, round_number: int, command: ScarReview):
    """Accept or return a supplier's latest answer

    `accept` closes the request; `return` (with a `comment`, and a new `answer_due` if given) asks for another
    round. 400 naming `comment`, `answer_due`; 409 naming `round` (not the latest, or reviewed).
    """
    found = scars.get_request(request_id, request_user())
    return scars.review(found, round_number, command, request_user())


@bp.get("/scar-requests/<int:request_id>/files/<int:file_id>")
@bp.doc(responses={200: FILE_ANSWER})
@requires(Permission.READ_SCARS)
def get_scar_file(request_id: int, file_id: int):
    """An evidence file of an answer, as a download."""
    found = scars.get_file(scars.get_request(request_id, request_user()), file_id)
    return send_private_download(
        open_stored(found.key), mimetype=found.content_type, download_name=found.original_name or "evidence"
    )


@bp.get("/scar-requests/<int:request_id>/photos/<int:photo_id>")
@bp.doc(responses={200: FILE_ANSWER})
@requires(Permission.READ_SCARS)
def get_scar_photo(request_id: int, photo_id: int):
    """A photo of the NC the request shares."""
    photo = scars.shared_photo(scars.get_request(request_id, request_user()), photo_id)
    response = send_stored(photos.open_photo(photo), mimetype=photo.content_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
