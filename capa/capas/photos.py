"""Photos of a defect, stored in the upload folder under names the app chooses.

A photo is a JPEG, a PNG or a HEIC/HEIF (what iPhones take), judged by its content, never its name: JPEG and PNG
by their first bytes, HEIF by its leading ISO BMFF ``ftyp`` box naming a HEIF brand (``heic``, ``mif1``, …). A
HEIC is decoded (pillow-heif) and stored as a JPEG (``.jpg``, ``image/jpeg``) with its rotation applied, since
most browsers cannot show HEIC; the device's file name (``IMG_0042.HEIC``) is kept for display only. Each photo
is at most CAPA_PHOTO_MAX_BYTES as received, and an NC has at most MAX_PHOTOS. Files are removed again when
saving the record fails, so no half-written photo remains.

The filing form keeps the valid photos of a refused filing as pending photos (``pending_photos.py``), so that
nobody has to choose them again.
"""

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
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

JPEG = ("image/jpeg", ".jpg")
PNG = ("image/png", ".png")
PHOTO_SIGNATURES = {b"\xff\xd8\xff": JPEG, b"\x89PNG\r\n\x1a\n": PNG}
#: Brands of the ``ftyp`` box that mark a HEIF image file or image sequence (ISO/IEC 23008-12).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
MAX_PHOTOS = 6
#: A HEIC larger than this is refused before decoding: phones take 12 to 48 megapixels, and a forged header
#: could otherwise ask for gigabytes of memory.
MAX_HEIF_PIXELS = 100_000_000
JPEG_QUALITY = 90


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
    """The upload as it will be stored, judged by its content: a JPEG or PNG as it came, a HEIC/HEIF decoded and
    converted to JPEG.

    Raises ValidationError naming ``photos``: larger than ``max_bytes`` as received, not a JPEG, PNG or HEIC, or a
    HEIC that cannot be decoded.
    """
    if isinstance(upload, CheckedPhoto):
        return upload  # judged already (as the filing was parsed, or kept from a refused form): never converted twice
    shown = _shown(upload)
    if len(upload.data) > max_bytes:
        raise invalid({"photos": str(_l("%(name)s is larger than %(size)s.", name=shown, size=_size(max_bytes)))})
    kind = next((kind for signature, kind in PHOTO_SIGNATURES.items() if upload.data.startswith(signature)), None)
    if kind is not None:
        return CheckedPhoto(upload.filename, upload.data, *kind)
    if is_heif(upload.data):
        return CheckedPhoto(upload.filename, _heif_as_jpeg(upload), *JPEG)
    raise invalid({"photos": str(_l("%(name)s is not a JPEG, PNG or HEIC photo.", name=shown))})


def check_photos(uploads: list[Upload], already: int, max_bytes: int) -> list[CheckedPhoto]:
    """Each upload as it will be stored (see :func:`check_photo`), when ``already`` photos are on the NC.

    Raises ValidationError naming ``photos``: more than MAX_PHOTOS in all, or an upload that is not a photo.
    """
    if already + len(uploads) > MAX_PHOTOS:
        raise invalid({"photos": str(_l("At most %(n)d photos per non-conformance.", n=MAX_PHOTOS))})
    return [check_photo(upload, max_bytes) for upload in uploads]


def is_heif(data: bytes) -> bool:
    """Whether ``data`` starts with an ISO BMFF ``ftyp`` box whose major or one of whose compatible brands is a
    HEIF brand. The box is: a 4-byte size, ``ftyp``, the major brand, a 4-byte minor version, then the
    compatible brands, 4 bytes each, up to the box's size."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    end = min(max(int.from_bytes(data[:4], "big"), 16), len(data))
    brands = [data[8:12], *(data[at : at + 4] for at in range(16, end - 3, 4))]
    return any(brand in HEIF_BRANDS for brand in brands)


def _heif_as_jpeg(upload: Upload) -> bytes:
    """The HEIF image as a JPEG, turned as the device showed it. libheif applies the file's rotation and mirror
    (``irot``, ``imir``) while decoding and pillow-heif resets the EXIF orientation to 1, so the decoded pixels
    are already upright. Metadata is not copied (a phone's EXIF carries where the photo was taken), except the
    colour profile, without which colours would shift.

    Raises ValidationError naming ``photos`` when the file cannot be decoded or is too large to decode.
    """
    cannot_read = invalid({"photos": str(_l("%(name)s is a HEIC photo that cannot be read.", name=_shown(upload)))})
    output = io.BytesIO()
    try:
        heif = pillow_heif.open_heif(io.BytesIO(upload.data))  # reads the header only; decoding comes later
        width, height = heif.size
        if width * height <= MAX_HEIF_PIXELS:
            image = heif.to_pillow()
            icc_profile = image.info.get("icc_profile") or None
            image.convert("RGB").save(output, "JPEG", quality=JPEG_QUALITY, icc_profile=icc_profile)
    # A HEIC is untrusted input to a C decoder that signals damage with many kinds of exception (ValueError,
    # EOFError, SyntaxError, RuntimeError, OSError): every one of them means "this file cannot be read".
    except Exception as error:
        raise cannot_read from error
    if not output.getbuffer().nbytes:
        raise cannot_read  # too many pixels to decode safely
    return output.getvalue()


def _shown(upload: Upload) -> str:
    """The upload's name as an error message shows it."""
    return upload.filename[:80] or "?"


def photo_limit_bytes() -> int:
    return current_app.config["CAPA_PHOTO_MAX_BYTES"]


def add_photos(nc: NonConformance, uploads: list[Upload], actor: User) -> list[Photo]:
    """Store photos of the defect in the upload folder under names the app chooses (never the device's), a HEIC
    as a JPEG; the files are removed again if saving fails. Raises ValidationError naming ``photos`` (see
    :func:`check_photos`)."""
    if not uploads:
        raise invalid({"photos": str(_l("Choose at least one photo."))})
    photos_to_store = check_photos(uploads, len(nc.photos), photo_limit_bytes())
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    photos: list[Photo] = []
    try:
        with changing(nc, actor, Step.ADD_PHOTO) as journal:
            for checked in photos_to_store:
                stored = uuid.uuid4().hex + checked.extension
                path = folder / stored
                path.write_bytes(checked.data)
                written.append(path)
                photo = Photo(
                    stored_name=stored,
                    original_name=safe_name(checked.filename),
                    content_type=checked.content_type,
                    size=len(checked.data),
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


def safe_name(filename: str) -> str:
    """The device's file name reduced to its last part and printable characters, for display only."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "photo"


def get_photo(nc: NonConformance, photo_id: int) -> Photo:
    photo = next((p for p in nc.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo
