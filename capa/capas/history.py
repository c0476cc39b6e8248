"""The one place through which every change to a CAPA flows: it checks who may take the step, in which state
and against which version, then applies the change, appends its history and raises the version, all in
one unit of work. Nothing else writes an NC's history, and nothing edits or deletes it.

Each history entry carries the NC version its change produced (``Event.version``). A save carries the version
the person saw; when the NC has moved on since, the save is refused as stale (StaleVersion, 409
``stale_version``) only when a change made since that version collides with it:

- the change was made by another person (a person's own later saves never make their older form stale), and
- it touched what the save depends on: one of the fields the save changes (an edit of the description depends
  only on the description: ``touches``), or what the step rests on (:data:`DEPENDS`: every workflow step rests
  on the state, so a state move collides with it, and on its own records: containment on the containment
  text, a root cause and its review on the rounds, a new action on the actions added, a retest and closing
  on the linked parameters, closing on the effectiveness note, cancelling on its reason);
- a history entry without a version (written before versions were recorded) collides whenever the changes
  since the save's version cannot all be told apart from it: the conservative answer.

Otherwise the save is applied onto the current version. A refusal names each colliding change (``changes``:
field, kind, old, new, by, at) beside ``current_version``, so the person sees what the other one changed.
Two saves racing on the same version are still decided by the version column: the second is refused.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from capa.accounts.models import User
from capa.audit import chain
from capa.capas import policy
from capa.capas.errors import StaleVersion
from capa.capas.models import Action, Event, NonConformance, Signature
from capa.capas.states import State, Step
from capa.common.transaction import unit_of_work
from capa.extensions import db


def tampering(nc: NonConformance) -> chain.Break | None:
    """The first entry of the NC's history or signatures that is not as the app wrote it (changed, deleted or
    reordered outside the app), or None when both chains verify (see :mod:`capa.audit.chain`)."""
    return chain.verify_loaded((Event, [nc.id], nc.events), (Signature, [nc.id], nc.signatures))


def entry_text(value: Any) -> str:
    """A value as the history writes it (``old`` and ``new``): a list joined with commas, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(entry_text(item) for item in value)
    return str(value)


class Journal:
    """What a step changes on one NC, written down as it happens."""

    def __init__(self, nc: NonConformance, actor: User | None, *, version: int | None = None):
        self.nc = nc
        self.actor = actor
        #: The NC version the change produces, stamped on every entry; a note that changes nothing (outside
        #: :func:`changing`) is stamped with the version as it stands.
        self.version = nc.version if version is None else version

    def record(self, kind: str, *, field: str = "", old: Any = "", new: Any = "", note: str = "") -> None:
        entry = Event(
            kind=kind,
            field=field,
            old=entry_text(old),
            new=entry_text(new),
            note=note,
            actor=self.actor,
            version=self.version,
        )
        # Set from the entry's side, the NC's history gets it without being read first when it is not loaded (a
        # note on another NC, a recurrence's "recurred", would otherwise read that NC's whole history and flush
        # in the middle of the step); a loaded history gets it appended as well.
        entry.nc = self.nc
        db.session.add(entry)

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


#: What each step rests on besides the fields it changes: ``state`` (a state move), a field of the NC (a
#: ``field`` entry of that field) or a kind of history entry. A step not named here rests on the state.
DEPENDS: dict[Step, frozenset[str]] = {
    Step.EDIT: frozenset(),
    Step.ADD_PHOTO: frozenset(),
    Step.CONTAIN: frozenset({"state", "containment"}),
    Step.RELEASE_HOLD: frozenset({"state"}),
    Step.SUBMIT_ROOT_CAUSE: frozenset({"state", "root_cause", "review"}),
    Step.REVIEW: frozenset({"state", "root_cause", "review"}),
    # Another person's action added meanwhile may be the one this person is adding: look first.
    Step.ADD_ACTION: frozenset({"state", "action"}),
    Step.COMPLETE_ACTION: frozenset({"state"}),
    Step.RECORD_TEST: frozenset({"state", "parameters"}),
    Step.CLOSE: frozenset({"state", "effectiveness", "parameters"}),
    Step.CANCEL: frozenset({"state", "cancel_reason"}),
    Step.CORRECT_PARAMETERS: frozenset({"parameters"}),
    Step.ADD_EVIDENCE: frozenset(),
}
_DEFAULT_DEPENDS = frozenset({"state"})


