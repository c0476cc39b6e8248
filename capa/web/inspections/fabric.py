"""Incoming fabric inspection pages: the list with the figures by supplier, the 4-point inspection sheet (a row per
roll, its defects one a line), an inspection with its rolls and the NC a rejected lot may raise, and a supplier's
acceptance points. The same services as ``/api/v1/fabric-inspections``."""

import re
from collections.abc import Iterator
from datetime import timedelta

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
from capa.inspections import fabric
from capa.inspections.commands import (
    FabricAcceptanceChange,
    FabricInspectionFilters,
    NewFabricInspection,
    RaiseFabricNC,
)
from capa.inspections.fourpoint import RollFault
from capa.masterdata import service as masterdata
from capa.web import exports
from capa.web.exports import Column
from capa.web.forms import command_from, show_errors
from capa.web.inspections.forms import (
    ACCEPTANCE_SOURCE_LABELS,
    FAULT_LABELS,
    LENGTH_UNIT_LABELS,
    VERDICT_LABELS,
    WIDTH_UNIT_LABELS,
    FabricAcceptanceForm,
    FabricInspectionForm,
    marks_from_text,
)
from capa.web.inspections.lot_ncs import nc_form_for, raise_from_page
from capa.web.masterdata import views as masterdata_pages

bp = Blueprint("fabric", __name__)

#: The most roll rows a sheet offers at once (the API takes 500), and how many "More rows" adds.
MOST_ROWS = 100
ROWS_ADDED = 6
#: The period of the figures by supplier on the list.
FIGURES_DAYS = 90


@bp.app_context_processor
def fabric_labels():
    return {
        "fault_labels": FAULT_LABELS,
        "length_unit_labels": LENGTH_UNIT_LABELS,
        "width_unit_labels": WIDTH_UNIT_LABELS,
        "acceptance_source_labels": ACCEPTANCE_SOURCE_LABELS,
    }


#: The columns of the fabric inspections' CSV and XLSX downloads: a row per lot inspected.
EXPORT_COLUMNS = [
    Column(_l("Inspected"), lambda i: i.inspected_at),
    Column(_l("Lot"), lambda i: i.lot.number),
    Column(_l("Supplier"), lambda i: i.lot.supplier.code),
    Column(_l("Style"), lambda i: i.style.code if i.style else ""),
    Column(_l("Rolls"), lambda i: len(i.rolls)),
    Column(_l("Length inspected"), lambda i: f"{i.length_inspected} {i.length_unit}"),
    Column(_l("Square yards"), lambda i: i.square_yards),
    Column(_l("Points"), lambda i: i.points),
    Column(_l("Points per 100 square yards"), lambda i: i.points_per_100),
    Column(_l("Acceptance points"), lambda i: i.acceptance_points),
    Column(_l("Verdict"), lambda i: VERDICT_LABELS[i.verdict]),
    Column(_l("Why rejected"), lambda i: ", ".join(str(FAULT_LABELS[RollFault(f)]) for f in i.faults)),
    Column(_l("Non-conformance"), lambda i: i.nc.number if i.nc else ""),
    Column(_l("Inspector"), lambda i: i.inspector.username),
    Column(_l("Note"), lambda i: i.note),
]
#: The rolls' sheet of the XLSX download: a row per roll.
ROLL_COLUMNS = [
    Column(_l("Lot"), lambda pair: pair[0].lot.number),
    Column(_l("Inspected"), lambda pair: pair[0].inspected_at),
    Column(_l("Roll"), lambda pair: pair[1].number),
    Column(_l("Length"), lambda pair: f"{pair[1].length} {pair[0].length_unit}"),
    Column(_l("Cuttable width"), lambda pair: f"{pair[1].width} {pair[0].width_unit}"),
    Column(_l("Points"), lambda pair: pair[1].points),
    Column(_l("Points per 100 square yards"), lambda pair: pair[1].points_per_100),
    Column(_l("Why rejected"), lambda pair: ", ".join(str(FAULT_LABELS[RollFault(f)]) for f in pair[1].faults)),
]


def _rolls(inspections) -> Iterator[tuple]:
    for inspection in inspections:
        for roll in inspection.rolls:
            yield inspection, roll


@bp.route("/fabric-inspections")
@requires(Permission.VIEW)
def fabric_inspections():
    """The latest fabric inspections (of a ``lot`` or a ``supplier`` when given) with the figures by supplier;
    ``?format=csv`` downloads every one, ``xlsx`` every one and its rolls."""
    values = {name: request.args[name] for name in ("lot", "supplier") if request.args.get(name)}
    export = request.args.get("format")
    try:
        filters = parse(FabricInspectionFilters, values)
        if export in ("csv", "xlsx"):
            return _download(export, filters)
        inspections = fabric.list_fabric_inspections(filters)
        errors: dict[str, str] = {}
    except DomainError as error:
        inspections, errors = [], error.fields or {"lot": error.message}
    return render_template(
        "inspections/fabric_inspections.html",
        inspections=inspections,
        figures=fabric.supplier_figures(plant_today() - timedelta(days=FIGURES_DAYS - 1), plant_today()),
        figures_days=FIGURES_DAYS,
        filters=values,
        errors=errors,
    ), (400 if errors else 200)


def _download(export: str, filters: FabricInspectionFilters):
    name = f"fabric-inspections-{plant_today().isoformat()}.{export}"
    lots = exports.table(str(_("Fabric inspections")), fabric.exported_fabric_inspections(filters), EXPORT_COLUMNS)
    if export == "csv":
        return exports.csv_download(name, lots)
    rolls = exports.table(str(_("Rolls")), _rolls(fabric.exported_fabric_inspections(filters)), ROLL_COLUMNS)
    return exports.xlsx_download(name, [lots, rolls])


