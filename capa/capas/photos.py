"""Photos of a defect, stored in the upload folder under names the app chooses.

A photo is a JPEG or PNG judged by its first bytes (never its name), at most CAPA_PHOTO_MAX_BYTES each and
MAX_PHOTOS per NC; the device's file name is kept for display only. Files are removed again when saving the
record fails, so no half-written photo remains.
"""

import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.capas.history import changing
from capa.capas.lookup import invalid
from capa.capas.models import (
    NonConformance,
    Photo,
)
from capa.capas.states import Step
from capa.common.errors import NotFound

PHOTO_SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}
MAX_PHOTOS = 6


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the device gave, and its bytes."""

    filename: str
    data: bytes


def check_photos(uploads: list[Upload], already: int, max_bytes: int) -> list[tuple[Upload, str, str]]:
    """Each upload with its content type and extension, judged by its first bytes (never its name).

    Raises ValidationError naming ``photos``: not a JPEG or PNG, larger than ``max_bytes``, or too many.
    """
    if already + len(uploads) > MAX_PHOTOS:
        raise invalid({"photos": str(_l("At most %(n)d photos per non-conformance.", n=MAX_PHOTOS))})
    checked = []
    for upload in uploads:
        shown = upload.filename[:80] or "?"
        if len(upload.data) > max_bytes:
            raise invalid({"photos": str(_l("%(name)s is larger than %(size)s.", name=shown, size=_size(max_bytes)))})
        kind = next((kind for signature, kind in PHOTO_SIGNATURES.items() if upload.data.startswith(signature)), None)
        if kind is None:
            raise invalid({"photos": str(_l("%(name)s is not a JPEG or PNG photo.", name=shown))})
        checked.append((upload, *kind))
    return checked


def photo_limit_bytes() -> int:
    return current_app.config["CAPA_PHOTO_MAX_BYTES"]


def add_photos(nc: NonConformance, uploads: list[Upload], actor: User) -> list[Photo]:
    """Store photos of the defect in the upload folder under names the app chooses (never the device's); the
    files are removed again if saving fails. Raises ValidationError naming ``photos``."""
    if not uploads:
        raise invalid({"photos": str(_l("Choose at least one photo."))})
    checked = check_photos(uploads, len(nc.photos), photo_limit_bytes())
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    photos: list[Photo] = []
    try:
        with changing(nc, actor, Step.ADD_PHOTO) as journal:
            for upload, content_type, extension in checked:
                stored = uuid.uuid4().hex + extension
                path = folder / stored
                path.write_bytes(upload.data)
                written.append(path)
                photo = Photo(
                    stored_name=stored,
                    original_name=_safe_name(upload.filename),
                    content_type=content_type,
                    size=len(upload.data),
                    uploaded_by_id=actor.id,
                )
                nc.photos.append(photo)
                photos.append(photo)
                journal.record("photo", new=photo.original_name)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return photos


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def _safe_name(filename: str) -> str:
    """The device's file name reduced to its last part and printable characters, for display only."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "photo"


def get_photo(nc: NonConformance, photo_id: int) -> Photo:
    photo = next((p for p in nc.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo
