"""Non-conformances and their CAPAs: filing, the workflow steps, lists and the whole record."""

from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from capa.accounts.models import Role
from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.effectiveness import EffectivenessReviewRecord, review_of
from capa.api.evidence import AttachmentRecord
from capa.api.models import Answer, Codes, OrNone, Record, Ref, Timestamp, With
from capa.api.safety import Result
from capa.capas import (
    dispositions,
    effectiveness,
    evidence,
    filing,
    lookup,
    paging,
    progress,
    queries,
    raising,
    rounds,
    signatures,
    steps,
)
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    EditNC,
    EffectivenessReview,
    FileNC,
    FilingKey,
    NCFilters,
    NewAction,
    RaiseNC,
    ReleaseHold,
    Retest,
    Review,
    RootCause,
)
from capa.capas.labels import SIGNATURE_MEANING_LABELS
from capa.capas.models import (
    ActionKind,
    ActionStatus,
    DispositionKind,
    FishboneCategory,
    Hold,
    NonConformance,
    Severity,
    Signature,
    SignatureMeaning,
    Source,
)
from capa.capas.policy import step_permission
from capa.capas.states import State, Step
from capa.common.commands import Command
from capa.common.errors import DomainError
from capa.http.guard import request_user
from capa.masterdata.models import SafetyCategory
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult


class DefectType(Record):
    code: str
    name: str
    #: The name in Simplified Chinese; empty when none was given.
    name_zh: str
    parameters: Codes()
    #: Days from closing a CAPA of this type to its effectiveness review.
    effectiveness_days: int


class DefectTypes(Answer):
    items: list[DefectType]


class NC(Record):
    """A non-conformance as listed."""

    number: str
    status: State
    #: Send it back with a step: a step on an NC another person changed meanwhile, in the same fields or the state
    #: the step rests on, is refused (409 stale_version, its ``changes`` naming what they changed).
    version: int
    title: str
    description: str
    defect_type: str = Ref("defect_type", "code")
    source: Source
    severity: Severity
    line: str = Ref("line", "code")
    style: str | None = Ref("style", "code", default=None)
    batch: str | None = Ref("batch", "number", default=None)
    #: The style's category, or the one given when the NC names no style.
    category: SafetyCategory | None = Field(validation_alias="effective_category")
    quantity_affected: int | None
    parameters: Codes()
    safety_critical: bool
    recurrence_of: str | None = Ref("recurrence_of", "number", default=None)
    reported_by: str = Ref("reported_by", "username")
    reported_at: Timestamp
    closed_at: Timestamp | None
    overdue_actions: int


class NCPage(Record):
    """One page of the NC list, newest first (reported_at, then id, descending)."""

    items: list[NC]
    page: int | None = Field(description="The page number asked for (1 by default); null when asked by `cursor`.")
    per_page: int
    total: int | None = Field(
        description="How many NCs match the filters, when asked by page number; null when asked by `cursor` "
        "(a walk by cursor never counts)."
    )
    next_cursor: str | None = Field(
        description="Send it as `cursor`, with the same filters, for the next page; null on the last page."
    )


class DispositionRecord(Record):
    """A quality manager's disposition of (part of) a hold, with a rework's re-inspection."""

    id: int
    kind: DispositionKind
    #: The quantity it covers; null: the rest of a hold whose quantity is unknown.
    quantity: int | None
    reason: str
    evidence: str
    #: Ids of the lab results it rests on.
    results: list[int]
    concession_buyer: OrNone
    concession_reference: OrNone
    decided_by: str = Ref("decided_by", "username")
    decided_at: Timestamp
    reinspected_at: Timestamp | None
    reinspected_by: str | None = Ref("reinspected_by", "username", default=None)
    reinspection_passed: bool | None
    reinspection_note: OrNone

    @field_validator("results", mode="before")
    @classmethod
    def _result_ids(cls, results: Any) -> Any:
        return [result.id if isinstance(result, LabResult) else result for result in results]


class HoldRecord(Record):
    id: int
    batch: str | None = Ref("batch", "number", default=None)
    lot: str | None = Ref("lot", "number", default=None)
    #: The quantity held; null when the containment did not say.
    quantity: int | None
    held_at: Timestamp
    released_at: Timestamp | None
    release_reason: str
    #: Its dispositions, oldest first: it leaves quarantine when they cover its whole quantity.
    dispositions: list[DispositionRecord]
    #: The quantity no disposition covers or has taken yet; null when the quantity held is unknown.
    remaining: int | None

    @model_validator(mode="before")
    @classmethod
    def _read_hold(cls, hold: Any) -> Any:
        if isinstance(hold, Hold):
            return With(hold, remaining=dispositions.remaining(hold))
        return hold


