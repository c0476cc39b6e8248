"""Uploaded images are never stored as they came: a photo of a defect and a photo among an action's evidence are
decoded and written anew, so that what is stored, and served, is the picture and nothing else.

Each rule is checked on every way an image comes in: the filing form and the NC page's photo form (photos of the
defect), the API's evidence upload and the page's form completing an action (evidence files). A JPEG with EXIF
(the GPS position, the phone's make), XMP, a comment and a colour profile comes back with none of them; a JPEG
followed by an HTML page comes back without it, served as ``image/jpeg`` with ``nosniff``; a PNG's text chunks
are gone; a phone's photo taken turned (EXIF orientation 6) is stored upright; a decompression bomb and an
image cut short are refused, naming the field, and nothing is stored. What was stored is read from the upload
folder itself, and what is served through the app's own addresses; the files are served only to people logged in
who may read the NC.
"""

import io
import re
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from capa.accounts import service as accounts
from capa.accounts.commands import UserChanges
from capa.capas import lookup, queries
from capa.capas.commands import NCFilters
from capa.common import images
from capa.common.commands import parse
from tests.conftest import ApiClient
from tests.pages import errors_in, field_block, form_at, image_sources, parsed
from tests.test_capa_photos import FILING
from tests.test_evidence_files import capa, plant, sent  # noqa: F401  (fixtures: a CAPA with open actions)

RED, BLUE = (220, 20, 20), (20, 20, 220)
ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825
#: What the metadata of the photos below says, each of which must be gone from what is stored.
SECRETS = (b"Exif", b"PhoneMaker", b"GPS", b"secret-comment", b"secret-xmp", b"secret-text", b"<html", b"<script")
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(jpg|png)")


# The images -----------------------------------------------------------------------------------------------


def picture(width: int = 64, height: int = 32) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: its make, the orientation, and where the photo was taken (the GPS IFD)."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 14.0, 2.5), 3: "E", 4: (121.0, 28.0, 1.0)})
    return exif


SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg(orientation: int = 1, width: int = 64, height: int = 32) -> bytes:
    """A phone's JPEG with EXIF (GPS included), XMP, a comment and a colour profile."""
    output = io.BytesIO()
    picture(width, height).save(
        output,
        "JPEG",
        quality=95,
        exif=phone_exif(orientation),
        comment=b"secret-comment",
        xmp=b"<x:xmpmeta>secret-xmp</x:xmpmeta>",
        icc_profile=SRGB_PROFILE,
    )
    data = output.getvalue()
    with Image.open(io.BytesIO(data)) as written:  # the metadata really is in the file sent
        assert written.getexif().get_ifd(GPS_IFD)[1] == "N"
        assert {"exif", "comment", "xmp", "icc_profile"} <= set(written.info)
    return data


def png() -> bytes:
    """A PNG with text chunks (``tEXt``, ``zTXt``, ``iTXt`` with XMP), EXIF (``eXIf``) and a colour profile."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text of tEXt")
    info.add_text("Author", "secret-text of zTXt", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-xmp</x:xmpmeta>")
    output = io.BytesIO()
    picture().save(output, "PNG", pnginfo=info, exif=phone_exif(), icc_profile=SRGB_PROFILE)
    data = output.getvalue()
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(data))
    return data


def heic() -> bytes:
    """An iPhone's HEIC with EXIF (GPS included)."""
    output = io.BytesIO()
    pillow_heif.from_pillow(picture()).save(output, quality=90, exif=phone_exif().tobytes())
    assert b"PhoneMaker" in output.getvalue()
    return output.getvalue()


