"""Users, passwords and API tokens.

Passwords are stored as salted hashes (werkzeug's scrypt), of their NFC form; what a new password must be is
:mod:`capa.accounts.passwords`' rule, and how many failed log-ins are allowed :mod:`capa.accounts.login_limits`'.
Refusing a log-in costs the same hash check whether the user name exists or not. API tokens are random 256-bit
secrets; only their SHA-256 digest is stored, so a stolen database yields no usable token, and a token is shown
exactly once.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from capa.accounts import login_limits, passwords
from capa.accounts.commands import NewUser, UserChanges
from capa.accounts.models import ApiToken, Role, User
from capa.audit import records
from capa.common.commands import parse
from capa.common.errors import Duplicate, NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import identifier, utcnow
from capa.extensions import db

TOKEN_PREFIX = "capa_"
# A token's last use is written at most this often, so that API reads do not each become a write.
LAST_USED_RESOLUTION = timedelta(minutes=10)


def _hash(password: str) -> str:
    return generate_password_hash(passwords.normal(password), method=current_app.config["CAPA_PASSWORD_HASH"])


# One per hashing method: made once, then checking against it costs what checking a real password costs.
_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """The hash of a random secret, made as new passwords are (CAPA_PASSWORD_HASH, its method and cost)."""
    method = current_app.config["CAPA_PASSWORD_HASH"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(24), method=method)
    return _dummy_hashes[method]


def find_user(username: str) -> User | None:
    username = identifier(username, lower=True)
    return None if username is None else db.session.scalar(select(User).where(User.username == username))


def get_user(username: str) -> User:
    """The user called ``username``; raises NotFound when there is none."""
    user = find_user(username)
    if user is None:
        raise NotFound(str(_l("No user named %(name)s.", name=username)), fields={"username": "unknown"})
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


class BoundSupplier(Protocol):
    """The supplier a supplier's account is bound to, as the caller found it (capa.suppliers.accounts)."""

    id: int
    code: str


def create_user(command: NewUser, actor: User | None = None, *, supplier: BoundSupplier | None = None) -> User:
    """Create an account from ``username``, ``role``, ``password`` (and ``email``, ``full_name``), recorded in its
    history as created by ``actor`` (None: the command line). A supplier's account is bound to ``supplier``, and
    only a supplier's account is.

    Raises ValidationError for a malformed name, an unknown role, a supplier's account without its supplier (or
    another with one), naming ``supplier``, or a password the rules of :mod:`capa.accounts.passwords` refuse (too
    short, common, guessable, containing the name), and Duplicate when the name is taken (names are compared
    lower-cased).
    """
    if (command.role == Role.SUPPLIER) != (supplier is not None):
        message = (
            _l("Name the supplier this account speaks for.")
            if supplier is None
            else _l("Only a supplier's account is bound to a supplier.")
        )
        raise ValidationError(str(_l("Please correct the fields marked.")), fields={"supplier": str(message)})
    passwords.check_new_password(command.password, command.username)
    if find_user(command.username) is not None:
        raise Duplicate(
            str(_l("A user named %(name)s exists already.", name=command.username)),
            fields={"username": str(_l("Already taken."))},
        )
    with unit_of_work() as session:
        user = User(
            username=command.username,
            role=command.role,
            password_hash=_hash(command.password),
            email=command.email,
            full_name=command.full_name or "",
            active=True,
            supplier_id=supplier.id if supplier is not None else None,
        )
        session.add(user)
        created = {"role": user.role, "email": user.email, "full_name": user.full_name}
        if supplier is not None:
            created["supplier"] = supplier.code
        records.note_created("user", user, actor, created)
    return user


def update_user(user: User, command: UserChanges, actor: User | None = None) -> User:
    """Change a user's ``role``, ``active`` flag, ``email`` or ``full_name`` (only the fields the command carries),
    each change recorded in the user's history with ``actor``.

    Raises ValidationError when the change would leave no active administrator: somebody must always be
    able to manage accounts.
    """
    values = command.given()
    if "role" in values and (values["role"] == Role.SUPPLIER) != (user.role == Role.SUPPLIER):
        raise ValidationError(
            str(_l("Please correct the fields marked.")),
            fields={
                "role": str(
                    _l(
                        "A supplier's account stays a supplier's, and a factory account never becomes one: "
                        "create a new account."
                    )
                )
            },
        )
    loses_admin = user.role == Role.ADMIN and (
        values.get("role", user.role) != Role.ADMIN or not values.get("active", user.active)
    )
    if loses_admin:
        other_admins = db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        )
        if not other_admins:
            raise ValidationError(
                str(_l("At least one active administrator must remain.")),
                fields={"role": str(_l("This is the last active administrator."))},
            )
    if "full_name" in values:
        values["full_name"] = values["full_name"] or ""
    with unit_of_work():
        records.note_changes("user", user, actor, records.set_changed(user, values))
    return user


def set_language(user: User, language: str) -> None:
    """Remember the language ``user`` reads the pages in (already checked against the offered ones)."""
    with unit_of_work():
        user.language = language


