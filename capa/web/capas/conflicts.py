"""What another person changed meanwhile, as a refused save shows it above the form it keeps.

A save refused as stale (:class:`capa.capas.errors.StaleVersion`) names the changes that collided with it
(:mod:`capa.capas.history`); each is written here as one line in the reader's language: who, when, and what
changed from what to what.
"""

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from capa.capas.errors import StaleVersion
from capa.capas.labels import EVENT_LABELS, FIELD_LABELS, STATE_LABELS
from capa.common.display import local_moment


def _when(change: dict[str, Any]) -> str:
    at = change.get("at")
    return local_moment(datetime.fromisoformat(at)) if at else ""


def _what(change: dict[str, Any]) -> str:
    kind, old, new = change.get("kind"), change.get("old") or "", change.get("new") or ""
    if kind == "state":
        return _("moved from %(old)s to %(new)s", old=STATE_LABELS.get(old, old), new=STATE_LABELS.get(new, new))
    if kind == "field":
        field = change.get("field") or ""
        return _(
            "%(field)s: «%(old)s» → «%(new)s»", field=FIELD_LABELS.get(field, field), old=old or "—", new=new or "—"
        )
    label = EVENT_LABELS.get(kind, (kind or "").replace("_", " "))
    return f"{label}: {new}" if new else str(label)


def changed_meanwhile(error: StaleVersion) -> list[str]:
    """One line per change that collided with the refused save: "Changed meanwhile by li.qm (Mar 5, 2026
    14:30): Description: «…» → «…»"."""
    return [
        _(
            "Changed meanwhile by %(who)s (%(when)s): %(what)s",
            who=change.get("by") or _("system"),
            when=_when(change),
            what=_what(change),
        )
        for change in error.extra.get("changes") or []
    ]
