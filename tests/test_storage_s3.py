"""Stored files in an S3-compatible object store (``CAPA_STORAGE_URL=s3://bucket/prefix``), against moto's
standalone server started here on a free port of this machine, once for the module: photos filed with an NC,
evidence files and a lab report's PDF are objects under the prefix, named like the upload folder's files, and read
back through the pages and the API; a kept upload previewed on one web host is confirmed on another; files follow
the transaction (a rolled-back step leaves no object, a replaced PDF's object goes once the change is committed);
a store that cannot be reached, or has no such bucket, refuses the step with 503 ``storage_unavailable`` naming
the field and nothing is written, and a file read then answers 503 too; a backup copies the objects and restores
them into another store.

Each test writes under a prefix of its own in the one bucket, so what a test finds there is its own.
"""

# ruff: noqa: F811 - the fixtures imported from the other modules are named again as the tests' arguments

import functools
import io
import json
import uuid
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from capa.capas.models import Attachment, NonConformance, Photo
from capa.common import files, object_store, pending
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.http import downloads
from capa.safety.models import LabReport
from tests.answers import ok, refused
from tests.pages import errors_in, field_block, one
from tests.test_backup import backup, instance, login, restore
from tests.test_evidence_files import JPEG, PDF, STORED_JPEG, capa, detail, plant, upload  # noqa: F401 (fixtures)
from tests.test_lab_report_import import EXAMPLE, world  # noqa: F401 (fixture)

BUCKET = "capa-files"
CREDENTIALS = {"CAPA_S3_ACCESS_KEY_ID": "capa-test", "CAPA_S3_SECRET_ACCESS_KEY": "capa-test-secret"}
REGION = "us-east-1"
REFUSED = (
    "The server could not store the file (its storage refused it); nothing was saved. Send it again later, "
    "or tell your administrator."
)
UNREADABLE = (
    "The server could not read the file from its storage just now; nothing was changed. Try again later, "
    "or tell your administrator."
)
FILING = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-1",
}
REPORT = {
    "laboratory": {"name": "SGS Shanghai", "cnas_number": "CNAS L0599"},
    "number": "SGS-SH-2026-0099",
    "component": "whole_garment",
    "test_date": "2026-03-02",
    "report_date": "2026-03-04",
    "batch": "B-1",
    "results": [{"parameter": "CN-PH", "value": "6.5"}],
}


# The store ---------------------------------------------------------------------------------------------------


def start_server() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="module")
def endpoint():
    """The address of an S3-compatible server running for this module, holding the bucket BUCKET."""
    server, url = start_server()
    client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@functools.cache
def client(url: str):
    """A client of the store at ``url``, to look into it as its administrator would."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["CAPA_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["CAPA_S3_SECRET_ACCESS_KEY"],
    )


def storage(url: str, prefix: str, bucket: str = BUCKET) -> dict[str, str]:
    """The settings of an app whose files lie in ``bucket`` under ``prefix`` at ``url``."""
    return {
        "CAPA_STORAGE_URL": f"s3://{bucket}/{prefix}",
        "CAPA_S3_ENDPOINT_URL": url,
        "CAPA_S3_REGION": REGION,
        **CREDENTIALS,
    }


@pytest.fixture
def prefix() -> str:
    return f"plant-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def app_config(app_config, endpoint, prefix) -> dict:
    return {**app_config, **storage(endpoint, prefix)}


def objects(url: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix``, by its path under it, with its bytes."""
    s3 = client(url)
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/"):
        for entry in page.get("Contents", []):
            answer = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
            found[entry["Key"].removeprefix(f"{prefix}/")] = answer["Body"].read()
    return found


