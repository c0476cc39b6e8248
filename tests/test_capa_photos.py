"""Photos of a defect: uploaded when filing and from the NC page, stored in the instance folder under names the
app chooses, served back only under their own NC, and refused when they are not JPEG, PNG or HEIC, too large, too
many, or when their names try to escape the uploads folder. A HEIC is stored as a JPEG. The photos of a refused
filing form are kept for their uploader and filed when the form is sent again.

What was stored is read back in an app context of its own (a new session) and from the uploads folder itself.
"""

import io
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import pillow_heif
import pytest
from PIL import Image

from capa.capas import filing, lookup, queries, steps
from capa.capas.commands import Cancel, FileNC, NCFilters
from capa.common import images
from capa.common.commands import parse
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.pages import (
    errors_in,
    field_block,
    form_actions,
    form_at,
    image_sources,
    input_value,
    logged_in,
    one,
    parsed,
    text,
)

NUMBER = r"NC-\d{4}-\d{5}"
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(jpg|png)")


def picture(kind: str) -> bytes:
    """A small real photo: the app decodes every photo it is sent."""
    output = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(output, kind)
    return output.getvalue()


JPEG = picture("JPEG")
PNG = picture("PNG")
#: The photos as the app stores them: decoded and written anew (capa.common.images).
STORED_JPEG = images.rewrite(JPEG).data
STORED_PNG = images.rewrite(PNG).data
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
TEXT = b"This is a text file, not a photo.\n"
HTML = b"<html><script>alert('x')</script></html>"
# A phone's video: an ISO BMFF file like a HEIC, but of an MP4 brand.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + bytes(64)

FILING = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-1",
    "quantity_affected": "12",
    "severity": "critical",
    "description": "Photos of the torn snap holes.",
}


# Helpers -------------------------------------------------------------------------------------------------


def files(*photos: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    """Photos as the test client sends them: ``filename="…"`` in each part."""
    return [(io.BytesIO(data), name) for data, name in photos]


def multipart(fields: dict[str, str], photos: list[tuple[bytes, str]]) -> tuple[bytes, str]:
    """A multipart body built by hand, each photo's name sent as ``filename*=UTF-8''…`` (RFC 2231), so that a
    name may carry any character, a newline or a NUL included, as a hostile client can send it."""
    boundary = "capa-photo-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for data, filename in photos:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            f"filename*=UTF-8''{quote(filename, safe='')}\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def fetch(client, path: str):
    """GET ``path`` and read the whole body, closing the response (a sent file stays open until then)."""
    response = client.get(path)
    response.get_data()  # kept by the response once read
    response.close()
    return response


def uploaded(folder: Path) -> list[str]:
    """The names of the photos stored in the uploads folder (none when it was never made), those kept pending
    for a refused form aside."""
    return sorted(path.name for path in folder.iterdir() if path.name != "pending") if folder.exists() else []


@pytest.fixture
def folder(app) -> Path:
    path = Path(app.config["UPLOAD_FOLDER"])
    assert path.parent == Path(app.instance_path)
    return path


@pytest.fixture
def stored_photos(app):
    """The photos the database holds for an NC, read in a new app context: (shown name, stored name, type,
    size) each."""

    def read(number: str) -> list[tuple[str, str, str, int]]:
        with app.app_context():
            nc = lookup.get_nc(number)
            return [(p.original_name, p.stored_name, p.content_type, p.size) for p in nc.photos]

    return read


@pytest.fixture
def nc_version(app):
    def read(number: str) -> int:
        with app.app_context():
            return lookup.get_nc(number).version

    return read


def filed_count(app) -> int:
    with app.app_context():
        return queries.search(parse(NCFilters, {})).total


@pytest.fixture
def factory(app):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAP-01", "name": "Snap Co"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-1",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "SN-1", "kind": "trim", "supplier": "SNAP-01"}],
            },
        )
    )


@pytest.fixture
def qm(make_user):
    return make_user("quality_manager", "qm.wang")


@pytest.fixture
def sup(make_user):
    return make_user("supervisor", "sup.li")


