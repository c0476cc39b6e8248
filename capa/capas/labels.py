"""The words of the CAPA vocabulary: how each state, source, severity, action kind and fishbone category is
shown to a reader (pages, exports, mails), translated when read. The codes stay the records' and the API's."""

from flask_babel import lazy_gettext as _l

from capa.capas.models import (
    ActionKind,
    DispositionKind,
    EffectivenessVerdict,
    FishboneCategory,
    Severity,
    SignatureMeaning,
    Source,
)
from capa.capas.states import State

SOURCE_LABELS = {
    Source.INLINE: _l("Inline inspection"),
    Source.END_OF_LINE: _l("End-of-line inspection"),
    Source.FINAL_AUDIT: _l("Final audit"),
    Source.LAB_TEST: _l("Lab test"),
    Source.CUSTOMER_COMPLAINT: _l("Customer complaint"),
    Source.INCOMING_MATERIAL: _l("Incoming material"),
}
SEVERITY_LABELS = {Severity.MINOR: _l("Minor"), Severity.MAJOR: _l("Major"), Severity.CRITICAL: _l("Critical")}
ACTION_KIND_LABELS = {
    ActionKind.CORRECTIVE: _l("Corrective action"),
    ActionKind.PREVENTIVE: _l("Preventive action"),
    ActionKind.STANDARD_REVISION: _l("Standard revision"),
    ActionKind.SCAR: _l("Supplier corrective action request (SCAR)"),
    ActionKind.TRAINING: _l("Retraining"),
}
FISHBONE_LABELS = {
    FishboneCategory.MAN: _l("Man (people)"),
    FishboneCategory.MACHINE: _l("Machine"),
    FishboneCategory.METHOD: _l("Method"),
    FishboneCategory.MATERIAL: _l("Material"),
    FishboneCategory.MEASUREMENT: _l("Measurement"),
    FishboneCategory.ENVIRONMENT: _l("Environment"),
}
STATE_LABELS = {
    State.REPORTED: _l("Reported"),
    State.INVESTIGATION: _l("Investigation"),
    State.REVIEW: _l("Review"),
    State.ACTION: _l("Action"),
    State.VERIFICATION: _l("Verification"),
    State.CLOSED: _l("Closed"),
    State.CANCELLED: _l("Cancelled"),
}
#: What a quality manager may decide for goods on hold (capa.capas.dispositions).
DISPOSITION_LABELS = {
    DispositionKind.RELEASE: _l("Release"),
    DispositionKind.REWORK: _l("Rework, then re-inspect"),
    DispositionKind.SCRAP: _l("Scrap"),
    DispositionKind.RETURN_TO_SUPPLIER: _l("Return to the supplier"),
    DispositionKind.USE_AS_IS: _l("Use as is (buyer's concession)"),
}
#: The verdicts of an effectiveness review (capa.capas.effectiveness).
EFFECTIVENESS_VERDICT_LABELS = {
    EffectivenessVerdict.EFFECTIVE: _l("Effective"),
    EffectivenessVerdict.NOT_EFFECTIVE: _l("Not effective"),
}
#: What an electronic signature means, shown with the signer's name and the time (capa.capas.signatures).
SIGNATURE_MEANING_LABELS = {
    SignatureMeaning.APPROVED_ROOT_CAUSE: _l("approved root cause"),
    SignatureMeaning.RETURNED_ROOT_CAUSE: _l("returned root cause"),
    SignatureMeaning.RELEASED_BATCH: _l("released batch"),
    SignatureMeaning.REWORKED_BATCH: _l("sent batch to rework"),
    SignatureMeaning.SCRAPPED_BATCH: _l("scrapped batch"),
    SignatureMeaning.RETURNED_TO_SUPPLIER: _l("returned to supplier"),
    SignatureMeaning.USED_AS_IS: _l("used as is under concession"),
    SignatureMeaning.CLOSED_CAPA: _l("closed CAPA"),
    SignatureMeaning.REVIEWED_EFFECTIVENESS: _l("reviewed effectiveness"),
}
#: What each kind of history entry says happened (``state`` and ``field`` entries are written out apart).
EVENT_LABELS = {
    "filed": _l("filed"),
    "raised_from": _l("raised from the failing lab result"),
    "recurrence": _l("flagged as a recurrence of"),
    "recurred": _l("recurred as"),
    "photo": _l("added a photo"),
    "hold": _l("put on hold"),
    "release": _l("released a hold"),
    "root_cause": _l("submitted a root cause"),
    "review": _l("reviewed the root cause"),
    "action": _l("added an action"),
    "action_done": _l("finished an action"),
    "test": _l("recorded a retest"),
    "effectiveness_review": _l("reviewed the effectiveness"),
    "follow_up": _l("opened the follow-up CAPA"),
    "follow_up_of": _l("filed as the follow-up of"),
    "disposition": _l("decided a disposition for"),
    "reinspection": _l("recorded the re-inspection of a rework of"),
    "evidence": _l("added an evidence file"),
    "imported": _l("imported from a spreadsheet"),
}
#: The NC's fields as its history names them.
FIELD_LABELS = {
    "title": _l("What is wrong"),
    "description": _l("Description"),
    "severity": _l("Severity"),
    "quantity_affected": _l("Quantity affected"),
    "parameters": _l("Safety parameters"),
    "containment": _l("Containment"),
    "effectiveness": _l("Effectiveness"),
    "effectiveness_due": _l("Effectiveness review due"),
    "cancel_reason": _l("Reason for cancelling"),
    "safety_critical": _l("Safety-critical"),
}
