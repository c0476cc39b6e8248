"""Pages of the safety catalog, lab results and quality plans: each view parses, calls a service, renders."""

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.capas import queries
from capa.capas.states import OPEN
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.masterdata import service as masterdata
from capa.safety import applicability, history, rejudging, service
from capa.safety.commands import AdjustPlan, ChangeLimit, NewParameter, NewResult, ParameterFilters
from capa.safety.judging import InvalidLimit, UnreadableValue, describe_limit, judge
from capa.safety.models import LIMIT_CATEGORIES
from capa.web.forms import command_from, handle_form, options, record_options
from capa.web.safety.forms import (
    CATEGORY_FILTER,
    COMPARATOR_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    LimitForm,
    ParameterForm,
    PlanChangeForm,
    ResultForm,
)

bp = Blueprint("safety", __name__)


@bp.app_template_filter("limit_text")
def limit_text(limit, unit: str) -> str:
    """A limit as people read it (≤ 20 mg/kg, 4.0–7.5 pH, ≥ 3-4)."""
    try:
        return describe_limit(limit.comparator, limit.limit, unit)
    except ValueError:
        return limit.limit


@bp.app_template_filter("explained")
def explained(result) -> str:
    """A recorded result's explanation in the reader's language. The record keeps what it was judged on
    (value, comparator, limit, unit, category), so judging it again gives the same verdict in the words of
    this page; a record that cannot be judged again keeps the words it was recorded with."""
    if not result.comparator or result.limit is None:
        return result.explanation
    try:
        return judge(
            result.comparator,
            result.limit,
            result.unit,
            result.value,
            category=result.category,
            reporting_limit=result.reporting_limit,
        ).explanation
    except (InvalidLimit, UnreadableValue, ValueError):
        return result.explanation


@bp.app_template_filter("condition_text")
def condition_text(condition: str) -> str:
    """When a parameter applies (or a limit holds), in the reader's language."""
    try:
        return applicability.describe(condition)
    except applicability.InvalidCondition:
        return condition


@bp.app_context_processor
def labels():
    return {"comparator_labels": COMPARATOR_LABELS, "kind_labels": KIND_LABELS, "verdict_labels": OUTCOME_LABELS}


@bp.route("/parameters")
@requires(Permission.VIEW)
def catalog():
    try:
        filters, errors = parse(ParameterFilters, {k: v for k, v in request.args.items() if v}), {}
    except ValidationError as exc:
        filters, errors = ParameterFilters(), exc.fields
    return render_template(
        "safety/catalog.html",
        parameters=service.list_parameters(kind=filters.kind, category=filters.category, standard=filters.standard),
        filters=filters,
        errors=errors,
        standards=service.standards(),
        categories=CATEGORY_FILTER,
    ), 400 if errors else 200


@bp.route("/parameters/<code>")
@requires(Permission.VIEW)
def parameter(code: str):
    parameter = service.get_parameter(code)
    linked = queries.ncs_for_parameter(parameter)
    return render_template(
        "safety/parameter.html",
        parameter=parameter,
        closed_capas=sorted((nc for nc in linked if nc.closed_at), key=lambda nc: nc.closed_at, reverse=True),
        open_ncs=[nc for nc in linked if nc.status in OPEN],
        changes=history.parameter_history(parameter),
        tampered=history.parameter_tampering(parameter),
    )


@bp.route(f"/parameters/<code>/limits/<any({', '.join(LIMIT_CATEGORIES)}):category>", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def edit_limit(code: str, category: str):
    parameter = service.get_parameter(code)
    # ?condition=dark_shade: the limit that holds under that condition instead of the category's plain one.
    condition = request.args.get("condition", "")
    limit = next((row for row in parameter.limits if (row.category, row.condition) == (category, condition)), None)
    form = LimitForm(
        obj=limit,
        data=None if limit else {"comparator": parameter.limits[0].comparator} if parameter.limits else None,
    )
    if limit is not None and not form.is_submitted():
        form.reason.data = ""
    return handle_form(
        form,
        lambda: rejudging.change_limit(
            parameter, category, command_from(form, ChangeLimit, condition=condition or None), current_user
        ),
        success=lambda _limit: url_for(".parameter", code=parameter.code),
        message=lambda _limit: _("Limit of %(code)s for %(category)s saved.", code=parameter.code, category=category),
        template="safety/limit_form.html",
        parameter=parameter,
        category=category,
        condition=condition,
        limit=limit,
    )


LIMIT_FIELDS = (("A", "limit_a"), ("B", "limit_b"), ("C", "limit_c"), ("all", "limit_all"))


@bp.route("/parameters/new", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def new_parameter():
    form = ParameterForm()

    def save():
        filled = [(category, name) for category, name in LIMIT_FIELDS if (form[name].data or "").strip()]
        data = {
            "code": form.code.data,
            "name": form.name.data,
            "name_zh": form.name_zh.data,
            "kind": form.kind.data,
            "unit": form.unit.data,
            "standard": form.standard.data,
            "clause": form.clause.data,
            "test_method": form.test_method.data,
            "limits": [
                {"category": category, "comparator": form.comparator.data, "limit": form[name].data}
                for category, name in filled
            ],
            "reason": form.reason.data,
        }
        # The service names limits by position in the list; the form has one field per category.
        aliases = {"limits": "limit_all" if len(filled) > 1 else "limit_a"}
        for index, (_category, name) in enumerate(filled):
            aliases |= {
                f"limits[{index}].limit": name,
                f"limits[{index}].category": name,
                f"limits[{index}].comparator": "comparator",
            }
        try:
            return service.add_parameter(parse(NewParameter, data), current_user)
        except ValidationError as exc:
            raise exc.renamed(aliases) from None

    return handle_form(
        form,
        save,
        success=lambda parameter: url_for(".parameter", code=parameter.code),
        message=lambda parameter: _("Parameter %(code)s added.", code=parameter.code),
        template="safety/parameter_form.html",
    )


@bp.route("/batches/<number>/results/new", methods=["GET", "POST"])
@requires(Permission.RECORD_RESULTS)
def new_result(number: str):
    batch = masterdata.get_batch(number)
    form = ResultForm()
    required, _added, _dropped = service.plan_parameters(batch.style)
    required_codes = {parameter.code for parameter in required}
    form.parameter.choices = record_options(
        sorted(service.list_parameters(), key=lambda p: (p.code not in required_codes, p.code))
    )
    form.lot.choices = options({lot.number: f"{lot.number} · {lot.kind}" for lot in batch.lots}, blank=True)
    if not form.is_submitted() and request.args.get("parameter"):
        form.parameter.data = request.args["parameter"]

    def save():
        return service.record_result(batch, command_from(form, NewResult), current_user)

    return handle_form(
        form,
        save,
        success=lambda result: url_for("masterdata.batch", number=batch.number),
        message=lambda result: _(
            "Result recorded: %(verdict)s. %(why)s", verdict=result.verdict, why=result.explanation
        ),
        template="safety/result_form.html",
        batch=batch,
    )


@bp.route("/styles/<code>/plan", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def change_plan(code: str):
    style = masterdata.get_style(code)
    form = PlanChangeForm()
    form.parameter.choices = record_options(service.list_parameters())
    return handle_form(
        form,
        lambda: service.adjust_plan(style, command_from(form, AdjustPlan), current_user),
        success=lambda change: url_for("masterdata.style", code=style.code),
        message=lambda change: _("Quality plan of %(code)s changed.", code=style.code),
        template="safety/plan_form.html",
        style=style,
    )
