"""A filing sent twice files one NC: the idempotency key of the API's ``Idempotency-Key`` header and of the
filing page's hidden field (which the phone's offline outbox sends again when the network returns).

The first filing with a key files the NC; the same user sending the same key and the same content again files
nothing and gets that NC back; the same key with other content is refused and files nothing. What was stored
is read back in the test's own app context (each request runs in one of its own).
"""

import io
import re

import pytest
from sqlalchemy import select

from capa.accounts import service as accounts
from capa.capas.models import NonConformance
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle
from tests.conftest import ApiClient, new_user
from tests.images import jpeg
from tests.pages import errors_in, field_block, flashes, input_value, links, logged_in, one, parsed, text

NCS = "/api/v1/nonconformances"
NUMBER = re.compile(r"NC-\d{4}-\d{5}")
BODY = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "source": "end_of_line",
    "line": "L1",
    "batch": "B-1",
    "quantity_affected": 12,
}
FORM = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-1",
    "quantity_affected": "12",
    "severity": "critical",
    "description": "12 of 40 rompers lost a snap in the hand pull.",
}


JPEG = jpeg()
KEY_MESSAGE = "Use 1 to 64 printable ASCII characters."


@pytest.fixture
def factory(app):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    masterdata.create_batch(parse(NewBatch, {"number": "B-1", "style": "RMP-2301", "line": "L1"}))


@pytest.fixture
def people(factory):
    return {name: new_user("supervisor", name) for name in ("sup.wang", "sup.chen")}


@pytest.fixture
def wang(client, people) -> ApiClient:
    return ApiClient(client, accounts.create_token(people["sup.wang"]))


@pytest.fixture
def chen(client, people) -> ApiClient:
    return ApiClient(client, accounts.create_token(people["sup.chen"]))


def filed() -> list[tuple[str, str, str]]:
    """Every NC stored: (number, title, reporter), in order."""
    db.session.expire_all()
    return [
        (nc.number, nc.title, nc.reported_by.username)
        for nc in db.session.scalars(select(NonConformance).order_by(NonConformance.id))
    ]


