"""The forms of the inspection pages, and the labels of the inspection vocabulary."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from capa.capas.filing import new_filing_key
from capa.inspections.fourpoint import LengthUnit, RollFault, WidthUnit
from capa.inspections.measurements import MeasureUnit
from capa.inspections.models import CheckStage, DefectArea, DefectClass, PackingCheck
from capa.inspections.sampling import AQL_SERIES, Level, Severity
from capa.masterdata.models import DYED_FABRIC
from capa.web.capas.forms import PHOTO_ACCEPT
from capa.web.forms import options
from capa.web.masterdata.forms import LOT_KIND_LABELS

SEVERITY_LABELS = {
    Severity.NORMAL: _l("Normal inspection"),
    Severity.TIGHTENED: _l("Tightened inspection"),
    Severity.REDUCED: _l("Reduced inspection"),
}
CLASS_LABELS = {
    DefectClass.CRITICAL: _l("Critical"),
    DefectClass.MAJOR: _l("Major"),
    DefectClass.MINOR: _l("Minor"),
}
PACKING_LABELS = {
    PackingCheck.CARTON_MARKS: _l("Carton marks and labels"),
    PackingCheck.ASSORTMENT: _l("Assortment of sizes and colours"),
    PackingCheck.QUANTITY: _l("Quantity per carton"),
    PackingCheck.CARTON_CONDITION: _l("Carton condition"),
    PackingCheck.POLYBAGS: _l("Polybags, warnings and folding"),
}
STAGE_LABELS = {
    CheckStage.INLINE: _l("Inline"),
    CheckStage.END_OF_LINE: _l("End of line"),
}
AREA_LABELS = {
    DefectArea.FABRIC: _l("Fabric"),
    DefectArea.SEWING: _l("Sewing"),
    DefectArea.TRIMS: _l("Trims"),
    DefectArea.MEASUREMENT: _l("Measurements"),
    DefectArea.PACKING: _l("Packing"),
    DefectArea.LABELLING: _l("Labelling"),
    DefectArea.SAFETY: _l("Safety"),
}


class SamplingPlanForm(FlaskForm):
    """Read from the query string: the page is a calculator, nothing is stored."""

    class Meta:
        csrf = False

    lot_size = StringField(_l("Lot size (units)"))
    level = SelectField(_l("Inspection level"), choices=options({level.value: level.value for level in Level}))
    severity = SelectField(_l("Inspection"), choices=options(SEVERITY_LABELS))
    major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}))


class DefectCodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    name_zh = StringField(_l("Name in Chinese"))
    defect_class = SelectField(_l("Class"), choices=options(CLASS_LABELS), validate_choice=False)
    area = SelectField(_l("Area"), choices=options(AREA_LABELS), validate_choice=False)
    defect_type = SelectField(_l("Defect type of the NC it raises"), choices=[], validate_choice=False)
    parameters = SelectMultipleField(_l("Safety parameters it concerns"), choices=[], validate_choice=False)
    active = SelectField(_l("In use"), choices=options({"yes": _l("yes"), "no": _l("no")}))


VERDICT_LABELS = {"accepted": _l("Accepted"), "rejected": _l("Rejected")}
#: The kinds of lot inspected by attributes on receipt (fabric goes by the 4-point system).
INCOMING_KIND_LABELS = {kind: label for kind, label in LOT_KIND_LABELS.items() if kind not in DYED_FABRIC}


class FinalInspectionForm(FlaskForm):
    """A final inspection's lot and plan; the counts per defect code are fields of their own (``count-<code>``),
    one per code of the library in use."""

    batch = StringField(_l("Batch"), validators=[InputRequired()])
    lot_size = StringField(_l("Lot size (units)"), validators=[InputRequired()])
    level = SelectField(_l("Inspection level"), choices=options({level.value: level.value for level in Level}))
    #: Blank: as the switching rules put the batch's line (the usual way).
    severity = SelectField(
        _l("Inspection"), choices=[SelectChoice("", _l("As the switching rules say")), *options(SEVERITY_LABELS)]
    )
    aql_major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}), default="2.5")
    aql_minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}), default="4.0")
    defect_type = SelectField(_l("Defect type of the NC, if the lot is rejected"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"))
    reinspection_of = HiddenField()
    #: The carton and packing checks: empty when none were made.
    cartons_offered = StringField(_l("Cartons in the lot"))
    cartons_opened = StringField(_l("Cartons opened"))
    packing_failed = SelectMultipleField(
        _l("Packing checks that failed"),
        choices=options(PACKING_LABELS),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    photos = MultipleFileField(_l("Photos (JPEG, PNG or HEIC)"), render_kw={"accept": PHOTO_ACCEPT})


class InspectionPhotoForm(FlaskForm):
    """Photos added to an inspection recorded already."""

    photos = MultipleFileField(_l("Photos (JPEG, PNG or HEIC)"), render_kw={"accept": PHOTO_ACCEPT})


MEASURE_UNIT_LABELS = {MeasureUnit.CENTIMETRES: _l("centimetres"), MeasureUnit.INCHES: _l("inches")}


class MeasurementSpecForm(FlaskForm):
    """A style's measurement spec pasted from its tech pack; every field is checked by the command and the grid's
    reading, so that a person sees every problem in one round."""

    unit = SelectField(_l("Unit"), choices=options(MEASURE_UNIT_LABELS))
    grid = TextAreaField(
        _l("Spec (paste from the tech pack)"),
        description=_l(
            "A header row Point, Description, Tol -, Tol + and the sizes, then a row per point of measure; "
            "cells separated by tabs (as a spreadsheet pastes them) or commas. Fractions such as 1/2 or 30 1/4 "
            "are read exactly."
        ),
    )
    reason = StringField(_l("Why (the tech pack's revision, say)"))


class StyleAqlsForm(FlaskForm):
    """A style's own AQLs, with the reason."""

    aql_major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    aql_minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    reason = StringField(_l("Why (the buyer's requirement, say)"), validators=[InputRequired()])


