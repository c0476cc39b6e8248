from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired

from capa.accounts.models import Role
from capa.web.forms import options

ROLE_LABELS = {
    Role.SUPERVISOR: _l("Line supervisor"),
    Role.QUALITY_MANAGER: _l("Quality manager"),
    Role.ADMIN: _l("Administrator"),
    Role.SUPPLIER: _l("Supplier's account"),
}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    #: The language chosen on the login page, carried by the form itself: a request of the page before the choice
    #: that the server answers after it may set the session's cookie back, and the form still says it.
    language = HiddenField()


class UserCreateForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired()])
    role = SelectField(_l("Role"), choices=options(ROLE_LABELS))
    password = PasswordField(_l("Initial password"), validators=[InputRequired()])
    email = StringField(_l("E-mail (for reminders, optional)"))
    full_name = StringField(_l("Full name (shown with signatures, optional)"))
    # Choices are the suppliers, set by the view.
    supplier = SelectField(
        _l("Supplier (for a supplier's account only: it sees the requests sent to it)"),
        choices=[],
        validate_choice=False,
    )


class UserEditForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(ROLE_LABELS))
    active = BooleanField(_l("Active (may log in)"))
    email = StringField(_l("E-mail (for reminders, optional)"))
    full_name = StringField(_l("Full name (shown with signatures, optional)"))
