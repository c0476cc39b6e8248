import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from capa.capas.filing import new_filing_key
from capa.capas.labels import (
    ACTION_KIND_LABELS,
    FISHBONE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
)
from capa.capas.models import FishboneCategory, Severity
from capa.common.errors import DomainError
from capa.web.forms import options

#: What a photo input's picker offers: the kinds the app accepts (capa.capas.photos), HEIC by type and by name,
#: since some browsers know no type for it.
PHOTO_ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.heic,.heif"
#: What an evidence file input's picker offers: the kinds capa.capas.evidence accepts (judged by their content).
EVIDENCE_ACCEPT = (
    "application/pdf,.pdf,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,.xlsx," + PHOTO_ACCEPT
)


def password_field() -> PasswordField:
    """The password a signing step form asks for (an electronic signature: capa.capas.signatures), filled by the
    browser as the current password; its value is never rendered back, so a refused form asks for it again."""
    return PasswordField(_l("Your password (electronic signature)"), render_kw={"autocomplete": "current-password"})


class FileForm(FlaskForm):
    """Filing an NC on a phone in under a minute: the essentials first, everything else optional."""

    # Required, but checked by the service with every other field, so all problems show at once.
    title = StringField(_l("What is wrong"))
    defect_type = SelectField(_l("Defect type"), choices=[], validate_choice=False)
    line = SelectField(_l("Line"), choices=[], validate_choice=False)
    source = SelectField(_l("Found at"), choices=options(SOURCE_LABELS))
    batch = StringField(_l("Batch number"))
    style = SelectField(_l("Style"), choices=[], validate_choice=False)
    quantity_affected = StringField(_l("Quantity affected"))
    severity = SelectField(_l("Severity"), choices=options(SEVERITY_LABELS), default=Severity.MAJOR.value)
    description = TextAreaField(_l("Details"))
    parameters = SelectMultipleField(_l("Safety parameters concerned"), choices=[], validate_choice=False)
    photos = MultipleFileField(_l("Photos (JPEG, PNG or HEIC)"), render_kw={"accept": PHOTO_ACCEPT})
    #: A new key per form shown, sent back with it: the same form sent twice (a double tap, a resend from the
    #: phone's outbox) files one NC. The outbox gives each entry it keeps a key of its own.
    idempotency_key = HiddenField(default=new_filing_key)


class EditForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title"), validators=[InputRequired()])
    description = TextAreaField(_l("Details"))
    severity = SelectField(_l("Severity"), choices=options(SEVERITY_LABELS))
    quantity_affected = StringField(_l("Quantity affected"))
    parameters = SelectMultipleField(_l("Safety parameters concerned"), choices=[], validate_choice=False)
    # Shown to quality managers, who may correct the parameters at any open state (with a reason once a root
    # cause was submitted).
    reason = TextAreaField(_l("Reason for changing the safety parameters"))


class ContainForm(FlaskForm):
    version = HiddenField()
    description = TextAreaField(_l("Containment"), validators=[InputRequired()])
    #: Entries separated by commas, each a number and optionally its quantity: ``B-2026-001 1200`` (or with a
    #: multiplication sign between them).
    hold = StringField(_l("Put on hold: batch or lot numbers, separated by commas"))


#: One entry of the hold field: a number, then optionally its quantity after a multiplication sign (U+00D7), "*",
#: " x " or a space.
HOLD_ENTRY = re.compile(r"(?P<number>\S+?)(?:\s*[\u00d7*]\s*|\s+[xX]\s+|\s+)(?P<quantity>\d\S*)")


def hold_entries(typed: str | None) -> tuple[list[str], dict[str, str]]:
    """The numbers a containment form's hold field names, and the quantities given with some of them
    (``"B-1 x 1200, SN-5"`` gives ``["B-1", "SN-5"], {"B-1": "1200"}``); the command checks each."""
    numbers: list[str] = []
    quantities: dict[str, str] = {}
    for entry in (part.strip() for part in (typed or "").replace(";", ",").split(",")):
        if not entry:
            continue
        match = HOLD_ENTRY.fullmatch(entry)
        if match is None:
            numbers.append(entry)
            continue
        numbers.append(match["number"])
        quantities[match["number"]] = match["quantity"]
    return numbers, quantities


def quantities_beside_hold(error: DomainError) -> DomainError:
    """``error`` with each problem of a quantity (``quantities.<number>``) said beside the hold field, which is
    where the form takes quantities."""
    moved = {name: message for name, message in error.fields.items() if name.startswith("quantities.")}
    if not moved:
        return error
    fields = {name: message for name, message in error.fields.items() if name not in moved}
    said = [f"{name.removeprefix('quantities.')}: {message}" for name, message in moved.items()]
    fields["hold"] = " ".join([*([fields["hold"]] if "hold" in fields else []), *said])
    return type(error)(error.message, fields=fields, **error.extra)


