from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired

from capa.accounts.models import Role

ROLE_LABELS = {
    Role.SUPERVISOR: _l("Line supervisor"),
    Role.QUALITY_MANAGER: _l("Quality manager"),
    Role.ADMIN: _l("Administrator"),
}


def role_choices():
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])


class UserCreateForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired()])
    role = SelectField(_l("Role"), choices=role_choices)
    password = PasswordField(_l("Initial password"), validators=[InputRequired()])


class UserEditForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices)
    active = BooleanField(_l("Active (may log in)"))
