"""What the account services accept: a new user, and changes to one."""

from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field

from capa.accounts.models import Role
from capa.accounts.passwords import MAX_LENGTH
from capa.common.commands import REQUIRED, Boolean, Choice, Command, Text, refuse

EMAIL = Text(200, required=False, pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+", pattern_message=_l("Not an e-mail address."))
FULL_NAME = Text(120, required=False)

USERNAME = Text(
    64, pattern=r"[a-z0-9][a-z0-9._-]*", pattern_message=_l("Use letters, digits and . _ - only."), lower=True
)


def _password(value: Any) -> str:
    # Unlike other text a password is taken exactly as typed, spaces included: logging in compares it as typed.
    if value is None or value == "":
        raise refuse(REQUIRED)
    if not isinstance(value, str):
        raise refuse(_l("Must be text."))
    if len(value) > MAX_LENGTH:
        raise refuse(_l("At most %(n)d characters.", n=MAX_LENGTH))
    return value


#: A password as typed, not stripped; what it must be is :mod:`capa.accounts.passwords`' to say.
PASSWORD = Annotated[Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)], BeforeValidator(_password)]


class NewUser(Command):
    #: Compared lower-cased: ``Mei.Lin`` and ``mei.lin`` are one account.
    username: Text(
        64, pattern=r"[a-z0-9][a-z0-9._-]*", pattern_message=_l("Use letters, digits and . _ - only."), lower=True
    )
    role: Choice(Role)
    password: PASSWORD
    #: Where reminders of overdue actions go.
    email: EMAIL = None
    #: The person's full name, shown with their signatures; optional.
    full_name: FULL_NAME = None


class UserChanges(Command):
    role: Choice(Role) = None
    active: Boolean = None
    email: EMAIL = None
    #: Blank clears it.
    full_name: FULL_NAME = None
