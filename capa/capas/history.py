"""The one place through which every change to a CAPA flows: it checks who may take the step, in which state
and against which version, then applies the change, appends its history and raises the version, all in
one unit of work. Nothing else writes an NC's history, and nothing edits or deletes it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from capa.accounts.models import User
from capa.capas import policy
from capa.capas.errors import StaleVersion
from capa.capas.models import Action, Event, NonConformance
from capa.capas.states import State, Step
from capa.common.transaction import unit_of_work


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return str(value)


class Journal:
    """What a step changes on one NC, written down as it happens."""

    def __init__(self, nc: NonConformance, actor: User | None):
        self.nc = nc
        self.actor = actor

    def record(self, kind: str, *, field: str = "", old: Any = "", new: Any = "", note: str = "") -> None:
        self.nc.events.append(
            Event(kind=kind, field=field, old=_text(old), new=_text(new), note=note, actor=self.actor)
        )

    def set(self, field: str, value: Any, *, shown: Any = None, old_shown: Any = None) -> None:
        """Change one field of the NC and record its old and new value (nothing when it is unchanged)."""
        old = getattr(self.nc, field)
        if old == value:
            return
        setattr(self.nc, field, value)
        self.record(
            "field",
            field=field,
            old=old if old_shown is None else old_shown,
            new=value if shown is None else shown,
        )

    def move(self, state: State, note: str = "") -> None:
        old = self.nc.status
        self.nc.status = state.value
        self.record("state", field="status", old=old, new=state.value, note=note)


def authorize(
    nc: NonConformance, actor: User, step: Step, *, version: int | None = None, action: Action | None = None
) -> None:
    """Refuse the step before anything changes: PermissionDenied or InvalidState by the policy
    (:func:`capa.capas.policy.check`), StaleVersion when the client's ``version`` is not the current one."""
    policy.check(actor, step, nc, action=action)
    if version is not None and version != nc.version:
        raise StaleVersion(
            str(
                _l(
                    "%(number)s was changed by someone else (version %(current)d, yours %(yours)d). "
                    "Reload it to see the change; nothing was overwritten.",
                    number=nc.number,
                    current=nc.version,
                    yours=version,
                )
            ),
            current_version=nc.version,
        )


@contextmanager
def changing(
    nc: NonConformance, actor: User, step: Step, *, version: int | None = None, action: Action | None = None
) -> Iterator[Journal]:
    """Authorize ``step``, then yield a Journal; on leaving, raise the version and commit, or roll back."""
    authorize(nc, actor, step, version=version, action=action)
    try:
        with unit_of_work():
            journal = Journal(nc, actor)
            yield journal
            nc.version = nc.version + 1
    except StaleDataError as exc:
        raise StaleVersion(
            str(
                _l(
                    "%(number)s was changed by someone else at the same moment; nothing was overwritten.",
                    number=nc.number,
                )
            )
        ) from exc
