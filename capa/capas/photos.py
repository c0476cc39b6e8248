"""Photos of a defect, stored in the app's file storage (:mod:`capa.common.files`) under names the app chooses.

A photo is a JPEG, a PNG or a HEIC/HEIF (what iPhones take), judged by its content, never its name: JPEG and PNG
by their first bytes, HEIF by its leading ISO BMFF ``ftyp`` box naming a HEIF brand (``heic``, ``mif1``, …). No
photo is stored as it came: each is decoded and written anew (:func:`capa.common.images.rewrite`), upright, with
nothing but its pixels (no EXIF with the GPS position, no XMP, no comments, nothing appended after the image), a
JPEG as a JPEG, a PNG as a PNG and a HEIC as a JPEG (``.jpg``, ``image/jpeg``), since most browsers cannot show
HEIC; the device's file name (``IMG_0042.HEIC``) is kept for display only. A photo of more than
``images.MAX_PIXELS`` pixels, or one that cannot be decoded whole (cut short, damaged), is refused. Each photo
is at most CAPA_PHOTO_MAX_BYTES as received, and an NC has at most MAX_PHOTOS. Files are removed again when
saving the record fails, so no half-written photo remains.

The filing form keeps the valid photos of a refused filing as pending photos (``pending_photos.py``), so that
nobody has to choose them again.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.capas.history import Journal, changing
from capa.capas.lookup import invalid
from capa.capas.models import (
    NonConformance,
    Photo,
)
from capa.capas.states import Step
from capa.common import files, images
from capa.common.errors import NotFound
from capa.common.images import JPEG, PNG, is_heif  # noqa: F401 - evidence and pending photos read them here

PHOTO_SIGNATURES = images.SIGNATURES
MAX_PHOTOS = 6


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the device gave, and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedPhoto(Upload):
    """An upload judged to be a photo, in the form it is stored in: a JPEG or a PNG (a HEIC already converted)."""

    content_type: str
    extension: str


def check_photo(upload: Upload, max_bytes: int) -> CheckedPhoto:
    """The upload as it will be stored, judged by its content and written anew (see the module's rules): a JPEG
    or PNG in its own format, a HEIC/HEIF as a JPEG; upright, with nothing but its pixels.

    Raises ValidationError naming ``photos``: larger than ``max_bytes`` as received, not a JPEG, PNG or HEIC, more
    than ``images.MAX_PIXELS`` pixels, or an image that cannot be decoded whole (cut short, damaged).
    """
    if isinstance(upload, CheckedPhoto):
        return upload  # judged already (as the filing was parsed, or kept from a refused form): never written twice
    shown = _shown(upload)
    if len(upload.data) > max_bytes:
        raise invalid({"photos": str(_l("%(name)s is larger than %(size)s.", name=shown, size=_size(max_bytes)))})
    try:
        image = images.rewrite(upload.data)
    except images.NotAnImage:
        message = _l("%(name)s is not a JPEG, PNG or HEIC photo.", name=shown)
    except images.TooManyPixels:
        limit = images.MAX_PIXELS // 10**6
        message = _l("%(name)s has too many pixels: at most %(n)d megapixels.", name=shown, n=limit)
    except images.Unreadable as error:
        message = (
            _l("%(name)s is a HEIC photo that cannot be read.", name=shown)
            if error.heif
            else _l("%(name)s cannot be read as a photo: it is cut short or damaged.", name=shown)
        )
    else:
        return CheckedPhoto(upload.filename, image.data, image.content_type, image.extension)
    raise invalid({"photos": str(message)})


#: What an NC's photos are refused with beyond MAX_PHOTOS.
TOO_MANY_PHOTOS = _l("At most %(n)d photos per non-conformance.", n=MAX_PHOTOS)


def check_photos(uploads: list[Upload], already: int, max_bytes: int, too_many=TOO_MANY_PHOTOS) -> list[CheckedPhoto]:
    """Each upload as it will be stored (see :func:`check_photo`), when ``already`` photos are on the record (an
    NC, unless ``too_many`` says another).

    Raises ValidationError naming ``photos``: more than MAX_PHOTOS in all (``too_many``), or an upload that is
    not a photo.
    """
    if already + len(uploads) > MAX_PHOTOS:
        raise invalid({"photos": str(too_many)})
    return [check_photo(upload, max_bytes) for upload in uploads]


def _shown(upload: Upload) -> str:
    """The upload's name as an error message shows it."""
    return upload.filename[:80] or "?"


def photo_limit_bytes() -> int:
    return current_app.config["CAPA_PHOTO_MAX_BYTES"]


def add_photos(nc: NonConformance, uploads: list[Upload], actor: User) -> list[Photo]:
    """Store photos of the defect in the app's file storage (:mod:`capa.common.files`, its top folder) under names
    the app chooses (never the device's), a HEIC as a JPEG; the files are removed again if saving the record fails
    (the storage follows the step's unit of work). Raises ValidationError naming ``photos`` (see
    :func:`check_photos`), and StorageRefused (503) naming ``photos`` when the storage refuses a photo (a full or
    unwritable disk, an object store out of reach), storing none of them."""
    if not uploads:
        raise invalid({"photos": str(_l("Choose at least one photo."))})
    photos_to_store = check_photos(uploads, len(nc.photos), photo_limit_bytes())
    photos: list[Photo] = []
    with changing(nc, actor, Step.ADD_PHOTO) as journal:
        for checked in photos_to_store:
            photos.append(attach_photo(nc, checked, actor, journal))
    return photos


def save_photo(checked: CheckedPhoto) -> str:
    """Store a checked photo's file (removed again when the unit of work it belongs to fails); its stored name.
    Raises StorageRefused (503) naming ``photos``."""
    return files.save(checked.data, checked.extension, field="photos", folder=files.PHOTOS)


def attach_photo(nc: NonConformance, checked: CheckedPhoto, actor: User, journal: Journal) -> Photo:
    """Store ``checked`` as a photo of ``nc``, in the history ``journal`` writes, inside the caller's unit of
    work; raises what :func:`save_photo` raises."""
    photo = Photo(
        stored_name=save_photo(checked),
        original_name=safe_name(checked.filename),
        content_type=checked.content_type,
        size=len(checked.data),
        uploaded_by_id=actor.id,
    )
    nc.photos.append(photo)
    journal.record("photo", new=photo.original_name)
    return photo


def open_photo(photo: Photo) -> files.Stored:
    """The photo's stored file, opened to be read; raises NotFound when the storage lost it, StorageRefused (503)
    when the storage cannot give it back for now."""
    return files.open_stored(photo.stored_name, folder=files.PHOTOS)


def read_photo(photo: Photo) -> bytes:
    """The photo's bytes; raises what :func:`open_photo` raises."""
    return files.read(photo.stored_name, folder=files.PHOTOS)


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def safe_name(filename: str) -> str:
    """The device's file name reduced to its last part and printable characters, for display only."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "photo"


def get_photo(nc: NonConformance, photo_id: int) -> Photo:
    photo = next((p for p in nc.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo
