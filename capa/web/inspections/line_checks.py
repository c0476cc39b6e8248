"""Inline and end-of-line check pages: the shift board (each line's DHU per stage against its alert level, and the
NC a line over it may raise), the phone's tally (a tap per defect, kept on the phone while the network is gone),
a check, and a line's own alert level. The same services as ``/api/v1/line-checks``."""

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.capas import filing, lookup
from capa.capas.errors import IdempotencyKeyReused
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.display import local_name
from capa.common.errors import Conflict, DomainError
from capa.inspections import line_checks, shifts
from capa.inspections.commands import (
    AlertLevelChange,
    LineCheckFilters,
    NewLineCheck,
    RaiseShiftNC,
    ShiftQuery,
)
from capa.inspections.dhu import Shift
from capa.inspections.models import CheckStage
from capa.masterdata import service as masterdata
from capa.web import exports
from capa.web.exports import Column
from capa.web.forms import command_from, options, record_options, show_errors
from capa.web.inspections.forms import STAGE_LABELS, AlertLevelForm, LineCheckForm, RaiseShiftNCForm
from capa.web.inspections.tally import CodeCounts
from capa.web.masterdata import views as masterdata_pages

bp = Blueprint("line_checks", __name__)

#: The areas of the tally open on a phone at first: where the line's defects mostly are.
OPEN_AREAS = ("sewing",)


def _raise_form(figure, sent: RaiseShiftNCForm | None = None) -> RaiseShiftNCForm:
    form = sent or RaiseShiftNCForm(
        formdata=None, data={"stage": figure.stage.value, "day": figure.day.isoformat(), "shift": figure.shift}
    )
    form.defect_type.choices = options(
        {t.code: local_name(t) for t in lookup.list_defect_types(active_only=True)}, blank=True
    )
    return form


def _board(shift, day, refused: tuple[str, str, RaiseShiftNCForm] | None = None, status: int = 200):
    figures = line_checks.shift_figures(shift.name, day)
    forms = {}
    for figure in figures:
        if figure.over_alert and figure.nc_number is None:
            sent = refused[2] if refused and refused[:2] == (figure.line, figure.stage.value) else None
            forms[(figure.line, figure.stage.value)] = _raise_form(figure, sent)
    checks = line_checks.list_line_checks(parse(LineCheckFilters, {"day": day, "shift": shift.name}))
    start, end = shifts.window(shift, day)
    return render_template(
        "inspections/line_checks.html",
        shift=shift,
        day=day,
        start=start,
        end=end,
        shifts=shifts.shifts(),
        figures=figures,
        raise_forms=forms,
        checks=checks,
    ), status


def asked_shift() -> tuple[Shift, date, int]:
    """The shift a board's query string asks for (``day`` and ``shift``), the current one when it asks for none,
    with the page's status: 400, and the current shift, with the problem flashed, when it cannot be read."""
    try:
        query = parse(ShiftQuery, {name: request.args.get(name) for name in ("day", "shift")})
        return (*shifts.chosen_shift(query.day, query.shift), 200)
    except DomainError as error:
        flash(" ".join(error.fields.values()) or error.message, "error")
        return (*shifts.current_shift(), 400)


EXPORT_COLUMNS = [
    Column(_l("Checked at"), lambda c: c.checked_at),
    Column(_l("Day"), lambda c: c.shift_day),
    Column(_l("Shift"), lambda c: c.shift),
    Column(_l("Line"), lambda c: c.line.code),
    Column(_l("Where"), lambda c: STAGE_LABELS[CheckStage(c.stage)]),
    Column(_l("Bundle ticket"), lambda c: c.bundle),
    Column(_l("Operation or operator checked"), lambda c: c.operation),
    Column(_l("Units checked"), lambda c: c.units_checked),
    Column(_l("Defective units"), lambda c: c.defective_units),
    Column(_l("Defects"), lambda c: c.defects),
    Column(_l("DHU"), lambda c: c.tally.dhu_shown),
    Column(_l("Defective rate"), lambda c: c.tally.defective_rate_shown),
    Column(_l("Defects found"), lambda c: ", ".join(f"{found.defect_code.code} {found.count}" for found in c.found)),
    Column(_l("By"), lambda c: c.recorded_by.username),
    Column(_l("Note"), lambda c: c.note),
]


@bp.route("/line-checks")
@requires(Permission.VIEW)
def line_checks_board():
    """The shift board: the current shift unless ``day`` and ``shift`` are given. ``?format=csv`` or ``xlsx``
    downloads every check (of the ``line``, ``day`` and ``shift`` given, if any)."""
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        values = {name: request.args.get(name) for name in ("line", "day", "shift", "stage")}
        try:
            filters = parse(LineCheckFilters, values)
        except DomainError as error:
            flash(" ".join(error.fields.values()) or error.message, "error")
            return redirect(url_for(".line_checks_board"))
        name = f"line-checks-{plant_today().isoformat()}.{export}"
        sheet = exports.table(str(_("Line checks")), line_checks.exported_line_checks(filters), EXPORT_COLUMNS)
        return exports.csv_download(name, sheet) if export == "csv" else exports.xlsx_download(name, [sheet])
    shift, day, status = asked_shift()
    return _board(shift, day, status=status)


