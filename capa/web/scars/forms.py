"""The forms of supplier corrective action requests: sending one, answering it, reviewing an answer."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField

from capa.suppliers.models import ScarDecision, ScarStatus
from capa.web.capas.forms import EVIDENCE_ACCEPT
from capa.web.forms import options

STATUS_LABELS = {
    ScarStatus.SENT: _l("Awaiting the supplier's answer"),
    ScarStatus.ANSWERED: _l("Awaiting review"),
    ScarStatus.ACCEPTED: _l("Accepted"),
}
DECISION_LABELS = {ScarDecision.ACCEPT: _l("Accepted"), ScarDecision.RETURN: _l("Returned")}


class SendForm(FlaskForm):
    supplier = SelectField(_l("Supplier"), choices=[])
    # Dates are checked by the command, which names a bad one beside its field.
    containment_due = StringField(_l("Containment due (YYYY-MM-DD)"))
    answer_due = StringField(_l("Root cause and actions due (YYYY-MM-DD)"))
    message = TextAreaField(_l("What you ask of the supplier (optional)"))


class AnswerForm(FlaskForm):
    """A supplier's answer; evidence files kept from a refused round come back as ``kept_file`` tokens."""

    containment = TextAreaField(_l("Containment: what you did at once (stock sorted, lots held, shipments stopped)"))
    why1 = StringField(_l("Why? (1)"))
    why2 = StringField(_l("Why? (2)"))
    why3 = StringField(_l("Why? (3)"))
    why4 = StringField(_l("Why? (4)"))
    why5 = StringField(_l("Why? (5)"))
    root_cause = TextAreaField(_l("Root cause"))
    actions = TextAreaField(_l("Corrective and preventive actions: what, who, by when"))
    chemical_change = TextAreaField(
        _l("A dye or chemical you changed, from what to what (optional: the factory controls the change)")
    )
    files = MultipleFileField(_l("Evidence files (PDF, XLSX or photos)"), render_kw={"accept": EVIDENCE_ACCEPT})

    @property
    def whys(self) -> list[str]:
        return [self.why1.data, self.why2.data, self.why3.data, self.why4.data, self.why5.data]


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=options({ScarDecision.ACCEPT: _l("Accept the answer"), ScarDecision.RETURN: _l("Return it")}),
        default=ScarDecision.ACCEPT.value,
    )
    comment = TextAreaField(_l("Comment (required to return it)"))
    answer_due = StringField(_l("New day the answer is due, when returning it (YYYY-MM-DD, optional)"))
