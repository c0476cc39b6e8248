"""The forms of change control."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField

from capa.changes.models import ChangeStatus, ChangeSubject, ConditionKind
from capa.web.forms import options
from capa.web.masterdata.forms import LOT_KIND_LABELS

SUBJECT_LABELS = {
    ChangeSubject.SUPPLIER: _l("Supplier"),
    ChangeSubject.MATERIAL: _l("Material"),
    ChangeSubject.CHEMICAL: _l("Dye or chemical"),
    ChangeSubject.PROCESS: _l("Process"),
    ChangeSubject.TRIM: _l("Trim"),
}
STATUS_LABELS = {
    ChangeStatus.PROPOSED: _l("Proposed"),
    ChangeStatus.APPROVED: _l("Approved, conditions open"),
    ChangeStatus.EFFECTIVE: _l("In effect"),
    ChangeStatus.REJECTED: _l("Rejected"),
}
CONDITION_LABELS = {
    ConditionKind.LAB_TEST: _l("Lab test of the new material"),
    ConditionKind.FIRST_ARTICLE: _l("First article or pilot lot inspected"),
    ConditionKind.BUYER_NOTIFICATION: _l("Buyer notified"),
}


class ChangeForm(FlaskForm):
    subject = SelectField(_l("What changes"), choices=options(SUBJECT_LABELS))
    title = StringField(_l("The change, in a line"))
    description = TextAreaField(_l("From what to what"))
    reason = TextAreaField(_l("Why"))
    effective_from = StringField(_l("From (YYYY-MM-DD)"))
    # Choices set by the view; checked by the command.
    supplier = SelectField(_l("Supplier whose material changes"), choices=[], validate_choice=False)
    lot_kind = SelectField(_l("Kind of material (none: every kind)"), choices=options(LOT_KIND_LABELS, blank=True))
    line = SelectField(_l("Line (for a process change)"), choices=[], validate_choice=False)
    styles = SelectMultipleField(_l("Styles it concerns besides"), choices=[], validate_choice=False)
    ncs = StringField(_l("Linked NCs, by number, separated by commas"))
    #: The CAPA action raising it, when it is raised from one (the NC page's link).
    action = HiddenField()


class ConditionForm(FlaskForm):
    kind = SelectField(_l("Condition"), choices=options(CONDITION_LABELS))
    parameter = StringField(_l("Parameter to test (for a lab test)"))
    buyer = SelectField(_l("Buyer to notify"), choices=[], validate_choice=False)
    note = TextAreaField(_l("What is asked"))


class MeetForm(FlaskForm):
    result = StringField(_l("Lab result id"))
    inspection = StringField(_l("Final inspection id"))
    reference = StringField(_l("How and when the buyer was told"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Why it is rejected"))


class LinkForm(FlaskForm):
    nc = StringField(_l("NC number"))
