"""Incoming inspection pages for lots counted in pieces (trims, labels, thread, packaging): the list, the form
that samples a lot by ISO 2859-1 and judges it, and an inspection. The same services as
``/api/v1/incoming-inspections``."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.inspections import incoming
from capa.inspections.commands import IncomingInspectionFilters, NewIncomingInspection, RaiseIncomingNC
from capa.web import exports
from capa.web.exports import Column
from capa.web.forms import command_from, show_errors
from capa.web.inspections.forms import VERDICT_LABELS, IncomingInspectionForm
from capa.web.inspections.lot_ncs import nc_form_for, raise_from_page
from capa.web.masterdata.forms import LOT_KIND_LABELS

bp = Blueprint("incoming", __name__)

#: The columns of the CSV and XLSX downloads: a row per lot inspected.
EXPORT_COLUMNS = [
    Column(_l("Inspected"), lambda i: i.inspected_at),
    Column(_l("Lot"), lambda i: i.lot.number),
    Column(_l("Kind"), lambda i: LOT_KIND_LABELS[i.lot.kind]),
    Column(_l("Supplier"), lambda i: i.lot.supplier.code),
    Column(_l("Lot size (pieces)"), lambda i: i.lot_size),
    Column(_l("Inspection level"), lambda i: i.level),
    Column(_l("Code letter"), lambda i: i.code_letter),
    Column(_l("AQL, major defects"), lambda i: i.aql_major),
    Column(_l("Major sample, Ac/Re"), lambda i: f"{i.major_sample}, {i.major_accept}/{i.major_reject}"),
    Column(_l("AQL, minor defects"), lambda i: i.aql_minor),
    Column(_l("Minor sample, Ac/Re"), lambda i: f"{i.minor_sample}, {i.minor_accept}/{i.minor_reject}"),
    Column(_l("Units with a critical defect"), lambda i: i.critical_found),
    Column(_l("Units with a major defect"), lambda i: i.major_found),
    Column(_l("Units with a minor defect"), lambda i: i.minor_found),
    Column(_l("Verdict"), lambda i: VERDICT_LABELS[i.verdict]),
    Column(_l("Inspector"), lambda i: i.inspector.username),
    Column(_l("Note"), lambda i: i.note),
]


@bp.route("/incoming-inspections")
@requires(Permission.VIEW)
def incoming_inspections():
    """The latest incoming inspections by attributes (of a ``lot`` or a ``supplier`` when given); ``?format=csv``
    or ``xlsx`` downloads every one."""
    values = {name: request.args[name] for name in ("lot", "supplier") if request.args.get(name)}
    export = request.args.get("format")
    try:
        filters = parse(IncomingInspectionFilters, values)
        if export in ("csv", "xlsx"):
            name = f"incoming-inspections-{plant_today().isoformat()}.{export}"
            rows = incoming.exported_incoming_inspections(filters)
            table = exports.table(str(_("Incoming inspections")), rows, EXPORT_COLUMNS)
            return exports.csv_download(name, table) if export == "csv" else exports.xlsx_download(name, [table])
        inspections = incoming.list_incoming_inspections(filters)
        errors: dict[str, str] = {}
    except DomainError as error:
        inspections, errors = [], error.fields or {"lot": error.message}
    return render_template(
        "inspections/incoming_inspections.html", inspections=inspections, filters=values, errors=errors
    ), (400 if errors else 200)


@bp.route("/incoming-inspections/<int:inspection_id>")
@requires(Permission.VIEW)
def incoming_inspection(inspection_id: int):
    return _inspection_page(incoming.get_incoming_inspection(inspection_id))


def _inspection_page(inspection, nc_form=None, status: int = 200):
    """An inspection; a quality manager is offered the NC of a rejected lot (``nc_form``: the one sent, when
    refused)."""
    return render_template(
        "inspections/incoming_inspection.html", inspection=inspection, nc_form=nc_form_for(inspection, nc_form)
    ), status


@bp.post("/incoming-inspections/<int:inspection_id>/raise-nc")
@requires(step_permission(Step.CONTAIN))
def raise_nc(inspection_id: int):
    inspection = incoming.get_incoming_inspection(inspection_id)
    return raise_from_page(inspection, incoming.raise_incoming_nc, RaiseIncomingNC, _inspection_page)


@bp.route("/incoming-inspections/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_incoming_inspection():
    """The form of an incoming inspection by attributes; what was typed stays when a field is refused."""
    form = IncomingInspectionForm()
    if request.method == "GET":
        form.lot.data = request.args.get("lot", "")
    elif form.validate_on_submit():
        try:
            recorded = incoming.record_incoming_inspection(command_from(form, NewIncomingInspection), current_user)
        except DomainError as error:
            show_errors(form, error)
            flash(error.message, "error")
        else:
            accepted = recorded.verdict == "accepted"
            message = _("The lot was accepted.") if accepted else _("The lot was rejected.")
            flash(message, "success" if accepted else "error")
            return redirect(url_for(".incoming_inspection", inspection_id=recorded.id))
    status = 400 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template("inspections/incoming_inspection_form.html", form=form), status