def changes_since(nc: NonConformance, version: int) -> list[Event]:
    """The history entries of the changes made to ``nc`` after ``version``, oldest first, in one query (and a
    second only for an NC with entries from before versions were recorded, which are included unless every
    change since ``version`` is known to be recorded with its version)."""
    events = list(
        db.session.scalars(
            select(Event)
            .where(Event.nc_id == nc.id, or_(Event.version > version, Event.version.is_(None)))
            .options(selectinload(Event.actor))
            .order_by(Event.id)
        )
    )
    if any(event.version is None for event in events):
        first = db.session.scalar(select(func.min(Event.version)).where(Event.nc_id == nc.id))
        if first is not None and first <= version + 1:
            # Versions were recorded before the save's version was read: the unversioned entries are older.
            events = [event for event in events if event.version is not None]
    return events


def _collides(event: Event, depends: frozenset[str]) -> bool:
    if event.version is None:
        return True
    if event.kind == "state":
        return "state" in depends
    if event.kind == "field":
        return event.field in depends
    return event.kind in depends


def change_of(event: Event) -> dict[str, Any]:
    """One change as a refusal names it: the field (``status`` for a state move, else the entry's kind when it
    names no field), its kind, old and new value, who and when."""
    field = "status" if event.kind == "state" else event.field or event.kind
    return {
        "field": field,
        "kind": event.kind,
        "old": event.old,
        "new": event.new,
        "note": event.note,
        "by": event.actor.username if event.actor is not None else None,
        "at": event.at.isoformat() if event.at is not None else None,
    }


def collisions(
    nc: NonConformance, actor: User, step: Step, version: int, touches: frozenset[str] = frozenset()
) -> list[Event]:
    """The changes made since ``version`` by someone other than ``actor`` that collide with ``step`` changing
    ``touches`` (see the module's rule)."""
    depends = DEPENDS.get(step, _DEFAULT_DEPENDS) | touches
    return [
        event
        for event in changes_since(nc, version)
        if (event.actor_id is None or event.actor_id != actor.id) and _collides(event, depends)
    ]


def authorize(
    nc: NonConformance,
    actor: User,
    step: Step,
    *,
    version: int | None = None,
    action: Action | None = None,
    touches: frozenset[str] = frozenset(),
) -> None:
    """Refuse the step before anything changes: PermissionDenied or InvalidState by the policy
    (:func:`capa.capas.policy.check`), StaleVersion when the client's ``version`` is not the current one and a
    change since collides with the step and the fields it ``touches`` (see the module's rule), naming them."""
    policy.check(actor, step, nc, action=action)
    if version is None or version == nc.version:
        return
    # A version from the future is no version this NC had: refused, naming nothing.
    colliding = collisions(nc, actor, step, version, touches) if version < nc.version else []
    if version < nc.version and not colliding:
        return
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
        changes=[change_of(event) for event in colliding],
    )


@contextmanager
def changing(
    nc: NonConformance,
    actor: User,
    step: Step,
    *,
    version: int | None = None,
    action: Action | None = None,
    touches: frozenset[str] = frozenset(),
) -> Iterator[Journal]:
    """Authorize ``step`` (with the fields it ``touches``), then yield a Journal whose entries carry the version
    the change produces; on leaving, raise the version and commit, or roll back."""
    authorize(nc, actor, step, version=version, action=action, touches=touches)
    try:
        with unit_of_work():
            journal = Journal(nc, actor, version=nc.version + 1)
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
