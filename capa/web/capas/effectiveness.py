"""The effectiveness review on a closed CAPA's page (its D8 section, ``templates/capas/_effectiveness.html``):
the review date, the evidence since closing above the quality manager's form, then the verdict and the
follow-up CAPA of a review that found it not effective.

The view parses the form, calls :func:`capa.capas.effectiveness.review_effectiveness` and goes back to the NC
page; a refused review shows the NC page again with what was typed and each problem beside its field.
"""

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField

from capa.accounts.permissions import requires
from capa.capas import effectiveness
from capa.capas.commands import EffectivenessReview
from capa.capas.labels import EFFECTIVENESS_VERDICT_LABELS
from capa.capas.models import EffectivenessVerdict, NonConformance
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.common.clock import plant_today
from capa.web.capas.forms import password_field
from capa.web.capas.views import _take_step, bp
from capa.web.forms import command_from, options

#: The name of the review's form among the NC page's step forms (its fields' ids start with it).
FORM = "effectiveness"
RECURRED = {"yes": True, "no": False}


class EffectivenessForm(FlaskForm):
    """The review: no verdict is chosen beforehand, the reviewer decides."""

    version = HiddenField()
    verdict = RadioField(_l("Verdict"), choices=options(EFFECTIVENESS_VERDICT_LABELS), validate_choice=False)
    recurred = RadioField(
        _l("Did the problem recur since closing?"),
        choices=options({"yes": _l("yes"), "no": _l("no")}),
        validate_choice=False,
    )
    note = TextAreaField(_l("What the review found"))
    password = password_field()


def _fresh_form(nc: NonConformance) -> EffectivenessForm:
    """An empty review form for ``nc`` carrying its version, its ids prefixed as the page's other step forms'."""
    form = EffectivenessForm(formdata=None, version=str(nc.version))
    for field in form:
        field.id = field.label.field_id = f"{FORM}-{field.name}"
    return form


def _due_now(nc: NonConformance) -> bool:
    return nc.effectiveness_due is not None and nc.effectiveness_due <= plant_today()


@bp.app_context_processor
def effectiveness_helpers() -> dict:
    return {
        "effectiveness_verdict_labels": EFFECTIVENESS_VERDICT_LABELS,
        "effectiveness_evidence": effectiveness.evidence_since_closing,
        "effectiveness_form": _fresh_form,
        "effectiveness_due_now": _due_now,
    }


@bp.post("/nc/<number>/effectiveness-review")
@requires(step_permission(Step.REVIEW_EFFECTIVENESS))
def review_effectiveness(number: str):
    def build(nc: NonConformance, form: EffectivenessForm) -> NonConformance:
        recurred = RECURRED.get(form.recurred.data or "")
        command = command_from(
            form,
            EffectivenessReview,
            exclude=("recurred",),
            **({} if recurred is None else {"recurred": recurred}),
        )
        reviewed = effectiveness.review_effectiveness(nc, command, current_user)
        if command.verdict is EffectivenessVerdict.NOT_EFFECTIVE and reviewed.follow_ups:
            flash(_("Follow-up CAPA %(number)s opened.", number=reviewed.follow_ups[-1].number), "success")
        return reviewed

    return _take_step(number, FORM, EffectivenessForm, build, success_message=_("Effectiveness review recorded."))
