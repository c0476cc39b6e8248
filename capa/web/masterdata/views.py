"""Pages for master data. Each view parses its form, calls one service function and renders."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.capas import queries, raising
from capa.changes import service as change_control
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.display import local_name
from capa.common.errors import DomainError
from capa.inspections import aqls, fabric, final, incoming, line_checks, specs
from capa.inspections.commands import FabricInspectionFilters, IncomingInspectionFilters
from capa.masterdata import service
from capa.masterdata.commands import (
    AddLots,
    BuyerChanges,
    LineChanges,
    NewBatch,
    NewBuyer,
    NewLine,
    NewStyle,
    NewSupplier,
    StyleChanges,
    SupplierChanges,
)
from capa.masterdata.models import Style
from capa.safety import history, rejudging
from capa.safety import service as safety
from capa.suppliers import decisions
from capa.suppliers import settings as scorecard_settings
from capa.suppliers.commands import ApprovalDecision
from capa.suppliers.scorecard import scorecard
from capa.web.forms import command_from, handle_form, options, record_options, show_errors
from capa.web.inspections.forms import (
    AlertLevelForm,
    BuyerAqlsForm,
    DropStyleAqlsForm,
    FabricAcceptanceForm,
    MeasurementSpecForm,
    ResumeInspectionForm,
    StyleAqlsForm,
)
from capa.web.masterdata.forms import (
    AGE_GROUP_LABELS,
    APPROVAL_LABELS,
    CATEGORY_LABELS,
    CORD_PLACE_LABELS,
    FILL_LABELS,
    LOT_KIND_LABELS,
    MARKET_LABELS,
    TRIM_SIZE_LABELS,
    AddLotsForm,
    ApprovalDecisionForm,
    BatchForm,
    BuyerForm,
    LineForm,
    StyleEditForm,
    StyleForm,
    SupplierEditForm,
    SupplierForm,
)

bp = Blueprint("masterdata", __name__)


@bp.app_context_processor
def labels():
    return {
        "approval_labels": APPROVAL_LABELS,
        "category_labels": CATEGORY_LABELS,
        "lot_kind_labels": LOT_KIND_LABELS,
        "age_group_labels": AGE_GROUP_LABELS,
        "market_labels": MARKET_LABELS,
        "trim_size_labels": TRIM_SIZE_LABELS,
        "cord_place_labels": CORD_PLACE_LABELS,
        "fill_labels": FILL_LABELS,
    }


@bp.app_template_filter("attr_label")
def attr_label(value: str, labels: dict) -> str:
    """A stored vocabulary value (``hood_neck``) by its label in the reader's language."""
    return str(labels.get(value, value))


# Lines ---------------------------------------------------------------------------------------------------


@bp.route("/lines")
@requires(Permission.VIEW)
def lines():
    return render_template("masterdata/lines.html", lines=service.list_lines())


@bp.route("/lines/<code>")
@requires(Permission.VIEW)
def line(code: str):
    return line_page(service.get_line(code))


def line_page(line, alert_form=None, resume_form=None) -> str:
    """A line's page; ``alert_form``: its DHU alert level form as sent, when it was refused; ``resume_form``: the
    resumption of a discontinued series of its final inspections as sent, when it was refused."""
    own = line_checks.own_alert_level(line)
    if alert_form is None:
        alert_form = AlertLevelForm(formdata=None, data={"alert_level": own or ""})
    return render_template(
        "masterdata/line.html",
        line=line,
        changes=records.history_of("line", line.id),
        tampered=records.tampering("line", line.id),
        alert_level=own,
        plant_alert_level=line_checks.plant_alert_level(),
        alert_form=alert_form,
        switching_series=final.switching_series(line),
        resume_form=resume_form,
        resume_form_for=lambda buyer: ResumeInspectionForm(
            formdata=None, data={"buyer": buyer.code if buyer is not None else ""}
        ),
    )