def local_files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(str(path) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def body(response) -> bytes:
    try:
        return response.get_data()
    finally:
        response.close()


def new_report(plant) -> int:
    return ok(plant.api_qm.post("/api/v1/lab-reports", json=REPORT), 201)["id"]


# Files through the pages and the API -------------------------------------------------------------------------


def test_a_photo_filed_with_an_nc_is_an_object_read_back_through_the_page(app, plant, endpoint, prefix):
    response = plant.sup_page.post("/nc/new", data={**FILING, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    assert response.status_code == 302, errors_in(response.text)
    number = response.headers["Location"].rsplit("/", 1)[1]
    photo = detail(plant.api_qm, number)["photos"][0]
    stored_name = db.session.scalar(select(Photo.stored_name))

    assert objects(endpoint, prefix) == {stored_name: STORED_JPEG}  # at the top, as in the upload folder
    answer = plant.qm_page.get(f"/nc/{number}/photos/{photo['id']}")
    assert (answer.status_code, answer.mimetype, answer.content_length) == (200, "image/jpeg", len(STORED_JPEG))
    assert body(answer) == STORED_JPEG
    assert local_files(app) == []


def test_an_evidence_file_is_an_object_downloaded_through_the_api_and_the_page(app, plant, capa, endpoint, prefix):
    stored = ok(upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing"), 201)["items"][0]
    key = db.session.scalar(select(Attachment.key))
    assert objects(endpoint, prefix) == {f"files/{key}": PDF}

    answer = plant.api_qm.get(f"/api/v1/attachments/{stored['id']}")
    assert (answer.status_code, answer.mimetype, answer.content_length) == (200, "application/pdf", len(PDF))
    assert body(answer) == PDF
    page = plant.qm_page.get(f"/nc/{capa.number}/attachments/{stored['id']}")
    assert (page.status_code, body(page)) == (200, PDF)
    assert local_files(app) == []


def test_a_lab_reports_pdf_is_an_object_and_a_replaced_one_goes_once_committed(app, plant, endpoint, prefix):
    report = new_report(plant)
    path = f"/api/v1/lab-reports/{report}/pdf"
    assert ok(plant.api_qm.put(path, data=PDF, content_type="application/pdf"))["pdf"]["size"] == len(PDF)
    first = db.session.scalar(select(LabReport.pdf_key))
    assert objects(endpoint, prefix) == {f"files/{first}": PDF}
    assert body(plant.api_qm.get(path)) == PDF
    page = plant.qm_page.get(f"/lab-reports/{report}/pdf")
    assert (page.status_code, page.mimetype, body(page)) == (200, "application/pdf", PDF)

    # A large scan replaces it: streamed from the store piece by piece, never read whole first.
    revised = b"%PDF-1.7\n% the report scanned\n" + b"0" * (downloads.STREAM_ABOVE + 1) + b"\n%%EOF\n"
    ok(plant.api_qm.put(path, data=revised, content_type="application/pdf"))
    second = db.session.scalar(select(LabReport.pdf_key))
    assert second != first
    assert objects(endpoint, prefix) == {f"files/{second}": revised}
    answer = plant.api_qm.get(path)
    assert (answer.is_streamed, answer.content_length) == (True, len(revised))
    assert body(answer) == revised


def test_an_import_previewed_on_one_web_host_is_confirmed_on_another(app, world, client, auth, endpoint, prefix):
    auth.login("qm1")
    preview = client.post(
        "/lab-reports/import",
        data={"file": (io.BytesIO(EXAMPLE.read_bytes()), "lab-report.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, preview.text
    token = one(preview.text, 'input[name="token"]').attributes["value"]
    kept = objects(endpoint, prefix)
    assert sorted(kept) == [f"pending/imports/{world.id}/{token}.data", f"pending/imports/{world.id}/{token}.json"]
    assert kept[f"pending/imports/{world.id}/{token}.data"] == EXAMPLE.read_bytes()

    # The other host has an upload folder of its own; the store is the one they share.
    app.config["UPLOAD_FOLDER"] = app.config["UPLOAD_FOLDER"] + "-of-the-second-host"
    confirmed = client.post("/lab-reports/import/confirm", data={"token": token})
    assert confirmed.status_code == 302, confirmed.text
    assert count(LabReport) == 2
    assert objects(endpoint, prefix) == {}  # the kept file is gone once imported


# Following the transaction ------------------------------------------------------------------------------------


def test_a_file_saved_in_a_step_that_rolls_back_leaves_no_object(app, endpoint, prefix):
    with pytest.raises(RuntimeError), unit_of_work():
        key = files.save(PDF, ".pdf", field="pdf")
        photo = files.save(STORED_JPEG, ".jpg", field="photos", folder=files.PHOTOS)
        assert sorted(objects(endpoint, prefix)) == sorted([f"files/{key}", photo])
        raise RuntimeError("the step fails after storing its files")
    assert objects(endpoint, prefix) == {}


def test_a_replacement_that_rolls_back_keeps_the_object_its_record_names(app, plant, endpoint, prefix):
    report = new_report(plant)
    path = f"/api/v1/lab-reports/{report}/pdf"
    ok(plant.api_qm.put(path, data=PDF, content_type="application/pdf"))
    first = db.session.scalar(select(LabReport.pdf_key))
    with pytest.raises(RuntimeError), unit_of_work():
        files.delete_after_commit(first)
        files.save(PDF, ".pdf", field="pdf")
        raise RuntimeError("the replacement fails")
    assert objects(endpoint, prefix) == {f"files/{first}": PDF}
    assert body(plant.api_qm.get(path)) == PDF


# A store that cannot take files ------------------------------------------------------------------------------


@pytest.fixture
def stopped(app, monkeypatch):
    """A store that answered and is stopped now: its address refuses connections. One attempt per call, so that
    the test does not wait for retries."""
    monkeypatch.setattr(object_store, "ATTEMPTS", 1)
    server, url = start_server()
    server.stop()
    return url


def test_a_store_out_of_reach_refuses_each_step_with_503_naming_its_field_and_nothing_is_written(
    app, plant, capa, endpoint, prefix, stopped
):
    app.config["CAPA_S3_ENDPOINT_URL"] = stopped
    filing = plant.sup_page.post("/nc/new", data={**FILING, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    assert filing.status_code == 503
    assert errors_in(field_block(filing.text, "photos")) == [REFUSED]

    evidence = upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing")
    assert refused(evidence, 503, "storage_unavailable")["fields"] == {"file": REFUSED}

    report = new_report(plant)
    pdf = plant.api_qm.put(f"/api/v1/lab-reports/{report}/pdf", data=PDF, content_type="application/pdf")
    assert refused(pdf, 503, "storage_unavailable")["fields"] == {"pdf": REFUSED}

    assert (count(NonConformance), count(Photo), count(Attachment)) == (1, 0, 0)  # the CAPA of the fixture alone
    assert ok(plant.api_qm.get(f"/api/v1/lab-reports/{report}"))["pdf"] is None
    app.config["CAPA_S3_ENDPOINT_URL"] = endpoint
    assert objects(endpoint, prefix) == {}
    assert local_files(app) == []


def test_a_file_read_while_the_store_is_out_of_reach_answers_503(app, plant, capa, endpoint, stopped):
    stored = ok(upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing"), 201)["items"][0]
    app.config["CAPA_S3_ENDPOINT_URL"] = stopped
    answer = plant.api_qm.get(f"/api/v1/attachments/{stored['id']}")
    assert refused(answer, 503, "storage_unavailable")["fields"] == {"file": UNREADABLE}
    page = plant.qm_page.get(f"/nc/{capa.number}/attachments/{stored['id']}")
    assert page.status_code == 503
    assert UNREADABLE in page.text


def test_a_bucket_that_does_not_exist_refuses_the_step(app, plant, capa, endpoint, prefix):
    app.config["CAPA_STORAGE_URL"] = f"s3://no-such-bucket-{prefix}"
    evidence = upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing")
    assert refused(evidence, 503, "storage_unavailable")["fields"] == {"file": REFUSED}
    assert count(Attachment) == 0


def test_a_storage_url_that_is_not_s3_stops_the_start():
    for url in ("s3://", "s3://Capital", "http://bucket", "s3://bucket/../up", "s3://bucket//double"):
        with pytest.raises(ValueError, match="CAPA_STORAGE_URL"):
            files.check_settings({"CAPA_STORAGE_URL": url})
    with pytest.raises(ValueError, match="CAPA_S3_ENDPOINT_URL"):
        files.check_settings({"CAPA_STORAGE_URL": "s3://capa-files", "CAPA_S3_ENDPOINT_URL": "minio:9000"})
    with pytest.raises(ValueError, match="CAPA_S3_SECRET_ACCESS_KEY"):
        files.check_settings({"CAPA_STORAGE_URL": "s3://capa-files", "CAPA_S3_ACCESS_KEY_ID": "capa"})
    assert object_store.parse_url("s3://capa-files/plant-7/") == ("capa-files", "plant-7/")
    assert object_store.parse_url("s3://capa-files") == ("capa-files", "")


# Backups -----------------------------------------------------------------------------------------------------


def test_a_backup_copies_the_objects_and_restores_them_into_another_store(
    app, plant, capa, pristine_database, tmp_path, endpoint, prefix
):
    filed = plant.sup_page.post("/nc/new", data={**FILING, "photos": [(io.BytesIO(JPEG), "torn snap.jpg")]})
    number = filed.headers["Location"].rsplit("/", 1)[1]
    evidence = ok(upload(plant.api_qm, capa.number, (PDF, "pull tests.pdf"), purpose="closing"), 201)["items"][0]
    pending.keep("imports", plant.qm.id, b"kept for a day", "kept.csv")  # not part of a backup
    held = objects(endpoint, prefix)
    recorded = {name: data for name, data in held.items() if not name.startswith("pending/")}
    assert (len(held), len(recorded)) == (4, 2)  # the kept upload is two files

    result = backup(app, tmp_path / "backup")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(recorded)
    for name, data in recorded.items():
        assert (tmp_path / "backup" / "uploads" / name).read_bytes() == data

    elsewhere = f"restored-{uuid.uuid4().hex[:8]}"
    with instance(pristine_database, tmp_path / "restored", empty=True) as target:
        target.config.update(storage(endpoint, elsewhere))
        with target.app_context():  # the command's app, not this test's
            result = restore(target, tmp_path / "backup")
        assert result.exit_code == 0, result.output
        assert objects(endpoint, elsewhere) == recorded
        reader = login(target, plant.qm.username)
        photo = next(name for name in recorded if not name.startswith("files/"))
        record = target.test_client().get(f"/api/v1/nonconformances/{number}", headers=plant.api_qm.headers)
        photo_id = ok(record)["photos"][0]["id"]
        assert body(reader.get(f"/nc/{number}/photos/{photo_id}")) == recorded[photo]
        assert body(reader.get(f"/nc/{capa.number}/attachments/{evidence['id']}")) == PDF
