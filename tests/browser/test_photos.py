"""Photos on the filing form, in Chromium on a supervisor's phone: chosen photos show as thumbnails at once, a
large photo goes up shrunk (photos.js), a HEIC the browser cannot decode goes up as it is and the server makes
it a JPEG, and the photos of a form refused for another field are kept and filed when it is sent again.
"""

import io
import re

import pillow_heif
from PIL import Image
from playwright.sync_api import expect

from capa.capas import lookup
from tests.browser.conftest import SUPERVISOR

LARGE = (3200, 2400)


def large_jpeg() -> bytes:
    """A phone-sized photo: 3200 x 2400 pixels, a gradient with detail so that it weighs what photos weigh."""
    picture = Image.linear_gradient("L").resize(LARGE).convert("RGB")
    picture.paste(Image.effect_noise((LARGE[0], LARGE[1] // 2), 64).convert("RGB"), (0, 0))
    output = io.BytesIO()
    picture.save(output, "JPEG", quality=95)
    return output.getvalue()


def heic() -> bytes:
    output = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (120, 80), (200, 40, 40))).save(output, quality=80)
    return output.getvalue()


def test_photos_are_shrunk_shown_and_kept_when_the_filing_is_refused(app, person):
    sup = person(SUPERVISOR, "phone", "en")
    page = sup.page
    original = large_jpeg()
    page.goto("/nc/new")
    photos = sup.label("Photos (JPEG, PNG or HEIC)")
    photos.set_input_files(
        [
            {"name": "defect.jpg", "mimeType": "image/jpeg", "buffer": original},
            {"name": "IMG_0042.HEIC", "mimeType": "image/heic", "buffer": heic()},
        ]
    )
    # A thumbnail for each: the JPEG's picture, and the HEIC's name (Chromium cannot decode HEIC).
    previews = page.locator("ul.photo-previews li")
    expect(previews).to_have_count(2)
    expect(previews.nth(0).locator("img")).to_have_attribute("alt", "defect.jpg")
    expect(previews.nth(1)).to_have_text("IMG_0042.HEIC")
    expect(sup.button("File it")).to_be_enabled()
    sup.screenshot("filing-photos-chosen")
    sent = photos.evaluate("input => Array.from(input.files, file => [file.name, file.type, file.size])")
    assert sent[0][:2] == ["defect.jpg", "image/jpeg"] and sent[0][2] < len(original)
    assert sent[1][:2] == ["IMG_0042.HEIC", "image/heic"]

    # Refused for the missing title: both photos are kept, shown from the server, and filed with the form.
    sup.label("Defect type").select_option("loose_button")
    sup.label("Line").select_option("L1")
    sup.button("File it").click()
    kept = sup.main.locator("fieldset.kept-photos img")
    expect(kept).to_have_count(2)
    expect(kept.nth(1)).to_have_attribute("alt", "IMG_0042.HEIC")
    # Both thumbnails load from the server (waited for: an image is drawn some time after the page).
    sup.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('fieldset.kept-photos img'))"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    sup.screenshot("filing-photos-kept")
    sup.label("What is wrong").fill("Snap buttons come off the romper")
    sup.button("File it").click()
    expect(page).to_have_url(re.compile(r"/nc/NC-\d{4}-\d{5}$"))  # the upload takes a moment
    number = sup.nc_number_in_heading()
    expect(sup.status(sup.t("%(number)s filed.", number=number))).to_be_visible()
    expect(sup.main.locator(".photos img")).to_have_count(2)

    with app.app_context():
        stored = lookup.get_nc(number).photos
        assert [(photo.original_name, photo.content_type) for photo in stored] == [
            ("defect.jpg", "image/jpeg"),
            ("IMG_0042.HEIC", "image/jpeg"),
        ]
        with Image.open(f"{app.config['UPLOAD_FOLDER']}/{stored[0].stored_name}") as shrunk:
            assert max(shrunk.size) == 1600
            assert shrunk.size == (1600, 1200)
        assert stored[0].size < len(original)


def test_no_more_photos_are_sent_than_an_nc_may_have(person):
    sup = person(SUPERVISOR, "phone", "en")
    sup.page.goto("/nc/new")
    photos = sup.label("Photos (JPEG, PNG or HEIC)")
    small = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 40)).save(small, "PNG")
    photos.set_input_files(
        [{"name": f"photo-{i}.png", "mimeType": "image/png", "buffer": small.getvalue()} for i in range(7)]
    )
    expect(sup.page.locator("ul.photo-previews img")).to_have_count(6)
    expect(sup.status(sup.t("At most %(n)d photos per non-conformance.", n=6))).to_be_visible()
    assert photos.evaluate("input => input.files.length") == 6
