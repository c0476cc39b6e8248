"""The sampling plan page: a lot's size, level and severity in, the plan of each defect class out, read by the
same service as ``GET /api/v1/sampling-plan``."""

from dataclasses import dataclass

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from capa.accounts.permissions import Permission, requires
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import ValidationError
from capa.inspections import service
from capa.inspections.commands import SamplingPlanQuery
from capa.inspections.sampling import AQL_SERIES, Level, SamplingPlan, Severity
from capa.web.forms import options, show_errors

bp = Blueprint("inspections", __name__)

SEVERITY_LABELS = {
    Severity.NORMAL: _l("Normal inspection"),
    Severity.TIGHTENED: _l("Tightened inspection"),
    Severity.REDUCED: _l("Reduced inspection"),
}
#: The AQL of each class a plan is shown for, by default (a buyer's or style's own come with inspections).
DEFAULT_AQLS = {"major": "2.5", "minor": "4.0"}


class SamplingPlanForm(FlaskForm):
    """Read from the query string: the page is a calculator, nothing is stored."""

    class Meta:
        csrf = False

    lot_size = StringField(_l("Lot size (units)"))
    level = SelectField(_l("Inspection level"), choices=options({level.value: level.value for level in Level}))
    severity = SelectField(_l("Inspection"), choices=options(SEVERITY_LABELS))
    major = SelectField(_l("AQL, major defects"), choices=options({aql: aql for aql in AQL_SERIES}))
    minor = SelectField(_l("AQL, minor defects"), choices=options({aql: aql for aql in AQL_SERIES}))


@dataclass(frozen=True)
class ClassPlan:
    """A defect class's row of the page: its AQL and the plan it leads to."""

    label: str
    plan: SamplingPlan


@bp.route("/sampling-plan")
@requires(Permission.VIEW)
def sampling_plan():
    form = SamplingPlanForm(
        request.args,
        data={"level": Level.II.value, "severity": Severity.NORMAL.value, **DEFAULT_AQLS},
    )
    plans: list[ClassPlan] = []
    if request.args.get("lot_size"):
        problems: dict[str, str] = {}
        for name, label in (("major", _l("Major")), ("minor", _l("Minor"))):
            values = {"lot_size": form.lot_size.data, "aql": form[name].data}
            values |= {"level": form.level.data, "severity": form.severity.data}
            try:
                plans.append(ClassPlan(str(label), service.plan_for(parse(SamplingPlanQuery, values))))
            except ValidationError as error:
                problems |= error.renamed({"aql": name}).fields
        if problems:
            show_errors(form, ValidationError(str(PLEASE_CORRECT), fields=problems))
            plans = []
    return render_template("inspections/sampling_plan.html", form=form, plans=plans, severity_labels=SEVERITY_LABELS), (
        400 if form.errors else 200
    )
