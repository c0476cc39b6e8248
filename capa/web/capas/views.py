"""Pages of the CAPA workflow: filing, the NC page with its step forms, lists and exports (the 8D report is in
``report.py``, on the same blueprint).

Each view parses one form, calls one service function and renders; a refused step redisplays the NC page
with the typed values and the errors beside their fields (status 400, or 409 for a conflict).
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user

from capa.accounts import service as accounts
from capa.accounts.models import STAFF
from capa.accounts.permissions import Permission, requires
from capa.audit import records
from capa.capas import defect_types as defect_type_service
from capa.capas import (
    evidence,
    filing,
    gates,
    history,
    lookup,
    paging,
    pending_photos,
    photos,
    policy,
    progress,
    queries,
    raising,
    rounds,
    steps,
)
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    DefectTypeChanges,
    EditNC,
    FileNC,
    NCFilters,
    NewAction,
    NewDefectType,
    RaiseNC,
    ReleaseHold,
    Retest,
    Review,
    RootCause,
)
from capa.capas.errors import IdempotencyKeyReused, StaleVersion
from capa.capas.labels import (
    ACTION_KIND_LABELS,
    EVENT_LABELS,
    FIELD_LABELS,
    FISHBONE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STATE_LABELS,
)
from capa.capas.models import FishboneCategory
from capa.capas.policy import step_permission
from capa.capas.states import State, Step
from capa.changes import service as change_control
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.display import local_name
from capa.common.errors import Conflict, DomainError, ValidationError
from capa.http.downloads import send_stored
from capa.inspections import origins
from capa.inspections.origins import OriginKind
from capa.masterdata import service as masterdata
from capa.safety import service as safety
from capa.suppliers import scars
from capa.web import exports
from capa.web.capas import evidence as evidence_pages
from capa.web.capas.conflicts import changed_meanwhile
from capa.web.capas.forms import (
    ActionForm,
    CancelForm,
    CloseForm,
    CompleteActionForm,
    ContainForm,
    DefectTypeForm,
    EditForm,
    FileForm,
    PhotoForm,
    RaiseNCForm,
    ReleaseForm,
    ReviewForm,
    RootCauseForm,
    TestForm,
    hold_entries,
    quantities_beside_hold,
)
from capa.web.capas.timeline import timeline
from capa.web.exports import Column
from capa.web.forms import command_from, handle_form, options, record_options, show_errors
from capa.web.photos import kept_tokens, photo_input, uploads

bp = Blueprint("capas", __name__)


@bp.app_context_processor
def labels():
    return {
        "state_labels": STATE_LABELS,
        "source_labels": SOURCE_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "action_kind_labels": ACTION_KIND_LABELS,
        "fishbone_labels": FISHBONE_LABELS,
        "event_labels": EVENT_LABELS,
        "field_labels": FIELD_LABELS,
        "photo_input": photo_input,
        **evidence_pages.template_helpers(),
    }


def _parameter_options():
    return [(p.code, f"{p.code} · {local_name(p)}") for p in safety.list_parameters()]


# Filing ----------------------------------------------------------------------------------------------------


def _offer_filing_choices(form: FileForm) -> None:
    form.defect_type.choices = options(
        {t.code: local_name(t) for t in lookup.list_defect_types(active_only=True)}, blank=True
    )
    form.line.choices = record_options(masterdata.list_lines())
    form.style.choices = record_options(masterdata.style_choices())
    form.parameters.choices = options(dict(_parameter_options()))


@bp.route("/nc/new", methods=["GET", "POST"])
@requires(step_permission(Step.FILE))
def file_nc():
    form = FileForm()
    _offer_filing_choices(form)
    chosen = uploads(form.photos) if form.is_submitted() else []
    # Photos of a refused filing, kept so that the form shown again offers them without choosing them again.
    kept: list[pending_photos.PendingPhoto] = []

    key = form.idempotency_key.data or None
    #: The NC this form's key filed before, when the form comes back changed.
    already_filed: list[str] = []

    def save():
        pending_photos.discard(request.form.getlist("remove_photo"), current_user)
        try:
            earlier = pending_photos.load(kept_tokens(), current_user)
        except ValidationError:
            # Kept photos go with the NC they are filed with: gone under a key that filed already, this is the
            # same form sent again (a double tap), and it files nothing.
            resent = filing.filed_with(current_user, key) if key else None
            if resent is None:
                raise
            return filing.Filed(resent, replayed=True)
        # No parameter chosen: the defect type's usual ones.
        command = command_from(
            form,
            FileNC,
            parameters=form.parameters.data or None,
            photos=[*earlier, *chosen],
        )
        try:
            filed = filing.file_nc_once(command, current_user, key)
        except IdempotencyKeyReused as refusal:
            # Sent, then changed and sent again (Back, edit, send): the changes are kept and may be filed as
            # another NC, under a new key.
            already_filed.append(refusal.number)
            form.idempotency_key.data = filing.new_filing_key()
            raise Conflict(
                _(
                    "This form was filed already, as %(number)s; nothing new was filed. Send it again to file "
                    "it as another non-conformance.",
                    number=refusal.number,
                )
            ) from None
        pending_photos.discard(kept_tokens(), current_user)
        return filed

    def keep_photos():
        if form.is_submitted():
            kept.extend(pending_photos.keep_after_refusal(kept_tokens(), chosen, current_user))

    def show_again():
        keep_photos()
        if form.idempotency_key.errors:
            # A garbled key (this page never sends one): said above the form, which comes back with a good one.
            form.form_errors.extend(form.idempotency_key.errors)
            form.idempotency_key.data = filing.new_filing_key()

    return handle_form(
        form,
        save,
        success=_filed_answer,
        message=_filed_message,
        template="capas/file.html",
        before_render=show_again,
        kept_photos=kept,
        already_filed=already_filed,
    )


def _filed_message(filed: filing.Filed) -> str:
    if filed.replayed:
        return _(
            "Already filed as %(number)s: this form was sent before; nothing new was filed.", number=filed.nc.number
        )
    return _("%(number)s filed.", number=filed.nc.number)


def _filed_answer(filed: filing.Filed):
    """Where a filing leads: the NC's page; a script sending the form (the phone's outbox, asking for JSON) gets
    the NC's number and address instead, and goes there itself."""
    url = url_for(".nc", number=filed.nc.number)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) != "application/json":
        return url
    answer = jsonify(number=filed.nc.number, url=url, replayed=filed.replayed)
    answer.status_code = 200 if filed.replayed else 201
    return answer


