"""What the CAPA services accept: filing and editing an NC, each 8D step, defect types and the list's filters.

A step's command carries ``version``, the NC version the person saw: a step taken on an NC that another person
changed meanwhile, in the same fields or the state the step rests on, is refused (409 ``stale_version``, see
:mod:`capa.capas.history`) rather than overwriting what the other person did.
"""

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from capa.accounts.signing import SigningPassword
from capa.capas.models import (
    ActionKind,
    DispositionKind,
    EffectivenessVerdict,
    FishboneCategory,
    ReviewDecision,
    Severity,
    Source,
)
from capa.capas.photos import TOO_MANY_PHOTOS, Upload, check_photos, photo_limit_bytes
from capa.capas.references import resolve_filing
from capa.capas.states import State
from capa.common.clock import plant_today, plant_zone
from capa.common.commands import (
    Boolean,
    Choice,
    Code,
    Command,
    Day,
    Integer,
    Items,
    LabValue,
    Moment,
    Text,
    refuse,
)
from capa.common.errors import ValidationError
from capa.masterdata.models import SafetyCategory

Version = Integer(required=False, minimum=1)
ParameterCodes = Items(Code(40), max_items=50, null_is_empty=False)
DefectTypeCode = Text(40, lower=True)
Quantity = Integer(required=False, maximum=10_000_000)


def _uploads_only(value: Any) -> Any:
    # Photos come as files from a form; a JSON body cannot carry them, so there it is an unknown field.
    if not isinstance(value, list) or not all(isinstance(item, Upload) for item in value):
        raise refuse(_l("Unknown field."))
    return value


def photo_uploads(too_many=TOO_MANY_PHOTOS) -> Any:
    """The type of photos from a form, each judged and converted as it will be stored (a JSON body cannot carry
    them: there the field is unknown); more than MAX_PHOTOS are refused with ``too_many``."""

    def checked(uploads: list[Upload]) -> list[Upload]:
        # The photos as they will be stored (a HEIC decoded into a JPEG here, once), so that a photo that cannot
        # be stored refuses the record before anything is written.
        try:
            return check_photos(uploads, 0, photo_limit_bytes(), too_many)
        except ValidationError as error:
            raise refuse(error.fields.get("photos", error.message)) from None

    return SkipJsonSchema[Annotated[list[Upload], BeforeValidator(_uploads_only), AfterValidator(checked)]]


class FileNC(Command):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    title: Text(200)
    description: Text(4000, required=False) = None
    #: The defect type's code, e.g. ``loose_button``.
    defect_type: DefectTypeCode
    source: Choice(Source)
    line: Code()
    style: Code(required=False) = None
    batch: Code(64, required=False) = None
    #: The GB 18401 category to judge against when the NC names no style.
    category: Choice(SafetyCategory, required=False) = None
    severity: Choice(Severity, required=False) = Severity.MAJOR
    quantity_affected: Quantity = None
    #: Codes of the safety parameters concerned; when absent, the defect type's usual ones.
    parameters: ParameterCodes = None
    #: Back-dating, by quality managers and administrators only; without an offset, plant time.
    reported_at: Moment(plant_zone, required=False) = None
    #: Photos from a form (the JSON API files without photos and adds them later).
    photos: photo_uploads() = Field(default_factory=list)

    @classmethod
    def reference_problems(cls, values: Mapping[str, Any]) -> dict[str, str]:
        return resolve_filing(values).problems


#: An idempotency key: 1 to 64 printable ASCII characters, what an HTTP header and a form field carry unchanged.
FILING_KEY_PATTERN = r"[ -~]{1,64}"
FILING_KEY_MESSAGE = _l("Use 1 to 64 printable ASCII characters.")


def _filing_key(value: Any) -> str | None:
    # Absent means no key; a key given is stripped (HTTP drops surrounding white space anyway), then checked.
    if value is None:
        return None
    stripped = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(FILING_KEY_PATTERN, stripped):
        raise refuse(FILING_KEY_MESSAGE)
    return stripped


