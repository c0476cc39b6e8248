"""Photos of final inspections: sent with the tally sheet or added later (page and ``/api/v1/inspections/<id>/photos``),
judged and stored as an NC's photos are, copied to the NC a rejection raises (and to that NC while it is open when
added later), kept by a refused sheet; and the NC's page linking back to the record that raised it.

What was stored is read back in an app context of its own, with the upload folder, so a refused request cannot
pass for a stored one."""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from capa.capas.models import NonConformance, Photo
from capa.capas.photos import Upload
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.extensions import db
from capa.inspections import final
from capa.inspections.commands import NewFinalInspection
from capa.inspections.models import Inspection, InspectionPhoto
from tests.conftest import new_user
from tests.images import jpeg
from tests.pages import field_block, parsed
from tests.test_coverage import plant  # noqa: F401 (the fixture)

RED, BLUE = jpeg((200, 30, 30)), jpeg((30, 30, 200), (20, 10))
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40  # a PNG's signature over nothing: cannot be read
REJECTING = [{"code": "SAF-01", "count": 1}]
SHEET = {"batch": "B-1", "lot_size": "1000", "level": "II", "severity": "normal", "aql_major": "2.5"}
SHEET |= {"aql_minor": "4.0", "defect_type": "", "note": ""}


def sent(*files: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    """Files as the test client sends them in a multipart body."""
    return [(io.BytesIO(data), name) for data, name in files]


def upload_folder(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def stored_files(app) -> set[str]:
    """The photos lying at the top of the upload folder (pending photos of refused forms left out)."""
    folder = upload_folder(app)
    return {path.name for path in folder.iterdir() if path.is_file()} if folder.is_dir() else set()


def photos_of(app, inspection_id: int) -> dict:
    """What the database holds: the inspection's photos and its NC's, as (shown name, stored name, bytes)."""
    with app.app_context():
        inspection = final.get_inspection(inspection_id)
        folder = upload_folder(app)

        def listed(photos):
            return [(p.original_name, p.stored_name, (folder / p.stored_name).read_bytes()) for p in photos]

        return {
            "inspection": listed(inspection.photos),
            "nc": listed(inspection.nc.photos) if inspection.nc else None,
            "nc_events": [e.kind for e in inspection.nc.events] if inspection.nc else [],
        }


def record(app, actor, photos, **values) -> int:
    uploads = [Upload(name, data) for data, name in photos]
    command = parse(NewFinalInspection, {"batch": "B-1", "lot_size": 1000, "photos": uploads} | values)
    return final.record_final_inspection(command, actor).id


# The service ------------------------------------------------------------------------------------------------------


def test_a_rejected_inspections_photos_go_with_it_and_with_its_nc_as_copies(app, plant):  # noqa: F811
    supervisor = new_user("supervisor")
    inspection_id = record(app, supervisor, [(RED, "pin.jpg"), (BLUE, "IMG_7.jpg")], defects=REJECTING)
    found = photos_of(app, inspection_id)
    assert [name for name, _, _ in found["inspection"]] == ["pin.jpg", "IMG_7.jpg"]
    assert [name for name, _, _ in found["nc"]] == ["pin.jpg", "IMG_7.jpg"]
    # Copies: files of their own with the same pixels, so each record keeps its evidence.
    assert {stored for _, stored, _ in found["inspection"]}.isdisjoint(stored for _, stored, _ in found["nc"])
    assert [data for *_, data in found["inspection"]] == [data for *_, data in found["nc"]]
    assert found["nc_events"].count("photo") == 2
    assert stored_files(app) == {stored for _, stored, _ in found["inspection"] + found["nc"]}


def test_an_accepted_inspection_keeps_its_photos_and_raises_nothing(app, plant):  # noqa: F811
    inspection_id = record(app, new_user("supervisor"), [(RED, "carton.jpg")])
    found = photos_of(app, inspection_id)
    assert [name for name, _, _ in found["inspection"]] == ["carton.jpg"]
    assert found["nc"] is None


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([(b"%PDF-1.4 not a photo", "report.pdf")], "report.pdf is not a JPEG, PNG or HEIC photo."),
        ([(PNG_BYTES, "cut.png")], "cut.png cannot be read as a photo: it is cut short or damaged."),
        ([(RED, f"{n}.jpg") for n in range(7)], "At most 6 photos per inspection."),
    ],
)
def test_a_bad_photo_refuses_the_inspection_and_stores_nothing(app, plant, photos, message):  # noqa: F811
    with pytest.raises(ValidationError) as refused:
        record(app, new_user("supervisor"), photos, defects=REJECTING)
    assert refused.value.fields == {"photos": message}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0
        assert db.session.scalar(select(func.count()).select_from(NonConformance)) == 0
    assert stored_files(app) == set()


