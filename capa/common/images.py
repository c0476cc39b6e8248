"""Images as the app stores them: decoded and written anew, so that nothing but the picture is kept.

An image sent to the app (a photo of a defect, a photo among an action's evidence) is never stored as it came.
Its kind is judged by its first bytes (a JPEG, a PNG, or a HEIC/HEIF: an ISO BMFF ``ftyp`` box naming a HEIF
brand), never by its name or the type a client claims; then it is decoded whole and written again by Pillow
(:func:`rewrite`):

- in the format it came in: a JPEG as a JPEG (at JPEG_QUALITY), a PNG as a PNG; a HEIC, which most browsers
  cannot show, as a JPEG;
- turned upright first, as its EXIF orientation says (a phone's portrait photo is stored standing, and a viewer
  has nothing left to turn; libheif turns a HEIC itself while decoding it);
- with its pixels only: no EXIF (where the photo was taken: GPS; the device), no XMP, no comments, no PNG text
  chunks, no ICC profile. Colours are first converted from the image's ICC profile to sRGB, what an image without
  a profile is shown in, so that a phone's wide-gamut photo keeps its colours (a shade is often the defect); a
  PNG's transparency is kept as an alpha channel;
- without anything that followed the image in the file (an HTML page appended to a JPEG): only what the decoder
  drew is written.

Refused, each with its own :class:`ImageRefused`: bytes of no such kind (:class:`NotAnImage`); an image of more
than MAX_PIXELS pixels, before it is decoded (:class:`TooManyPixels`: a decompression bomb is a few kilobytes
that would unpack to gigabytes); and one that cannot be decoded whole, being cut short or damaged
(:class:`Unreadable`). The caller turns them into an error naming its field.
"""

import contextlib
import functools
import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageFile, ImageOps

try:
    from PIL import ImageCms
except ImportError:  # pragma: no cover - a Pillow built without littlecms: profiles are dropped unconverted
    ImageCms = None

JPEG = ("image/jpeg", ".jpg")
PNG = ("image/png", ".png")
#: A kind of image by its first bytes: its type and the extension it is stored under.
SIGNATURES = {b"\xff\xd8\xff": JPEG, b"\x89PNG\r\n\x1a\n": PNG}
#: Brands of the ``ftyp`` box that mark a HEIF image file or image sequence (ISO/IEC 23008-12).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
#: The most pixels an image may have. Phones take 12 to 50 megapixels (the filing form shrinks photos to 1600
#: pixels before sending them); decoding takes 3 to 4 bytes a pixel, and a forged header could otherwise ask
#: for gigabytes of memory. Below Pillow's own bomb limit (about 89 megapixels), so that this one decides.
MAX_PIXELS = 64_000_000
JPEG_QUALITY = 90
#: The Pillow decoder each kind is read with, and no other: a file is never decoded as a kind it did not start as.
_DECODERS = {JPEG: ("JPEG",), PNG: ("PNG",)}
#: The modes a PNG is written in as decoded; any other is written as RGBA.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
#: Pillow's decoders read one process-wide switch (see _strict_decoding); uploads change it one at a time.
_DECODING = threading.Lock()


class ImageRefused(ValueError):
    """An image the app does not store; ``heif`` says whether it came as a HEIC/HEIF."""

    def __init__(self, message: str, *, heif: bool = False):
        super().__init__(message)
        self.heif = heif


class NotAnImage(ImageRefused):
    """Neither a JPEG, a PNG nor a HEIC/HEIF, by its first bytes."""


class TooManyPixels(ImageRefused):
    """More than MAX_PIXELS pixels, by its header."""


class Unreadable(ImageRefused):
    """Of a known kind, but it cannot be decoded whole: cut short, or damaged."""


@dataclass(frozen=True)
class StoredImage:
    """An image as it is stored: its bytes, written by the app, and their type and extension."""

    data: bytes
    content_type: str
    extension: str


def kind_of(data: bytes) -> tuple[str, str] | None:
    """``(type, extension)`` of an image, by its first bytes, as it will be stored (a HEIC as a JPEG); None for
    anything else."""
    kind = next((kind for signature, kind in SIGNATURES.items() if data.startswith(signature)), None)
    if kind is None and is_heif(data):
        return JPEG
    return kind


