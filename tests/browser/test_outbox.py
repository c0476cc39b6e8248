"""The phone's outbox (outbox.js) in Chromium on a supervisor's phone: a filing made without network is kept on
the phone ("saved on this phone, not sent yet") and sent when the network returns ("sent as NC-…"), exactly
once, even when the phone never heard the server's answer; one the server refuses stays on the phone until it
is corrected in the form.

The network is taken away with Playwright (``context.set_offline``, or a request whose answer is dropped); what
was filed is read from the database.
"""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Route, expect
from sqlalchemy import select

from capa.capas.models import NonConformance
from capa.extensions import db
from tests.browser.conftest import SUPERVISOR
from tests.browser.people import NUMBER, Person

TITLE = "Snap buttons come off the romper"


def small_jpeg() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(output, "JPEG", quality=80)
    return output.getvalue()


def fill_filing(sup: Person, title: str = TITLE, batch: str = "B-2301-01") -> None:
    sup.page.goto("/nc/new")
    sup.label("What is wrong").fill(title)
    sup.label("Defect type").select_option("loose_button")
    sup.label("Line").select_option("L1")
    sup.label("Batch number").fill(batch)
    sup.label("Photos (JPEG, PNG or HEIC)").set_input_files(
        [{"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": small_jpeg()}]
    )
    expect(sup.button("File it")).to_be_enabled()  # photos.js has prepared the photo


def stored() -> list[tuple[str, str, str, int]]:
    """Every NC filed: (number, title, reporter, photos)."""
    db.session.expire_all()
    return [
        (nc.number, nc.title, nc.reported_by.username, len(nc.photos))
        for nc in db.session.scalars(select(NonConformance).order_by(NonConformance.id))
    ]


def outbox_line(sup: Person, state: str):
    return sup.page.locator(f'#outbox[role="status"] li[data-state="{state}"]')


@pytest.mark.parametrize("language", ["en", "zh_Hans_CN"])
def test_a_filing_made_offline_is_kept_on_the_phone_and_sent_once_when_the_network_returns(app, person, language):
    sup = person(SUPERVISOR, "phone", language)
    page = sup.page
    fill_filing(sup)
    key = page.locator('input[name="idempotency_key"]').input_value()

    page.context.set_offline(True)
    sup.button("File it").click()
    waiting = outbox_line(sup, "waiting")
    expect(waiting).to_contain_text(sup.t("Saved on this phone, not sent yet"))
    expect(waiting).to_contain_text(TITLE)
    # The form is ready for the next one, under a new key.
    expect(sup.label("What is wrong")).to_have_value("")
    assert page.locator('input[name="idempotency_key"]').input_value() not in ("", key)
    with app.app_context():
        assert stored() == []

    page.context.set_offline(False)
    sent = outbox_line(sup, "sent")
    expect(sent).to_contain_text(re.compile(re.escape(sup.t("Sent as %(number)s", number="NC-")) + r"\d{4}-\d{5}"))
    number = sent.locator("a").inner_text()
    assert NUMBER.fullmatch(number)
    expect(sent.locator("a")).to_have_attribute("href", f"/nc/{number}")
    expect(waiting).to_have_count(0)
    with app.app_context():
        assert stored() == [(number, TITLE, SUPERVISOR, 1)]

    # Opening the NC, and every page after, sends nothing again.
    sent.locator("a").click()
    expect(sup.status(sup.t("%(number)s filed.", number=number))).to_be_visible()
    page.goto("/")
    expect(sup.heading(sup.t("Good day, %(name)s", name=SUPERVISOR), level=1)).to_be_visible()
    expect(page.locator("#outbox li")).to_have_count(0)
    with app.app_context():
        assert [nc[0] for nc in stored()] == [number]


def test_a_filing_whose_answer_was_lost_is_sent_again_and_filed_once(app, person):
    sup = person(SUPERVISOR, "phone", "en")
    page = sup.page
    fill_filing(sup)

    def answer_lost(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fetch()  # the server files it...
        route.abort("internetdisconnected")  # ...and the phone never hears the answer

    page.route("**/nc/new", answer_lost)
    sup.button("File it").click()
    expect(outbox_line(sup, "waiting")).to_contain_text(sup.t("Saved on this phone, not sent yet"))
    with app.app_context():
        [(number, _title, _reporter, _photos)] = stored()

    page.unroute("**/nc/new")
    page.goto("/")  # every page load sends what is kept
    expect(outbox_line(sup, "sent")).to_contain_text(sup.t("Sent as %(number)s", number=number))
    with app.app_context():
        assert stored() == [(number, TITLE, SUPERVISOR, 1)]


def test_a_kept_filing_the_server_refuses_stays_on_the_phone_until_corrected_in_the_form(app, person):
    sup = person(SUPERVISOR, "phone", "en")
    page = sup.page
    fill_filing(sup, batch="NOPE-9")
    page.context.set_offline(True)
    sup.button("File it").click()
    expect(outbox_line(sup, "waiting")).to_be_visible()

    page.context.set_offline(False)
    refused = outbox_line(sup, "refused")
    expect(refused).to_contain_text(sup.t("Not sent: it needs corrections"))
    with app.app_context():
        assert stored() == []
    page.goto("/")  # still there on the next page, not sent again
    expect(refused).to_contain_text(TITLE)

    refused.get_by_role("link", name=sup.t("Open it in the form")).click()
    expect(sup.label("What is wrong")).to_have_value(TITLE)
    expect(sup.label("Batch number")).to_have_value("NOPE-9")
    batch = page.locator(".field").filter(has=sup.label("Batch number"))
    expect(batch.get_by_role("alert")).to_have_text("No batch NOPE-9.")
    assert sup.label("Photos (JPEG, PNG or HEIC)").evaluate("input => input.files.length") == 1

    sup.label("Batch number").fill("B-2301-01")
    sup.button("File it").click()
    number = sup.nc_number_in_heading()
    expect(page.locator("#outbox li")).to_have_count(0)
    with app.app_context():
        assert stored() == [(number, TITLE, SUPERVISOR, 1)]


def test_online_a_refused_filing_shows_the_form_with_its_errors_as_without_the_script(app, person):
    sup = person(SUPERVISOR, "phone", "en")
    page = sup.page
    fill_filing(sup, title="")
    sup.button("File it").click()
    title = page.locator(".field").filter(has=sup.label("What is wrong"))
    expect(title.get_by_role("alert")).to_have_text(sup.t("This field is required."))
    expect(sup.label("Batch number")).to_have_value("B-2301-01")
    expect(page.locator("fieldset.kept-photos img")).to_have_count(1)

    sup.label("What is wrong").fill(TITLE)
    sup.button("File it").click()
    number = sup.nc_number_in_heading()
    expect(sup.status(sup.t("%(number)s filed.", number=number))).to_be_visible()
    with app.app_context():
        assert stored() == [(number, TITLE, SUPERVISOR, 1)]
