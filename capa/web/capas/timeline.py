"""The NC page's history as its reader reads it: newest first, each entry's moment, who, what happened and why.

Written out here rather than in the template because a history runs to hundreds of entries and was most of the
page's time: each wording is translated once for the page (not once per entry), each label once, and each
entry read once. The words are the template's were: ``moved from Review to Action``, ``changed Title: old →
new``, an event's label with its field and new value; escaped like everything the page shows.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

from capa.capas.labels import EVENT_LABELS, FIELD_LABELS, STATE_LABELS
from capa.capas.models import Event
from capa.common.display import moment_writer


@dataclass(frozen=True)
class Entry:
    #: When, in plant time, as the reader's language writes it.
    at: str
    #: Who: a user name, or the system.
    actor: str
    #: What happened, escaped.
    what: Markup
    #: Why, or what else was said.
    note: str


def translated(labels: dict) -> dict[str, str]:
    """``labels`` (lazily translated) in the reader's language, each translated once."""
    return {key: str(label) for key, label in labels.items()}


def timeline(events: list[Event]) -> list[Entry]:
    """``events`` (oldest first, as the NC keeps them) as the page shows them, newest first."""
    states, fields, kinds = translated(STATE_LABELS), translated(FIELD_LABELS), translated(EVENT_LABELS)
    # Each wording translated once, as markup (escaped); the values put into it are escaped by Markup's %.
    moved = escape(_("moved from %(old)s to %(new)s"))
    changed = escape(_("changed %(field)s"))
    system = _("system")
    moment = moment_writer()
    #: Who wrote each entry, by user id: each actor read once, not once per entry.
    actors: dict[int, str] = {}
    entries = []
    for event in reversed(events):
        kind, field, old, new = event.kind, event.field, event.old, event.new
        if kind == "state":
            what = moved % {"old": states.get(old, old), "new": states.get(new, new)}
        elif kind == "field":
            what = Markup("%s: <del>%s</del> → %s") % (changed % {"field": fields.get(field, field)}, old, new)
        else:
            what = Markup("%s%s%s") % (
                kinds.get(kind, kind.replace("_", " ")),
                f" {field}" if field else "",
                f": {new}" if new else "",
            )
        actor_id = event.actor_id
        if actor_id is None:
            actor = system
        elif (actor := actors.get(actor_id)) is None:
            actor = actors[actor_id] = event.actor.username
        entries.append(Entry(moment(event.at), actor, what, event.note))
    return entries
