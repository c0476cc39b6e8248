"""Pages of change control: the list, raising a change, a change's page with its impact, conditions and decisions."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.capas import lookup
from capa.changes import service
from capa.changes.commands import ChangeFilters, MeetCondition, NcLink, NewChange, NewCondition, Rejection
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.masterdata import service as masterdata
from capa.web.changes.forms import (
    CONDITION_LABELS,
    STATUS_LABELS,
    SUBJECT_LABELS,
    ChangeForm,
    ConditionForm,
    LinkForm,
    MeetForm,
    RejectForm,
)
from capa.web.forms import command_from, record_options, show_errors

bp = Blueprint("changes", __name__)


@bp.app_context_processor
def labels():
    return {
        "change_subject_labels": SUBJECT_LABELS,
        "change_status_labels": STATUS_LABELS,
        "condition_labels": CONDITION_LABELS,
    }


@bp.route("/changes")
@requires(Permission.VIEW)
def change_list():
    return render_template("changes/list.html", changes=service.list_changes(parse(ChangeFilters, {})))


def _choices(form: ChangeForm) -> None:
    form.supplier.choices = record_options(masterdata.list_suppliers())
    form.line.choices = record_options(masterdata.list_lines())
    form.styles.choices = record_options(masterdata.list_styles())[1:]


@bp.route("/changes/new", methods=["GET", "POST"])
@requires(Permission.FILE_NC)
def change_new():
    form = ChangeForm()
    _choices(form)
    status = 200
    wanted = request.args.get("action", "")
    if request.method == "GET" and wanted.isascii() and wanted.isdigit() and len(wanted) <= 9:
        # Raised from a CAPA action: its NC is linked.
        action = lookup.get_action(int(wanted))
        form.action.data = str(action.id)
        form.ncs.data = action.nc.number
    if form.validate_on_submit():
        numbers = [part.strip() for part in (form.ncs.data or "").split(",") if part.strip()]
        try:
            command = command_from(form, NewChange, exclude={"ncs"}, ncs=numbers)
            change = service.raise_change(command, current_user)
        except DomainError as error:
            show_errors(form, error.renamed({f"ncs[{i}]": "ncs" for i in range(len(numbers))}))
        else:
            flash(_("%(number)s is raised.", number=change.number), "success")
            return redirect(url_for(".change", change_id=change.id))
        status = 400
    return render_template("changes/new.html", form=form), status


def _page(change, status: int = 200, **forms):
    condition_form = forms.get("condition_form") or ConditionForm(formdata=None, prefix="condition")
    condition_form.buyer.choices = record_options(masterdata.list_buyers())
    return (
        render_template(
            "changes/change.html",
            change=change,
            impact=service.impact(change),
            condition_form=condition_form,
            meet_forms=forms.get("meet_forms", {}),
            reject_form=forms.get("reject_form") or RejectForm(formdata=None, prefix="reject"),
            link_form=forms.get("link_form") or LinkForm(formdata=None, prefix="link"),
            fresh_meet_form=lambda condition: MeetForm(formdata=None, prefix=f"meet-{condition.id}"),
        ),
        status,
    )


@bp.route("/changes/<int:change_id>")
@requires(Permission.VIEW)
def change(change_id: int):
    return _page(service.get_change(change_id))


def _decide(change, form, act, message: str, **page_forms):
    """Validate ``form``, take the decision ``act(form)``, and go back to the change's page; refused, the page with
    the form's errors in place."""
    if form.validate_on_submit():
        try:
            act(form)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(message, "success")
            return redirect(url_for(".change", change_id=change.id))
    flash(_("Please correct the fields marked."), "error")
    return _page(change, 400, **page_forms)


@bp.post("/changes/<int:change_id>/conditions")
@requires(Permission.MAINTAIN_CATALOG)
def add_condition(change_id: int):
    change = service.get_change(change_id)
    form = ConditionForm(prefix="condition")
    form.buyer.choices = record_options(masterdata.list_buyers())
    return _decide(
        change,
        form,
        lambda f: service.add_condition(change, command_from(f, NewCondition), current_user),
        _("The condition is added."),
        condition_form=form,
    )


@bp.post("/changes/<int:change_id>/approval")
@requires(Permission.MAINTAIN_CATALOG)
def approve(change_id: int):
    change = service.get_change(change_id)
    try:
        service.approve(change, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return _page(change, 409)
    flash(_("%(number)s is approved.", number=change.number), "success")
    return redirect(url_for(".change", change_id=change.id))


@bp.post("/changes/<int:change_id>/rejection")
@requires(Permission.MAINTAIN_CATALOG)
def reject(change_id: int):
    change = service.get_change(change_id)
    form = RejectForm(prefix="reject")
    return _decide(
        change,
        form,
        lambda f: service.reject(change, command_from(f, Rejection), current_user),
        _("%(number)s is rejected.", number=change.number),
        reject_form=form,
    )


@bp.post("/changes/<int:change_id>/conditions/<int:condition_id>/met")
@requires(Permission.MAINTAIN_CATALOG)
def meet(change_id: int, condition_id: int):
    change = service.get_change(change_id)
    condition = service.get_condition(change, condition_id)
    form = MeetForm(prefix=f"meet-{condition.id}")

    def act(f):
        values = {name: f[name].data or None for name in ("result", "inspection", "reference")}
        service.meet_condition(change, condition, parse(MeetCondition, values), current_user)

    return _decide(change, form, act, _("The condition is met."), meet_forms={condition.id: form})


@bp.post("/changes/<int:change_id>/ncs")
@requires(Permission.MAINTAIN_CATALOG)
def link_nc(change_id: int):
    change = service.get_change(change_id)
    form = LinkForm(prefix="link")
    return _decide(
        change,
        form,
        lambda f: service.link_nc(change, command_from(f, NcLink), current_user),
        _("The NC is linked."),
        link_form=form,
    )
