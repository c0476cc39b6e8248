"""Inspection pages: the sampling plan of a lot (a lot's size, level and severity in, the plan of each defect class
out, read by the same service as ``GET /api/v1/sampling-plan``) and the defect library."""

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.capas import lookup, pending_photos
from capa.common.clock import plant_today
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.display import local_name
from capa.common.errors import DomainError, ValidationError
from capa.http.downloads import send_stored
from capa.inspections import aqls, defects, figures, final, photos, service, specs
from capa.inspections.commands import (
    BuyerAqlsChange,
    DefectCodeChanges,
    DefectCodeFilters,
    FiguresPeriod,
    NewDefectCode,
    NewFinalInspection,
    SamplingPlanQuery,
    StyleAqlsChange,
)
from capa.inspections.models import DefectClass
from capa.inspections.sampling import Level, SamplingPlan, Severity
from capa.masterdata import service as masterdata
from capa.safety import service as safety
from capa.web import exports
from capa.web.exports import Column
from capa.web.forms import command_from, handle_form, options, show_errors
from capa.web.inspections.forms import (
    AREA_LABELS,
    CLASS_LABELS,
    PACKING_LABELS,
    SEVERITY_LABELS,
    STAGE_LABELS,
    VERDICT_LABELS,
    BuyerAqlsForm,
    DefectCodeForm,
    DropStyleAqlsForm,
    FinalInspectionForm,
    InspectionPhotoForm,
    ResumeInspectionForm,
    SamplingPlanForm,
    StyleAqlsForm,
)
from capa.web.inspections.measuring import MeasurementSheet
from capa.web.inspections.tally import CodeCounts
from capa.web.masterdata import views as masterdata_pages
from capa.web.photos import kept_tokens, uploads

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
    return render_template("inspections/sampling_plan.html", form=form, plans=plans), (400 if form.errors else 200)


# The defect library -----------------------------------------------------------------------------------------------


@bp.app_context_processor
def inspection_labels():
    return {
        "class_labels": CLASS_LABELS,
        "area_labels": AREA_LABELS,
        "inspection_verdict_labels": VERDICT_LABELS,
        "inspection_severity_labels": SEVERITY_LABELS,
        "stage_labels": STAGE_LABELS,
        "packing_labels": PACKING_LABELS,
        "too_many_inspection_photos": photos.TOO_MANY_PHOTOS,
        "max_inspection_photos": photos.MAX_PHOTOS,
    }


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


# Final inspections ------------------------------------------------------------------------------------------------


EXPORT_COLUMNS = [
    Column(_l("Inspected"), lambda i: i.inspected_at),
    Column(_l("Batch"), lambda i: i.batch.number),
    Column(_l("Style"), lambda i: i.batch.style.code),
    Column(_l("Line"), lambda i: i.batch.line.code),
    Column(_l("Lot size (units)"), lambda i: i.lot_size),
    Column(_l("Inspection level"), lambda i: i.level),
    Column(_l("Inspection"), lambda i: SEVERITY_LABELS[i.severity]),
    Column(_l("Code letter"), lambda i: i.code_letter),
    Column(_l("AQL, major defects"), lambda i: i.aql_major),
    Column(_l("Major: sample, Ac, Re"), lambda i: f"{i.major_sample}, {i.major_accept}, {i.major_reject}"),
    Column(_l("AQL, minor defects"), lambda i: i.aql_minor),
    Column(_l("Minor: sample, Ac, Re"), lambda i: f"{i.minor_sample}, {i.minor_accept}, {i.minor_reject}"),
    Column(_l("Units inspected"), lambda i: i.units_inspected),
    Column(CLASS_LABELS[DefectClass.CRITICAL], lambda i: i.critical_found),
    Column(CLASS_LABELS[DefectClass.MAJOR], lambda i: i.major_found),
    Column(CLASS_LABELS[DefectClass.MINOR], lambda i: i.minor_found),
    Column(_l("Cartons opened"), lambda i: f"{i.cartons_opened} / {i.cartons_offered}" if i.cartons_offered else ""),
    Column(
        _l("Packing checks that failed"), lambda i: ", ".join(str(PACKING_LABELS[check]) for check in i.packing_failed)
    ),
    Column(_l("Garments out of tolerance"), lambda i: i.garments_out_of_tolerance),
    Column(_l("Photos"), lambda i: len(i.photos)),
    Column(_l("Verdict"), lambda i: VERDICT_LABELS[i.verdict]),
    Column(_l("Non-conformance"), lambda i: i.nc.number if i.nc else ""),
    Column(_l("Inspector"), lambda i: i.inspector.username),
    Column(_l("Defects found"), lambda i: ", ".join(f"{d.defect_code.code} {d.count}" for d in i.defects)),
    Column(_l("Note"), lambda i: i.note),
]