@pytest.fixture
def sup_client(app, sup):
    return logged_in(app, sup)


@pytest.fixture
def qm_client(app, qm):
    return logged_in(app, qm)


@pytest.fixture
def file_nc(factory, sup):
    """File an NC through the service (no photos): its number."""

    def file(**changes) -> str:
        return filing.file_nc(parse(FileNC, {**FILING, **changes}), sup).number

    return file


@pytest.fixture
def small_limit(app_config, request):
    """An app whose photo limit is 1000 bytes: the configuration is changed before the app is built."""
    app_config["CAPA_PHOTO_MAX_BYTES"] = 1000
    app = request.getfixturevalue("app")
    assert app.config["CAPA_PHOTO_MAX_BYTES"] == 1000, "the app was built before the limit was set"
    return app


def number_of(response) -> str:
    assert response.status_code == 302, response.text
    return re.fullmatch(rf"/nc/({NUMBER})", response.headers["Location"]).group(1)


def photo_paths(html: str, number: str) -> list[str]:
    """Where the NC page shows each photo of NC ``number`` from, in order: ``/nc/…/photos/<id>``."""
    return [src for src, _ in image_sources(html) if re.fullmatch(rf"/nc/{number}/photos/\d+", src)]


# Stored and served -----------------------------------------------------------------------------------------


def test_photos_filed_with_the_nc_are_stored_under_names_the_app_chose(app, factory, sup_client, folder, stored_photos):
    response = sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "defect.jpg"), (PNG, "close-up.png"))})
    number = number_of(response)
    photos = stored_photos(number)
    assert [(name, kind, size) for name, _, kind, size in photos] == [
        ("defect.jpg", "image/jpeg", len(STORED_JPEG)),
        ("close-up.png", "image/png", len(STORED_PNG)),
    ]
    stored_names = [stored for _, stored, _, _ in photos]
    assert all(STORED_NAME.fullmatch(name) for name in stored_names)
    assert [name.rsplit(".", 1)[1] for name in stored_names] == ["jpg", "png"]
    assert uploaded(folder) == sorted(stored_names)
    assert (folder / stored_names[0]).read_bytes() == STORED_JPEG
    assert (folder / stored_names[1]).read_bytes() == STORED_PNG


def test_photos_are_served_back_with_their_type_and_nosniff(app, factory, sup_client, qm_client, stored_photos):
    number = number_of(
        sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "defect.jpg"), (PNG, "close-up.png"))})
    )
    page = qm_client.get(f"/nc/{number}").text
    sources = image_sources(page)
    assert [alt for _, alt in sources] == ["defect.jpg", "close-up.png"]
    for (source, _), body, kind in zip(sources, (STORED_JPEG, STORED_PNG), ("image/jpeg", "image/png"), strict=True):
        assert re.fullmatch(rf"/nc/{number}/photos/\d+", source)
        response = fetch(qm_client, source)
        assert response.status_code == 200
        assert response.mimetype == kind
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # A photo of a record is the logged-in person's: no shared cache keeps it.
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.data == body


def test_the_type_comes_from_the_content_not_the_name(app, factory, sup_client, stored_photos, folder):
    number = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((PNG, "really-a-png.jpg"))}))
    [(shown, stored, kind, _)] = stored_photos(number)
    assert (shown, kind) == ("really-a-png.jpg", "image/png")
    assert stored.endswith(".png")
    photo_id = photo_paths(sup_client.get(f"/nc/{number}").text, number)[0].rsplit("/", 1)[1]
    response = fetch(sup_client, f"/nc/{number}/photos/{photo_id}")
    assert response.mimetype == "image/png"
    assert response.data == STORED_PNG


def test_photos_are_added_from_the_nc_page(app, file_nc, sup_client, stored_photos, folder, nc_version):
    number = file_nc()
    assert f"/nc/{number}/photos" in form_actions(sup_client.get(f"/nc/{number}").text)
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((JPEG, "torn-hole.jpg"))})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/nc/{number}"
    page = sup_client.get(f"/nc/{number}").text
    assert "Photos added." in page
    assert "torn-hole.jpg" in [alt for _, alt in image_sources(page)]
    assert "photo: torn-hole.jpg" in page
    [(shown, stored, kind, size)] = stored_photos(number)
    assert (shown, kind, size) == ("torn-hole.jpg", "image/jpeg", len(STORED_JPEG))
    assert uploaded(folder) == [stored]
    assert nc_version(number) == 2