#: The idempotency key a filing may carry (see :func:`capa.capas.filing.file_nc_once`); None when absent.
FilingKey = Annotated[
    Annotated[str, Field(min_length=1, max_length=64, pattern=f"^{FILING_KEY_PATTERN}$")] | SkipJsonSchema[None],
    BeforeValidator(_filing_key),
]


class HoldTarget(StrEnum):
    """What raising an NC from a failing result puts on hold: its batch, or the lot it names."""

    BATCH = "batch"
    LOT = "lot"


class RaiseNC(Command):
    """Raising an NC from a failing lab result (see :mod:`capa.capas.raising`); every field may be left out."""

    #: Put the result's batch, or its lot, on hold in the same step (a quality manager's containment decision).
    hold: Choice(HoldTarget, required=False) = None
    #: Needed only when no single active defect type usually concerns the result's parameter.
    defect_type: Text(40, lower=True, required=False) = None
    #: Instead of the title and description written from the result.
    title: Text(200, required=False) = None
    description: Text(4000, required=False) = None


class EditNC(Command):
    """A change to what an NC says; only the fields given change."""

    title: Text(200) = None
    description: Text(4000, required=False) = None
    severity: Choice(Severity) = None
    quantity_affected: Quantity = None
    parameters: ParameterCodes = None
    #: Why the linked parameters change: required of a quality manager correcting them once a root cause was
    #: submitted (400 ``reason``), and kept in the history beside the change.
    reason: Text(1000, required=False) = None
    version: Version = None


#: A held quantity, or a disposition's: pieces (or metres of a fabric lot), at least 1.
HeldQuantity = Integer(minimum=1, maximum=10_000_000)