class Containment(Record):
    description: str = Field(validation_alias="containment")
    holds: list[HoldRecord]


class Analysis(Record):
    round: int
    whys: list[str]
    fishbone: dict[FishboneCategory, list[str]]
    category: FishboneCategory
    statement: str
    submitted_by: str = Ref("submitted_by", "username")
    submitted_at: Timestamp
    decision: OrNone
    comment: str = Field(validation_alias="review_comment")
    reviewed_by: str | None = Ref("reviewed_by", "username", default=None)
    reviewed_at: Timestamp | None


class ActionRecord(Record):
    id: int
    nc: str = Ref("nc", "number")
    kind: ActionKind
    description: str
    owner: str = Ref("owner", "username")
    due_date: date
    status: ActionStatus
    overdue: bool
    evidence: str
    completed_at: Timestamp | None
    #: The root-cause round the action answers (the approved analysis it was added under); null for older ones.
    round: int | None
    #: A standard revision's document and its new revision; null when not given.
    document: OrNone
    revision: OrNone
    #: A retraining's trained people; null when not given.
    trained: OrNone
    #: Its evidence files.
    attachments: list[AttachmentRecord]


class ActionDone(ActionRecord):
    nc_status: State = Ref("nc", "status")
    version: int = Ref("nc", "version")


class TestRecorded(Result):
    nc_status: State
    version: int


class PhotoRecord(Record):
    id: int
    name: str = Field(validation_alias="original_name")
    content_type: str
    size: int


class Event(Record):
    at: Timestamp
    by: str | None = Ref("actor", "username", default=None)
    kind: str
    field: OrNone
    old: OrNone
    new: OrNone
    note: OrNone
    #: The NC version the change produced (null for entries from before versions were recorded).
    version: int | None


class RejudgedFailure(Record):
    """A linked result judged again under a changed rule, now failing."""

    result: int = Ref("result", "id")
    parameter: str = Ref("result", "parameter", "code")
    value: str = Ref("result", "value")
    old_verdict: Outcome
    new_verdict: Outcome
    old_limit: str
    new_limit: str
    #: style (its category or attributes changed), limit (corrected by a quality manager) or catalog.
    cause: str
    reason: str
    changed_at: Timestamp


class SignatureRecord(Record):
    """An electronic signature on a step of the NC (21 CFR Part 11 §11.50): who signed, the name shown with it,
    when, and what it means."""

    id: int
    #: The signer's user name.
    signer: str = Ref("signer", "username")
    #: The signer's full name when signing (their user name when the account had no full name).
    signer_name: str
    #: approved_root_cause, returned_root_cause, released_batch, reworked_batch, scrapped_batch,
    #: returned_to_supplier, used_as_is, closed_capa or reviewed_effectiveness.
    meaning: SignatureMeaning
    #: The meaning in the reader's language.
    meaning_text: str
    signed_at: Timestamp
    #: The disposition signed, for a signature on a disposition; null otherwise.
    disposition_id: int | None

    @model_validator(mode="before")
    @classmethod
    def _read_signature(cls, signature: Any) -> Any:
        if isinstance(signature, Signature):
            return With(signature, meaning_text=str(SIGNATURE_MEANING_LABELS[SignatureMeaning(signature.meaning)]))
        return signature


class NextStepRecord(Record):
    """The step that moves a CAPA on from its state, and who may take it."""

    step: Step
    #: The 8D discipline (the NC page's section) the step belongs to: ``d3`` … ``d8``.
    discipline: str
    #: The roles that may take the step.
    roles: list[Role] = Field(validation_alias="role_list")
    #: The owners of the open actions, when the step is to finish them (they may, whatever their role).
    owners: list[str] = Field(validation_alias="owner_names")

    @model_validator(mode="before")
    @classmethod
    def _read_step(cls, ahead: Any) -> Any:
        if isinstance(ahead, progress.NextStep):
            return With(
                ahead,
                role_list=sorted(ahead.roles),
                owner_names=[owner.username for owner in ahead.owners],
            )
        return ahead