class BuyerAqlsForm(StyleAqlsForm):
    """A buyer's AQLs, with the reason."""

    reason = StringField(_l("Why (the buyer's quality manual, say)"), validators=[InputRequired()])


class DropStyleAqlsForm(FlaskForm):
    """A style's own AQLs taken away, with the reason (prefixed: the AQL form beside it has its own)."""

    reason = StringField(_l("Why the style gives up its own AQLs"), validators=[InputRequired()])


class ResumeInspectionForm(FlaskForm):
    """A discontinued series of a line's final inspections resumed: what was corrected."""

    buyer = HiddenField()
    reason = TextAreaField(_l("What was corrected"), validators=[InputRequired()])


# Incoming fabric by the 4-point system -----------------------------------------------------------------------------

LENGTH_UNIT_LABELS = {LengthUnit.YARDS: _l("yards"), LengthUnit.METRES: _l("metres")}
WIDTH_UNIT_LABELS = {WidthUnit.INCHES: _l("inches"), WidthUnit.CENTIMETRES: _l("centimetres")}
FAULT_LABELS = {
    RollFault.POINTS: _l("Over the points"),
    RollFault.WIDTH: _l("Under width"),
    RollFault.SHADE: _l("Off shade"),
}
ACCEPTANCE_SOURCE_LABELS = {
    "style": _l("the style's"),
    "supplier": _l("the supplier's"),
    "default": _l("the default"),
}


class FabricRollForm(Form):
    """A roll's row of the inspection sheet; its defects one a line (see :func:`marks_from_text`)."""

    number = StringField(_l("Roll"))
    length = StringField(_l("Length inspected"))
    width = StringField(_l("Cuttable width"))
    off_shade = BooleanField(_l("Off shade"))
    defects = TextAreaField(_l("Defects"))


class FabricInspectionForm(FlaskForm):
    lot = StringField(_l("Fabric lot"), validators=[InputRequired()])
    supplier = StringField(_l("Supplier (for a lot not yet recorded)"))
    style = StringField(_l("Style the fabric is for"))
    length_unit = SelectField(_l("Lengths in"), choices=options(LENGTH_UNIT_LABELS))
    width_unit = SelectField(_l("Widths and sizes in"), choices=options(WIDTH_UNIT_LABELS))
    required_width = StringField(_l("Cuttable width ordered"))
    rolls = FieldList(FormField(FabricRollForm), min_entries=6)
    note = TextAreaField(_l("Note"))


class RaiseFabricNCForm(FlaskForm):
    line = SelectField(_l("Line the NC is filed on"), choices=[], validate_choice=False)
    defect_type = SelectField(_l("Defect type"), choices=[], validate_choice=False)


class LineCheckForm(FlaskForm):
    """An inline or end-of-line check; the counts per code are the tally's (capa.web.inspections.tally). Every
    field is checked by the command, so that a person sees every problem in one round."""

    line = SelectField(_l("Line"), choices=[], validate_choice=False)
    stage = SelectField(_l("Where"), choices=options(STAGE_LABELS))
    units_checked = StringField(_l("Units checked"))
    defective_units = StringField(_l("Defective units"))
    bundle = StringField(_l("Bundle ticket"))
    operation = StringField(_l("Operation or operator checked"))
    #: When the check was made, when it was not just now (plant time).
    checked_at = StringField(_l("Checked at"))
    #: When the form was saved on the phone, with the phone's UTC offset (tally.js): the check's time unless
    #: ``checked_at`` is given, so that a check the outbox kept while the network was gone counts in its shift.
    saved_at = HiddenField()
    note = TextAreaField(_l("Note"))
    idempotency_key = HiddenField(default=new_filing_key)


