"""How many failed log-ins are allowed: per account and per client address, counted with Flask-Limiter.

Rules (the settings hold the limits, in Flask-Limiter's notation ``10 per 15 minutes``):

- Only **failed** attempts count: a wrong password, an unknown or a deactivated user name. Somebody who types
  the right password is never counted, so a factory where every phone reaches the server through one address
  is not refused at the start of a shift.
- ``CAPA_LOGIN_LIMIT_PER_ACCOUNT`` (10 per 15 minutes): failed attempts at one user name, from any address, so
  that guessing one person's password from many addresses is stopped. Unknown names count alike, so the
  answer never tells which names exist.
- ``CAPA_LOGIN_LIMIT_PER_ADDRESS`` (20 per 15 minutes): failed attempts from one client address, at any user
  names, so that one machine cannot try a common password against every name.
- A password re-entered to sign a step (:func:`capa.accounts.service.password_matches`) counts with the log-ins
  of its account: a session or an API token of the person does not open a way to guess their password.
- Once a limit is reached, every attempt it covers is refused *without checking the password*, even the right
  one, with :class:`TooManyAttempts` (429, naming when to try again). A refused attempt is not counted, so a
  run of failures shuts an account for at most one window (15 minutes by default) after the first of them,
  however long the attacker goes on meanwhile; the person then logs in as usual.
- The counts live in ``CAPA_RATELIMIT_STORAGE_URI``: ``memory://`` (the default) keeps them per process, so
  with several workers each counts alone; ``redis://host:6379`` shares them between workers and servers (with
  the ``redis`` package installed: ``pip install 'flask-limiter[redis]'``).
  ``RATELIMIT_ENABLED = False`` switches the limits off. When the storage cannot be reached, log-ins go on
  unlimited and the failure is logged: a broken counter must not shut everybody out.

The checks and the count are two steps, so attempts sent at the same moment may each pass the check before
any is counted; each still costs the server a full password hash, which bounds how many fit in that moment.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from limits import RateLimitItem, parse

from capa.common.errors import DomainError
from capa.common.types import identifier
from capa.extensions import limiter

SETTINGS = ("CAPA_LOGIN_LIMIT_PER_ACCOUNT", "CAPA_LOGIN_LIMIT_PER_ADDRESS")
#: Every key this module stores starts so, apart from whatever else shares the storage.
NAMESPACE = "capa-login"


class InvalidLimitSetting(ValueError):
    """A login limit cannot be read; the message names the setting."""


class TooManyAttempts(DomainError):
    """Too many failed log-ins for this user name or from this address; ``retry_after`` is in seconds."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any):
        kwargs.pop("fields", None)
        super().__init__(message, fields={"password": message}, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


def init_app(app: Flask) -> None:
    """Read the limits (InvalidLimitSetting stops the start when one cannot be read) and bind the limiter to its
    storage."""
    for name in SETTINGS:
        value = app.config.get(name)
        try:
            parse(value)
        except (TypeError, ValueError):
            raise InvalidLimitSetting(f"{name}: cannot read {value!r}; write it as '10 per 15 minutes'") from None
    # Flask-Limiter's own name for it; the app's settings all start with CAPA_.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("CAPA_RATELIMIT_STORAGE_URI") or "memory://")
    limiter.init_app(app)


@dataclass(frozen=True)
class _Limit:
    item: RateLimitItem
    identifiers: tuple[str, ...]
    message: Any


def _limits(username: str, address: str | None) -> list[_Limit]:
    config = current_app.config
    name = identifier(username or "", lower=True) or ""
    # A digest: whatever was typed as the name, the key stays short and plain.
    account = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()
    limits = [
        _Limit(
            parse(config["CAPA_LOGIN_LIMIT_PER_ACCOUNT"]),
            (NAMESPACE, "account", account),
            _l("Too many failed log-ins with this user name."),
        )
    ]
    if address is not None:
        limits.append(
            _Limit(
                parse(config["CAPA_LOGIN_LIMIT_PER_ADDRESS"]),
                (NAMESPACE, "address", address),
                _l("Too many failed log-ins from this network address."),
            )
        )
    return limits


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.initialized


def check(username: str, address: str | None = None) -> None:
    """Raise TooManyAttempts when the failed log-ins for ``username`` or from ``address`` (None: the account's
    limit alone) reached their limit; its message says which, and when to try again (the later of the two when
    both are reached)."""
    if not _enabled():
        return
    refusals: list[tuple[int, Any]] = []
    try:
        strategy = limiter.limiter
        for limit in _limits(username, address):
            if not strategy.test(limit.item, *limit.identifiers):
                reset_at = strategy.get_window_stats(limit.item, *limit.identifiers).reset_time
                refusals.append((max(1, math.ceil(reset_at - time.time())), limit.message))
    except Exception:
        # An unreachable storage must not shut everybody out; it is logged for the administrator.
        current_app.logger.exception("Login limits: the storage cannot be read; the attempt is let through.")
        return
    if refusals:
        retry_after, message = max(refusals, key=lambda refusal: refusal[0])
        minutes = math.ceil(retry_after / 60)
        wait = ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes)
        raise TooManyAttempts(f"{message} {wait}", retry_after=retry_after)


def count_failure(username: str, address: str | None = None) -> None:
    """Count one failed log-in for ``username`` and from ``address`` (None: for the account alone)."""
    if not _enabled():
        return
    try:
        strategy = limiter.limiter
        for limit in _limits(username, address):
            strategy.hit(limit.item, *limit.identifiers)
    except Exception:
        current_app.logger.exception("Login limits: the storage cannot be written; the failure is not counted.")
