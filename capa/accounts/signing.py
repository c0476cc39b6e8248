"""An electronic signature's check of its signer (21 CFR Part 11 §11.200): the password re-entered with the step it
signs, for every record that is signed (a CAPA's steps: :mod:`capa.capas.signatures`; a document revision's
approval: :mod:`capa.documents.service`).

The rules: a missing or empty password is refused as ValidationError (400) naming ``password``; a wrong one as
SignatureRefused (401, ``signature_refused``) naming ``password``: the person is logged in, the signature is what is
refused. A wrong password counts as a failed log-in of the signer (past the limit,
:func:`capa.accounts.service.password_matches` refuses, 429, without checking it). A signature shows the signer's
full name, or the user name when none was given, as it was when signing.
"""

from typing import Annotated, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field, SecretStr

from capa.accounts import service as accounts
from capa.accounts.models import User
from capa.common.commands import PLEASE_CORRECT, refuse
from capa.common.errors import DomainError, ValidationError

#: The longest password a signature takes (longer is no password of this app).
PASSWORD_LENGTH = 1000


class SignatureRefused(DomainError):
    """An electronic signature whose password is not the signer's (401 signature_refused, naming ``password``):
    the step it signs is refused whole. Not "not logged in": the person is, the signature is what is refused."""

    status = 401
    code = "signature_refused"


def _signing_password(value: Any) -> Any:
    # Taken as typed (a password may start or end with a space); empty means not given, which the signing rule
    # refuses naming the field.
    if value is None or value == "":
        return None
    if not isinstance(value, str | SecretStr):
        raise refuse(_l("Must be text."))
    typed = value.get_secret_value() if isinstance(value, SecretStr) else value
    if len(typed) > PASSWORD_LENGTH:
        raise refuse(_l("At most %(n)d characters.", n=PASSWORD_LENGTH))
    return typed


#: The signer's password, re-entered to sign a step electronically: kept secret in the command (never shown by its
#: repr), never stored.
SigningPassword = Annotated[
    Annotated[SecretStr, Field(max_length=PASSWORD_LENGTH)] | None, BeforeValidator(_signing_password)
]


def signer_name(user: User) -> str:
    """The name shown with ``user``'s signatures: the full name, or the user name when none was given."""
    return (user.full_name or "").strip() or user.username


def check_password(signer: User, password: SecretStr | str | None) -> None:
    """Refuse a signature whose password is missing or is not the signer's (the module's rules)."""
    given = password.get_secret_value() if isinstance(password, SecretStr) else password
    if not given:
        raise ValidationError(str(PLEASE_CORRECT), fields={"password": str(_l("Enter your password to sign."))})
    if not accounts.password_matches(signer, given):
        # A wrong password on a signature is an attempt worth noticing, though nothing is stored.
        current_app.logger.warning("Electronic signature refused: wrong password for user %s", signer.username)
        raise SignatureRefused(
            str(_l("The password is not correct: nothing was signed or changed.")),
            fields={"password": str(_l("The password is not correct."))},
        )
