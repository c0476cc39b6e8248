"""Pages of supplier corrective action requests: the list and a request's page for the factory's people and for a
supplier's accounts (each sees what :mod:`capa.suppliers.scars` lets it see), sending a SCAR action to its
supplier, a supplier's answer and a quality manager's review of it."""

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from capa.accounts.models import Role
from capa.accounts.permissions import Permission, requires
from capa.capas import lookup, photos
from capa.capas.attribution import charged_lots
from capa.capas.models import NonConformance
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.common.files import open_stored
from capa.extensions import db
from capa.http.downloads import send_private_download, send_stored
from capa.masterdata import service as masterdata
from capa.masterdata.models import MaterialLot, Supplier
from capa.suppliers import scars
from capa.suppliers.accounts import supplier_of
from capa.suppliers.commands import NewScarRequest, ScarAnswerCommand, ScarFilters, ScarReview
from capa.suppliers.models import ScarStatus
from capa.web.capas.evidence import EvidenceRound
from capa.web.forms import command_from, show_errors
from capa.web.scars.forms import DECISION_LABELS, STATUS_LABELS, AnswerForm, ReviewForm, SendForm

bp = Blueprint("scars", __name__)

#: The days a request gives by default: the containment within 2 days, the root cause and actions within 14.
CONTAINMENT_DAYS = 2
ANSWER_DAYS = 14


@bp.app_context_processor
def labels():
    return {"scar_status_labels": STATUS_LABELS, "scar_decision_labels": DECISION_LABELS}


@bp.route("/scars")
@requires(Permission.READ_SCARS)
def scar_list():
    filters = parse(ScarFilters, {"status": request.args.get("status") or None})
    return render_template(
        "scars/list.html",
        requests=scars.list_requests(current_user, filters),
        supplier=supplier_of(current_user),
        today=plant_today(),
    )


def _page(found, *, answer_form=None, review_form=None, kept_files=None, status: int = 200):
    if answer_form is None:
        answer_form = AnswerForm(formdata=None)
    if review_form is None:
        review_form = ReviewForm(formdata=None)
    answer_form.kept_files = kept_files or getattr(answer_form, "kept_files", [])
    return (
        render_template(
            "scars/request.html",
            scar=found,
            nc=found.action.nc,
            results=scars.shared_results(found),
            changes_opened=scars.changes_opened(found),
            late=scars.is_late(found),
            answer_form=answer_form,
            review_form=review_form,
            is_supplier=current_user.role == Role.SUPPLIER,
        ),
        status,
    )


@bp.route("/scars/<int:request_id>")
@requires(Permission.READ_SCARS)
def scar(request_id: int):
    return _page(scars.get_request(request_id, current_user))


@bp.post("/scars/<int:request_id>/answer")
@requires(Permission.ANSWER_SCARS)
def answer(request_id: int):
    found = scars.get_request(request_id, current_user)
    form = AnswerForm()
    files = EvidenceRound()
    refusal = None
    if form.validate_on_submit():
        try:
            command = command_from(form, ScarAnswerCommand, whys=form.whys)
            scars.answer(found, command, files.files(), current_user)
        except DomainError as error:
            # The Whys are the form's five lines: a problem with them shows beside the line it is about.
            refusal = error.renamed({"whys": "why1", **{f"whys[{i}]": f"why{i + 1}" for i in range(5)}})
            show_errors(form, refusal)
        else:
            files.taken()
            flash(_("Your answer is sent: the factory's quality manager reviews it."), "success")
            return redirect(url_for(".scar", request_id=found.id))
    files.refused(form, refusal)
    flash(_("Please correct the fields marked."), "error")
    return _page(found, answer_form=form, status=400)


@bp.post("/scars/<int:request_id>/answers/<int:round_number>/review")
@requires(Permission.MAINTAIN_CATALOG)
def review(request_id: int, round_number: int):
    found = scars.get_request(request_id, current_user)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            scars.review(found, round_number, command_from(form, ScarReview), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            accepted = found.status == ScarStatus.ACCEPTED
            flash(_("The answer is accepted.") if accepted else _("The answer is returned to the supplier."), "success")
            return redirect(url_for(".scar", request_id=found.id))
    flash(_("Please correct the fields marked."), "error")
    return _page(found, review_form=form, status=400)


@bp.route("/scars/<int:request_id>/photos/<int:photo_id>")
@requires(Permission.READ_SCARS)
def photo(request_id: int, photo_id: int):
    shared = scars.shared_photo(scars.get_request(request_id, current_user), photo_id)
    response = send_stored(photos.open_photo(shared), mimetype=shared.content_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    return response


@bp.route("/scars/<int:request_id>/files/<int:file_id>")
@requires(Permission.READ_SCARS)
def file(request_id: int, file_id: int):
    found = scars.get_file(scars.get_request(request_id, current_user), file_id)
    return send_private_download(
        open_stored(found.key), mimetype=found.content_type, download_name=found.original_name or "evidence"
    )


def _charged_suppliers(nc: NonConformance) -> list[str]:
    """The codes of the suppliers the NC is charged to (capa.capas.attribution): offered first."""
    charged = charged_lots(NonConformance.id == nc.id)
    query = (
        select(Supplier.code)
        .join(MaterialLot, MaterialLot.supplier_id == Supplier.id)
        .join(charged, charged.c.lot_id == MaterialLot.id)
        .distinct()
        .order_by(Supplier.code)
    )
    return list(db.session.scalars(query))


@bp.route("/scars/send/<int:action_id>", methods=["GET", "POST"])
@requires(Permission.MAINTAIN_CATALOG)
def send(action_id: int):
    action = lookup.get_action(action_id)
    form = SendForm()
    charged = _charged_suppliers(action.nc)
    others = [supplier.code for supplier in masterdata.list_suppliers() if supplier.code not in charged]
    form.supplier.choices = [SelectChoice(code, code) for code in [*charged, *others]]
    if request.method == "GET":
        today = plant_today()
        form.containment_due.data = (today + timedelta(days=CONTAINMENT_DAYS)).isoformat()
        form.answer_due.data = max(action.due_date, today + timedelta(days=ANSWER_DAYS)).isoformat()
    status = 200
    if form.validate_on_submit():
        try:
            sent = scars.send(action, command_from(form, NewScarRequest), current_user)
        except DomainError as error:
            show_errors(form, error)
        else:
            flash(_("%(number)s is sent to %(supplier)s.", number=sent.number, supplier=sent.supplier.code), "success")
            return redirect(url_for(".scar", request_id=sent.id))
    if request.method == "POST":
        flash(_("Please correct the fields marked."), "error")
        status = 400
    return render_template("scars/send.html", form=form, action=action, charged=charged), status