def file(client: ApiClient, key: str | None, body: dict | None = None):
    headers = {**client.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client._client.post(NCS, json=BODY if body is None else body, headers=headers)


# The API -----------------------------------------------------------------------------------------------


def test_a_filing_resent_with_its_key_files_once_and_answers_the_same_nc(wang):
    first = file(wang, "0b7f3a2c-romper-snap")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    number = first.get_json()["number"]

    again = file(wang, "0b7f3a2c-romper-snap")
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert filed() == [(number, BODY["title"], "sup.wang")]


def test_the_content_is_compared_as_it_is_read_not_as_it_is_spelt(wang):
    assert file(wang, "key-1").status_code == 201
    # The same batch and the same number, written otherwise: the same filing.
    again = file(wang, "key-1", BODY | {"batch": " b-1 ", "quantity_affected": "12"})
    assert again.status_code == 200, again.text
    assert len(filed()) == 1


def test_the_same_key_with_another_body_is_refused_and_files_nothing(wang):
    number = file(wang, "key-1").get_json()["number"]

    other = file(wang, "key-1", BODY | {"title": "Drawstring longer than 75 mm"})
    assert other.status_code == 409
    error = other.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["number"] == number
    assert error["fields"] == {"Idempotency-Key": f"Already used for {number}."}
    assert number in error["message"]
    assert filed() == [(number, BODY["title"], "sup.wang")]


def test_each_users_keys_are_their_own(wang, chen):
    mine = file(wang, "shared-key")
    theirs = file(chen, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["number"] != theirs.get_json()["number"]
    assert [reporter for _number, _title, reporter in filed()] == ["sup.wang", "sup.chen"]
    # And each one's resend still finds their own.
    assert file(chen, "shared-key").get_json()["number"] == theirs.get_json()["number"]


def test_without_a_key_every_filing_files(wang):
    assert [file(wang, None).status_code for _ in range(2)] == [201, 201]
    assert len(filed()) == 2


@pytest.mark.parametrize(
    "key",
    ["", "   ", "k" * 65, "clé-1", "tab\there", "del\x7f"],
    ids=["empty", "blank", "65-characters", "not-ascii", "control-character", "delete"],
)
def test_a_bad_key_is_refused_naming_the_header_and_files_nothing(wang, key):
    response = file(wang, key)
    assert response.status_code == 400, response.text
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"Idempotency-Key": KEY_MESSAGE}
    assert filed() == []


def test_a_key_of_64_printable_characters_is_taken_as_it_is(wang):
    key = "".join(chr(code) for code in range(0x20, 0x7F))[1:65]  # from "!" on, a space inside
    key = key[:10] + " " + key[11:]
    assert len(key) == 64
    assert file(wang, key).status_code == 201
    assert file(wang, key).status_code == 200
    assert file(wang, key + "!").status_code == 400
    assert len(filed()) == 1


def test_a_refused_filing_keeps_no_key_so_the_corrected_one_files_under_it(wang):
    refused = file(wang, "key-1", BODY | {"line": "L9"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"] == {"line": "No line L9."}

    corrected = file(wang, "key-1")
    assert corrected.status_code == 201, corrected.text
    assert file(wang, "key-1").status_code == 200
    assert len(filed()) == 1


# The filing page ---------------------------------------------------------------------------------------


@pytest.fixture
def wang_pages(app, people):
    return logged_in(app, people["sup.wang"])


def key_in(html: str) -> str:
    """The idempotency key the filing form carries, in a hidden field."""
    [field] = parsed(html).css('form[data-outbox] input[name="idempotency_key"]')
    assert field.attributes["type"] == "hidden"
    return field.attributes["value"]


def test_the_filing_form_carries_a_new_key_each_time_it_is_shown(wang_pages):
    keys = {key_in(wang_pages.get("/nc/new").text) for _ in range(3)}
    assert len(keys) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)


def test_a_double_submit_files_once_and_the_second_lands_on_the_nc_saying_so(wang_pages):
    key = key_in(wang_pages.get("/nc/new").text)
    first = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": key})
    second = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": key})

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    [(number, _title, _reporter)] = filed()
    assert first.headers["Location"] == f"/nc/{number}"
    page = wang_pages.get(second.headers["Location"]).text
    # Both answers' messages: the filing's, then the resend's.
    assert [text(node) for node in flashes(page)] == [
        f"{number} filed.",
        f"Already filed as {number}: this form was sent before; nothing new was filed.",
    ]


def test_a_refused_form_sent_twice_with_its_kept_photo_files_once_with_the_photo(app, wang_pages):
    key = key_in(wang_pages.get("/nc/new").text)
    refused = wang_pages.post(
        "/nc/new", data=FORM | {"title": "", "idempotency_key": key, "photos": [(io.BytesIO(JPEG), "snap.jpg")]}
    )
    assert refused.status_code == 400
    assert key_in(refused.text) == key, "a refusal files nothing, so the form keeps its key"
    [token] = [node.attributes["value"] for node in parsed(refused.text).css('input[name="kept_photo"]')]

    again = FORM | {"idempotency_key": key, "kept_photo": token}
    answers = [wang_pages.post("/nc/new", data=again) for _ in range(2)]

    [(number, _title, _reporter)] = filed()
    assert [answer.status_code for answer in answers] == [302, 302]
    assert {answer.headers["Location"] for answer in answers} == {f"/nc/{number}"}
    assert len(db.session.scalar(select(NonConformance)).photos) == 1


def test_a_form_sent_again_changed_is_refused_keeping_the_changes_under_a_new_key(wang_pages):
    key = key_in(wang_pages.get("/nc/new").text)
    number = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": key}).headers["Location"].rsplit("/", 1)[1]

    # Back in the browser, the same form with its key, changed and sent again.
    changed = FORM | {"title": "Snap caps crack on the infant romper", "idempotency_key": key}
    refused = wang_pages.post("/nc/new", data=changed)
    assert refused.status_code == 400
    assert text(one(refused.text, ".form-errors")) == (
        f"This form was filed already, as {number}; nothing new was filed. "
        "Send it again to file it as another non-conformance."
    )
    assert f"/nc/{number}" in links(one(refused.text, "main"))
    assert input_value(field_block(refused.text, "title")) == changed["title"]
    new_key = key_in(refused.text)
    assert new_key != key
    assert filed() == [(number, FORM["title"], "sup.wang")]

    # Sent as shown again: the changes are another NC.
    again = wang_pages.post("/nc/new", data=changed | {"idempotency_key": new_key})
    assert again.status_code == 302
    assert [title for _number, title, _reporter in filed()] == [FORM["title"], changed["title"]]


def test_a_garbled_key_is_refused_above_the_form_which_comes_back_with_a_good_one(wang_pages):
    refused = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": "é" * 3})
    assert refused.status_code == 400
    assert KEY_MESSAGE in text(one(refused.text, ".form-errors"))
    assert re.fullmatch(r"[0-9a-f]{32}", key_in(refused.text))
    assert input_value(field_block(refused.text, "title")) == FORM["title"]
    assert filed() == []


def test_the_outbox_sending_the_form_gets_the_nc_as_json(wang_pages):
    """What outbox.js reads: the number and address of the NC, 201 when filed and 200 when filed before."""
    key = key_in(wang_pages.get("/nc/new").text)
    script = {"Accept": "application/json"}
    first = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": key}, headers=script)
    again = wang_pages.post("/nc/new", data=FORM | {"idempotency_key": key}, headers=script)

    [(number, _title, _reporter)] = filed()
    assert (first.status_code, first.get_json()) == (201, {"number": number, "url": f"/nc/{number}", "replayed": False})
    assert (again.status_code, again.get_json()) == (200, {"number": number, "url": f"/nc/{number}", "replayed": True})
    # A refusal is the page with the errors beside the fields, as without the script.
    refused = wang_pages.post("/nc/new", data=FORM | {"title": "", "idempotency_key": "other"}, headers=script)
    assert refused.status_code == 400
    assert errors_in(field_block(refused.text, "title")) == ["This field is required."]