def test_photos_need_a_login(app, factory, sup_client):
    number = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "defect.jpg"))}))
    path = photo_paths(sup_client.get(f"/nc/{number}").text, number)[0]
    response = fetch(app.test_client(), path)  # nobody logged in
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_photo_is_served_only_under_its_own_nc(app, factory, sup_client, qm_client):
    first = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "first.jpg"))}))
    second = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((PNG, "second.png"))}))
    first_path = photo_paths(qm_client.get(f"/nc/{first}").text, first)[0]
    second_path = photo_paths(qm_client.get(f"/nc/{second}").text, second)[0]
    first_id, second_id = first_path.rsplit("/", 1)[1], second_path.rsplit("/", 1)[1]
    assert fetch(qm_client, first_path).status_code == 200
    assert fetch(qm_client, second_path).status_code == 200
    assert fetch(qm_client, f"/nc/{second}/photos/{first_id}").status_code == 404
    assert fetch(qm_client, f"/nc/{first}/photos/{second_id}").status_code == 404
    assert fetch(qm_client, f"/nc/{first}/photos/99999").status_code == 404
    assert fetch(qm_client, f"/nc/NC-2026-09999/photos/{first_id}").status_code == 404


# Refused uploads -------------------------------------------------------------------------------------------

NOT_PHOTOS = {
    "pdf": (PDF, "report.pdf"),
    "text-renamed-jpg": (TEXT, "photo.jpg"),
    "html-renamed-png": (HTML, "photo.png"),
    "empty": (b"", "empty.jpg"),
    "jpeg-signature-too-short": (b"\xff\xd8", "short.jpg"),
    "mp4-video": (MP4, "clip.mp4"),
}


@pytest.mark.parametrize("kind", NOT_PHOTOS)
def test_filing_with_a_file_that_is_not_a_photo_is_refused_and_leaves_nothing(app, factory, sup_client, folder, kind):
    data, name = NOT_PHOTOS[kind]
    response = sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "good.jpg"), (data, name))})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "photos")) == [f"{name} is not a JPEG, PNG or HEIC photo."]
    assert input_value(field_block(response.text, "title")) == "Snap buttons come off the infant romper"
    assert filed_count(app) == 0
    assert uploaded(folder) == []
    # The good photo waits to be filed with the form; the other one is nowhere.
    assert [alt for _, alt in image_sources(response.text)] == ["good.jpg"]


@pytest.mark.parametrize("kind", NOT_PHOTOS)
def test_adding_a_file_that_is_not_a_photo_is_refused_and_stores_nothing(
    file_nc, sup_client, folder, stored_photos, nc_version, kind
):
    number = file_nc()
    data, name = NOT_PHOTOS[kind]
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((JPEG, "good.jpg"), (data, name))})
    assert response.status_code == 400
    form = form_at(response.text, f"/nc/{number}/photos")
    assert errors_in(field_block(form, "photos")) == [f"{name} is not a JPEG, PNG or HEIC photo."]
    assert stored_photos(number) == []
    assert uploaded(folder) == []
    assert nc_version(number) == 1


def test_photo_at_the_limit_is_accepted(small_limit, factory, sup_client, stored_photos, folder):
    at_limit = JPEG + bytes(1000 - len(JPEG))
    number = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((at_limit, "big.jpg"))}))
    [(_, stored, _, size)] = stored_photos(number)
    assert size == len(STORED_JPEG)  # what followed the picture is not stored
    assert uploaded(folder) == [stored]


def test_filing_with_a_photo_over_the_limit_is_refused_and_leaves_nothing(small_limit, factory, sup_client, folder):
    too_big = JPEG + bytes(1001 - len(JPEG))
    response = sup_client.post("/nc/new", data={**FILING, "photos": files((JPEG, "small.jpg"), (too_big, "big.jpg"))})
    assert response.status_code == 400
    [message] = errors_in(field_block(response.text, "photos"))
    assert message.startswith("big.jpg is larger than")
    assert filed_count(small_limit) == 0
    assert uploaded(folder) == []