@bp.route("/fabric-inspections/<int:inspection_id>")
@requires(Permission.VIEW)
def fabric_inspection(inspection_id: int):
    return _inspection_page(fabric.get_fabric_inspection(inspection_id))


def _inspection_page(inspection, nc_form=None, status: int = 200):
    default = fabric.FAULT_DEFECT_TYPES[RollFault(inspection.faults[0])] if inspection.faults else None
    return render_template(
        "inspections/fabric_inspection.html", inspection=inspection, nc_form=nc_form_for(inspection, nc_form, default)
    ), status


@bp.post("/fabric-inspections/<int:inspection_id>/raise-nc")
@requires(step_permission(Step.CONTAIN))
def raise_nc(inspection_id: int):
    inspection = fabric.get_fabric_inspection(inspection_id)
    return raise_from_page(inspection, fabric.raise_fabric_nc, RaiseFabricNC, _inspection_page)


def _rows_wanted() -> int:
    try:
        return max(1, min(MOST_ROWS, int(request.args.get("rolls", 6))))
    except ValueError:
        return 6


def _command_values(form: FabricInspectionForm) -> tuple[dict, dict[int, int]]:
    """The command's values from the sheet: the rows filled in (a blank row is left out), and the sheet's row each
    came from."""
    rolls, rows = [], {}
    for row, entry in enumerate(form.rolls.entries):
        values = entry.form.data
        if not any(str(values[name] or "").strip() for name in ("number", "length", "width", "defects")):
            continue
        rows[len(rolls)] = row
        rolls.append(
            {
                "number": values["number"],
                "length": values["length"],
                "width": values["width"],
                "shade_matches": not values["off_shade"],
                "defects": marks_from_text(values["defects"] or ""),
            }
        )
    data = {name: form[name].data or None for name in ("lot", "supplier", "style", "required_width", "note")}
    data |= {"length_unit": form.length_unit.data, "width_unit": form.width_unit.data, "rolls": rolls}
    return data, rows


_MARK_FIELD = re.compile(r"rolls\[(?P<roll>\d+)\]\.defects\[(?P<mark>\d+)\]\.(?P<part>\w+)")
_ROLL_FIELD = re.compile(r"rolls\[(?P<roll>\d+)\](?P<rest>.*)")


def _on_the_sheet(error: DomainError, rows: dict[int, int]) -> DomainError:
    """The service's field names as the sheet's: a row's own index, and a defect's problem on its roll's defects
    box with the line it is on."""
    fields = {}
    for name, message in error.fields.items():
        mark = _MARK_FIELD.fullmatch(name)
        roll = _ROLL_FIELD.fullmatch(name)
        if mark is not None:
            row = rows.get(int(mark["roll"]), 0)
            line = _("Line %(n)d: %(message)s", n=int(mark["mark"]) + 1, message=message)
            key = f"rolls[{row}].defects"
            fields[key] = f"{fields[key]} {line}" if key in fields else line
        elif roll is not None and roll["rest"]:
            fields[f"rolls[{rows.get(int(roll['roll']), 0)}]{roll['rest']}"] = message
        else:
            fields[name] = message
    return type(error)(error.message, fields=fields)


@bp.route("/fabric-inspections/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_fabric_inspection():
    """The 4-point sheet of a fabric lot: a row per roll, the defects of each one a line."""
    form = FabricInspectionForm()
    if request.method == "GET":
        form.lot.data = request.args.get("lot", "")
        while len(form.rolls.entries) < _rows_wanted():
            form.rolls.append_entry()
    elif "more_rows" in request.form:
        # The sheet sent back for more rows: what was typed stays, nothing is recorded yet.
        for _row in range(min(ROWS_ADDED, MOST_ROWS - len(form.rolls.entries))):
            form.rolls.append_entry()
    elif form.validate_on_submit():
        data, rows = _command_values(form)
        try:
            recorded = fabric.record_fabric_inspection(parse(NewFabricInspection, data), current_user)
        except DomainError as error:
            show_errors(form, _on_the_sheet(error, rows))
            flash(error.message, "error")
        else:
            accepted = recorded.verdict == "accepted"
            message = _("The lot was accepted.") if accepted else _("The lot was rejected.")
            flash(message, "success" if accepted else "error")
            return redirect(url_for(".fabric_inspection", inspection_id=recorded.id))
    status = 400 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template("inspections/fabric_inspection_form.html", form=form, most_rows=MOST_ROWS), status


@bp.post("/suppliers/<code>/fabric-acceptance")
@requires(Permission.MAINTAIN_CATALOG)
def supplier_acceptance(code: str):
    """Set a supplier's acceptance points from its page."""
    supplier = masterdata.get_supplier(code)
    form = FabricAcceptanceForm()
    if form.validate_on_submit():
        try:
            fabric.set_supplier_acceptance(supplier, command_from(form, FabricAcceptanceChange), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The acceptance points of %(code)s saved.", code=supplier.code), "success")
            return redirect(url_for("masterdata.supplier", code=supplier.code) + "#fabric")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.supplier_page(supplier, fabric_form=form), 400


@bp.post("/styles/<code>/fabric-acceptance")
@requires(Permission.MAINTAIN_CATALOG)
def style_acceptance(code: str):
    """Set a style's acceptance points for its fabric from its page."""
    style = masterdata.get_style(code)
    form = FabricAcceptanceForm(prefix="fabric")
    if form.validate_on_submit():
        try:
            fabric.set_style_acceptance(style, command_from(form, FabricAcceptanceChange), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The acceptance points of %(code)s saved.", code=style.code), "success")
            return redirect(url_for("masterdata.style", code=style.code) + "#fabric")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.style_page(style, fabric_form=form), 400
