"""The forms of the inspection pages, and the labels of the inspection vocabulary."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from capa.inspections.models import DefectArea, DefectClass
from capa.inspections.sampling import AQL_SERIES, Level, Severity
from capa.web.forms import options

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


class StyleAqlsForm(FlaskForm):
    """A style's own AQLs, with the reason."""

    aql_major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    aql_minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    reason = StringField(_l("Why (the buyer's requirement, say)"), validators=[InputRequired()])