def test_adding_a_photo_over_the_limit_is_refused(small_limit, file_nc, sup_client, folder, stored_photos):
    number = file_nc()
    too_big = PNG + bytes(2000)
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((too_big, "big.png"))})
    assert response.status_code == 400
    assert "big.png is larger than" in response.text
    assert stored_photos(number) == []
    assert uploaded(folder) == []


def test_the_size_refusal_states_the_limit(small_limit, file_nc, sup_client):
    number = file_nc()
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((JPEG + bytes(2000), "big.jpg"))})
    assert response.status_code == 400
    assert "larger than 0 MB" not in response.text


def test_filing_with_more_than_six_photos_is_refused_and_leaves_nothing(app, factory, sup_client, folder):
    seven = files(*[(JPEG, f"photo-{i}.jpg") for i in range(7)])
    response = sup_client.post("/nc/new", data={**FILING, "photos": seven})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "photos")) == ["At most 6 photos per non-conformance."]
    assert filed_count(app) == 0
    assert uploaded(folder) == []


def test_six_photos_in_all_and_no_more(file_nc, sup_client, folder, stored_photos):
    number = file_nc()
    first = sup_client.post(f"/nc/{number}/photos", data={"photos": files(*[(JPEG, f"a{i}.jpg") for i in range(4)])})
    assert first.status_code == 302
    refused = sup_client.post(f"/nc/{number}/photos", data={"photos": files(*[(PNG, f"b{i}.png") for i in range(3)])})
    assert refused.status_code == 400
    assert "At most 6 photos per non-conformance." in refused.text
    assert [shown for shown, *_ in stored_photos(number)] == ["a0.jpg", "a1.jpg", "a2.jpg", "a3.jpg"]
    assert len(uploaded(folder)) == 4
    second = sup_client.post(f"/nc/{number}/photos", data={"photos": files(*[(PNG, f"b{i}.png") for i in range(2)])})
    assert second.status_code == 302
    assert len(stored_photos(number)) == 6
    assert len(uploaded(folder)) == 6
    last = sup_client.post(f"/nc/{number}/photos", data={"photos": files((JPEG, "seventh.jpg"))})
    assert last.status_code == 400
    assert len(stored_photos(number)) == 6
    assert len(uploaded(folder)) == 6


def test_no_photo_is_added_to_a_cancelled_nc(app, factory, file_nc, qm, sup_client, folder, stored_photos):
    number = file_nc()
    steps.cancel(lookup.get_nc(number), parse(Cancel, {"reason": "Filed twice."}), qm)
    assert f"/nc/{number}/photos" not in form_actions(sup_client.get(f"/nc/{number}").text)
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((JPEG, "late.jpg"))})
    assert response.status_code == 409
    assert stored_photos(number) == []
    assert uploaded(folder) == []


def test_posting_the_photo_form_without_a_file_changes_nothing(file_nc, sup_client, nc_version):
    number = file_nc()
    response = sup_client.post(f"/nc/{number}/photos", data={})
    assert response.status_code == 400
    assert nc_version(number) == 1


# Hostile file names ----------------------------------------------------------------------------------------

