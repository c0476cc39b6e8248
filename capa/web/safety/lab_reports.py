"""Pages of lab reports: a new report for a batch (its header and a results table, one row per parameter of the
style's plan), a report with its results and PDF, and the import of a lab's CSV/XLSX export with a preview.

The import keeps the previewed file on the server for the user who sent it, under an unguessable token
(:func:`capa.safety.importing.keep_pending`), and the confirmation imports exactly that file, checked again: the
browser never has to send it twice, and what is stored is what was previewed (or a refusal, when the records
changed meanwhile).
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from capa.accounts.permissions import Permission, requires
from capa.common import pending
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import DomainError, ValidationError
from capa.http.downloads import send_stored
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch
from capa.safety import applicability, importing, reports, service
from capa.safety.commands import NewLabReport
from capa.safety.models import Component
from capa.web.forms import options, show_errors

bp = Blueprint("lab_reports", __name__)

COMPONENT_LABELS = {
    Component.WHOLE_GARMENT: _l("Whole garment"),
    Component.PRINT: _l("Print or coating"),
    Component.TRIM: _l("Trim or attachment"),
    Component.FABRIC: _l("Fabric or lab dip"),
}
#: Rows for parameters outside the style's plan (a parameter the lab tested besides, or one recorded as N/A).
EXTRA_ROWS = 3
ROW_FIELDS = ("value", "reporting_limit", "na_reason", "lot")


class ResultRow(Form):
    parameter = HiddenField()
    value = StringField(_l("Result"))
    reporting_limit = StringField(_l("Reporting limit"))
    na_reason = StringField(_l("Why it does not apply (for N/A)"))
    lot = SelectField(_l("Lot"), choices=[], validate_choice=False)

    def is_blank(self) -> bool:
        return not any((self[name].data or "").strip() for name in ("value", "reporting_limit", "na_reason"))


class LabReportForm(FlaskForm):
    laboratory = StringField(_l("Laboratory"))
    cnas_number = StringField(_l("CNAS number"))
    cma_number = StringField(_l("CMA number"))
    iso17025 = StringField(_l("Other ISO/IEC 17025 accreditation (body and number)"))
    number = StringField(_l("Report number"))
    sample_description = TextAreaField(_l("Sample description"))
    colourway = StringField(_l("Colourway"))
    component = SelectField(_l("Component tested"), choices=options(COMPONENT_LABELS))
    lots = SelectMultipleField(_l("Material lots sampled"), choices=[], validate_choice=False)
    sample_date = StringField(_l("Sample date"))
    test_date = StringField(_l("Test date"))
    report_date = StringField(_l("Report date"))
    rows = FieldList(FormField(ResultRow))
    pdf = FileField(_l("The report's PDF (optional)"))
    #: The PDF sent with a refused form, kept for its sender (capa.common.pending) so it need not be chosen again.
    pdf_token = HiddenField()
    pdf_discard = BooleanField(_l("Remove the kept PDF"))


#: Lab report PDFs kept while their form is refused.
PENDING_PDF = "report-pdfs"


def _chosen_pdf(form: LabReportForm) -> tuple[str, bytes] | None:
    """The PDF the form sends: a file chosen now, else the one kept from a refused round (unless removed)."""
    upload = form.pdf.data
    if upload and getattr(upload, "filename", ""):
        return upload.filename or "report.pdf", upload.read()
    if form.pdf_discard.data:
        pending.discard(PENDING_PDF, current_user.id, form.pdf_token.data)
        return None
    return pending.load(PENDING_PDF, current_user.id, form.pdf_token.data)


class ImportForm(FlaskForm):
    file = FileField(_l("The laboratory's export (CSV or XLSX)"))


@bp.app_context_processor
def labels():
    return {"component_labels": COMPONENT_LABELS}


@bp.app_template_global()
def lab_reports_of(batch: Batch) -> list:
    """The lab reports of a batch, for its page."""
    return reports.list_reports(batch=batch)


def _plan_codes(batch: Batch) -> list[str]:
    """The parameters the results table offers a row for: the style's plan, or (a style without one) every
    parameter that applies to it."""
    required, _added, _dropped = service.plan_parameters(batch.style)
    if not required:
        profile = applicability.GarmentProfile.of(batch.style)
        required = [p for p in service.list_parameters() if applicability.applies(p, profile)]
    return [parameter.code for parameter in required]


@bp.route("/batches/<number>/lab-reports/new", methods=["GET", "POST"])
@requires(Permission.RECORD_RESULTS)
def new_report(number: str):
    batch = masterdata.get_batch(number)
    planned = _plan_codes(batch)
    form = LabReportForm()
    if not form.is_submitted():
        while len(form.rows.entries) < len(planned) + EXTRA_ROWS:
            form.rows.append_entry()
        for entry, code in zip(form.rows.entries, planned, strict=False):
            entry.form.parameter.data = code
        form.colourway.data = batch.colourways[0] if len(batch.colourways or []) == 1 else ""
    lot_choices = options({lot.number: f"{lot.number} · {lot.kind}" for lot in batch.lots}, blank=True)
    form.lots.choices = options({lot.number: f"{lot.number} · {lot.kind}" for lot in batch.lots})
    for entry in form.rows.entries:
        entry.form.lot.choices = lot_choices
    status = 200
    kept_pdf = None
    if form.is_submitted():
        pdf = _chosen_pdf(form)
        try:
            report = _save(form, batch, pdf)
        except DomainError as exc:
            _show(form, exc)
            status = 400
            kept_pdf = _keep(form, pdf, exc)
        else:
            pending.discard(PENDING_PDF, current_user.id, form.pdf_token.data)
            flash(
                _("Lab report %(number)s recorded with %(n)d results.", number=report.number, n=len(report.results)),
                "success",
            )
            return redirect(url_for(".report", report_id=report.id))
    parameters = {parameter.code: parameter for parameter in service.list_parameters()}
    return render_template(
        "safety/lab_report_form.html",
        form=form,
        batch=batch,
        planned=set(planned),
        parameters=parameters,
        kept_pdf=kept_pdf,
        laboratories=reports.list_laboratories(),
    ), status


def _keep(form: LabReportForm, pdf: tuple[str, bytes] | None, error: DomainError) -> str | None:
    """Keep a refused form's PDF when it was itself accepted; the name to show beside the file field."""
    form.pdf_discard.data = False
    if pdf is None or "pdf" in error.fields:
        form.pdf_token.data = ""
        return None
    chosen_now = bool(form.pdf.data and getattr(form.pdf.data, "filename", ""))
    if chosen_now or pending.load(PENDING_PDF, current_user.id, form.pdf_token.data) is None:
        form.pdf_token.data = pending.keep(PENDING_PDF, current_user.id, pdf[1], pdf[0])
    return pdf[0]