# The API ----------------------------------------------------------------------------------------------------------


def recorded_by_api(client, defects) -> dict:
    response = client.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000, "defects": defects})
    assert response.status_code == 201, response.text
    return response.json


def add(client, inspection_id: int, *files: tuple[bytes, str], **form):
    return client.post(f"/api/v1/inspections/{inspection_id}/photos", data={"file": sent(*files), **form})


def test_the_api_adds_photos_to_an_inspection_and_its_open_nc(app, plant, api):  # noqa: F811
    client = api("supervisor")
    inspection = recorded_by_api(client, REJECTING)
    assert inspection["photos"] == []
    response = add(client, inspection["id"], (RED, "pin.jpg"), (BLUE, "cuff.jpg"))
    assert response.status_code == 201, response.text
    items = response.json["items"]
    assert [(i["name"], i["content_type"]) for i in items] == [("pin.jpg", "image/jpeg"), ("cuff.jpg", "image/jpeg")]
    assert all(i["url"] == f"/api/v1/inspections/{inspection['id']}/photos/{i['id']}" for i in items)
    again = client.get(f"/api/v1/inspections/{inspection['id']}").json
    assert [p["name"] for p in again["photos"]] == ["pin.jpg", "cuff.jpg"]
    assert [p["name"] for p in client.get("/api/v1/inspections?batch=B-1").json["items"][0]["photos"]] == [
        "pin.jpg",
        "cuff.jpg",
    ]
    photo = client.get(items[1]["url"])
    assert (photo.status_code, photo.mimetype, photo.headers["X-Content-Type-Options"]) == (
        200,
        "image/jpeg",
        "nosniff",
    )
    with app.app_context():
        stored = db.session.scalar(select(InspectionPhoto).where(InspectionPhoto.id == items[1]["id"]))
        assert photo.data == (upload_folder(app) / stored.stored_name).read_bytes()
    nc = client.get(f"/api/v1/nonconformances/{inspection['nc']}").json
    assert [p["name"] for p in nc["photos"]] == ["pin.jpg", "cuff.jpg"]
    assert client.get(f"/api/v1/inspections/{inspection['id']}/photos/999999").status_code == 404


def test_photos_added_after_the_nc_is_cancelled_stay_with_the_inspection(app, plant, api):  # noqa: F811
    inspection = recorded_by_api(api("supervisor"), REJECTING)
    manager = api("quality_manager")
    cancelled = manager.post(f"/api/v1/nonconformances/{inspection['nc']}/cancel", json={"reason": "Filed twice"})
    assert cancelled.status_code == 200, cancelled.text
    assert add(manager, inspection["id"], (RED, "late.jpg")).status_code == 201
    assert [p["name"] for p in manager.get(f"/api/v1/inspections/{inspection['id']}").json["photos"]] == ["late.jpg"]
    assert manager.get(f"/api/v1/nonconformances/{inspection['nc']}").json["photos"] == []


def test_photos_added_to_an_accepted_inspection_go_on_it_alone(app, plant, api):  # noqa: F811
    client = api("supervisor")
    inspection = recorded_by_api(client, [])
    assert add(client, inspection["id"], (RED, "clean.jpg")).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


@pytest.mark.parametrize(
    ("request_kwargs", "status", "fields"),
    [
        ({"json": {"file": "x"}}, 400, {"file": "Send the files as multipart/form-data, in the field file."}),
        ({"data": {}, "content_type": "multipart/form-data"}, 400, {"file": "Choose at least one photo."}),
        ({"data": {"file": sent((b"GIF89a....", "a.gif"))}}, 400, {"file": "a.gif is not a JPEG, PNG or HEIC photo."}),
        ({"data": {"file": sent((RED, "a.jpg")), "caption": "x"}}, 400, {"caption": "Unknown field."}),
        (
            {"data": {"file": sent(*[(RED, f"{n}.jpg") for n in range(7)])}},
            400,
            {"file": "At most 6 photos per inspection."},
        ),
    ],
)
def test_the_api_refuses_bad_photos_naming_the_field_and_stores_nothing(
    app,
    plant,  # noqa: F811
    api,
    request_kwargs,
    status,
    fields,
):
    client = api("supervisor")
    inspection = recorded_by_api(client, REJECTING)
    response = client.post(f"/api/v1/inspections/{inspection['id']}/photos", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.json["error"]["fields"] == fields
    assert client.get(f"/api/v1/inspections/{inspection['id']}").json["photos"] == []
    assert stored_files(app) == set()


def test_the_api_refuses_photos_in_a_json_inspection_and_for_an_unknown_one(app, plant, api):  # noqa: F811
    client = api("supervisor")
    response = client.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000, "photos": ["x"]})
    assert (response.status_code, response.json["error"]["fields"]) == (400, {"photos": "Unknown field."})
    assert add(client, 999999, (RED, "a.jpg")).status_code == 404
    assert api(None).post("/api/v1/inspections/1/photos", data={"file": sent((RED, "a.jpg"))}).status_code == 401


