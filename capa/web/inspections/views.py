"""Inspection pages: the sampling plan of a lot (a lot's size, level and severity in, the plan of each defect class
out, read by the same service as ``GET /api/v1/sampling-plan``) and the defect library."""

from dataclasses import dataclass

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.capas import lookup
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.display import local_name
from capa.common.errors import ValidationError
from capa.inspections import defects, service
from capa.inspections.commands import DefectCodeChanges, DefectCodeFilters, NewDefectCode, SamplingPlanQuery
from capa.inspections.sampling import Level, SamplingPlan, Severity
from capa.safety import service as safety
from capa.web.forms import command_from, handle_form, options, show_errors
from capa.web.inspections.forms import (
    AREA_LABELS,
    CLASS_LABELS,
    SEVERITY_LABELS,
    DefectCodeForm,
    SamplingPlanForm,
)

bp = Blueprint("inspections", __name__)

#: The AQL of each class a plan is shown for, by default (a buyer's or style's own come with inspections).
DEFAULT_AQLS = {"major": "2.5", "minor": "4.0"}


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


# The defect library -----------------------------------------------------------------------------------------------


@bp.app_context_processor
def defect_labels():
    return {"class_labels": CLASS_LABELS, "area_labels": AREA_LABELS}


@bp.route("/defect-codes")
@requires(Permission.VIEW)
def defect_codes():
    try:
        filters, errors = parse(DefectCodeFilters, {k: v for k, v in request.args.items() if v}), {}
    except ValidationError as exc:
        filters, errors = DefectCodeFilters(), exc.fields
    return render_template(
        "inspections/defect_codes.html",
        defect_codes=defects.list_defect_codes(filters),
        filters=filters,
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/defect-codes/new", methods=["GET", "POST"])
@bp.route("/defect-codes/<code>", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def defect_code(code: str | None = None):
    existing = defects.get_defect_code(code) if code else None
    form = DefectCodeForm(obj=existing)
    form.defect_type.choices = options({t.code: local_name(t) for t in lookup.list_defect_types()}, blank=True)
    form.parameters.choices = options({p.code: f"{p.code} · {local_name(p)}" for p in safety.list_parameters()})
    if existing is not None and not form.is_submitted():
        form.defect_type.data = existing.defect_type.code if existing.defect_type else ""
        form.parameters.data = [p.code for p in existing.parameters]
        form.active.data = "yes" if existing.active else "no"
    return handle_form(
        form,
        lambda: defects.save_defect_code(
            existing,
            command_from(
                form,
                NewDefectCode if existing is None else DefectCodeChanges,
                exclude=("code",) if existing is not None else (),
                active=form.active.data == "yes",
                parameters=form.parameters.data or [],
                defect_type=form.defect_type.data or None,
            ),
            current_user,
        ),
        success=lambda _code: url_for(".defect_codes"),
        message=lambda saved: _("Defect code %(code)s saved.", code=saved.code),
        template="inspections/defect_code_form.html",
        record=existing,
        changes=records.history_of("defect_code", existing.id) if existing is not None else [],
        tampered=records.tampering("defect_code", existing.id) if existing is not None else None,
    )