def is_heif(data: bytes) -> bool:
    """Whether ``data`` starts with an ISO BMFF ``ftyp`` box whose major or one of whose compatible brands is a
    HEIF brand. The box is: a 4-byte size, ``ftyp``, the major brand, a 4-byte minor version, then the
    compatible brands, 4 bytes each, up to the box's size."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    end = min(max(int.from_bytes(data[:4], "big"), 16), len(data))
    brands = [data[8:12], *(data[at : at + 4] for at in range(16, end - 3, 4))]
    return any(brand in HEIF_BRANDS for brand in brands)


def rewrite(data: bytes) -> StoredImage:
    """The image in ``data`` decoded and written anew (see the module's rules): upright, in sRGB, with nothing
    but its pixels, in the format it came in (a HEIC as a JPEG).

    Raises NotAnImage, TooManyPixels (before decoding) or Unreadable (cut short, damaged).
    """
    signed = next((kind for signature, kind in SIGNATURES.items() if data.startswith(signature)), None)
    heif = signed is None and is_heif(data)
    if signed is None and not heif:
        raise NotAnImage("not a JPEG, PNG or HEIC/HEIF")
    kind = signed or JPEG
    output = io.BytesIO()
    with _strict_decoding():
        try:
            image = _decode_heif(data) if heif else _decode(data, kind)
            _turn_upright(image)
            image = _bare(image, kind)
            if kind == JPEG:
                image.save(output, "JPEG", quality=JPEG_QUALITY)
            else:
                image.save(output, "PNG")
        except ImageRefused as refused:
            refused.heif = heif
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow's own limit, far above MAX_PIXELS, stopped it in the header already.
            raise TooManyPixels("more pixels than Pillow decodes", heif=heif) from None
        # An image is untrusted input to C decoders, which signal damage with many kinds of exception
        # (OSError for a file cut short, SyntaxError, ValueError, EOFError, struct.error, zlib.error, RuntimeError
        # from libheif…): each of them means "this image cannot be read".
        except Exception as error:
            raise Unreadable(f"cannot be decoded: {error}", heif=heif) from error
    return StoredImage(output.getvalue(), *kind)


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    """Decode with Pillow refusing what is cut short, and turning its decompression-bomb warning into an error.

    WeasyPrint (the 8D report's PDF) sets ``ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole process when it is
    imported, and Pillow then fills a truncated image with grey instead of failing; while an upload is decoded
    the switch is off again (the report only ever reads images this module wrote, which are whole). Warnings about
    metadata Pillow cannot read are silenced: that metadata is dropped anyway.
    """
    with _DECODING, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        truncated = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated


def _within_limit(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise TooManyPixels(f"{width} x {height} pixels")


def _decode(data: bytes, kind: tuple[str, str]) -> Image.Image:
    """The JPEG or PNG ``data`` decoded whole, its size checked from its header first."""
    image = Image.open(io.BytesIO(data), formats=_DECODERS[kind])
    _within_limit(*image.size)
    image.load()  # raises for a file cut short: strict decoding
    return image


def _decode_heif(data: bytes) -> Image.Image:
    """The HEIC/HEIF ``data`` decoded whole, turned as the device showed it: libheif applies the file's rotation
    and mirror (``irot``, ``imir``) while decoding and pillow-heif resets the EXIF orientation to 1."""
    heif = pillow_heif.open_heif(io.BytesIO(data))  # reads the header only; decoding comes later
    _within_limit(*heif.size)
    return heif.to_pillow()


def _turn_upright(image: Image.Image) -> None:
    """Turn ``image`` (in place) as its EXIF orientation says, so that nothing is left for a viewer to turn."""
    # EXIF that cannot be read says nothing about the orientation: the picture is kept as it was drawn, rather
    # than refused for metadata that is dropped anyway.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)


def _bare(image: Image.Image, kind: tuple[str, str]) -> Image.Image:
    """``image`` in sRGB, in a mode its format writes, with no metadata left to write."""
    icc_profile = image.info.get("icc_profile")
    if kind == PNG and "transparency" in image.info:
        # Kept as an alpha channel: a palette's or a key colour's transparency would not survive the conversion.
        image = image.convert("RGBA")
    image = _in_srgb(image, icc_profile)
    if kind == JPEG and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    elif kind == PNG and image.mode not in _PNG_MODES:
        image = image.convert("RGBA")
    # What the writers would copy from the decoded file (a comment, a profile, a key colour): nothing.
    image.info = {}
    return image


def _in_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """``image``'s colours converted from ``icc_profile`` to sRGB; as it is when it has no profile, a mode
    without colour (greys, a palette) or a profile that cannot be read or does not fit it."""
    if not icc_profile or ImageCms is None or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(image, source, _srgb(), outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


@functools.cache
def _srgb():
    """The sRGB profile, made once."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
