"""Photos of a final inspection: the defects as found, a carton's marks.

The rules:
- a photo is judged and written anew as an NC's photos are (:func:`capa.capas.photos.check_photo`: a JPEG, PNG or
  HEIC by its content, stored upright with nothing but its pixels, a HEIC as a JPEG), at most
  CAPA_PHOTO_MAX_BYTES each as received, and an inspection has at most MAX_PHOTOS;
- photos sent with an inspection are stored with it, in its unit of work; the NC a rejection raises gets its own
  copies of them in the same unit of work (:mod:`capa.inspections.final`), so that each record keeps its evidence
  and the NC's 8D report prints them;
- photos added later go on the inspection and, while the NC it raised is open and has room for them, on the NC
  too (its history says so), in one unit of work; otherwise (the NC closed, cancelled or full) they stay with the
  inspection, which the NC's page links to;
- stored files are removed again when storing the record fails.
"""

from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.capas import photos
from capa.capas.history import changing
from capa.capas.lookup import invalid
from capa.capas.photos import CheckedPhoto, Upload, attach_photo, check_photos, photo_limit_bytes, safe_name, save_photo
from capa.capas.states import Step, allowed_in
from capa.common import files
from capa.common.errors import NotFound
from capa.common.transaction import unit_of_work
from capa.inspections.models import Inspection, InspectionPhoto

MAX_PHOTOS = photos.MAX_PHOTOS
TOO_MANY_PHOTOS = _l("At most %(n)d photos per inspection.", n=MAX_PHOTOS)


def photo_of(checked: CheckedPhoto, actor: User) -> InspectionPhoto:
    """A checked photo stored as an inspection's, inside the caller's unit of work; raises StorageRefused (503)
    naming ``photos``."""
    return InspectionPhoto(
        stored_name=save_photo(checked),
        original_name=safe_name(checked.filename),
        content_type=checked.content_type,
        size=len(checked.data),
        uploaded_by=actor,
    )


def add_inspection_photos(inspection: Inspection, uploads: list[Upload], actor: User) -> list[InspectionPhoto]:
    """Add photos to an inspection, and to the NC it raised while that is open and has room (the module's rules).

    Raises ValidationError naming ``photos``: none chosen, more than MAX_PHOTOS on the inspection in all, or an
    upload that is not a photo; StorageRefused (503) naming ``photos`` when the storage refuses one, storing none.
    """
    if not uploads:
        raise invalid({"photos": str(_l("Choose at least one photo."))})
    checked = check_photos(uploads, len(inspection.photos), photo_limit_bytes(), TOO_MANY_PHOTOS)
    nc = inspection.nc
    if nc is not None and allowed_in(Step.ADD_PHOTO, nc.status) and len(nc.photos) + len(checked) <= MAX_PHOTOS:
        with changing(nc, actor, Step.ADD_PHOTO) as journal:
            for photo in checked:
                attach_photo(nc, photo, actor, journal)
            return _added(inspection, checked, actor)
    with unit_of_work():
        return _added(inspection, checked, actor)


def _added(inspection: Inspection, checked: list[CheckedPhoto], actor: User) -> list[InspectionPhoto]:
    added = [photo_of(photo, actor) for photo in checked]
    inspection.photos.extend(added)
    return added


def get_inspection_photo(inspection: Inspection, photo_id: int) -> InspectionPhoto:
    """The inspection's photo ``photo_id``; raises NotFound naming ``photo``."""
    photo = next((p for p in inspection.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo


def open_inspection_photo(photo: InspectionPhoto) -> files.Stored:
    """The photo's stored file, opened to be read; raises NotFound when the storage lost it, StorageRefused (503)
    when the storage cannot give it back for now."""
    return files.open_stored(photo.stored_name, folder=files.PHOTOS)