class RaiseShiftNCForm(FlaskForm):
    stage = HiddenField()
    day = HiddenField()
    shift = HiddenField()
    defect_type = SelectField(_l("Defect type"), choices=[], validate_choice=False)


class AlertLevelForm(FlaskForm):
    alert_level = StringField(_l("DHU alert level"))
    reason = StringField(_l("Why (a buyer's target, a new style)"))


YES_NO = options({"yes": _l("Yes"), "no": _l("No")})


class NeedleBreakForm(FlaskForm):
    """Every field is checked by the command; "every fragment found" has no default, as either answer matters."""

    line = SelectField(_l("Line"), choices=[], validate_choice=False)
    operator = StringField(_l("Operator (name or number)"))
    machine = StringField(_l("Machine"))
    all_fragments_found = RadioField(_l("Was every fragment found?"), choices=YES_NO, validate_choice=False)
    bundle = StringField(_l("Bundle ticket"))
    batch = StringField(_l("Batch number"))
    broken_at = StringField(_l("Broken at"))
    note = TextAreaField(_l("Note"))


class DetectorCheckForm(FlaskForm):
    detector = SelectField(_l("Metal detector"), choices=[], validate_choice=False)
    test_piece = StringField(_l("Test piece"))
    detected = RadioField(_l("Did the test piece set it off?"), choices=YES_NO, validate_choice=False)
    checked_at = StringField(_l("Checked at"))
    note = TextAreaField(_l("Note"))


class BundlePassForm(FlaskForm):
    """ "Did it pass clean?" has no default, as either answer matters."""

    detector = SelectField(_l("Metal detector"), choices=[], validate_choice=False)
    clean = RadioField(_l("Did the bundle pass without setting it off?"), choices=YES_NO, validate_choice=False)
    checked_at = StringField(_l("Passed at"))
    note = TextAreaField(_l("Note"))


class MetalDetectionForm(FlaskForm):
    detector = SelectField(_l("Metal detector"), choices=[], validate_choice=False)
    line = SelectField(_l("Line that made them"), choices=[], validate_choice=False)
    batch = StringField(_l("Batch number"))
    bundle = StringField(_l("Bundle ticket"))
    garments = StringField(_l("Garments that set it off"), default="1")
    detected_at = StringField(_l("Detected at"))
    note = TextAreaField(_l("Note"))


class FabricAcceptanceForm(FlaskForm):
    """Both fields are checked by the command, so that a person sees every problem in one round."""

    points = StringField(_l("Acceptance points per 100 square yards"))
    reason = StringField(_l("Why (an agreement or a buyer's requirement)"))


#: A flag that marks a defect as a hole, as an inspector may write it.
HOLE_WORDS = {"h", "hole", "洞", "破洞"}


def marks_from_text(text: str) -> list[dict]:
    """The defects of a roll as written on the sheet, one a line: where it is along the roll, its size, and
    optionally ``h`` for a hole and a defect code: ``12.5 4``, ``30 0.5 h``, ``44 2 FAB-02``; a running defect is
    written from-to with no size: ``60-62.5``. The numbers are checked by the service, which names the line."""
    marks = []
    for line in text.splitlines():
        words = line.replace(",", " ").replace("，", " ").split()
        if not words:
            continue
        mark: dict = {}
        place = words.pop(0)
        if "-" in place.strip("-"):
            mark["at"], mark["through"] = place.split("-", 1)
        else:
            mark["at"] = place
        for word in words:
            if word.lower() in HOLE_WORDS:
                mark["hole"] = True
            elif "size" not in mark and "through" not in mark and word[:1].isdigit():
                mark["size"] = word
            else:
                mark["code"] = word
        marks.append(mark)
    return marks


class IncomingInspectionForm(FlaskForm):
    """An incoming inspection by attributes of a trim, label, thread or packaging lot. Every field is checked by the
    command, so that a person sees every problem in one round."""

    lot = StringField(_l("Lot"), validators=[InputRequired()])
    supplier = StringField(_l("Supplier (for a lot not yet recorded)"))
    kind = SelectField(
        _l("Kind (for a lot not yet recorded)"),
        choices=[SelectChoice("", ""), *options(INCOMING_KIND_LABELS)],
        # Judged by the service, which names a fabric lot sent here beside the field.
        validate_choice=False,
    )
    lot_size = StringField(_l("Lot size (pieces)"), validators=[InputRequired()])
    level = SelectField(
        _l("Inspection level"), choices=options({level.value: level.value for level in Level}), default="II"
    )
    aql_major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}), default="2.5")
    aql_minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}), default="4.0")
    # Up to AQL 10 a class counts nonconforming units (a unit with two major defects is one), as the plan does.
    critical_found = StringField(_l("Units with a critical defect"), default="0")
    major_found = StringField(_l("Units with a major defect"), default="0")
    minor_found = StringField(_l("Units with a minor defect"), default="0")
    note = TextAreaField(_l("What was found"))
