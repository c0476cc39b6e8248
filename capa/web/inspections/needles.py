"""Needle and metal control pages: the control board of a shift (each metal detector's state and check, broken
needles, detections), and the forms of the needle log, a detector check and a detection. The same services as
``/api/v1/needle-breaks``, ``/detector-checks`` and ``/metal-detections``."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.inspections import needles, shifts
from capa.inspections.commands import (
    BundlePassReport,
    DetectorCheckReport,
    MetalDetectionReport,
    NeedleBreakReport,
    NeedleLogFilters,
)
from capa.masterdata import service as masterdata
from capa.web import exports
from capa.web.exports import Column
from capa.web.forms import handle_form, options, record_options
from capa.web.inspections.forms import BundlePassForm, DetectorCheckForm, MetalDetectionForm, NeedleBreakForm
from capa.web.inspections.line_checks import asked_shift

bp = Blueprint("needles", __name__)

BOARD = "needles.needle_control"


def _answer(value: str | None) -> bool | None:
    """A yes/no choice as the command's boolean; None (required) when not chosen."""
    return {"yes": True, "no": False}.get(value or "")


def _values(form, names: tuple[str, ...], answers: tuple[str, ...] = ()) -> dict:
    values = {name: form[name].data or None for name in names}
    for name in answers:
        if _answer(form[name].data) is not None:
            values[name] = _answer(form[name].data)
    return values


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


BREAK_COLUMNS = [
    Column(_l("Broken at"), lambda b: b.broken_at),
    Column(_l("Day"), lambda b: b.shift_day),
    Column(_l("Shift"), lambda b: b.shift),
    Column(_l("Line"), lambda b: b.line.code),
    Column(_l("Operator (name or number)"), lambda b: b.operator),
    Column(_l("Machine"), lambda b: b.machine),
    Column(_l("Was every fragment found?"), lambda b: _yes_no(b.all_fragments_found)),
    Column(_l("Bundle ticket"), lambda b: b.bundle),
    Column(_l("Batch number"), lambda b: b.batch.number if b.batch else ""),
    Column(_l("Non-conformance"), lambda b: b.nc.number if b.nc else ""),
    Column(_l("Bundle passed through"), lambda b: b.bundle_detector or ""),
    Column(
        _l("Did the bundle pass without setting it off?"),
        lambda b: _yes_no(b.bundle_clean) if b.bundle_clean is not None else "",
    ),
    Column(_l("By"), lambda b: b.recorded_by.username),
    Column(_l("Note"), lambda b: b.note),
]
CHECK_COLUMNS = [
    Column(_l("Checked at"), lambda c: c.checked_at),
    Column(_l("Day"), lambda c: c.shift_day),
    Column(_l("Shift"), lambda c: c.shift),
    Column(_l("Metal detector"), lambda c: c.detector),
    Column(_l("Test piece"), lambda c: c.test_piece),
    Column(_l("Did the test piece set it off?"), lambda c: _yes_no(c.detected)),
    Column(_l("By"), lambda c: c.checked_by.username),
    Column(_l("Note"), lambda c: c.note),
]
DETECTION_COLUMNS = [
    Column(_l("Detected at"), lambda m: m.detected_at),
    Column(_l("Day"), lambda m: m.shift_day),
    Column(_l("Shift"), lambda m: m.shift),
    Column(_l("Metal detector"), lambda m: m.detector),
    Column(_l("Line"), lambda m: m.line.code),
    Column(_l("Batch number"), lambda m: m.batch.number if m.batch else ""),
    Column(_l("Bundle ticket"), lambda m: m.bundle),
    Column(_l("Garments"), lambda m: m.garments),
    Column(_l("Non-conformance"), lambda m: m.nc.number),
    Column(_l("By"), lambda m: m.recorded_by.username),
    Column(_l("Note"), lambda m: m.note),
]


def _download(export: str):
    """The whole needle log: XLSX with its three sheets (broken needles, detector checks, metal detections), CSV
    with the broken needles."""
    everything = NeedleLogFilters()
    name = f"needle-control-{plant_today().isoformat()}.{export}"
    breaks = exports.table(str(_("Broken needles")), needles.list_needle_breaks(everything, None), BREAK_COLUMNS)
    if export == "csv":
        return exports.csv_download(name, breaks)
    checks = exports.table(str(_("Metal detectors")), needles.list_detector_checks(everything, None), CHECK_COLUMNS)
    detections = exports.table(
        str(_("Metal detections")), needles.list_metal_detections(everything, None), DETECTION_COLUMNS
    )
    return exports.xlsx_download(name, [breaks, checks, detections])