@bp.route("/inspections")
@requires(Permission.VIEW)
def inspections():
    """The latest final inspections; ``?format=csv`` or ``xlsx`` downloads every one."""
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        name = f"final-inspections-{plant_today().isoformat()}.{export}"
        sheet = exports.table(str(_("Final inspections")), final.exported_inspections(), EXPORT_COLUMNS)
        return exports.csv_download(name, sheet) if export == "csv" else exports.xlsx_download(name, [sheet])
    return render_template(
        "inspections/inspections.html",
        inspections=final.list_inspections(),
        figures=figures.figures_for(FiguresPeriod()),
    )


@bp.route("/inspections/<int:inspection_id>")
@requires(Permission.VIEW)
def inspection(inspection_id: int):
    return render_template(
        "inspections/inspection.html",
        inspection=final.get_inspection(inspection_id),
        photo_form=InspectionPhotoForm(formdata=None),
    )


@bp.post("/inspections/<int:inspection_id>/photos")
@requires(Permission.FILE_NC)
def add_photos(inspection_id: int):
    """Add photos to an inspection (and to the open NC it raised): back to its page, or the page with the error
    beside the photo field."""
    recorded = final.get_inspection(inspection_id)
    form = InspectionPhotoForm()
    if form.validate_on_submit():
        try:
            added = photos.add_inspection_photos(recorded, uploads(form.photos), current_user)
        except DomainError as error:
            show_errors(form, error)
            # A storage that refuses (a full disk) keeps its 503: try again later, nothing was stored.
            status = error.status if error.status >= 500 else 400
        else:
            flash(ngettext("%(num)d photo added.", "%(num)d photos added.", len(added)), "success")
            return redirect(url_for(".inspection", inspection_id=recorded.id) + "#photos")
    else:
        status = 400
    flash(_("Please correct the fields marked."), "error")
    return render_template("inspections/inspection.html", inspection=recorded, photo_form=form), status