HOSTILE_NAMES = {
    "parent-dirs": ("../../etc/passwd.jpg", "passwd.jpg"),
    "absolute": ("/srv/evil-absolute.png", "evil-absolute.png"),
    "windows-path": ("C:\\Users\\li\\..\\..\\evil-windows.jpg", "evil-windows.jpg"),
    "newline-and-nul": ("evil\nname\x00.jpg", "evilname.jpg"),
    "carriage-return-header": ("evil\r\nX-Injected: 1.jpg", "evilX-Injected: 1.jpg"),
    "very-long": ("x" * 1000 + ".jpg", "x" * 200),
    "markup": ('<img src=x onerror="alert(1)">.jpg', '<img src=x onerror="alert(1)">.jpg'),
}


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_hostile_file_names_are_stored_safely(app, factory, sup_client, folder, stored_photos, tmp_path, case):
    name, expected_shown = HOSTILE_NAMES[case]
    body, content_type = multipart(FILING, [(JPEG, name)])
    response = sup_client.post("/nc/new", data=body, content_type=content_type)
    if response.status_code == 400:  # refused: that is safe too, if nothing was kept
        assert filed_count(app) == 0
        assert uploaded(folder) == []
        return
    number = number_of(response)

    [(shown, stored, kind, size)] = stored_photos(number)
    assert STORED_NAME.fullmatch(stored)
    assert (kind, size) == ("image/jpeg", len(STORED_JPEG))
    assert shown == expected_shown
    assert "/" not in shown and "\\" not in shown and shown.isprintable() and len(shown) <= 200
    assert uploaded(folder) == [stored]
    # No image was written anywhere else in the test's directory (the instance folder lives in it).
    images = [path for path in tmp_path.rglob("*") if path.is_file() and path.parent != folder]
    assert [path for path in images if path.suffix in (".jpg", ".png") or "evil" in path.name] == []
    assert not Path("/etc/passwd.jpg").exists() and not Path("/srv/evil-absolute.png").exists()

    page = sup_client.get(f"/nc/{number}").text
    # One image, named by its alt text: a name that is markup stays text, it makes no element of its own.
    alts = [alt for _, alt in image_sources(page)]
    assert alts == [shown]
    assert "/" not in alts[0] and "\n" not in alts[0]
    assert parsed(page).css("[onerror]") == []
    assert '<img src=x onerror="alert(1)">' not in page
    served = fetch(sup_client, photo_paths(page, number)[0])
    assert served.status_code == 200 and served.data == STORED_JPEG


def test_hostile_name_in_a_refused_upload_is_not_echoed_raw(app, factory, sup_client, folder):
    body, content_type = multipart(FILING, [(TEXT, '<script>alert("x")</script>.jpg')])
    response = sup_client.post("/nc/new", data=body, content_type=content_type)
    assert response.status_code == 400
    assert '<script>alert("x")</script>' not in response.text
    # Shown, as text: the name makes no script element of its own, and the text reads it as it was sent.
    assert [node for node in parsed(response.text).css("script") if "alert" in node.text()] == []
    assert '<script>alert("x")</script>' in text(response.text)
    assert filed_count(app) == 0
    assert uploaded(folder) == []


# HEIC photos -----------------------------------------------------------------------------------------------