class NCDetail(NC):
    """The whole record of a non-conformance: its 8D steps, retests, photos and history."""

    containment: Containment
    #: The latest analysis.
    root_cause: Analysis | None
    #: Every analysis with its review, in rounds.
    reviews: list[Analysis] = Field(validation_alias="analyses")
    actions: list[ActionRecord]
    #: Retests, newest first.
    tests: list[Result]
    recurrences: Codes("number")
    effectiveness: str
    cancel_reason: str
    photos: list[PhotoRecord]
    history: list[Event] = Field(validation_alias="events")
    #: The failing lab result this NC was raised from (``POST /results/{id}/raise-nc``); null when filed otherwise.
    source_result: Result | None
    #: Linked results (retests, the result it was raised from) that a later change of the rule (a style's category
    #: or attributes, a corrected limit) turned from a pass into a failure: an open CAPA showing one needs a look.
    rejudged_failures: list[RejudgedFailure]
    #: Every evidence file of the NC: its actions', its closing's and its effectiveness review's.
    attachments: list[AttachmentRecord]
    #: What moves the CAPA on now and who may do it; null once it is closed or cancelled.
    next_step: NextStepRecord | None
    #: The quality manager's question when the latest root cause was returned (waiting for the next round);
    #: null otherwise.
    returned_question: str | None
    #: The failing retest that sent the CAPA back to investigation after its root cause was approved (the reason
    #: for the next round); null otherwise.
    sent_back_by: Result | None
    #: The effectiveness review of a closed CAPA (``POST …/effectiveness-review``); null until it is closed.
    effectiveness_review: EffectivenessReviewRecord | None
    #: The closed CAPA whose effectiveness review found it not effective and opened this one; null otherwise.
    follow_up_of: str | None = Ref("follow_up_of", "number", default=None)
    #: The electronic signatures on its steps (reviews, dispositions, closing, effectiveness review), oldest first.
    signatures: list[SignatureRecord]

    @model_validator(mode="before")
    @classmethod
    def _read_nc(cls, nc: Any) -> Any:
        if isinstance(nc, NonConformance):
            nc = lookup.load_whole(nc)
            dispositions.load_holds(nc)
            latest = nc.analyses[-1] if nc.analyses else None
            tests = queries.tests_of(nc)
            returned = rounds.returned_round(nc)
            # The actions' evidence read with the NC's, in one query, not one per action.
            files = evidence.by_action(nc)
            return With(
                nc,
                containment=nc,
                root_cause=latest,
                actions=[With(action, attachments=files.get(action.id, [])) for action in nc.actions],
                tests=tests,
                rejudged_failures=queries.rejudged_failures(nc),
                next_step=progress.next_step(nc, safety.latest_of(tests)),
                returned_question=returned.review_comment if returned is not None else None,
                sent_back_by=rounds.failing_retest(nc, tests),
                effectiveness_review=review_of(nc),
                signatures=signatures.of(nc),
            )
        return nc


@bp.get("/defect-types")
@bp.output(DefectTypes)
@requires(Permission.VIEW)
def defect_types():
    return {"items": lookup.list_defect_types(active_only=True)}


#: What a signing step answers beside its own errors (the rule: capa.capas.signatures).
SIGNED = {
    400: "The input is invalid: `fields` names each bad field, `password` when the step is sent without the "
    "password that signs it.",
    401: "No valid API token (`unauthorized`), or the `password` signing the step is not the token's user's "
    "(`signature_refused`, naming `password`); nothing was recorded.",
    429: "Too many wrong passwords for this account, at log-in or signing (`too_many_attempts`, naming `password`, "
    "with `retry_after` and the `Retry-After` header in seconds); the password was not checked, nothing recorded.",
}


class FilingHeaders(Command):
    """The headers a filing may carry besides the token."""

    idempotency_key: FilingKey = Field(
        default=None,
        alias="Idempotency-Key",
        description="A key of the client's choosing, 1 to 64 printable ASCII characters, one per filing: the "
        "same key sent again by the same user files nothing and answers the NC it filed (200, "
        "`Idempotent-Replayed: true`); with a different body it is refused (409 `idempotency_key_reused`).",
        # Absent means no key; a header has no null to document.
        json_schema_extra=lambda schema: schema.pop("default", None),
    )