def _save(form: LabReportForm, batch: Batch, pdf: tuple[str, bytes] | None):
    """Record the report from the form's filled rows (and its PDF), or raise naming the form's own fields."""
    filled = [(index, entry.form) for index, entry in enumerate(form.rows.entries) if not entry.form.is_blank()]
    aliases = {f"laboratory.{name}": name for name in ("cnas_number", "cma_number", "iso17025")}
    aliases |= {"laboratory.name": "laboratory", "laboratory": "laboratory"}
    for position, (index, _row) in enumerate(filled):
        aliases |= {f"results[{position}].{name}": f"rows[{index}].{name}" for name in ROW_FIELDS}
        aliases[f"results[{position}].parameter"] = f"rows[{index}].parameter"
    aliases |= {f"lots[{index}]": "lots" for index in range(len(form.lots.data or []))}
    data = {
        "laboratory": {
            "name": form.laboratory.data,
            "cnas_number": form.cnas_number.data,
            "cma_number": form.cma_number.data,
            "iso17025": form.iso17025.data,
        },
        "number": form.number.data,
        "sample_description": form.sample_description.data,
        "colourway": form.colourway.data,
        "component": form.component.data,
        "batch": batch.number,
        "lots": form.lots.data or [],
        "sample_date": form.sample_date.data,
        "test_date": form.test_date.data,
        "report_date": form.report_date.data,
        "results": [{name: row[name].data for name in ("parameter", *ROW_FIELDS)} for _index, row in filled],
    }
    problems: dict[str, str] = {}
    command = None
    try:
        command = parse(NewLabReport, data)
    except ValidationError as exc:
        problems |= exc.fields
    if pdf is not None:
        try:
            reports.check_pdf(*pdf)
        except ValidationError as exc:
            problems |= exc.fields
    try:
        if problems or command is None:
            raise ValidationError(str(PLEASE_CORRECT), fields=problems)
        return reports.record_report(command, current_user, pdf=pdf)
    except DomainError as exc:
        raise exc.renamed(aliases) from None