def heic_photo(width: int = 64, height: int = 32, orientation: int = 1) -> tuple[bytes, Image.Image]:
    """A real HEIC (encoded by pillow-heif), left half red and right half blue, as a phone would write it with
    ``orientation`` (EXIF: 6 is "turn 90° clockwise to show"); and the picture as the phone shows it."""
    picture = Image.new("RGB", (width, height), RED)
    picture.paste(BLUE, (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    output = io.BytesIO()
    pillow_heif.from_pillow(picture).save(output, quality=90, exif=exif.tobytes())
    return output.getvalue(), picture.transpose(TURNS[orientation]) if orientation in TURNS else picture


RED, BLUE = (220, 20, 20), (20, 20, 220)
ORIENTATION = 0x0112
#: How a viewer turns a picture to show it, by EXIF orientation.
TURNS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}


def near(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    """Whether a pixel of a lossy JPEG is ``expected`` give or take what compression changes."""
    return all(abs(a - b) <= 40 for a, b in zip(colour, expected, strict=True))


def test_a_heic_photo_is_stored_as_a_jpeg_turned_as_the_phone_showed_it(
    app, factory, sup_client, folder, stored_photos
):
    heic, shown = heic_photo(orientation=6)
    assert b"irot" in heic  # the file itself says the picture must be turned to be shown
    assert shown.size == (32, 64)
    number = number_of(sup_client.post("/nc/new", data={**FILING, "photos": files((heic, "IMG_0042.HEIC"))}))
    [(name, stored, kind, size)] = stored_photos(number)
    assert (name, kind) == ("IMG_0042.HEIC", "image/jpeg")
    assert STORED_NAME.fullmatch(stored) and stored.endswith(".jpg")
    data = (folder / stored).read_bytes()
    assert size == len(data)
    with Image.open(io.BytesIO(data)) as jpeg:
        assert jpeg.format == "JPEG"
        assert jpeg.size == shown.size == pillow_heif.open_heif(io.BytesIO(heic)).size
        # Turned once, by the decoder: no orientation left for a viewer to apply a second time.
        assert jpeg.getexif().get(ORIENTATION, 1) == 1
        assert near(jpeg.convert("RGB").getpixel((16, 4)), RED)  # the left half, now on top
        assert near(jpeg.convert("RGB").getpixel((16, 60)), BLUE)
    page = sup_client.get(f"/nc/{number}").text
    assert [alt for _, alt in image_sources(page)] == ["IMG_0042.HEIC"]
    served = fetch(sup_client, photo_paths(page, number)[0])
    assert (served.mimetype, served.data) == ("image/jpeg", data)


def test_a_heic_photo_added_from_the_nc_page_is_stored_as_a_jpeg(file_nc, sup_client, folder, stored_photos):
    number = file_nc()
    heic, shown = heic_photo(width=40, height=30)
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((heic, "IMG_0043.heif"))})
    assert response.status_code == 302
    [(name, stored, kind, _)] = stored_photos(number)
    assert (name, kind) == ("IMG_0043.heif", "image/jpeg")
    with Image.open(folder / stored) as jpeg:
        assert (jpeg.format, jpeg.size) == ("JPEG", shown.size)


def test_a_heic_is_known_by_its_content_not_its_name(file_nc, sup_client, stored_photos):
    number = file_nc()
    heic, _ = heic_photo()
    assert sup_client.post(f"/nc/{number}/photos", data={"photos": files((heic, "photo.png"))}).status_code == 302
    [(name, stored, kind, _)] = stored_photos(number)
    assert (name, kind) == ("photo.png", "image/jpeg")
    assert stored.endswith(".jpg")


BROKEN_HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"not the rest of a HEIC file" * 4


def test_a_heic_that_cannot_be_decoded_refuses_the_filing_and_stores_nothing(app, factory, sup_client, folder):
    response = sup_client.post("/nc/new", data={**FILING, "photos": files((BROKEN_HEIC, "IMG_0044.HEIC"))})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "photos")) == ["IMG_0044.HEIC is a HEIC photo that cannot be read."]
    assert filed_count(app) == 0
    assert uploaded(folder) == []
    assert kept_tokens(response.text) == []


def test_a_heic_that_cannot_be_decoded_is_not_added(file_nc, sup_client, folder, stored_photos, nc_version):
    number = file_nc()
    response = sup_client.post(f"/nc/{number}/photos", data={"photos": files((BROKEN_HEIC, "IMG_0044.HEIC"))})
    assert response.status_code == 400
    form = form_at(response.text, f"/nc/{number}/photos")
    assert errors_in(field_block(form, "photos")) == ["IMG_0044.HEIC is a HEIC photo that cannot be read."]
    assert stored_photos(number) == []
    assert uploaded(folder) == []
    assert nc_version(number) == 1


def test_the_photo_inputs_open_the_camera_and_offer_heic(file_nc, sup_client):
    number = file_nc()
    offered = ["image/jpeg", "image/png", "image/heic", "image/heif", ".heic", ".heif"]
    filing_page = sup_client.get("/nc/new").text
    filing_input = one(filing_page, "input#photos")
    assert filing_input.attributes["capture"] == "environment"
    assert filing_input.attributes["accept"].split(",") == offered
    assert filing_input.attributes["data-photo-room"] == "6"
    nc_input = one(form_at(sup_client.get(f"/nc/{number}").text, f"/nc/{number}/photos"), "input[type=file]")
    assert nc_input.attributes["accept"].split(",") == offered
    # Every script and stylesheet comes from the app itself, the photos' script among them.
    scripts = [node.attributes["src"] for node in parsed(filing_page).css("script[src]")]
    assert "/static/photos.js" in scripts
    for path in [*scripts, *(node.attributes["href"] for node in parsed(filing_page).css("link[rel=stylesheet]"))]:
        assert path.startswith("/static/"), path
        assert fetch(sup_client, path).status_code == 200