#: Where the API names the key in its errors: the header's name, not the service's ``idempotency_key``.
KEY_HEADER = {"idempotency_key": "Idempotency-Key"}


def replayed(schema: str, description: str) -> dict:
    """The documented 200 of a POST sent again under its ``Idempotency-Key``: ``schema``'s answer, marked."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        "headers": {
            "Idempotent-Replayed": {
                "description": "`true`: the answer of an earlier request with the same key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    }


REPLAYED = replayed(
    "NCDetail", "The `Idempotency-Key` filed this NC before, with the same body: nothing new was filed."
)


@bp.post("/nonconformances")
@bp.input(FilingHeaders, location="headers", arg_name="headers")
@bp.input(FileNC, arg_name="command")
@bp.output(NCDetail, status_code=201)
@bp.doc(
    responses={
        200: REPLAYED,
        409: "The `Idempotency-Key` filed another NC with a different body (`idempotency_key_reused`, with that "
        "NC's `number`), or another filing changed the records at the same moment (`conflict`, to retry); nothing "
        "was filed.",
    }
)
@requires(step_permission(Step.FILE))
def file_nc(command: FileNC, headers: FilingHeaders):
    """File a non-conformance

    Send an `Idempotency-Key` to make resending safe: a filing retried after a lost answer files one NC.
    """
    try:
        filed = filing.file_nc_once(command, request_user(), headers.idempotency_key)
    except DomainError as error:
        if "idempotency_key" not in error.fields:
            raise
        raise error.renamed(KEY_HEADER) from None
    if filed.replayed:
        return filed.nc, 200, {"Idempotent-Replayed": "true"}
    return filed.nc


@bp.post("/results/<int:result_id>/raise-nc")
@bp.input(RaiseNC, arg_name="command")
@bp.output(NCDetail, status_code=201)
@bp.doc(
    responses={
        409: "The result did not fail on a batch (`conflict` naming `result`), or an NC was raised from it already "
        "(its `number` in the error); nothing was filed."
    }
)
@requires(step_permission(Step.FILE))
def raise_nc(result_id: int, command: RaiseNC):
    """Raise a non-conformance from a failing lab result

    Files an NC filled from the result (batch, style, line, parameter, title and description quoting it) and
    linked to it both ways; `hold` puts the batch, or the result's lot, on hold in the same step (a quality
    manager's decision: 403 for other roles). `defect_type` is needed only when no single active defect type
    usually concerns the result's parameter.
    """
    return raising.raise_nc_from_result(raising.get_result(result_id), command, request_user())


@bp.get("/nonconformances")
@bp.input(NCFilters, location="query", arg_name="filters")
@bp.output(NCPage)
@requires(Permission.VIEW)
def list_ncs(filters: NCFilters):
    """List non-conformances

    Newest first, filtered by the parameters given (combined with AND). Page by `page` and `per_page`, with the
    `total` count; or, quick however many NCs there are, walk by cursor: start with `cursor=first` (or a page),
    then send the answer's `next_cursor` as `cursor` with the same filters (and any `per_page`), until
    `next_cursor` is null. A walk by cursor shows
    every NC once, never counts (`total` and `page` are null), and keeps its place when NCs are filed
    meanwhile. A cursor that this list did not give, one given for other filters, or one sent with `page` is
    refused (400 naming `cursor`).
    """
    return paging.list_page(filters)


@bp.get("/nonconformances/<number>")
@bp.output(NCDetail)
@requires(Permission.VIEW)
def get_nc(number: str):
    return lookup.get_nc(number)


@bp.patch("/nonconformances/<number>")
@bp.input(EditNC, arg_name="command")
@bp.output(NCDetail)
@requires(step_permission(Step.EDIT))
def edit_nc(number: str, command: EditNC):
    return filing.edit_nc(lookup.get_nc(number), command, request_user())


def _step(number: str, step, command):
    nc = lookup.get_nc(number)
    step(nc, command, request_user())
    return nc


@bp.post("/nonconformances/<number>/containment")
@bp.input(Contain, arg_name="command")
@bp.output(NCDetail)
@requires(step_permission(Step.CONTAIN))
def contain(number: str, command: Contain):
    return _step(number, steps.contain, command)


@bp.post("/nonconformances/<number>/holds/<int:hold_id>/release")
@bp.input(ReleaseHold, arg_name="command")
@bp.output(NCDetail)
@bp.doc(responses=SIGNED)
@requires(step_permission(Step.RELEASE_HOLD))
def release_hold(number: str, hold_id: int, command: ReleaseHold):
    """Release what remains of a hold

    A release disposition of what remains, resting on the `reason`, signed electronically with the quality
    manager's `password` (meaning `released_batch`).
    """
    nc = lookup.get_nc(number)
    steps.release_hold(nc, hold_id, command, request_user())
    return nc


@bp.post("/nonconformances/<number>/root-cause")
@bp.input(RootCause, arg_name="command")
@bp.output(NCDetail)
@requires(step_permission(Step.SUBMIT_ROOT_CAUSE))
def root_cause(number: str, command: RootCause):
    return _step(number, steps.submit_root_cause, command)


@bp.post("/nonconformances/<number>/review")
@bp.input(Review, arg_name="command")
@bp.output(NCDetail)
@bp.doc(
    responses={
        **SIGNED,
        403: "The token's user may not review, or submitted the root cause they approve while "
        "`CAPA_SEPARATE_ROOT_CAUSE_APPROVER` is on (`same_person`).",
    }
)
@requires(step_permission(Step.REVIEW))
def review(number: str, command: Review):
    """Review the submitted root cause

    `approve` it, or `return` it with a `comment`; signed electronically with the quality manager's `password`
    (meaning `approved_root_cause` or `returned_root_cause`, in `signatures`).
    """
    return _step(number, steps.review, command)


@bp.post("/nonconformances/<number>/actions")
@bp.input(NewAction, arg_name="command")
@bp.output(ActionRecord, status_code=201)
@requires(step_permission(Step.ADD_ACTION))
def add_action(number: str, command: NewAction):
    return steps.add_action(lookup.get_nc(number), command, request_user())


@bp.post("/actions/<int:action_id>/complete")
@bp.input(CompleteAction, arg_name="command")
@bp.output(ActionDone)
@requires(step_permission(Step.COMPLETE_ACTION))
def complete_action(action_id: int, command: CompleteAction):
    return steps.complete_action(lookup.get_action(action_id), command, request_user())


@bp.post("/nonconformances/<number>/tests")
@bp.input(Retest, arg_name="command")
@bp.output(TestRecorded, status_code=201)
@requires(step_permission(Step.RECORD_TEST))
def record_test(number: str, command: Retest):
    nc = lookup.get_nc(number)
    result = steps.record_test(nc, command, request_user())
    return TestRecorded.model_validate(With(result, nc_status=nc.status, version=nc.version))


@bp.post("/nonconformances/<number>/close")
@bp.input(Close, arg_name="command")
@bp.output(NCDetail)
@bp.doc(responses=SIGNED)
@requires(step_permission(Step.CLOSE))
def close(number: str, command: Close):
    """Close the CAPA

    Once every gate is met (409 `gates_unmet` names each one still open), with the `effectiveness` note; signed
    electronically with the quality manager's `password` (meaning `closed_capa`).
    """
    return _step(number, steps.close, command)


@bp.post("/nonconformances/<number>/cancel")
@bp.input(Cancel, arg_name="command")
@bp.output(NCDetail)
@requires(step_permission(Step.CANCEL))
def cancel(number: str, command: Cancel):
    return _step(number, steps.cancel, command)


@bp.post("/nonconformances/<number>/effectiveness-review")
@bp.input(EffectivenessReview, arg_name="command")
@bp.output(NCDetail)
@bp.doc(
    responses={
        **SIGNED,
        409: "The CAPA is not closed (`invalid_state`), its effectiveness was reviewed already (`already_reviewed`), "
        "or it changed since `version` (`stale_version`); nothing was recorded.",
    }
)
@requires(step_permission(Step.REVIEW_EFFECTIVENESS))
def review_effectiveness(number: str, command: EffectivenessReview):
    """Record the effectiveness review of a closed CAPA

    `verdict` (`effective` or `not_effective`), `recurred` and `note` are required, and the `password` that signs
    it electronically (meaning `reviewed_effectiveness`). A review is recorded once. A `not_effective` verdict
    files a follow-up CAPA in the same step (same defect type, line, style, batch and parameters), linked both
    ways: its number is in `effectiveness_review.follow_ups`.
    """
    return _step(number, effectiveness.review_effectiveness, command)