@bp.route("/nc/new/photos/<token>")
@requires(step_permission(Step.FILE))
def pending_photo(token: str):
    """A photo kept from a refused filing form, shown as its thumbnail; only to the user who sent it."""
    kept = pending_photos.find(token, current_user)
    response = send_stored(pending_photos.open_kept(kept), mimetype=kept.content_type, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    return response


# The NC page and its steps ---------------------------------------------------------------------------------


#: The step each form of the NC page takes, and how a fresh one is made: the page makes the form of a step only
#: when the user may take that step now (capa.capas.policy), so that a closed NC, or a reader who may take no
#: step, costs no form, no choices and no query for them.
STEP_FORMS = {
    "edit": (Step.EDIT, lambda nc: EditForm(obj=nc, formdata=None)),
    "contain": (Step.CONTAIN, lambda nc: ContainForm(formdata=None, description=nc.containment)),
    "root_cause": (Step.SUBMIT_ROOT_CAUSE, lambda nc: RootCauseForm(formdata=None, **_from_previous_round(nc))),
    "review": (Step.REVIEW, lambda nc: ReviewForm(formdata=None)),
    "action": (Step.ADD_ACTION, lambda nc: ActionForm(formdata=None)),
    "test": (Step.RECORD_TEST, lambda nc: TestForm(formdata=None)),
    "close": (Step.CLOSE, lambda nc: CloseForm(formdata=None)),
    "cancel": (Step.CANCEL, lambda nc: CancelForm(formdata=None)),
    "photos": (Step.ADD_PHOTO, lambda nc: PhotoForm(formdata=None)),
}


def _step_forms(nc, may, submitted: dict | None = None) -> dict:
    """A fresh form for each step the user may take now (``may(step)``: the policy's answer), or the submitted
    one (with its errors) for the step that was refused; none for the other steps, which the page does not
    offer."""
    submitted = submitted or {}
    forms = {name: make(nc) for name, (step, make) in STEP_FORMS.items() if name not in submitted and may(step)}
    forms.update(submitted)
    for name, form in forms.items():
        if "version" in form and not form.version.data:
            form.version.data = str(nc.version)
        # The step forms share field names (description, category, version…) on one page: each field gets an
        # id of its own, else a label names the first field of that id and the others have no label at all.
        for f in form:
            f.id = f.label.field_id = f"{name}-{f.name}"
    if "edit" in forms:
        forms["edit"].parameters.choices = options(dict(_parameter_options()))
        if "edit" not in submitted:
            forms["edit"].parameters.data = [p.code for p in nc.parameters]
    if "action" in forms:
        forms["action"].owner.choices = options(
            {u.username: u.username for u in accounts.list_users() if u.active and u.role in STAFF}, blank=True
        )
    if "test" in forms:
        forms["test"].parameter.choices = options({p.code: f"{p.code} · {local_name(p)}" for p in nc.parameters})
    return forms


def _from_previous_round(nc) -> dict:
    """The root-cause form's fields filled from the latest round, which the next one starts from."""
    previous = rounds.latest_round(nc)
    if previous is None:
        return {}
    whys = {f"why{n}": why for n, why in enumerate(previous.whys[:5], start=1)}
    causes = {category: "\n".join(found) for category, found in (previous.fishbone or {}).items()}
    return {**whys, **causes, "category": previous.category, "statement": previous.statement}


#: The NC page's section of each step form and inline form, so that a refused one is shown unfolded.
FORM_SECTIONS = {
    "edit": "d2",
    "photos": "d2",
    "contain": "d3",
    "release": "d3",
    "dispose": "d3",
    "reinspect": "d3",
    "root_cause": "d4",
    "review": "d4",
    "action": "d5",
    "evidence": "d5",
    "test": "d6",
    "close": "d8",
    "cancel": "d8",
}


def _render_nc(nc, submitted: dict | None = None, status: int = 200, kept: dict | None = None):
    tests = queries.tests_of(nc)
    latest = safety.latest_of(tests)
    ahead = progress.next_step(nc, latest)
    # This person's to take: the step itself, or (for actions) an open action they own.
    mine = ahead is not None and (
        policy.can(current_user, ahead.step, nc)
        or any(policy.can(current_user, ahead.step, nc, action=action) for action in nc.actions)
    )
    refused = {FORM_SECTIONS[name] for name in (*(submitted or {}), *(kept or {})) if name in FORM_SECTIONS}

    def can_step(step, action=None) -> bool:
        return policy.can(current_user, Step(step), nc, action=action)

    return render_template(
        "capas/nc.html",
        nc=nc,
        kept=kept or {},
        ahead=ahead,
        mine=mine,
        unfolded=refused | ({ahead.discipline} if ahead else {"d2", "d3", "d4", "d5", "d6", "d8"}),
        forms=_step_forms(nc, can_step, submitted),
        can_step=can_step,
        tests=tests,
        latest_tests=latest,
        gates=gates.unmet_gates(nc, nc.effectiveness or None) if nc.status == State.VERIFICATION else [],
        analysis_approved=gates.approved_analysis(nc),
        rejudged=queries.rejudged_failures(nc),
        returned=rounds.returned_round(nc),
        failed_retest=rounds.failing_retest(nc, tests),
        tampered=history.tampering(nc),
        timeline=timeline(nc.events),
        scar_requests=scars.requests_by_action(nc.actions),
        change_requests=change_control.changes_of_nc(nc),
        origin=origin_link(origins.origin_of(nc)),
    ), status


#: How the NC page names the floor record that raised an NC.
ORIGIN_LABELS = {
    OriginKind.FINAL_INSPECTION: _l("Raised by final inspection #%(id)s"),
    OriginKind.FABRIC_INSPECTION: _l("Raised by fabric inspection #%(id)s"),
    OriginKind.SHIFT_ALERT: _l("Raised by the line checks of the %(shift)s shift of %(day)s"),
    OriginKind.NEEDLE_BREAK: _l("Raised by broken needle #%(id)s"),
    OriginKind.METAL_DETECTION: _l("Raised by metal detection #%(id)s"),
}


def origin_link(origin: origins.Origin | None) -> tuple[str, str] | None:
    """(what the NC page says raised the NC, where that record is shown), or None for an NC filed by hand."""
    if origin is None:
        return None
    text = str(ORIGIN_LABELS[origin.kind] % {"id": origin.record_id, "shift": origin.shift, "day": origin.day})
    match origin.kind:
        case OriginKind.FINAL_INSPECTION:
            url = url_for("inspections.inspection", inspection_id=origin.record_id)
        case OriginKind.FABRIC_INSPECTION:
            url = url_for("fabric.fabric_inspection", inspection_id=origin.record_id)
        case OriginKind.SHIFT_ALERT:
            url = url_for("line_checks.line_checks_board", day=origin.day.isoformat(), shift=origin.shift)
        case _:
            url = url_for("needles.needle_control", day=origin.day.isoformat(), shift=origin.shift)
    return text, url


@bp.post("/results/<int:result_id>/raise-nc")
@requires(step_permission(Step.FILE))
def raise_nc(result_id: int):
    """Raise an NC from a failing result (the batch page's form): to the new NC's page, or back to the batch
    page with the reason it was refused."""
    result = raising.get_result(result_id)
    back = url_for("masterdata.batch", number=result.batch.number) if result.batch else url_for(".nc_list")
    form = RaiseNCForm()
    if not form.validate_on_submit():
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
        return redirect(back)
    try:
        nc = raising.raise_nc_from_result(
            result,
            command_from(form, RaiseNC, hold=form.hold.data or None, defect_type=form.defect_type.data or None),
            current_user,
        )
    except DomainError as exc:
        flash(" ".join(exc.fields.values()) if exc.fields else exc.message, "error")
        return redirect(back)
    flash(_("%(number)s raised from the failing result.", number=nc.number), "success")
    return redirect(url_for(".nc", number=nc.number))


@bp.route("/nc/<number>")
@requires(Permission.VIEW)
def nc(number: str):
    return _render_nc(lookup.get_nc(number, *lookup.PAGE_RECORD))


def _take_step(number: str, name: str, form_class, build, *, success_message: str, refused=None):
    """Validate the step's form, call the service through ``build(nc, form)``, then back to the NC page; on
    refusal, the NC page again with this form's input and errors, and the reason on top of the page (the
    form may not be shown at all in the NC's state, or to this role). ``refused(form, error)``, when given, is
    called before the refused form is shown again (to keep the files it sent; ``error`` None when the form's own
    checks refused it)."""
    nc = lookup.get_nc(number)
    form = form_class()
    if form.validate_on_submit():
        try:
            build(nc, form)
        except DomainError as exc:
            show_errors(form, exc)
            if isinstance(exc, StaleVersion):
                # What the other person changed, above the form that keeps what this person typed; sent again,
                # the form is a save on the version now shown.
                form.form_errors.extend(changed_meanwhile(exc))
                if "version" in form:
                    form.version.data = str(exc.extra.get("current_version") or nc.version)
            flash(exc.message, "error")
            if refused is not None:
                refused(form, exc)
            return _render_nc(nc, {name: form}, status=exc.status)
        flash(success_message, "success")
        return redirect(url_for(".nc", number=nc.number))
    if refused is not None:
        refused(form)
    return _render_nc(nc, {name: form}, status=400)


@bp.post("/nc/<number>/edit")
@requires(step_permission(Step.EDIT))
def edit(number: str):
    return _take_step(
        number,
        "edit",
        EditForm,
        lambda nc, f: filing.edit_nc(nc, command_from(f, EditNC), current_user),
        success_message=_("Saved."),
    )


@bp.post("/nc/<number>/contain")
@requires(step_permission(Step.CONTAIN))
def contain(number: str):
    return _take_step(
        number,
        "contain",
        ContainForm,
        _contain,
        success_message=_("Containment recorded."),
    )


def _contain(nc, f):
    """Containment from its form: the hold field's entries, each a number with perhaps its quantity
    (``B-2026-001 1200``); a problem with a quantity is said beside that field."""
    numbers, quantities = hold_entries(f.hold.data)
    try:
        return steps.contain(nc, command_from(f, Contain, hold=numbers, quantities=quantities), current_user)
    except DomainError as error:
        raise quantities_beside_hold(error) from None


@bp.post("/nc/<number>/holds/<int:hold_id>/release")
@requires(step_permission(Step.RELEASE_HOLD))
def release(number: str, hold_id: int):
    nc = lookup.get_nc(number)
    form = ReleaseForm()
    return _inline_step(
        nc,
        lambda: steps.release_hold(nc, hold_id, command_from(form, ReleaseHold), current_user),
        _("Hold released."),
        kept={"release": {hold_id: form.reason.data or ""}},
    )


def _inline_step(nc, step, success_message: str, *, kept: dict):
    """A step taken from a one-field form inside a list (complete an action, release a hold): on refusal the
    NC page again, its status the refusal's, the reason on top and the typed text kept in its field."""
    try:
        step()
    except DomainError as exc:
        flash(exc.message if not exc.fields else " ".join(exc.fields.values()), "error")
        if isinstance(exc, StaleVersion):
            for change in changed_meanwhile(exc):
                flash(change, "error")
        return _render_nc(nc, status=exc.status, kept=kept)
    flash(success_message, "success")
    return redirect(url_for(".nc", number=nc.number))


@bp.post("/nc/<number>/root-cause")
@requires(step_permission(Step.SUBMIT_ROOT_CAUSE))
def root_cause(number: str):
    def build(nc, f):
        command = command_from(
            f,
            RootCause,
            whys=[w for w in (f.why1.data, f.why2.data, f.why3.data, f.why4.data, f.why5.data) if w and w.strip()],
            fishbone={
                category.value: [line.strip() for line in (f[category.value].data or "").splitlines() if line.strip()]
                for category in FishboneCategory
            },
        )
        return steps.submit_root_cause(nc, command, current_user)

    return _take_step(number, "root_cause", RootCauseForm, build, success_message=_("Root cause submitted for review."))


@bp.post("/nc/<number>/review")
@requires(step_permission(Step.REVIEW))
def review(number: str):
    return _take_step(
        number,
        "review",
        ReviewForm,
        lambda nc, f: steps.review(nc, command_from(f, Review), current_user),
        success_message=_("Review recorded."),
    )


@bp.post("/nc/<number>/actions")
@requires(step_permission(Step.ADD_ACTION))
def add_action(number: str):
    return _take_step(
        number,
        "action",
        ActionForm,
        lambda nc, f: steps.add_action(nc, command_from(f, NewAction), current_user),
        success_message=_("Action added."),
    )


@bp.post("/actions/<int:action_id>/complete")
@requires(step_permission(Step.COMPLETE_ACTION))
def complete_action(action_id: int):
    """Complete an action with its evidence, what its kind requires, and its files (multipart); refused, the
    NC page again with this action's form as typed, its errors, and the files it sent kept."""
    action = lookup.get_action(action_id)
    form = CompleteActionForm()
    sent = evidence_pages.EvidenceRound()

    def step():
        try:
            steps.complete_action(action, command_from(form, CompleteAction, files=sent.files()), current_user)
        except DomainError as exc:
            show_errors(form, exc)
            sent.refused(form, exc)
            raise
        sent.taken()

    return _inline_step(action.nc, step, _("Action done."), kept={"evidence": {action_id: form}})


@bp.post("/nc/<number>/tests")
@requires(step_permission(Step.RECORD_TEST))
def record_test(number: str):
    return _take_step(
        number,
        "test",
        TestForm,
        lambda nc, f: steps.record_test(nc, command_from(f, Retest), current_user),
        success_message=_("Retest recorded."),
    )


@bp.post("/nc/<number>/close")
@requires(step_permission(Step.CLOSE))
def close(number: str):
    sent = evidence_pages.EvidenceRound()

    def build(nc, form):
        steps.close(nc, command_from(form, Close, files=sent.files()), current_user)
        sent.taken()

    return _take_step(number, "close", CloseForm, build, success_message=_("CAPA closed."), refused=sent.refused)


@bp.post("/nc/<number>/cancel")
@requires(step_permission(Step.CANCEL))
def cancel(number: str):
    return _take_step(
        number,
        "cancel",
        CancelForm,
        lambda nc, f: steps.cancel(nc, command_from(f, Cancel), current_user),
        success_message=_("Cancelled."),
    )


@bp.post("/nc/<number>/photos")
@requires(step_permission(Step.ADD_PHOTO))
def add_photos(number: str):
    return _take_step(
        number,
        "photos",
        PhotoForm,
        lambda nc, f: photos.add_photos(nc, uploads(f.photos), current_user),
        success_message=_("Photos added."),
    )


@bp.route("/nc/<number>/photos/<int:photo_id>")
@requires(Permission.VIEW)
def photo(number: str, photo_id: int):
    nc = lookup.get_nc(number)
    stored = photos.get_photo(nc, photo_id)
    response = send_stored(photos.open_photo(stored), mimetype=stored.content_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/nc/<number>/attachments/<int:attachment_id>")
@requires(Permission.VIEW)
def attachment(number: str, attachment_id: int):
    """An evidence file of the NC (capa.capas.evidence): a photo shown in place, another file downloaded."""
    return evidence_pages.download(evidence.get_attachment(attachment_id, lookup.get_nc(number)))


# Lists and exports -----------------------------------------------------------------------------------------


YES, NO = _l("yes"), _l("no")


def _yes_no(flag: bool) -> LazyString:
    # Lazy: a download translates each once (capa.web.exports), not once per row.
    return YES if flag else NO


#: The columns of the NC list's CSV and XLSX downloads, read from its rows (capa.capas.queries.ExportedNC).
EXPORT_COLUMNS = [
    Column(_l("Number"), lambda nc: nc.number),
    Column(_l("State"), lambda nc: STATE_LABELS[nc.status]),
    Column(_l("Reported at"), lambda nc: nc.reported_at),
    Column(_l("Title"), lambda nc: nc.title),
    Column(_l("Defect type"), lambda nc: local_name(nc.defect_type)),
    Column(_l("Found at"), lambda nc: SOURCE_LABELS[nc.source]),
    Column(_l("Severity"), lambda nc: SEVERITY_LABELS[nc.severity]),
    Column(_l("Line"), lambda nc: nc.line),
    Column(_l("Style"), lambda nc: nc.style or ""),
    Column(_l("Batch"), lambda nc: nc.batch or ""),
    Column(_l("Category"), lambda nc: nc.category or ""),
    Column(_l("Quantity affected"), lambda nc: nc.quantity_affected),
    Column(_l("Safety parameters"), lambda nc: " ".join(nc.parameters)),
    Column(_l("Safety-critical"), lambda nc: _yes_no(nc.safety_critical)),
    Column(_l("Recurrence of"), lambda nc: nc.recurrence_of or ""),
    Column(_l("Overdue actions"), lambda nc: nc.overdue_actions),
    Column(_l("Closed at"), lambda nc: nc.closed_at),
]


@bp.route("/nc")
@requires(Permission.VIEW)
def nc_list():
    export = request.args.get("format")
    # The filters alone: what export links and the pager carry on.
    # Only the known filters: an unknown key (``endpoint=x``) is refused by the search, never echoed into links.
    # The page goes by page number: an API ``cursor`` in its address is left aside.
    known = NCFilters.model_fields.keys() - {"page", "per_page", "cursor"}
    filters = {k: v for k, v in request.args.items() if k in known and v}
    try:
        # Checks every filter before any export starts.
        command = parse(NCFilters, {k: v for k, v in request.args.items() if k not in ("format", "cursor") and v})
        errors = {}
    except ValidationError as exc:
        command, errors = NCFilters(), exc.fields
    if export in ("csv", "xlsx") and not errors:
        name = f"nonconformances-{plant_today().isoformat()}.{export}"
        rows = queries.exported(command, current_app.config["CAPA_EXPORT_CHUNK"])
        sheet = exports.table(str(_("Non-conformances")), rows, EXPORT_COLUMNS)
        return exports.csv_download(name, sheet) if export == "csv" else exports.xlsx_download(name, [sheet])
    return render_template(
        "capas/list.html",
        # Counted up to a limit: "more than 10,000" rather than a count of a million rows on every request.
        page=paging.list_page(command, count_up_to=current_app.config["CAPA_EXACT_COUNT_LIMIT"]),
        args=request.args,
        filters=filters,
        errors=errors,
        choices=queries.filter_choices(),
    ), 400 if errors else 200


# Defect types ----------------------------------------------------------------------------------------------


@bp.route("/defect-types")
@requires(Permission.VIEW)
def defect_types():
    return render_template("capas/defect_types.html", defect_types=lookup.list_defect_types())


@bp.route("/defect-types/new", methods=["GET", "POST"])
@bp.route("/defect-types/<code>", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def defect_type(code: str | None = None):
    existing = defect_type_service.get_defect_type(code) if code else None
    form = DefectTypeForm(obj=existing)
    form.parameters.choices = options(dict(_parameter_options()))
    if existing is not None and not form.is_submitted():
        form.parameters.data = [p.code for p in existing.parameters]
        form.active.data = "yes" if existing.active else "no"
    return handle_form(
        form,
        lambda: defect_type_service.save_defect_type(
            existing,
            command_from(
                form,
                NewDefectType if existing is None else DefectTypeChanges,
                active=form.active.data == "yes",
                parameters=form.parameters.data or [],
            ),
            current_user,
        ),
        success=lambda _t: url_for(".defect_types"),
        message=lambda t: _("Defect type %(name)s saved.", name=local_name(t)),
        template="capas/defect_type_form.html",
        record=existing,
        changes=records.history_of("defect_type", existing.id) if existing is not None else [],
        tampered=records.tampering("defect_type", existing.id) if existing is not None else None,
    )