@bp.route("/lines/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def line_new():
    form = LineForm()
    return handle_form(
        form,
        lambda: service.create_line(command_from(form, NewLine), current_user),
        success=lambda line: url_for(".lines"),
        message=lambda line: _("Line %(code)s added.", code=line.code),
        template="masterdata/record_form.html",
        title=_("New production line"),
    )


@bp.route("/lines/<code>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def line_edit(code: str):
    line = service.get_line(code)
    form = LineForm(obj=line)
    return handle_form(
        form,
        lambda: service.update_line(line, command_from(form, LineChanges, exclude={"code"}), current_user),
        success=lambda line: url_for(".lines"),
        message=lambda line: _("Line %(code)s saved.", code=line.code),
        template="masterdata/record_form.html",
        title=_("Production line %(code)s", code=line.code),
        record=line,
    )


# Suppliers -----------------------------------------------------------------------------------------------


@bp.route("/suppliers")
@requires(Permission.VIEW)
def suppliers():
    return render_template(
        "masterdata/suppliers.html",
        suppliers=service.list_suppliers(),
        due={supplier.id for supplier in service.due_for_reevaluation()},
        today=plant_today(),
    )


@bp.route("/suppliers/<code>")
@requires(Permission.VIEW)
def supplier(code: str):
    return supplier_page(service.get_supplier(code))


#: The decision form shares the supplier page with the acceptance points form: its fields' names are prefixed.
DECISION_PREFIX = "decision"


def _offer_scope_parameters(form: ApprovalDecisionForm, supplier) -> None:
    form.approved_parameters.choices = options(
        {p.code: f"{p.code} · {local_name(p)}" for p in decisions.scope_parameters(supplier)}
    )


def supplier_page(supplier, fabric_form=None, decision_form=None) -> str:
    """A supplier's page; ``fabric_form``, ``decision_form``: its acceptance points or approval decision form as
    sent, when it was refused."""
    points = fabric.supplier_limit(supplier)
    if fabric_form is None:
        fabric_form = FabricAcceptanceForm(formdata=None, data={"points": points or ""})
    card = scorecard(supplier, scorecard_settings.current())
    if decision_form is None:
        decision_form = ApprovalDecisionForm(
            formdata=None,
            prefix=DECISION_PREFIX,
            data={
                "approval": card.suggested_approval or supplier.approval,
                "approved_kinds": supplier.approved_kinds,
                "approved_parameters": supplier.approved_parameters,
                "reevaluate_on": supplier.reevaluate_on.isoformat() if supplier.reevaluate_on else "",
            },
        )
        _offer_scope_parameters(decision_form, supplier)
    return render_template(
        "masterdata/supplier.html",
        supplier=supplier,
        card=card,
        decisions=decisions.decisions_of(supplier),
        decision_form=decision_form,
        lots=service.lots_of(supplier),
        ncs=queries.ncs_for_supplier(supplier),
        changes=records.history_of("supplier", supplier.id),
        tampered=records.tampering("supplier", supplier.id),
        fabric_points=points,
        default_fabric_points=fabric.DEFAULT_ACCEPTANCE_POINTS,
        fabric_form=fabric_form,
        fabric_inspections=fabric.list_fabric_inspections(
            parse(FabricInspectionFilters, {"supplier": supplier.code}), limit=10
        ),
        incoming_inspections=incoming.list_incoming_inspections(
            parse(IncomingInspectionFilters, {"supplier": supplier.code}), limit=10
        ),
    )


@bp.post("/suppliers/<code>/decisions")
@requires(Permission.MAINTAIN_CATALOG)
def supplier_decision(code: str):
    """A quality manager's decision on a supplier's approval, from its scorecard on its page."""
    supplier = service.get_supplier(code)
    form = ApprovalDecisionForm(prefix=DECISION_PREFIX)
    _offer_scope_parameters(form, supplier)
    if form.validate_on_submit():
        try:
            command = command_from(form, ApprovalDecision)
            decisions.decide(scorecard(supplier, scorecard_settings.current()), command, current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The decision on %(code)s's approval is recorded.", code=supplier.code), "success")
            return redirect(url_for(".supplier", code=supplier.code) + "#scorecard")
    flash(_("Please correct the fields marked."), "error")
    return supplier_page(supplier, decision_form=form), 400


@bp.route("/suppliers/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def supplier_new():
    form = SupplierForm()
    return handle_form(
        form,
        lambda: service.create_supplier(command_from(form, NewSupplier), current_user),
        success=lambda supplier: url_for(".supplier", code=supplier.code),
        message=lambda supplier: _("Supplier %(code)s added.", code=supplier.code),
        template="masterdata/record_form.html",
        title=_("New supplier"),
    )


@bp.route("/suppliers/<code>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def supplier_edit(code: str):
    supplier = service.get_supplier(code)
    form = SupplierEditForm(obj=supplier)
    return handle_form(
        form,
        lambda: service.update_supplier(supplier, command_from(form, SupplierChanges, exclude={"code"}), current_user),
        success=lambda supplier: url_for(".supplier", code=supplier.code),
        message=lambda supplier: _("Supplier %(code)s saved.", code=supplier.code),
        template="masterdata/record_form.html",
        title=_("Supplier %(code)s", code=supplier.code),
        record=supplier,
    )


# Buyers ---------------------------------------------------------------------------------------------------


@bp.route("/buyers")
@requires(Permission.VIEW)
def buyers():
    return render_template("masterdata/buyers.html", buyers=service.list_buyers())


@bp.route("/buyers/<code>")
@requires(Permission.VIEW)
def buyer(code: str):
    return buyer_page(service.get_buyer(code))


def buyer_page(buyer, aqls_form=None) -> str:
    """A buyer's page; ``aqls_form``: its AQL form as sent, when it was refused."""
    settings = aqls.buyer_aqls(buyer)
    if aqls_form is None:
        aqls_form = BuyerAqlsForm(formdata=None, data={"aql_major": settings.major, "aql_minor": settings.minor})
    return render_template(
        "masterdata/buyer.html",
        buyer=buyer,
        styles=service.styles_of(buyer),
        aqls=settings,
        own_aqls=settings.source is aqls.AqlSource.BUYER,
        aqls_form=aqls_form,
        aql_changes=records.history_of("buyer_aqls", buyer.id),
        changes=records.history_of("buyer", buyer.id),
        tampered=records.tampering("buyer", buyer.id),
    )


@bp.route("/buyers/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def buyer_new():
    form = BuyerForm()
    return handle_form(
        form,
        lambda: service.create_buyer(command_from(form, NewBuyer), current_user),
        success=lambda buyer: url_for(".buyer", code=buyer.code),
        message=lambda buyer: _("Buyer %(code)s added.", code=buyer.code),
        template="masterdata/record_form.html",
        title=_("New buyer"),
    )


@bp.route("/buyers/<code>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def buyer_edit(code: str):
    buyer = service.get_buyer(code)
    form = BuyerForm(obj=buyer)
    return handle_form(
        form,
        lambda: service.update_buyer(buyer, command_from(form, BuyerChanges, exclude={"code"}), current_user),
        success=lambda buyer: url_for(".buyer", code=buyer.code),
        message=lambda buyer: _("Buyer %(code)s saved.", code=buyer.code),
        template="masterdata/record_form.html",
        title=_("Buyer %(code)s", code=buyer.code),
        record=buyer,
    )


# Styles --------------------------------------------------------------------------------------------------


@bp.route("/styles")
@requires(Permission.VIEW)
def styles():
    return render_template("masterdata/styles.html", styles=service.list_styles())


@bp.route("/styles/<code>")
@requires(Permission.VIEW)
def style(code: str):
    return style_page(service.get_style(code))


def style_page(style, aqls_form=None, fabric_form=None, spec_form=None, drop_aqls_form=None) -> str:
    """A style's page; ``aqls_form``, ``fabric_form``, ``spec_form`` and ``drop_aqls_form``: its AQL form, its
    fabric acceptance form, its measurement spec form or the removal of its own AQLs as sent, when it was refused
    (its errors beside its fields)."""
    settings = aqls.aqls_for(style)
    spec = specs.spec_of(style)
    if spec_form is None:
        # Prefixed, as the forms beside it have their own ``reason``; the grid offered as it stands, to edit.
        spec_form = MeasurementSpecForm(
            formdata=None,
            data={"unit": spec.unit.value if spec else "cm", "grid": spec.grid if spec else ""},
            prefix="spec",
        )
    if aqls_form is None:
        aqls_form = StyleAqlsForm(formdata=None, data={"aql_major": settings.major, "aql_minor": settings.minor})
    if drop_aqls_form is None:
        drop_aqls_form = DropStyleAqlsForm(formdata=None, prefix="drop")
    fabric_points = fabric.style_limit(style)
    if fabric_form is None:
        # Prefixed: the AQL form beside it has its own ``reason``.
        fabric_form = FabricAcceptanceForm(formdata=None, data={"points": fabric_points or ""}, prefix="fabric")
    return render_template(
        "masterdata/style.html",
        style=style,
        plan=safety.plan_for(style),
        batches=service.list_batches(style=style),
        changes=history.style_history(style),
        tampered=history.style_tampering(style),
        aqls=settings,
        aqls_form=aqls_form,
        drop_aqls_form=drop_aqls_form,
        aql_changes=records.history_of("style_aqls", style.id),
        fabric_points=fabric_points,
        default_fabric_points=fabric.DEFAULT_ACCEPTANCE_POINTS,
        fabric_form=fabric_form,
        fabric_changes=records.history_of("style_fabric", style.id),
        spec=spec,
        spec_form=spec_form,
        spec_changes=records.history_of(specs.HISTORY, style.id),
    )


@bp.route("/styles/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def style_new():
    form = StyleForm()
    form.buyer.choices = record_options(service.buyer_choices())
    return handle_form(
        form,
        lambda: service.create_style(command_from(form, NewStyle), current_user),
        success=lambda style: url_for(".style", code=style.code),
        message=lambda style: _("Style %(code)s added.", code=style.code),
        template="masterdata/record_form.html",
        title=_("New style"),
    )


@bp.route("/styles/<code>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def style_edit(code: str):
    style = service.get_style(code)
    form = StyleEditForm(obj=style)
    form.buyer.choices = record_options(service.buyer_choices())
    if not form.is_submitted():
        # The form holds the buyer's code; the style holds the buyer.
        form.buyer.data = style.buyer.code if style.buyer is not None else ""

    def save() -> Style:
        outcome = rejudging.change_style(style, command_from(form, StyleChanges, exclude={"code"}), current_user)
        if outcome.verdicts_changed:
            flash(
                ngettext(
                    "%(num)d lab result changed verdict under the new rule.",
                    "%(num)d lab results changed verdict under the new rule.",
                    len(outcome.verdicts_changed),
                ),
                "warning",
            )
        return style

    return handle_form(
        form,
        save,
        success=lambda style: url_for(".style", code=style.code),
        message=lambda style: _("Style %(code)s saved.", code=style.code),
        template="masterdata/record_form.html",
        title=_("Style %(code)s", code=style.code),
        record=style,
    )


# Batches -------------------------------------------------------------------------------------------------


@bp.route("/batches")
@requires(Permission.VIEW)
def batches():
    return render_template("masterdata/batches.html", batches=service.list_batches())


@bp.route("/batches/<number>")
@requires(Permission.VIEW)
def batch(number: str):
    batch = service.get_batch(number)
    return render_template(
        "masterdata/batch.html",
        batch=batch,
        coverage=safety.coverage_for(batch),
        raise_offer=raising.RaiseOffer.for_user(current_user),
        results=safety.results_for_batch(batch),
        held_by=queries.held_numbers(batch),
        held_by_changes=change_control.holding_changes_for([batch])[batch.id],
        inspections=final.list_inspections(batch),
        switching=final.batch_switching(batch),
        changes=records.history_of("batch", batch.id),
        lot_changes=records.histories_of("lot", [lot.id for lot in batch.lots]),
        tampered=records.tampering("batch", batch.id) or records.tampering("lot", *(lot.id for lot in batch.lots)),
        concessions={concession.lot_id: concession for concession in batch.concessions},
    )


def _offer_lot_choices(form) -> None:
    suppliers = record_options(service.list_suppliers())
    for entry in form.lots.entries:
        entry.form.supplier.choices = suppliers


def _filled_lot_rows(form) -> list[dict]:
    """The lot rows the user filled in. Blank rows are dropped from the form too, so that an error the
    service reports for ``lots[i]`` lands on the i-th row shown."""
    form.lots.entries = [entry for entry in form.lots.entries if not entry.form.is_blank()]
    return [
        {
            "number": entry.form.number.data,
            "kind": entry.form.kind.data,
            "supplier": entry.form.supplier.data,
            "concession": entry.form.concession.data,
        }
        for entry in form.lots.entries
    ]


def _pad_lot_rows(form, minimum: int = 4) -> None:
    while len(form.lots.entries) < minimum:
        form.lots.append_entry()
    _offer_lot_choices(form)


@bp.route("/batches/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def batch_new():
    form = BatchForm()
    form.style.choices = record_options(service.style_choices())
    form.line.choices = record_options(service.list_lines())
    _offer_lot_choices(form)

    def save():
        return safety.create_batch(command_from(form, NewBatch, lots=_filled_lot_rows(form)), current_user)

    return handle_form(
        form,
        save,
        success=lambda batch: url_for(".batch", number=batch.number),
        message=lambda batch: _("Batch %(number)s recorded.", number=batch.number),
        template="masterdata/batch_form.html",
        title=_("New batch"),
        before_render=lambda: _pad_lot_rows(form),
    )


@bp.route("/batches/<number>/lots", methods=["GET", "POST"])
@requires(Permission.MANAGE_MASTERDATA)
def batch_add_lots(number: str):
    batch = service.get_batch(number)
    form = AddLotsForm()
    _offer_lot_choices(form)
    return handle_form(
        form,
        lambda: safety.add_lots(batch, command_from(form, AddLots, lots=_filled_lot_rows(form)), current_user),
        success=lambda batch: url_for(".batch", number=batch.number),
        message=lambda batch: _("Lots added to batch %(number)s.", number=batch.number),
        template="masterdata/batch_form.html",
        title=_("Add material lots to batch %(number)s", number=batch.number),
        before_render=lambda: _pad_lot_rows(form),
        record=batch,
    )
