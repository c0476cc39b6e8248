"""What the account services accept: a new user, and changes to one."""

from flask_babel import lazy_gettext as _l

from capa.accounts.models import Role
from capa.common.commands import Boolean, Choice, Command, Text

EMAIL = Text(200, required=False, pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+", pattern_message=_l("Not an e-mail address."))

USERNAME = Text(
    64, pattern=r"[a-z0-9][a-z0-9._-]*", pattern_message=_l("Use letters, digits and . _ - only."), lower=True
)


class NewUser(Command):
    #: Compared lower-cased: ``Mei.Lin`` and ``mei.lin`` are one account.
    username: Text(
        64, pattern=r"[a-z0-9][a-z0-9._-]*", pattern_message=_l("Use letters, digits and . _ - only."), lower=True
    )
    role: Choice(Role)
    password: Text(200)
    #: Where reminders of overdue actions go.
    email: EMAIL = None


class UserChanges(Command):
    role: Choice(Role) = None
    active: Boolean = None
    email: EMAIL = None