# Photos kept when the filing form is refused ----------------------------------------------------------------


def kept_tokens(html: str) -> list[str]:
    """The tokens of the pending photos a refused filing form carries back."""
    return [node.attributes["value"] for node in parsed(html).css('input[type=hidden][name="kept_photo"]')]


def kept_thumbnails(html: str) -> list[tuple[str, str]]:
    """``(src, alt)`` of the thumbnails of the photos kept from before."""
    return [src_alt for src_alt in image_sources(html) if src_alt[0].startswith("/nc/new/photos/")]


def pending_files(folder: Path) -> list[Path]:
    return sorted((folder / "pending").rglob("*.*")) if (folder / "pending").exists() else []


def refused_filing(client, *photos: tuple[bytes, str], **changes):
    """A filing refused for its title, with ``photos``: the page shown again."""
    response = client.post("/nc/new", data={**FILING, "title": "", **changes, "photos": files(*photos)})
    assert response.status_code == 400
    return response


def test_photos_are_kept_when_the_filing_is_refused_for_another_field_and_filed_with_it(
    app, factory, sup_client, folder, stored_photos
):
    heic, shown = heic_photo()
    refused = refused_filing(sup_client, (JPEG, "defect.jpg"), (heic, "IMG_0042.HEIC"))
    assert errors_in(field_block(refused.text, "title")) != []
    assert errors_in(field_block(refused.text, "photos")) == []
    tokens = kept_tokens(refused.text)
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens)
    assert kept_thumbnails(refused.text) == [
        (f"/nc/new/photos/{tokens[0]}", "defect.jpg"),
        (f"/nc/new/photos/{tokens[1]}", "IMG_0042.HEIC"),
    ]
    removable = parsed(refused.text).css('input[type=checkbox][name="remove_photo"]')
    assert [box.attributes["value"] for box in removable] == tokens
    assert filed_count(app) == 0
    assert uploaded(folder) == []

    # The thumbnails are served to their uploader, the HEIC as the JPEG it became.
    first, second = (fetch(sup_client, src) for src, _ in kept_thumbnails(refused.text))
    assert (first.status_code, first.mimetype, first.data) == (200, "image/jpeg", STORED_JPEG)
    assert (second.status_code, second.mimetype) == (200, "image/jpeg")
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in first.headers["Cache-Control"]
    with Image.open(io.BytesIO(second.data)) as jpeg:
        assert jpeg.size == shown.size

    # Sent again with the title: filed with both photos, and nothing is left pending.
    response = sup_client.post("/nc/new", data={**FILING, "kept_photo": tokens})
    number = number_of(response)
    photos = stored_photos(number)
    assert [(name, kind) for name, _, kind, _ in photos] == [
        ("defect.jpg", "image/jpeg"),
        ("IMG_0042.HEIC", "image/jpeg"),
    ]
    assert (folder / photos[0][1]).read_bytes() == STORED_JPEG
    assert uploaded(folder) == sorted(stored for _, stored, _, _ in photos)
    assert pending_files(folder) == []
    assert fetch(sup_client, f"/nc/new/photos/{tokens[0]}").status_code == 404


def test_kept_photos_can_be_removed_and_new_ones_added(app, factory, sup_client, folder, stored_photos):
    tokens = kept_tokens(refused_filing(sup_client, (JPEG, "keep.jpg"), (PNG, "drop.png")).text)
    again = refused_filing(sup_client, (PNG, "new.png"), kept_photo=tokens, remove_photo=[tokens[1]])
    assert [alt for _, alt in kept_thumbnails(again.text)] == ["keep.jpg", "new.png"]
    assert kept_tokens(again.text)[0] == tokens[0]
    assert fetch(sup_client, f"/nc/new/photos/{tokens[1]}").status_code == 404  # removed at once

    newer = kept_tokens(again.text)
    number = number_of(
        sup_client.post("/nc/new", data={**FILING, "kept_photo": newer, "photos": files((JPEG, "last.jpg"))})
    )
    assert [name for name, *_ in stored_photos(number)] == ["keep.jpg", "new.png", "last.jpg"]
    assert pending_files(folder) == []