def _show(form: LabReportForm, error: DomainError) -> None:
    fields = dict(error.fields)
    general = [fields.pop(name) for name in ("results", "batch", "category") if name in fields]
    show_errors(form, type(error)(error.message, fields=fields))
    form.form_errors.extend(general)


@bp.route("/lab-reports/<int:report_id>")
@requires(Permission.VIEW)
def report(report_id: int):
    return render_template("safety/lab_report.html", report=reports.get_report(report_id))


@bp.route("/lab-reports/<int:report_id>/pdf")
@requires(Permission.VIEW)
def report_pdf(report_id: int):
    report = reports.get_report(report_id)
    response = send_stored(reports.open_pdf(report), mimetype="application/pdf", download_name=report.pdf_name)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/lab-reports/import", methods=["GET", "POST"])
@requires(Permission.RECORD_RESULTS)
def import_reports():
    """Upload a lab's export: the preview of every row with its verdict, or every problem; nothing stored."""
    form = ImportForm()
    if not form.is_submitted():
        return render_template("safety/lab_report_import.html", form=form, outcome=None)
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors = [_("Choose the laboratory's CSV or XLSX file.")]
        return render_template("safety/lab_report_import.html", form=form, outcome=None), 400
    data, name = upload.read(), reports.display_name(upload.filename)
    outcome = importing.import_lab_reports(data, name, current_user, dry_run=True)
    token = importing.keep_pending(data, name, current_user) if not outcome.errors else None
    return render_template(
        "safety/lab_report_import.html", form=form, outcome=outcome, token=token, filename=name
    ), 400 if outcome.errors else 200


@bp.route("/lab-reports/import/confirm", methods=["POST"])
@requires(Permission.RECORD_RESULTS)
def confirm_import():
    """Import the file previewed (kept under its token for this user), checked again."""
    token = request.form.get("token", "")
    kept = importing.load_pending(token, current_user)
    if kept is None:
        raise HTTPNotFound(_("The previewed file is no longer kept (files wait a day); upload it again."))
    name, data = kept
    outcome = importing.import_lab_reports(data, name, current_user, dry_run=False)
    if outcome.errors:
        form = ImportForm()
        return render_template("safety/lab_report_import.html", form=form, outcome=outcome, filename=name), 400
    importing.discard_pending(token, current_user)
    flash(
        _(
            "Imported %(reports)d reports with %(results)d results from %(name)s.",
            reports=len(outcome.reports),
            results=outcome.result_count,
            name=name,
        ),
        "success",
    )
    batches = {report.batch.number for report in outcome.reports if report.batch is not None}
    if len(batches) == 1 and all(report.batch is not None for report in outcome.reports):
        return redirect(url_for("masterdata.batch", number=batches.pop()))
    return redirect(url_for(".report", report_id=outcome.reports[0].id))
