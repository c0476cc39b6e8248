"""The form that raises the NC of a lot rejected at incoming inspection, with the lot on hold, on the page of a
fabric inspection and of an inspection by attributes (the rules: :mod:`capa.inspections.lot_ncs`)."""

from collections.abc import Callable

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.capas import lookup, policy
from capa.capas.states import Step
from capa.common.display import local_name
from capa.common.errors import DomainError
from capa.inspections import lot_ncs
from capa.masterdata import service as masterdata
from capa.web.forms import command_from, options, record_options, show_errors
from capa.web.inspections.forms import RaiseFabricNCForm


def nc_form_for(inspection, sent: RaiseFabricNCForm | None, default_defect_type: str | None = None):
    """The form offered on a rejected lot's inspection to one who may contain goods, while its NC is not raised:
    ``sent`` as it came back when refused, else a new one with the lot's line and ``default_defect_type``; None
    when nothing is offered."""
    if inspection.verdict != "rejected" or inspection.nc is not None or not policy.can(current_user, Step.CONTAIN):
        return None
    form = sent
    if form is None:
        form = RaiseFabricNCForm(formdata=None)
        form.line.data = lot_ncs.default_line(inspection.lot) or ""
        form.defect_type.data = default_defect_type or ""
    form.line.choices = record_options(masterdata.list_lines())
    form.defect_type.choices = options(
        {t.code: local_name(t) for t in lookup.list_defect_types(active_only=True)}, blank=default_defect_type is None
    )
    return form


def raise_from_page(inspection, raise_nc: Callable, command_type: type, page: Callable):
    """Raise the NC from the form sent: to the NC when raised, else ``page(inspection, form, 400)`` with the
    problems beside the fields."""
    form = RaiseFabricNCForm()
    if form.validate_on_submit():
        try:
            nc = raise_nc(inspection, command_from(form, command_type), current_user)
        except DomainError as error:
            show_errors(form, error)
            flash(error.message, "error")
        else:
            held = _("%(number)s raised; lot %(lot)s is on hold.", number=nc.number, lot=inspection.lot.number)
            flash(held, "success")
            return redirect(url_for("capas.nc", number=nc.number))
    return page(inspection, form, 400)