def png_chunks(data: bytes) -> list[bytes]:
    """The type of each chunk of a PNG, in order."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def png_of(width: int, height: int, rows: bytes) -> bytes:
    """A 1-bit greyscale PNG of ``width`` x ``height`` pixels whose image data is ``rows``, compressed."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def png_bomb() -> bytes:
    """A real PNG of 9000 x 8000 pixels (72 megapixels, more than the app takes, fewer than Pillow's own bomb
    limit): a few kilobytes that decode to hundreds of megabytes."""
    width, height = 9000, 8000
    data = png_of(width, height, (b"\x00" + bytes((width + 7) // 8)) * height)
    assert len(data) < 20_000
    return data


def jpeg_bomb() -> bytes:
    """A JPEG whose header claims 65,535 x 65,535 pixels (beyond even Pillow's own limit)."""
    output = io.BytesIO()
    picture(16, 16).save(output, "JPEG")
    data = bytearray(output.getvalue())
    frame = data.index(b"\xff\xc0")  # the start of frame: length, precision, then height and width
    data[frame + 5 : frame + 9] = struct.pack(">HH", 65535, 65535)
    return bytes(data)


def cut_short() -> bytes:
    """The first half of a real JPEG of noise (whose scan is most of the file)."""
    output = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(output, "JPEG", quality=95)
    return output.getvalue()[: len(output.getvalue()) // 2]


def bare(data: bytes, kind: str) -> Image.Image:
    """The image stored, which must be a ``kind`` carrying nothing but its pixels; the picture, decoded."""
    for secret in SECRETS:
        assert secret not in data, secret
    image = Image.open(io.BytesIO(data))
    assert image.format == kind
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(GPS_IFD) == {}
    assert not {"exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp", "Comment", "Author"} & set(image.info)
    image.load()
    return image


def near(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    """Whether a pixel of a lossy JPEG is ``expected`` give or take what compression changes."""
    return all(abs(a - b) <= 40 for a, b in zip(colour[:3], expected, strict=True))


# The ways an image comes in --------------------------------------------------------------------------------


class Arrival:
    """Sends an image one of the four ways and reads back what was stored and how it is served."""

    def __init__(self, app, people: SimpleNamespace, nc: SimpleNamespace, way: str):
        self.app, self.people, self.nc, self.way = app, people, nc, way
        self.number = nc.number
        self.folder = Path(app.config["UPLOAD_FOLDER"])

    def send(self, data: bytes, name: str):
        """Send the image; the answer."""
        people = self.people
        if self.way == "filing":
            return people.sup_page.post("/nc/new", data={**FILING, "photos": sent((data, name))})
        if self.way == "nc-page":
            return people.sup_page.post(f"/nc/{self.number}/photos", data={"photos": sent((data, name))})
        if self.way == "evidence-api":
            return people.api_sup.post(
                f"/api/v1/nonconformances/{self.number}/attachments",
                data={"purpose": "action", "action": str(self.nc.corrective), "file": sent((data, name))},
            )
        return people.sup_page.post(
            f"/actions/{self.nc.corrective}/complete",
            data={"evidence": "Density reset; photo of the setting.", "files": sent((data, name))},
        )

    def accepted(self, response) -> SimpleNamespace:
        """What an accepted image became: its stored name and bytes (read from the folder), and the answer
        serving it."""
        assert response.status_code in (201, 302), response.text
        number = self.number
        if self.way == "filing":
            number = response.headers["Location"].rsplit("/", 1)[1]
        with self.app.app_context():
            nc = lookup.get_nc(number)
            if self.way in ("filing", "nc-page"):
                [photo] = nc.photos
                name, path = photo.stored_name, self.folder / photo.stored_name
                address = f"/nc/{number}/photos/{photo.id}"
            else:
                [attachment] = nc.attachments
                name, path = attachment.key, self.folder / "files" / attachment.key
                address = (
                    f"/api/v1/attachments/{attachment.id}"
                    if self.way == "evidence-api"
                    else f"/nc/{number}/attachments/{attachment.id}"
                )
        served = fetch(self.people.api_other if self.way == "evidence-api" else self.people.other_page, address)
        return SimpleNamespace(name=name, data=path.read_bytes(), served=served, address=address)

    def refusal(self, response) -> str:
        """The one error the refused image got, beside the field that carried it."""
        assert response.status_code == 400, response.text
        if self.way == "evidence-api":
            [(field, message)] = response.json["error"]["fields"].items()
            assert field == "file[0]"
            return message
        if self.way == "filing":
            return one_error(field_block(response.text, "photos"))
        if self.way == "nc-page":
            return one_error(field_block(form_at(response.text, f"/nc/{self.number}/photos"), "photos"))
        return one_error(field_block(form_at(response.text, f"/actions/{self.nc.corrective}/complete"), "files"))

    def nothing_stored(self) -> None:
        """No NC filed, no photo, no evidence file, nothing new on the NC; no file in the upload folder, not even
        one kept for the form shown again."""
        with self.app.app_context():
            assert queries.search(parse(NCFilters, {})).total == 1
            nc = lookup.get_nc(self.number)
            assert (nc.photos, nc.attachments, nc.version) == ([], [], self.nc.version)
        assert [path for path in self.folder.rglob("*") if path.is_file()] == []


def fetch(client, address: str, **kwargs):
    """GET ``address`` and read the whole answer, closing it (a file sent stays open until then)."""
    response = client.get(address, **kwargs)
    response.get_data()
    response.close()
    return response


def one_error(block) -> str:
    [message] = errors_in(block)
    return message


WAYS = ["filing", "nc-page", "evidence-api", "evidence-page"]


@pytest.fixture(params=WAYS)
def arrival(request, app, plant, capa) -> Arrival:  # noqa: F811
    capa.version = lookup.get_nc(capa.number).version
    return Arrival(app, plant, capa, request.param)


# Metadata, appended bytes, orientation ----------------------------------------------------------------------


def test_a_photos_exif_with_its_gps_position_xmp_comment_and_profile_are_not_stored(arrival):
    stored = arrival.accepted(arrival.send(jpeg(), "IMG_0042.jpg"))
    assert STORED_NAME.fullmatch(stored.name)
    image = bare(stored.data, "JPEG")
    assert image.size == (64, 32)
    assert near(image.getpixel((8, 16)), RED) and near(image.getpixel((56, 16)), BLUE)
    assert stored.served.status_code == 200
    assert stored.served.data == stored.data


def test_a_heic_photos_exif_is_not_stored_in_the_jpeg_it_becomes(arrival):
    stored = arrival.accepted(arrival.send(heic(), "IMG_0042.HEIC"))
    image = bare(stored.data, "JPEG")
    assert image.size == (64, 32)
    assert stored.served.data == stored.data


def test_what_follows_the_image_is_not_stored_and_it_is_served_as_an_image_with_nosniff(arrival):
    photo = jpeg()
    polyglot = photo + b"<html><body><script>alert(document.cookie)</script></body></html>"
    stored = arrival.accepted(arrival.send(polyglot, "page.html"))
    assert STORED_NAME.fullmatch(stored.name) and stored.name.endswith(".jpg")
    assert stored.data.endswith(b"\xff\xd9")  # the image's end is the file's end
    bare(stored.data, "JPEG")
    served = stored.served
    assert (served.status_code, served.mimetype) == (200, "image/jpeg")
    assert served.data == stored.data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in served.headers["Cache-Control"]


def test_a_pngs_text_chunks_and_metadata_are_not_stored(arrival):
    stored = arrival.accepted(arrival.send(png(), "screen.png"))
    assert stored.name.endswith(".png")
    assert png_chunks(stored.data) == [b"IHDR", b"IDAT", b"IEND"]
    image = bare(stored.data, "PNG")
    assert image.getpixel((8, 16)) == RED and image.getpixel((56, 16)) == BLUE  # lossless
    assert (stored.served.mimetype, stored.served.data) == ("image/png", stored.data)


def test_a_photo_taken_turned_is_stored_upright(arrival):
    # Orientation 6: the camera's picture is to be turned 90° clockwise to be seen as it was taken.
    stored = arrival.accepted(arrival.send(jpeg(orientation=6), "portrait.jpg"))
    image = bare(stored.data, "JPEG")  # no orientation left for a viewer to apply a second time
    assert image.size == (32, 64)
    assert near(image.getpixel((16, 8)), RED)  # the left half, now on top
    assert near(image.getpixel((16, 56)), BLUE)


# Refused images ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bomb", [png_bomb, jpeg_bomb], ids=["png-72-megapixels", "jpeg-4-gigapixels"])
def test_a_decompression_bomb_is_refused_naming_the_field_and_nothing_is_stored(arrival, bomb):
    message = arrival.refusal(arrival.send(bomb(), "bomb.png"))
    assert message == "bomb.png has too many pixels: at most 64 megapixels."
    arrival.nothing_stored()


@pytest.mark.parametrize("report_made", [False, True], ids=["fresh-process", "after-a-pdf-report"])
def test_an_image_cut_short_is_refused_naming_the_field_and_nothing_is_stored(arrival, report_made, monkeypatch):
    if report_made:
        # WeasyPrint, imported to make an 8D report's PDF, sets this for the whole process: Pillow then fills a
        # truncated image with grey instead of failing.
        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    message = arrival.refusal(arrival.send(cut_short(), "half.jpg"))
    assert message == "half.jpg cannot be read as a photo: it is cut short or damaged."
    arrival.nothing_stored()
    if report_made:
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as the report needs it


def test_a_jpeg_header_followed_by_a_page_is_refused(arrival):
    fake = b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>"
    message = arrival.refusal(arrival.send(fake, "photo.jpg"))
    assert message == "photo.jpg cannot be read as a photo: it is cut short or damaged."
    arrival.nothing_stored()


# Kept across a refused form ----------------------------------------------------------------------------------


def test_a_photo_kept_from_a_refused_filing_is_kept_bare_and_filed_as_it_was_kept(app, plant, capa):  # noqa: F811
    refused = plant.sup_page.post("/nc/new", data={**FILING, "title": "", "photos": sent((jpeg(), "IMG_0042.jpg"))})
    assert refused.status_code == 400
    [token] = [node.attributes["value"] for node in parsed(refused.text).css('input[name="kept_photo"]')]
    [(thumbnail, _alt)] = [src for src in image_sources(refused.text) if src[0].startswith("/nc/new/photos/")]
    kept = fetch(plant.sup_page, thumbnail)
    assert kept.headers["X-Content-Type-Options"] == "nosniff"
    bare(kept.data, "JPEG")
    # Nothing of the photo as it was sent lies anywhere in the upload folder.
    for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*"):
        if path.is_file():
            assert b"PhoneMaker" not in path.read_bytes()

    filed = plant.sup_page.post("/nc/new", data={**FILING, "kept_photo": token})
    stored = Arrival(app, plant, capa, "filing").accepted(filed)
    assert stored.data == kept.data  # written once, when it was kept: a JPEG loses a little at each writing


def test_an_evidence_photo_kept_from_a_refused_form_is_written_once(app, plant, capa):  # noqa: F811
    action = f"/actions/{capa.corrective}/complete"
    photo = jpeg()
    refused = plant.sup_page.post(action, data={"evidence": "", "files": sent((photo, "setting.jpg"))})
    assert refused.status_code == 400
    tokens = [node.attributes["value"] for node in parsed(form_at(refused.text, action)).css('input[name="kept_file"]')]
    assert len(tokens) == 1

    done = plant.sup_page.post(action, data={"evidence": "Density reset.", "kept_file": tokens})
    stored = Arrival(app, plant, capa, "evidence-page").accepted(done)
    bare(stored.data, "JPEG")
    assert stored.data == images.rewrite(photo).data  # as one writing makes it, not a second one of that


# Who is served the files --------------------------------------------------------------------------------------


def test_photos_and_evidence_are_served_only_to_people_logged_in_and_active(app, plant, capa):  # noqa: F811
    photo = Arrival(app, plant, capa, "nc-page")
    photo_address = photo.accepted(photo.send(jpeg(), "defect.jpg")).address
    upload = plant.api_qm.post(
        f"/api/v1/nonconformances/{capa.number}/attachments",
        data={"purpose": "closing", "file": sent((jpeg(), "after.jpg"))},
    )
    [attachment] = upload.json["items"]
    attachment_page = f"/nc/{capa.number}/attachments/{attachment['id']}"
    refused = plant.sup_page.post("/nc/new", data={**FILING, "title": "", "photos": sent((jpeg(), "kept.jpg"))})
    [(kept, _alt)] = [src for src in image_sources(refused.text) if src[0].startswith("/nc/new/photos/")]

    # Anyone logged in may read an NC, and its files.
    for client in (plant.qm_page, plant.other_page):
        assert fetch(client, photo_address).status_code == 200
        assert fetch(client, attachment_page).status_code == 200
    assert fetch(plant.api_other, attachment["url"]).status_code == 200

    # Nobody logged in: to the login page; the API answers 401.
    anonymous = app.test_client()
    for address in (photo_address, attachment_page, kept):
        response = fetch(anonymous, address)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), address
    assert plant.api_anonymous.get(attachment["url"]).status_code == 401
    # A kept photo is its sender's only.
    assert fetch(plant.other_page, kept).status_code == 404

    # A revoked token, and a person no longer active (on a session and a token taken before), are nobody.
    revoked = accounts.create_token(plant.other)
    accounts.revoke_token(revoked)
    assert ApiClient(plant.api_anonymous._client, revoked).get(attachment["url"]).status_code == 401
    accounts.update_user(plant.other, parse(UserChanges, {"active": False}))
    for address in (photo_address, attachment_page):
        response = plant.other_page.get(address)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), address
    assert plant.api_other.get(attachment["url"]).status_code == 401
