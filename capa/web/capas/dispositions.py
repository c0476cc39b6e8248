"""The holds of the NC page's D3: each hold's dispositions, a quality manager's form to decide one, and the
re-inspection form of each rework waiting for it (the rules: :mod:`capa.capas.dispositions`).

Views on the ``capas`` blueprint. The disposition form proposes the results a release may rest on (the latest
passing results of the NC's parameters), ticked; its kind has no default: the quality manager chooses. A
refused form comes back on the NC page, unfolded, with what was typed and each problem beside its field.
"""

from dataclasses import dataclass, field

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from capa.accounts.permissions import requires
from capa.capas import dispositions, lookup, policy
from capa.capas.commands import Dispose, Reinspect
from capa.capas.labels import DISPOSITION_LABELS
from capa.capas.models import Disposition, Hold, NonConformance, Source
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.errors import DomainError
from capa.inspections import final
from capa.safety.models import LabResult
from capa.web.capas.forms import password_field
from capa.web.capas.views import _render_nc, bp
from capa.web.forms import command_from, options, show_errors
from capa.web.safety.views import explained


class DispositionForm(FlaskForm):
    version = HiddenField()
    # No default: the quality manager chooses; the service refuses a form sent without a kind, beside it.
    kind = SelectField(_l("Disposition"), choices=options(DISPOSITION_LABELS, blank=True), validate_choice=False)
    quantity = StringField(_l("Quantity (empty: all that remains)"))
    reason = TextAreaField(_l("Why"))
    evidence = TextAreaField(_l("Evidence it rests on"))
    results = SelectMultipleField(
        _l("Results it rests on"),
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    concession_buyer = StringField(_l("Buyer granting the concession"))
    concession_reference = StringField(_l("Reference of the concession"))
    password = password_field()


#: What the re-inspection form's choice means.
PASSED = {"yes": True, "no": False}


class ReinspectionForm(FlaskForm):
    version = HiddenField()
    passed = RadioField(
        _l("Re-inspection"), choices=options({"yes": _l("Passed"), "no": _l("Failed")}), validate_choice=False
    )
    note = TextAreaField(_l("What the re-inspection found (required when it failed)"))


@dataclass
class HoldView:
    """What D3 shows of one hold: how far its dispositions go, and the forms this person may send."""

    hold: Hold
    coverage: dispositions.Coverage
    #: The form deciding a disposition; None when the hold left quarantine or this person may not decide.
    dispose: DispositionForm | None = None
    #: The re-inspection form of each rework waiting for it, by the disposition's id.
    reinspect: dict[int, ReinspectionForm] = field(default_factory=dict)


def result_label(result: LabResult) -> str:
    """A result as a check box names it: parameter, value, verdict, date and report."""
    source = " ".join(part for part in (result.lab, result.report_number) if part)
    report = f" · {source}" if source else ""
    return f"{result.parameter.code} {result.value}: {explained(result)} · {result.tested_at.isoformat()}{report}"


def hold_views(nc: NonConformance, kept: dict | None = None) -> dict[int, HoldView]:
    """Each hold of ``nc`` as D3 shows it (by hold id): a fresh form for each decision this person may take, or
    the refused one kept with its input and errors. A few queries, whatever the number of holds."""
    kept = kept or {}
    holds = dispositions.load_holds(nc)
    may_decide = policy.can(current_user, Step.DISPOSE, nc)
    open_holds = [hold for hold in holds if hold.released_at is None]
    proposed = dispositions.proposed_evidence_for(nc, open_holds) if may_decide else {}
    views = {hold.id: HoldView(hold, dispositions.coverage(hold)) for hold in holds}
    if not may_decide:
        return views
    # A batch held by a rejected final inspection: its passing re-inspection is the evidence proposed.
    batch_held = any(hold.batch_id is not None for hold in open_holds)
    reinspected = final.passing_reinspections(nc) if batch_held and nc.source == Source.FINAL_AUDIT else []
    for hold in open_holds:
        form = kept.get("dispose", {}).get(hold.id)
        if form is None:
            form = DispositionForm(formdata=None)
            form.results.data = [str(result.id) for result in proposed[hold.id]]
            passed = [inspection for inspection in reinspected if inspection.batch_id == hold.batch_id]
            if passed:
                form.evidence.data = final.reinspection_evidence(passed[-1])
        form.results.choices = options({str(result.id): result_label(result) for result in proposed[hold.id]})
        views[hold.id].dispose = _named(form, f"dispose-{hold.id}", nc)
        for rework in views[hold.id].coverage.reworks:
            reinspection = kept.get("reinspect", {}).get(rework.id) or ReinspectionForm(formdata=None)
            views[hold.id].reinspect[rework.id] = _named(reinspection, f"reinspect-{rework.id}", nc)
    return views


def _named(form: FlaskForm, prefix: str, nc: NonConformance) -> FlaskForm:
    # Many of these forms share one page: each field gets an id of its own, so that each label names its field.
    if not form.version.data:
        form.version.data = str(nc.version)
    for f in form:
        f.id = f.label.field_id = f"{prefix}-{f.name}"
    return form


@bp.app_context_processor
def _disposition_context():
    return {"hold_views": hold_views, "disposition_labels": DISPOSITION_LABELS}


@bp.post("/nc/<number>/holds/<int:hold_id>/dispositions")
@requires(step_permission(Step.DISPOSE))
def dispose(number: str, hold_id: int):
    nc = lookup.get_nc(number)
    form = DispositionForm()

    def decide() -> None:
        command = command_from(form, Dispose, results=form.results.data or [])
        dispositions.dispose(nc, hold_id, command, current_user)

    return _decide(nc, form, decide, kept={"dispose": {hold_id: form}}, message=_("Disposition recorded."))


@bp.post("/dispositions/<int:disposition_id>/reinspection")
@requires(step_permission(Step.DISPOSE))
def reinspect(disposition_id: int):
    disposition: Disposition = dispositions.get_disposition(disposition_id)
    nc = disposition.hold.nc
    form = ReinspectionForm()

    def decide() -> None:
        passed = PASSED.get(form.passed.data or "")
        # Neither chosen: the command says the field is required, beside it.
        given = {} if passed is None else {"passed": passed}
        command = command_from(form, Reinspect, exclude=("passed",), **given)
        dispositions.reinspect(disposition_id, command, current_user)

    return _decide(nc, form, decide, kept={"reinspect": {disposition_id: form}}, message=_("Re-inspection recorded."))


def _decide(nc: NonConformance, form: FlaskForm, decide, *, kept: dict, message: str):
    """Take the decision; back to the NC page, or on refusal the NC page again with this form kept, its input
    and its errors beside the fields, and the reason on top."""
    if form.validate_on_submit():
        try:
            decide()
        except DomainError as exc:
            show_errors(form, exc)
            flash(exc.message, "error")
            return _render_nc(nc, status=exc.status, kept=kept)
        flash(message, "success")
        return redirect(url_for(".nc", number=nc.number))
    return _render_nc(nc, status=400, kept=kept)