# The pages --------------------------------------------------------------------------------------------------------


def thumbnails(html: str) -> list[tuple[str, str]]:
    return [(img.attributes["src"], img.attributes["alt"]) for img in parsed(html).css(".photos img")]


def test_the_tally_sheet_takes_photos_and_the_nc_page_links_back(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    response = client.post(
        "/inspections/new",
        data=SHEET | {"count-SAF-02": "1", "photos": sent((RED, "point.jpg"))},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    page = client.get(response.headers["Location"]).text
    [(src, alt)] = thumbnails(page)
    assert alt == "point.jpg"
    assert client.get(src).data.startswith(b"\xff\xd8")
    with app.app_context():
        [inspection] = final.list_inspections()
        number, inspection_id = inspection.nc.number, inspection.id
    nc_page = client.get(f"/nc/{number}").text
    [link] = parsed(nc_page).css("p.origin a")
    assert (link.text(strip=True), link.attributes["href"]) == (
        f"Raised by final inspection #{inspection_id}",
        f"/inspections/{inspection_id}",
    )
    assert [alt for _, alt in thumbnails(nc_page)] == ["point.jpg"]


def test_a_refused_tally_sheet_keeps_its_photos_for_the_next_send(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    refused = client.post(
        "/inspections/new",
        data=SHEET | {"lot_size": "1", "count-SAF-02": "1", "photos": sent((RED, "kept.jpg"), (b"no", "bad.jpg"))},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    tokens = [node.attributes["value"] for node in parsed(refused.text).css('input[name="kept_photo"]')]
    assert len(tokens) == 1  # the photo that is one; the other is named as refused
    assert [alt for _, alt in thumbnails(refused.text)] == ["kept.jpg"]
    sent_again = client.post("/inspections/new", data=SHEET | {"count-SAF-02": "1", "kept_photo": tokens})
    assert sent_again.status_code == 302
    with app.app_context():
        [inspection] = final.list_inspections()
        assert [p.original_name for p in inspection.photos] == ["kept.jpg"]
        assert [p.original_name for p in inspection.nc.photos] == ["kept.jpg"]


def test_the_inspection_page_adds_photos_and_names_a_bad_one(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    client.post("/inspections/new", data=SHEET)
    with app.app_context():
        [inspection] = final.list_inspections()
    page = f"/inspections/{inspection.id}"
    assert parsed(client.get(page).text).css_first("p.empty") is not None
    bad = client.post(
        f"{page}/photos", data={"photos": sent((b"text", "notes.txt"))}, content_type="multipart/form-data"
    )
    assert bad.status_code == 400
    assert "notes.txt is not a JPEG, PNG or HEIC photo." in field_block(bad.text, "photos").text()
    good = client.post(f"{page}/photos", data={"photos": sent((BLUE, "label.jpg"))}, content_type="multipart/form-data")
    assert good.status_code == 302
    assert [alt for _, alt in thumbnails(client.get(page).text)] == ["label.jpg"]


def test_the_inspection_photo_pages_speak_chinese(app, plant, client, auth):  # noqa: F811
    auth.as_role("supervisor")
    client.post("/language", data={"language": "zh_Hans_CN"})
    sheet = client.get("/inspections/new").text
    assert "照片" in field_block(sheet, "photos").text()


def test_a_sheet_whose_photo_the_disk_refuses_answers_503_and_records_nothing(app, plant, client, auth, tmp_path):  # noqa: F811
    auth.as_role("supervisor")
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    working, app.config["UPLOAD_FOLDER"] = app.config["UPLOAD_FOLDER"], str(blocker / "uploads")
    try:
        refused = client.post(
            "/inspections/new",
            data=SHEET | {"count-SAF-02": "1", "photos": sent((RED, "point.jpg"))},
            content_type="multipart/form-data",
        )
    finally:
        app.config["UPLOAD_FOLDER"] = working
    assert refused.status_code == 503
    assert "nothing was saved" in field_block(refused.text, "photos").text()
    with app.app_context():
        assert final.list_inspections() == []
        assert db.session.scalar(select(func.count()).select_from(NonConformance)) == 0