def _quantities(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refuse(_l("Must be an object of batch or lot numbers and their quantities."))
    return value


#: ``{"B-2026-001": 1200}``: the quantity held of some of the numbers put on hold (see Contain).
HoldQuantities = Annotated[
    Annotated[dict[str, HeldQuantity], Field(max_length=100)],
    BeforeValidator(_quantities),
]


class Contain(Command):
    description: Text(4000)
    #: Numbers of the batches and lots to hold.
    hold: Items(Code(64), max_items=100, null_is_empty=False) = None
    #: The quantity held of some of them, by number (``{"B-2026-001": 1200}``); each key one of ``hold``'s
    #: numbers (400 naming ``quantities.<number>``). A hold without one has an unknown quantity.
    quantities: HoldQuantities = Field(default_factory=dict)
    version: Version = None


class ReleaseHold(Command):
    reason: Text(1000)
    version: Version = None
    #: The signer's password: the step is signed electronically (400 ``password`` when missing, 401 when wrong).
    password: SigningPassword = None


class Dispose(Command):
    """A quality manager's disposition of (part of) a hold: see :mod:`capa.capas.dispositions` for the rules."""

    kind: Choice(DispositionKind)
    #: The quantity it covers; left out, what remains of the hold (the rest, when the hold's quantity is unknown).
    quantity: Integer(required=False, minimum=1, maximum=10_000_000) = None
    #: Why this disposition.
    reason: Text(4000)
    #: What it rests on, in words; a release needs this or ``results``.
    evidence: Text(4000, required=False) = None
    #: Ids of the lab results it rests on: results of this NC or of the held batch or lot.
    results: Items(Integer(minimum=1), max_items=50) = Field(default_factory=list)
    #: The buyer who granted the concession, and the concession's reference: both required for use_as_is.
    concession_buyer: Text(120, required=False) = None
    concession_reference: Text(120, required=False) = None
    version: Version = None
    #: The signer's password: the step is signed electronically (400 ``password`` when missing, 401 when wrong).
    password: SigningPassword = None


class Reinspect(Command):
    """The re-inspection of a reworked part of a hold: passed or not, and what it found (required when not)."""

    passed: Boolean
    note: Text(4000, required=False) = None
    version: Version = None


def _fishbone(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refuse(_l("Must be an object of 6M categories and their causes."))
    known = [category.value for category in FishboneCategory]
    for category in value:
        if category not in known:
            raise refuse(_l("Unknown category %(c)s; use the 6M: %(all)s.", c=category, all=", ".join(known)))
    return value


def _without_empty(fishbone: dict) -> dict:
    return {category: causes for category, causes in fishbone.items() if causes}


#: Causes by 6M category: ``{"material": ["fixing agent changed"]}``.
Fishbone = Annotated[
    dict[FishboneCategory, Items(Text(500), max_items=20, drop_blank=True)],
    BeforeValidator(_fishbone),
    AfterValidator(_without_empty),
]


class RootCause(Command):
    """A root-cause analysis: at least one why or one fishbone cause, beside the statement."""

    #: The chain of whys; blank ones are left out.
    whys: Items(Text(500), max_items=10, drop_blank=True) = Field(default_factory=list)
    fishbone: Fishbone = Field(default_factory=dict)
    category: Choice(FishboneCategory)
    statement: Text(4000)
    version: Version = None


class Review(Command):
    decision: Choice(ReviewDecision)
    #: Required when the analysis is returned: what is missing.
    comment: Text(4000, required=False) = None
    version: Version = None
    #: The signer's password: the step is signed electronically (400 ``password`` when missing, 401 when wrong).
    password: SigningPassword = None


class NewAction(Command):
    kind: Choice(ActionKind)
    description: Text(4000)
    #: The user name of an active user.
    owner: Text(64, lower=True)
    due_date: Day()
    version: Version = None


#: Files from a form (evidence, see capa.capas.evidence); a JSON body cannot carry them, so there they are an
#: unknown field (the API uploads them apart and names them in ``attachments``).
EvidenceFiles = SkipJsonSchema[Annotated[list[Upload], BeforeValidator(_uploads_only)]]
#: Ids of evidence files added before (``POST /api/v1/nonconformances/{number}/attachments``).
AttachmentIds = Items(Integer(minimum=1, maximum=2**31 - 1), max_items=10)


class CompleteAction(Command):
    """Completing an action: the evidence in words (required), what its kind requires, and its files.

    A standard revision names the ``document`` revised and its new ``revision``; a retraining names who was
    ``trained`` (:func:`capa.capas.steps.complete_action` checks them)."""

    evidence: Text(4000)
    document: Text(200, required=False) = None
    revision: Text(40, required=False) = None
    trained: Text(4000, required=False) = None
    #: Ids of this action's evidence files added before.
    attachments: AttachmentIds = Field(default_factory=list)
    files: EvidenceFiles = Field(default_factory=list)
    version: Version = None


class Retest(Command):
    """A retest of one of the NC's linked parameters."""

    parameter: Code(40)
    value: LabValue()
    #: The lab's reporting limit, when given apart from the value.
    reporting_limit: LabValue(required=False) = None
    lab: Text(120, required=False) = None
    report_number: Text(64, required=False) = None
    tested_at: Day(required=False, not_after=plant_today) = None
    #: Needed only when the NC names no style.
    category: Choice(SafetyCategory, required=False) = None
    version: Version = None


def _from_tomorrow(value: date | None) -> date | None:
    if value is not None and value <= plant_today():
        raise refuse(_l("Choose a date from tomorrow on."))
    return value


class Close(Command):
    effectiveness: Text(4000, required=False) = None
    #: The effectiveness review's date, from tomorrow on; by default the closing date plus the defect type's
    #: ``effectiveness_days`` (see :mod:`capa.capas.effectiveness`).
    review_on: Annotated[Day(required=False), AfterValidator(_from_tomorrow)] = None
    #: Ids of the closing's evidence files added before.
    attachments: AttachmentIds = Field(default_factory=list)
    files: EvidenceFiles = Field(default_factory=list)
    version: Version = None
    #: The signer's password: the step is signed electronically (400 ``password`` when missing, 401 when wrong).
    password: SigningPassword = None


class EvidencePurpose(StrEnum):
    """What evidence files added on their own stand for (the effectiveness review adds its own in its step)."""

    ACTION = "action"
    CLOSING = "closing"


class AddEvidence(Command):
    """Evidence files added on their own, before the action is completed or the CAPA closed."""

    purpose: Choice(EvidencePurpose)
    #: The action's id, for an action's evidence.
    action: Integer(required=False, minimum=1, maximum=2**31 - 1) = None
    files: EvidenceFiles = Field(default_factory=list)


class Cancel(Command):
    reason: Text(4000)
    version: Version = None


class EffectivenessReview(Command):
    """The effectiveness review of a closed CAPA: the verdict (no default: the reviewer decides), whether the
    problem recurred, and what the review found."""

    verdict: Choice(EffectivenessVerdict)
    recurred: Boolean
    note: Text(4000)
    version: Version = None
    #: The signer's password: the step is signed electronically (400 ``password`` when missing, 401 when wrong).
    password: SigningPassword = None


DEFECT_TYPE_CODE = Text(
    40, lower=True, pattern=r"[a-z0-9][a-z0-9_]*", pattern_message=_l("Use lower-case letters, digits and _ only.")
)


#: Days from closing to the effectiveness review: 1 to 730.
EffectivenessDays = Integer(minimum=1, maximum=730)


class NewDefectType(Command):
    code: DEFECT_TYPE_CODE
    name: Text(120)
    #: The name in Simplified Chinese, shown on Chinese pages; the English name stands in when empty.
    name_zh: Text(120, required=False) = None
    active: Boolean = True
    #: The safety parameters an NC of this type usually concerns.
    parameters: ParameterCodes = None
    #: Days from closing a CAPA of this type to its effectiveness review.
    effectiveness_days: EffectivenessDays = 90


class DefectTypeChanges(Command):
    name: Text(120) = None
    name_zh: Text(120, required=False) = None
    active: Boolean = None
    parameters: ParameterCodes = None
    effectiveness_days: EffectivenessDays = None


class Overdue(StrEnum):
    TRUE = "true"
    FALSE = "false"
    YES = "1"
    NO = "0"


class QueueName(StrEnum):
    """The home page's queues that no other filter of the NC list names (see :func:`capa.capas.queries.queue_for`)."""

    #: In investigation, the latest root cause returned with a question.
    RETURNED = "returned"
    #: In verification with every closing gate met but the effectiveness note.
    READY_TO_CLOSE = "ready_to_close"
    #: Closed, the effectiveness review due today or earlier and not recorded.
    EFFECTIVENESS_DUE = "effectiveness_due"


class NCFilters(Command):
    """The filters of the NC list (query parameters); unknown ones are refused."""

    status: Choice(State, required=False) = None
    line: Code(required=False) = None
    style: Code(required=False) = None
    #: NCs on batches with a lot of this supplier.
    supplier: Code(required=False) = None
    defect_type: Text(40, lower=True, required=False) = None
    parameter: Code(40, required=False) = None
    #: NCs with an action open past its due date (cancelled NCs excepted).
    overdue: Choice(Overdue, required=False) = None
    reported_from: Day(required=False) = None
    reported_to: Day(required=False) = None
    #: Words in the title, the description or the number.
    q: Text(200, required=False) = None
    #: NCs neither closed nor cancelled (``true``), or only those (``false``).
    open: Choice(Overdue, required=False) = None
    #: NCs reported by this user name.
    reported_by: Text(64, required=False) = None
    #: NCs with an open action owned by this user name.
    action_owner: Text(64, required=False) = None
    #: The NCs of one home page queue.
    queue: Choice(QueueName, required=False) = None
    page: Integer(required=False, minimum=1, maximum=100_000) = None
    per_page: Integer(required=False, minimum=1, maximum=500) = None
    #: Where to go on from: ``first``, or the ``next_cursor`` of the page before with the same filters
    #: (capa.capas.paging).
    cursor: Text(200, required=False) = None


class ImportNCs(Command):
    """How to import a spreadsheet of earlier NCs (see :mod:`capa.capas.importing`)."""

    #: Import the NCs of the valid rows and leave the bad ones out; by default nothing is imported when any row
    #: is bad.
    skip_invalid: Boolean = False