def set_password(user: User, password: str, actor: User | None = None) -> None:
    """Give ``user`` a new password; every session opened with the old one ends. Raises ValidationError naming
    ``password`` when the rules of :mod:`capa.accounts.passwords` refuse it. The user's history records that
    ``actor`` changed it, without any value."""
    passwords.check_new_password(password, user.username)
    with unit_of_work():
        user.password_hash = _hash(password)
        user.session_generation = user.session_generation + 1
        records.note_event("user", user, actor, "password")


def end_sessions(user: User) -> None:
    """End every session of ``user``, on every device: logging out ends them all, so a copied session cookie
    is worthless afterwards."""
    with unit_of_work():
        user.session_generation = user.session_generation + 1


def user_of_session(session_id: str) -> User | None:
    """The active user a session names, ``<user id>:<generation>``; None when the session was ended (its
    generation is not the user's current one), the user is deactivated, or the value is malformed."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()) or len(user_id) > 18 or len(generation) > 18:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None.

    Refusing costs the same whatever the name: one hash check per form of the password (:func:`passwords.forms`:
    one for nearly every password), against the user's hash, or for an unknown or deactivated name against a
    dummy hash made with the same method and cost; no hash is made here, so an unknown name is not slower.
    """
    # Taken before the lookup: the one time it is made, it is made for whatever name came first.
    dummy = _dummy_hash()
    user = find_user(username or "")
    usable = user is not None and user.active
    stored = user.password_hash if usable else dummy
    matched = False
    for form in passwords.forms(password or ""):
        # Every form is checked, even after a match: a wrong password costs the same for every name.
        matched = check_password_hash(stored, form) or matched
    return user if usable and matched else None


def log_in(username: str, password: str, address: str) -> User | None:
    """:func:`authenticate` within the login limits (:mod:`capa.accounts.login_limits`) for a person at the
    client ``address``: the active user, or None, that failure then counted for the name and the address.

    Raises TooManyAttempts (429, with ``retry_after`` in seconds), without checking the password, when the failed
    log-ins with this name or from this address reached their limit.
    """
    login_limits.check(username, address)
    user = authenticate(username, password)
    if user is None:
        login_limits.count_failure(username, address)
    return user


def ensure_initial_admin(password: str | None) -> str | None:
    """Create the ``admin`` account when the database has no administrator yet.

    Uses ``password`` when given, otherwise generates one. Returns the generated password so that it can be
    shown once, and None when nothing was generated (an admin existed, or the password was supplied). Raises
    ValidationError naming ``CAPA_ADMIN_PASSWORD`` when the password given is one the password rules refuse.
    """
    has_admin = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN))
    if has_admin:
        return None
    generated = None if password else secrets.token_urlsafe(12)
    try:
        create_user(parse(NewUser, {"username": "admin", "role": Role.ADMIN.value, "password": password or generated}))
    except ValidationError as exc:
        # The password came from the setting, which is what the person has to change.
        raise exc.renamed({"password": "CAPA_ADMIN_PASSWORD"}) from None
    return generated


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, actor: User | None = None) -> str:
    """Issue a new API token for ``user`` and return it; it cannot be read back later. The user's history
    records it by its prefix."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        session.add(ApiToken(user=user, token_hash=_digest(token), prefix=token[:12]))
        records.note_event("user", user, actor, "token_issued", new=token[:12])
    return token


def revoke_token(token: str, actor: User | None = None) -> ApiToken:
    """Revoke one token given in full (recorded in its user's history); raises NotFound when no such token
    exists."""
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token.strip())))
    if record is None:
        raise NotFound(str(_l("No such token.")), fields={"token": "unknown"})
    with unit_of_work():
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            records.note_event("user", record.user, actor, "token_revoked", old=record.prefix)
    return record


def revoke_user_tokens(user: User, actor: User | None = None) -> int:
    """Revoke every live token of ``user`` (each recorded in the user's history); returns how many were
    revoked."""
    live = list(db.session.scalars(select(ApiToken).where(ApiToken.user == user, ApiToken.revoked_at.is_(None))))
    with unit_of_work():
        now = utcnow()
        for record in live:
            record.revoked_at = now
            records.note_event("user", user, actor, "token_revoked", old=record.prefix)
    return len(live)


def user_for_bearer(authorization: str | None) -> User | None:
    """The active owner of a live token given as ``Bearer <token>``, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
    if record is None or not hmac.compare_digest(record.token_hash, digest) or not record.user.active:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        with unit_of_work():
            record.last_used_at = now
    return record.user


def password_matches(user: User, password: str | None) -> bool:
    """Whether ``password`` is ``user``'s password, as an electronic signature re-enters it (an empty one never
    is). Checks only the password: the signer is the person logged in.

    A wrong one counts as a failed log-in with the user's name (:mod:`capa.accounts.login_limits`), so that a
    session or an API token cannot be used to guess the password; once that limit is reached, raises
    TooManyAttempts (429, naming ``password``) without checking it.
    """
    if not password:
        return False
    login_limits.check(user.username)
    matched = False
    for form in passwords.forms(password):
        matched = check_password_hash(user.password_hash, form) or matched
    if not matched:
        login_limits.count_failure(user.username)
    return matched