@bp.route("/line-checks/<int:check_id>")
@requires(Permission.VIEW)
def line_check(check_id: int):
    return render_template("inspections/line_check.html", check=line_checks.get_line_check(check_id))


def _tally_page(form: LineCheckForm, tally: CodeCounts, status: int, already: str | None = None):
    line = masterdata.find_line(form.line.data) if form.line.data else None
    current = None
    if line is not None:
        shift, day = shifts.current_shift()
        current = (shift, day, line_checks.shift_figures(shift.name, day, line))
    return render_template(
        "inspections/line_check_form.html",
        form=form,
        tally=tally,
        open_areas=OPEN_AREAS,
        current=current,
        already=already,
    ), status


@bp.route("/line-checks/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_line_check():
    """The tally of a check: the line and stage, units checked and defective, and a tap per defect by code. Sent by
    the phone's outbox (capa/static/outbox.js), which keeps it while the network is gone and sends it once."""
    form = LineCheckForm()
    form.line.choices = record_options(masterdata.list_lines())
    tally = CodeCounts.read()
    if request.method == "GET":
        form.line.data = request.args.get("line", "").upper()
        form.stage.data = request.args.get("stage") or CheckStage.END_OF_LINE.value
        return _tally_page(form, tally, 200)
    already = None
    if form.validate_on_submit():
        values = {name: form[name].data for name in ("line", "stage", "units_checked", "defective_units")}
        values |= {name: form[name].data or None for name in ("bundle", "operation", "checked_at", "note")}
        values["checked_at"] = values["checked_at"] or form.saved_at.data or None
        values["defects"] = tally.defects()
        try:
            recorded = line_checks.record_line_check(
                parse(NewLineCheck, values), current_user, form.idempotency_key.data or None
            )
        except IdempotencyKeyReused as refusal:
            # Sent, then changed and sent again: the changes are kept and may be recorded as another check.
            already = refusal.number
            form.idempotency_key.data = filing.new_filing_key()
            form.form_errors.append(
                _("This form was recorded already; nothing new was recorded. Send it again to record another check.")
            )
        except DomainError as error:
            show_errors(form, tally.set_aside(error))
            if "idempotency_key" in error.fields:
                form.idempotency_key.data = filing.new_filing_key()
        else:
            return _recorded(recorded)
    return _tally_page(form, tally, 400, already)


def _recorded(recorded: line_checks.Recorded):
    """After a check: the tally again for the next one on the same line and stage; the phone's outbox (asking for
    JSON) gets the check's number and that address, and goes there itself."""
    check = recorded.check
    url = url_for(".new_line_check", line=check.line.code, stage=check.stage)
    figures = line_checks.shift_figures(check.shift, check.shift_day, check.line)
    shift_figure = next((figure for figure in figures if figure.stage.value == check.stage), None)
    message = _(
        "Check %(id)d recorded on %(line)s: DHU %(dhu)s; the shift so far %(shift_dhu)s.",
        id=check.id,
        line=check.line.code,
        dhu=check.tally.dhu_shown,
        shift_dhu=shift_figure.tally.dhu_shown if shift_figure else check.tally.dhu_shown,
    )
    flash(message, "success")
    if shift_figure is not None and shift_figure.over_alert and shift_figure.nc_number is None:
        flash(
            _(
                "%(line)s is over its DHU alert level of %(level)s in this shift: raise an NC from the shift board.",
                line=check.line.code,
                level=shift_figure.alert_level,
            ),
            "error",
        )
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        answer = jsonify(number=_("check %(id)d", id=check.id), url=url, replayed=recorded.replayed)
        answer.status_code = 200 if recorded.replayed else 201
        return answer
    return redirect(url)


@bp.post("/lines/<code>/shift-nc")
@requires(step_permission(Step.FILE))
def raise_shift_nc(code: str):
    line = masterdata.get_line(code)
    form = RaiseShiftNCForm()
    form.defect_type.choices = []
    try:
        query = parse(ShiftQuery, {"day": form.day.data, "shift": form.shift.data})
        shift, day = shifts.chosen_shift(query.day, query.shift)
    except DomainError:
        shift, day = shifts.current_shift()
    if form.validate_on_submit():
        try:
            nc = line_checks.raise_shift_nc(
                line, command_from(form, RaiseShiftNC, defect_type=form.defect_type.data or None), current_user
            )
        except DomainError as error:
            show_errors(form, error)
            flash(error.message, "error")
            status = 409 if isinstance(error, Conflict) else 400
            return _board(shift, day, (line.code, form.stage.data, form), status)
        flash(_("%(number)s raised for %(line)s.", number=nc.number, line=line.code), "success")
        return redirect(url_for("capas.nc", number=nc.number))
    flash(_("Please correct the fields marked."), "error")
    return _board(shift, day, (line.code, form.stage.data, form), 400)


@bp.post("/lines/<code>/dhu-alert-level")
@requires(Permission.MAINTAIN_CATALOG)
def alert_level(code: str):
    """Set a line's own DHU alert level from the form on its page."""
    line = masterdata.get_line(code)
    form = AlertLevelForm()
    if form.validate_on_submit():
        try:
            line_checks.set_alert_level(line, command_from(form, AlertLevelChange), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("The DHU alert level of %(code)s saved.", code=line.code), "success")
            return redirect(url_for("masterdata.line", code=line.code) + "#dhu")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.line_page(line, alert_form=form), 400
