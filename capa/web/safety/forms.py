from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from capa.safety.judging import Comparator, Outcome
from capa.web.forms import options

COMPARATOR_LABELS = {
    Comparator.MAX: _l("at most (≤)"),
    Comparator.LT: _l("below (<)"),
    Comparator.MIN: _l("at least (≥)"),
    Comparator.RANGE: _l("within a range (low..high)"),
    Comparator.GRADE_MIN: _l("grade at least"),
    Comparator.ABSENT: _l("must be absent"),
    Comparator.PASS_FAIL: _l("lab verdict pass/fail"),
}
OUTCOME_LABELS = {
    Outcome.PASS: _l("pass"),
    Outcome.FAIL: _l("fail"),
    Outcome.NOT_APPLICABLE: _l("not applicable"),
}
KIND_LABELS = {
    "chemical": _l("Chemical"),
    "physical": _l("Physical"),
    "colorfastness": _l("Colorfastness"),
    "labelling": _l("Labelling"),
}
CATEGORY_FILTER = {"A": "A", "B": "B", "C": "C"}


class LimitForm(FlaskForm):
    comparator = SelectField(_l("Comparator"), choices=options(COMPARATOR_LABELS))
    limit = StringField(_l("Limit"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason for the change (kept in the history)"), validators=[InputRequired()])


class ParameterForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    name_zh = StringField(_l("Name in Chinese"))
    kind = SelectField(_l("Kind"), choices=options(KIND_LABELS))
    unit = StringField(_l("Unit (mg/kg, pH, grade, N, mm, -)"), validators=[InputRequired()])
    standard = StringField(_l("Standard"), validators=[InputRequired()])
    clause = StringField(_l("Clause"))
    test_method = StringField(_l("Test method"))
    comparator = SelectField(_l("Comparator"), choices=options(COMPARATOR_LABELS))
    limit_a = StringField(_l("Limit for category A"))
    limit_b = StringField(_l("Limit for category B"))
    limit_c = StringField(_l("Limit for category C"))
    limit_all = StringField(_l("Limit for all categories (instead of A/B/C)"))
    reason = TextAreaField(_l("Reason (kept in the history)"), validators=[InputRequired()])


class ResultForm(FlaskForm):
    parameter = SelectField(_l("Safety parameter"), choices=[], validate_choice=False)
    value = StringField(_l("Result"), validators=[InputRequired()])
    lot = SelectField(_l("Lot (optional)"), choices=[], validate_choice=False)
    lab = StringField(_l("Laboratory"), validators=[InputRequired()])
    report_number = StringField(_l("Report number"), validators=[InputRequired()])
    tested_at = DateField(_l("Test date"), validators=[Optional()])


class PlanChangeForm(FlaskForm):
    parameter = SelectField(_l("Safety parameter"), choices=[], validate_choice=False)
    included = BooleanField(_l("Required for this style (untick to drop it)"), default=True)
    reason = TextAreaField(_l("Reason (kept in the history)"), validators=[InputRequired()])