@bp.route("/inspections/<int:inspection_id>/photos/<int:photo_id>")
@requires(Permission.VIEW)
def photo(inspection_id: int, photo_id: int):
    stored = photos.get_inspection_photo(final.get_inspection(inspection_id), photo_id)
    response = send_stored(photos.open_inspection_photo(stored), mimetype=stored.content_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


#: The packing checks' fields as the command names them, and as the sheet does.
PACKING_FIELDS = {
    "packing.cartons_offered": "cartons_offered",
    "packing.cartons_opened": "cartons_opened",
    "packing.failed": "packing_failed",
    **{f"packing.failed[{index}]": "packing_failed" for index in range(len(PACKING_LABELS))},
}


@bp.route("/inspections/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_inspection():
    """The tally sheet of a final inspection: the lot and its plan, a count per defect code of the library in use
    grouped by area (nothing counted is a clean sample), the garments measured against the spec of the batch's
    style, the packing checks and photos. "More garments" sends the sheet back with more garments to measure."""
    form = FinalInspectionForm()
    form.defect_type.choices = options(
        {t.code: local_name(t) for t in lookup.list_defect_types(active_only=True)}, blank=True
    )
    if request.method == "GET":
        form.batch.data = form.batch.data or request.args.get("batch", "")
        form.reinspection_of.data = request.args.get("reinspection_of", "")
    batch = masterdata.find_batch(form.batch.data) if form.batch.data else None
    tally = CodeCounts.read()
    sheet = MeasurementSheet.read(specs.spec_of(batch.style) if batch is not None else None)
    chosen = uploads(form.photos) if form.is_submitted() else []
    more_garments = "more_garments" in request.form
    server_trouble = None
    if not more_garments and form.validate_on_submit():
        try:
            pending_photos.discard(request.form.getlist("remove_photo"), current_user)
            photos_sent = [*pending_photos.load(kept_tokens(), current_user), *chosen]
            command = parse(NewFinalInspection, _sheet_values(form, tally, sheet) | {"photos": photos_sent})
            recorded = final.record_final_inspection(command, current_user)
        except DomainError as error:
            show_errors(form, sheet.set_aside(tally.set_aside(error.renamed(PACKING_FIELDS))))
            flash(error.message, "error")
            # A storage that refuses (a full disk) keeps its 503: the sheet may be sent again whole.
            server_trouble = error.status if error.status >= 500 else None
        else:
            pending_photos.discard(kept_tokens(), current_user)
            message = (
                _("The lot was accepted.")
                if recorded.verdict == "accepted"
                else _("The lot was rejected: %(number)s raised, the batch on hold.", number=recorded.nc.number)
            )
            flash(message, "success" if recorded.verdict == "accepted" else "error")
            return redirect(url_for(".inspection", inspection_id=recorded.id))
    refused = form.is_submitted() and not more_garments and bool(form.errors or form.form_errors or tally.errors)
    # Photos chosen come back with the sheet, refused or sent back for more garments.
    kept = pending_photos.keep_after_refusal(kept_tokens(), chosen, current_user) if form.is_submitted() else []
    return render_template(
        "inspections/inspection_form.html",
        form=form,
        tally=tally,
        sheet=sheet,
        switching=final.batch_switching(batch) if batch is not None else None,
        kept_photos=kept,
    ), server_trouble or (400 if refused else 200)


def _sheet_values(form: FinalInspectionForm, tally: CodeCounts, sheet: MeasurementSheet) -> dict:
    """The command's values from the tally sheet (its photos aside)."""
    values = {
        "batch": form.batch.data,
        "lot_size": form.lot_size.data,
        "level": form.level.data,
        "severity": form.severity.data or None,
        "aql_major": form.aql_major.data,
        "aql_minor": form.aql_minor.data,
        "note": form.note.data,
        "reinspection_of": form.reinspection_of.data or None,
        "defect_type": form.defect_type.data or None,
        "defects": tally.defects(),
        "measurements": sheet.measurements(),
    }
    if form.cartons_offered.data or form.cartons_opened.data or form.packing_failed.data:
        values["packing"] = {
            "cartons_offered": form.cartons_offered.data,
            "cartons_opened": form.cartons_opened.data,
            "failed": form.packing_failed.data or [],
        }
    return values


# A style's and a buyer's AQLs -------------------------------------------------------------------------------------


@bp.post("/styles/<code>/aqls")
@requires(Permission.MAINTAIN_CATALOG)
def style_aqls(code: str):
    """Set a style's own AQLs from the form on its page: back to the page, or the page with the form's errors."""
    style = masterdata.get_style(code)
    form = StyleAqlsForm()
    if form.validate_on_submit():
        try:
            aqls.set_style_aqls(style, command_from(form, StyleAqlsChange), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The AQLs of %(code)s saved.", code=style.code), "success")
            return redirect(url_for("masterdata.style", code=style.code) + "#aqls")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.style_page(style, aqls_form=form), 400


@bp.post("/styles/<code>/aqls/removal")
@requires(Permission.MAINTAIN_CATALOG)
def drop_style_aqls(code: str):
    """Take a style's own AQLs away from the form on its page: back to the page, or the page with the form's
    errors."""
    style = masterdata.get_style(code)
    form = DropStyleAqlsForm(prefix="drop")
    if form.validate_on_submit():
        try:
            aqls.drop_style_aqls(style, form.reason.data or "", current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("%(code)s now reads the AQLs of its buyer, or the defaults.", code=style.code), "success")
            return redirect(url_for("masterdata.style", code=style.code) + "#aqls")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.style_page(style, drop_aqls_form=form), 400


@bp.post("/buyers/<code>/aqls")
@requires(Permission.MAINTAIN_CATALOG)
def buyer_aqls(code: str):
    """Set a buyer's AQLs from the form on its page: back to the page, or the page with the form's errors."""
    buyer = masterdata.get_buyer(code)
    form = BuyerAqlsForm()
    if form.validate_on_submit():
        try:
            aqls.set_buyer_aqls(buyer, command_from(form, BuyerAqlsChange), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The AQLs of %(code)s saved.", code=buyer.code), "success")
            return redirect(url_for("masterdata.buyer", code=buyer.code) + "#aqls")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.buyer_page(buyer, aqls_form=form), 400


@bp.post("/lines/<code>/inspection-resumption")
@requires(Permission.MAINTAIN_CATALOG)
def resume_inspection(code: str):
    """Resume a discontinued series of the line's final inspections from the form on its page: back to the page,
    or the page with the form's errors."""
    line = masterdata.get_line(code)
    form = ResumeInspectionForm()
    if form.validate_on_submit():
        try:
            buyer = masterdata.referenced_buyer(form.buyer.data or None)
            final.resume_inspection(line, form.reason.data or "", current_user, buyer)
        except DomainError as error:
            show_errors(form, error)
        else:
            series = final.series_name(line, buyer)
            flash(_("Final inspection of %(series)s resumes, tightened.", series=series), "success")
            return redirect(url_for("masterdata.line", code=line.code) + "#switching")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.line_page(line, resume_form=form), 400
