"""What the pages with a photo picker share: the photos a form sent, the photos a refused form kept
(:mod:`capa.capas.pending_photos`), and what photos.js needs to know about a picker."""

from flask import request
from flask_babel import gettext as _

from capa.capas import photos
from capa.capas.photos import TOO_MANY_PHOTOS


def uploads(field) -> list[photos.Upload]:
    """The files chosen in a form's file field (a field left empty sends one nameless part: not a file)."""
    return [
        photos.Upload(storage.filename or "", storage.read())
        for storage in (field.data or [])
        if storage and getattr(storage, "filename", "")
    ]


def kept_tokens() -> list[str]:
    """The tokens of the pending photos a refused form carried back, but those ticked "remove"."""
    removed = set(request.form.getlist("remove_photo"))
    return [token for token in request.form.getlist("kept_photo") if token not in removed]


def photo_input(already: int, too_many=TOO_MANY_PHOTOS) -> dict[str, str | int]:
    """What photos.js needs to know about a photo input on a record that has ``already`` photos (or photos kept
    for it): how many more fit, and its messages in the page's language."""
    return {
        "data_photo_room": max(photos.MAX_PHOTOS - already, 0),
        "data_photo_too_many": str(too_many),
        "data_photo_busy": _("Preparing the photos…"),
    }
