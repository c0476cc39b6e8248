"""Users, passwords and API tokens.

Passwords are stored as salted hashes (werkzeug's scrypt). API tokens are random 256-bit secrets; only their
SHA-256 digest is stored, so a stolen database yields no usable token, and a token is shown exactly once.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from capa.accounts.commands import NewUser, UserChanges
from capa.accounts.models import ApiToken, Role, User
from capa.common.commands import parse
from capa.common.errors import Duplicate, NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import identifier, utcnow
from capa.extensions import db

TOKEN_PREFIX = "capa_"
MIN_PASSWORD_LENGTH = 10
# A token's last use is written at most this often, so that API reads do not each become a write.
LAST_USED_RESOLUTION = timedelta(minutes=10)


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["CAPA_PASSWORD_HASH"])


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            str(_l("The password is too short.")),
            fields={"password": str(_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH))},
        )


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


def create_user(command: NewUser) -> User:
    """Create an account from ``username``, ``role`` and ``password``.

    Raises ValidationError for a malformed name, an unknown role or a password shorter than
    MIN_PASSWORD_LENGTH, and Duplicate when the name is taken (names are compared lower-cased).
    """
    _check_password_strength(command.password)
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
            active=True,
        )
        session.add(user)
    return user


def update_user(user: User, command: UserChanges) -> User:
    """Change a user's ``role``, ``active`` flag or ``email`` (only the fields the command carries).

    Raises ValidationError when the change would leave no active administrator: somebody must always be
    able to manage accounts.
    """
    values = command.given()
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
    with unit_of_work():
        for name, value in values.items():
            setattr(user, name, value)
    return user


def set_language(user: User, language: str) -> None:
    """Remember the language ``user`` reads the pages in (already checked against the offered ones)."""
    with unit_of_work():
        user.language = language


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password; every session opened with the old one ends (ValidationError when it is too
    weak)."""
    _check_password_strength(password)
    with unit_of_work():
        user.password_hash = _hash(password)
        user.session_generation = user.session_generation + 1


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
    """The active user with this name and password, or None. Takes as long for unknown names."""
    user = find_user(username or "")
    if user is None:
        # Hash anyway so that response time does not reveal which names exist.
        check_password_hash(_hash("x"), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def ensure_initial_admin(password: str | None) -> str | None:
    """Create the ``admin`` account when the database has no administrator yet.

    Uses ``password`` when given, otherwise generates one. Returns the generated password so that it can be
    shown once, and None when nothing was generated (an admin existed, or the password was supplied).
    """
    has_admin = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN))
    if has_admin:
        return None
    generated = None if password else secrets.token_urlsafe(12)
    create_user(parse(NewUser, {"username": "admin", "role": Role.ADMIN.value, "password": password or generated}))
    return generated


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User) -> str:
    """Issue a new API token for ``user`` and return it; it cannot be read back later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        session.add(ApiToken(user=user, token_hash=_digest(token), prefix=token[:12]))
    return token


def revoke_token(token: str) -> ApiToken:
    """Revoke one token given in full; raises NotFound when no such token exists."""
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token.strip())))
    if record is None:
        raise NotFound(str(_l("No such token.")), fields={"token": "unknown"})
    with unit_of_work():
        record.revoked_at = record.revoked_at or utcnow()
    return record


def revoke_user_tokens(user: User) -> int:
    """Revoke every live token of ``user``; returns how many were revoked."""
    live = list(db.session.scalars(select(ApiToken).where(ApiToken.user == user, ApiToken.revoked_at.is_(None))))
    with unit_of_work():
        now = utcnow()
        for record in live:
            record.revoked_at = now
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
