from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from capa.documents.models import DocumentKind
from capa.web.forms import options

KIND_LABELS = {
    DocumentKind.PROCEDURE: _l("Procedure"),
    DocumentKind.WORK_INSTRUCTION: _l("Work instruction"),
    DocumentKind.STANDARD: _l("Standard"),
    DocumentKind.POLICY: _l("Policy"),
    DocumentKind.FORM: _l("Form"),
}


class DocumentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[InputRequired()])
    kind = SelectField(_l("Kind"), choices=options(KIND_LABELS))
    # Checked by the command (1 to 120), which names a bad number beside the field.
    review_months = StringField(_l("Reviewed every (months)"), default="12")


class RevisionForm(FlaskForm):
    revision = StringField(_l("Revision"), validators=[InputRequired()])
    changes = TextAreaField(_l("What changed"), validators=[InputRequired()])
    # Checked by the command, which names a bad date beside the field.
    effective_on = StringField(_l("In effect from (YYYY-MM-DD)"), validators=[InputRequired()])
    file = FileField(_l("File (PDF)"))
    #: The file sent with a refused form, kept for its sender (capa.common.pending) so it need not be chosen again.
    file_token = HiddenField()
    file_discard = BooleanField(_l("Remove the kept file"))


class ReviewForm(FlaskForm):
    """A periodic review confirming the current revision (prefixed: the revision form beside it is another)."""

    note = TextAreaField(_l("What the review checked"), validators=[InputRequired()])


class ApprovalForm(FlaskForm):
    """The approval of a revision, signed with the approver's password."""

    password = PasswordField(_l("Your password, to sign the approval"))