@bp.route("/needle-control")
@requires(Permission.VIEW)
def needle_control():
    """The control board of a shift: the current one unless ``day`` and ``shift`` are given; ``?format=xlsx`` (or
    ``csv``) downloads the whole log."""
    if request.args.get("format") in ("csv", "xlsx"):
        return _download(request.args["format"])
    shift, day, status = asked_shift()
    filters = NeedleLogFilters(day=day, shift=shift.name)
    return render_template(
        "inspections/needle_control.html",
        shift=shift,
        day=day,
        shifts=shifts.shifts(),
        detectors=needles.detector_states(shift.name, day),
        breaks=needles.list_needle_breaks(filters),
        detections=needles.list_metal_detections(filters),
    ), status


@bp.route("/needle-control/needle-breaks/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_needle_break():
    form = NeedleBreakForm()
    form.line.choices = record_options(masterdata.list_lines())
    if request.method == "GET":
        form.line.data = request.args.get("line", "").upper()

    def save():
        names = ("line", "operator", "machine", "bundle", "batch", "broken_at", "note")
        command = parse(NeedleBreakReport, _values(form, names, ("all_fragments_found",)))
        return needles.log_needle_break(command, current_user)

    def message(record) -> str:
        if record.nc is None:
            return _("Broken needle logged on %(line)s.", line=record.line.code)
        return _(
            "A fragment is missing: %(number)s raised; bundle %(bundle)s is isolated.",
            number=record.nc.number,
            bundle=record.bundle,
        )

    return handle_form(
        form,
        save,
        success=lambda record: url_for("capas.nc", number=record.nc.number) if record.nc else url_for(BOARD),
        message=message,
        template="inspections/needle_break_form.html",
    )


@bp.route("/needle-control/detector-checks/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_detector_check():
    form = DetectorCheckForm()
    form.detector.choices = options({code: code for code in needles.detectors()})
    if request.method == "GET" and request.args.get("detector"):
        form.detector.data = request.args["detector"].upper()

    def save():
        command = parse(
            DetectorCheckReport, _values(form, ("detector", "test_piece", "checked_at", "note"), ("detected",))
        )
        return needles.record_detector_check(command, current_user)

    def done(check) -> str:
        if check.detected:
            flash(_("%(detector)s checked: it found the test piece.", detector=check.detector), "success")
        else:
            message = _(
                "%(detector)s missed the test piece: do not use it until a check passes, and pass again what went "
                "through it since its last good check.",
                detector=check.detector,
            )
            flash(message, "error")
        return url_for(BOARD)

    return handle_form(form, save, success=done, template="inspections/detector_check_form.html")


@bp.route("/needle-control/needle-breaks/<int:break_id>/bundle-pass", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def bundle_pass(break_id: int):
    """Record the pass of the bundle a broken needle's missing fragment isolated (capa.inspections.needles)."""
    needle_break = needles.get_needle_break(break_id)
    if not needle_break.awaiting_bundle_pass:
        # Every fragment found (no bundle isolated), or its pass recorded already: the board says which.
        flash(_("No bundle of this needle awaits its pass through a detector."), "error")
        return redirect(url_for(BOARD, day=needle_break.shift_day.isoformat(), shift=needle_break.shift))
    form = BundlePassForm()
    form.detector.choices = options({code: code for code in needles.detectors()})

    def save():
        command = parse(BundlePassReport, _values(form, ("detector", "checked_at", "note"), ("clean",)))
        return needles.record_bundle_pass(needle_break, command, current_user)

    def done(record) -> str:
        if record.bundle_clean:
            flash(
                _(
                    "Bundle %(bundle)s passed %(detector)s clean.",
                    bundle=record.bundle,
                    detector=record.bundle_detector,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Bundle %(bundle)s set %(detector)s off: find the fragment in its garments and keep them isolated.",
                    bundle=record.bundle,
                    detector=record.bundle_detector,
                ),
                "error",
            )
        return url_for(BOARD, day=record.shift_day.isoformat(), shift=record.shift)

    return handle_form(
        form, save, success=done, template="inspections/bundle_pass_form.html", needle_break=needle_break
    )


@bp.route("/needle-control/metal-detections/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def new_metal_detection():
    form = MetalDetectionForm()
    form.detector.choices = options({code: code for code in needles.detectors()})
    form.line.choices = record_options(masterdata.list_lines())

    def save():
        names = ("detector", "line", "batch", "bundle", "garments", "detected_at", "note")
        return needles.record_metal_detection(parse(MetalDetectionReport, _values(form, names)), current_user)

    return handle_form(
        form,
        save,
        success=lambda record: url_for("capas.nc", number=record.nc.number),
        message=lambda record: _(
            "%(number)s raised; the %(garments)d garments are isolated.",
            number=record.nc.number,
            garments=record.garments,
        ),
        template="inspections/metal_detection_form.html",
    )