def test_kept_photos_count_towards_the_limit_per_nc(app, factory, sup_client, stored_photos):
    tokens = kept_tokens(refused_filing(sup_client, *[(JPEG, f"a{i}.jpg") for i in range(4)]).text)
    page = sup_client.get("/nc/new").text  # a fresh form keeps nothing
    assert kept_tokens(page) == []
    too_many = refused_filing(
        sup_client, *[(PNG, f"b{i}.png") for i in range(3)], title="Torn snaps", kept_photo=tokens
    )
    assert errors_in(field_block(too_many.text, "photos")) == ["At most 6 photos per non-conformance."]
    assert filed_count(app) == 0
    # As many as fit stay kept; the input offers no more room.
    assert [alt for _, alt in kept_thumbnails(too_many.text)] == [
        "a0.jpg",
        "a1.jpg",
        "a2.jpg",
        "a3.jpg",
        "b0.png",
        "b1.png",
    ]
    assert one(too_many.text, "input#photos").attributes["data-photo-room"] == "0"
    number = number_of(sup_client.post("/nc/new", data={**FILING, "kept_photo": kept_tokens(too_many.text)}))
    assert len(stored_photos(number)) == 6


def test_another_users_kept_photo_is_never_shown_nor_filed(app, factory, sup_client, make_user, folder):
    tokens = kept_tokens(refused_filing(sup_client, (JPEG, "mine.jpg")).text)
    other = logged_in(app, make_user("supervisor", "sup.zhao"))
    assert fetch(other, f"/nc/new/photos/{tokens[0]}").status_code == 404
    response = other.post("/nc/new", data={**FILING, "kept_photo": tokens})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "photos")) == [
        "A photo kept from before is gone (photos are kept for a day); choose it again."
    ]
    assert kept_tokens(response.text) == [] and kept_thumbnails(response.text) == []
    assert filed_count(app) == 0
    # The uploader still has it.
    assert fetch(sup_client, f"/nc/new/photos/{tokens[0]}").status_code == 200
    assert fetch(app.test_client(), f"/nc/new/photos/{tokens[0]}").status_code == 302  # nobody logged in: to login


@pytest.mark.parametrize(
    "token", ["0" * 32, "../../../../etc/passwd", "..%2F..%2Fsecret_key", "A" * 33, "", "tok en", "x.json"]
)
def test_an_unknown_kept_photo_is_refused_by_name_never_a_server_error(app, factory, sup_client, folder, token):
    refused_filing(sup_client, (JPEG, "mine.jpg"))  # a pending photo of this user exists beside
    response = sup_client.post("/nc/new", data={**FILING, "kept_photo": [token]})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "photos")) == [
        "A photo kept from before is gone (photos are kept for a day); choose it again."
    ]
    assert filed_count(app) == 0
    assert fetch(sup_client, f"/nc/new/photos/{quote(token, safe='')}").status_code == 404


def test_kept_photos_expire_after_a_day(app, factory, sup_client, make_user, folder):
    tokens = kept_tokens(refused_filing(sup_client, (JPEG, "yesterday.jpg")).text)
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in pending_files(folder):
        os.utime(path, (two_days_ago, two_days_ago))
    assert fetch(sup_client, f"/nc/new/photos/{tokens[0]}").status_code == 404
    response = sup_client.post("/nc/new", data={**FILING, "kept_photo": tokens})
    assert response.status_code == 400
    assert "A photo kept from before is gone" in errors_in(field_block(response.text, "photos"))[0]
    # The next photos anyone keeps sweep the expired ones away.
    other = logged_in(app, make_user("supervisor", "sup.zhao"))
    fresh = kept_tokens(refused_filing(other, (PNG, "today.png")).text)
    assert [path.stem for path in pending_files(folder)] == [fresh[0], fresh[0]]