class ReleaseForm(FlaskForm):
    version = HiddenField()
    reason = StringField(_l("Reason for the release"), validators=[InputRequired()])
    password = password_field()


class RootCauseForm(FlaskForm):
    version = HiddenField()
    why1 = StringField(_l("Why? (1)"))
    why2 = StringField(_l("Why? (2)"))
    why3 = StringField(_l("Why? (3)"))
    why4 = StringField(_l("Why? (4)"))
    why5 = StringField(_l("Why? (5)"))
    man = TextAreaField(FISHBONE_LABELS[FishboneCategory.MAN])
    machine = TextAreaField(FISHBONE_LABELS[FishboneCategory.MACHINE])
    method = TextAreaField(FISHBONE_LABELS[FishboneCategory.METHOD])
    material = TextAreaField(FISHBONE_LABELS[FishboneCategory.MATERIAL])
    measurement = TextAreaField(FISHBONE_LABELS[FishboneCategory.MEASUREMENT])
    environment = TextAreaField(FISHBONE_LABELS[FishboneCategory.ENVIRONMENT])
    category = SelectField(_l("Root-cause category"), choices=options(FISHBONE_LABELS))
    statement = TextAreaField(_l("Root cause"), validators=[InputRequired()])


class ReviewForm(FlaskForm):
    version = HiddenField()
    # No default: the reviewer decides, and a review sent without a decision is refused beside it.
    decision = RadioField(
        _l("Decision"),
        choices=options({"approve": _l("Approve"), "return": _l("Return with a question")}),
        validators=[InputRequired(message=_l("Choose: approve, or return with a question."))],
    )
    comment = TextAreaField(_l("Comment (required to return)"))
    password = password_field()


class ActionForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("Kind"), choices=options(ACTION_KIND_LABELS))
    description = TextAreaField(_l("What will be done"), validators=[InputRequired()])
    owner = SelectField(_l("Owner"), choices=[], validate_choice=False)
    due_date = DateField(_l("Due"), validators=[Optional()])


class CompleteActionForm(FlaskForm):
    """Completing an action: its evidence in words and files, and what its kind requires (shown for that kind).
    Files kept from a refused round come back as ``kept_file`` tokens (capa.capas.evidence.keep_after_refusal)."""

    version = HiddenField()
    # Checked by the service, beside what the action's kind requires, so that all problems show at once.
    evidence = StringField(_l("Evidence"))
    document = StringField(_l("Document revised"))
    revision = StringField(_l("New revision"))
    trained = TextAreaField(_l("Who was trained"))
    files = MultipleFileField(_l("Evidence files (PDF, XLSX or photos)"), render_kw={"accept": EVIDENCE_ACCEPT})


class TestForm(FlaskForm):
    version = HiddenField()
    parameter = SelectField(_l("Parameter"), choices=[], validate_choice=False)
    value = StringField(_l("Result"), validators=[InputRequired()])
    lab = StringField(_l("Laboratory"))
    report_number = StringField(_l("Report number"))
    tested_at = DateField(_l("Test date"), validators=[Optional()])
    # Shown only when the NC names no style; the service checks it is A, B or C.
    category = SelectField(
        _l("Category to judge against (only when the NC names no style)"),
        choices=options({"A": "A", "B": "B", "C": "C"}, blank=True),
        validate_choice=False,
    )


class CloseForm(FlaskForm):
    version = HiddenField()
    effectiveness = TextAreaField(_l("Effectiveness check (D8)"), validators=[InputRequired()])
    # Empty: the defect type's days after closing (capa.capas.effectiveness); the service checks it is in the future.
    review_on = DateField(_l("Effectiveness review on"), validators=[Optional()])
    files = MultipleFileField(_l("Closing evidence files (PDF, XLSX or photos)"), render_kw={"accept": EVIDENCE_ACCEPT})
    password = password_field()


class CancelForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("Why this is not a real non-conformance"), validators=[InputRequired()])


class PhotoForm(FlaskForm):
    photos = MultipleFileField(_l("Photos (JPEG, PNG or HEIC)"), render_kw={"accept": PHOTO_ACCEPT})


class RaiseNCForm(FlaskForm):
    """Raising an NC from a failing result on the batch page: a button, the hold chosen, a defect type if needed."""

    hold = StringField()
    defect_type = StringField()


class DefectTypeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    name_zh = StringField(_l("Name in Chinese"))
    active = SelectField(_l("In use"), choices=options({"yes": _l("yes"), "no": _l("no")}))
    parameters = SelectMultipleField(_l("Safety parameters it usually concerns"), choices=[], validate_choice=False)
    # Checked by the service (1 to 730), beside every other field.
    effectiveness_days = StringField(_l("Days from closing to the effectiveness review"), default="90")
