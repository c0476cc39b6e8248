"""Edges of input that must answer a clear 4xx and change nothing: parameters after the root cause, odd
versions, dates out of range, huge ids, over-long lab values, spreadsheet formulas in exports."""

import csv
import io
from types import SimpleNamespace

import pytest
from PIL import Image

from capa.accounts import service as accounts
from capa.capas import filing, lookup
from capa.capas.commands import FileNC
from capa.common.commands import parse
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.conftest import ApiClient, new_user
from tests.pages import logged_in

NCS = "/api/v1/nonconformances"


def _png() -> bytes:
    """A small real photo (the app decodes every photo it is sent)."""
    output = io.BytesIO()
    Image.new("RGB", (16, 12), (30, 120, 200)).save(output, "PNG")
    return output.getvalue()


PNG = _png()


@pytest.fixture
def world(app):
    make_world()


@pytest.fixture(scope="module")
def reader(module_app) -> SimpleNamespace:
    """``world`` built once on the module's own database, and a quality manager reading it: ``.api`` (their
    API client) and ``.browser`` (logged in), for the tests that only read."""
    with module_app.app_context():
        make_world()
        qm = new_user("quality_manager")
        api = ApiClient(module_app.test_client(), accounts.create_token(qm))
        browser = logged_in(module_app, qm)
    return SimpleNamespace(api=api, browser=browser)


def make_world() -> None:
    """The master data of ``world``, in the app context that is current."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAP", "name": "Snap Co"}))
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B1",
                "style": "RMP",
                "line": "L1",
                "lots": [{"number": "SN1", "kind": "trim", "supplier": "SNAP"}],
            },
        )
    )


def as_user(client, user) -> ApiClient:
    return ApiClient(client, accounts.create_token(user))


def file(api_client, **fields) -> dict:
    body = {
        "title": '=HYPERLINK("http://evil","x")',
        "defect_type": "loose_button",
        "source": "inline",
        "line": "L1",
        "batch": "B1",
        **fields,
    }
    response = api_client.post(NCS, json=body)
    assert response.status_code == 201, response.text
    return response.json


def test_linked_parameters_cannot_change_once_the_root_cause_is_submitted(world, client, make_user):
    reporter = as_user(client, make_user("supervisor"))
    qm = as_user(client, make_user("quality_manager"))
    number = file(reporter)["number"]
    assert qm.post(f"{NCS}/{number}/containment", json={"description": "Held.", "hold": ["B1"]}).status_code == 200
    assert reporter.patch(f"{NCS}/{number}", json={"parameters": ["CN-ATT-GT6"]}).status_code == 200
    root_cause = {"whys": ["Loose"], "category": "machine", "statement": "Density too low."}
    assert reporter.post(f"{NCS}/{number}/root-cause", json=root_cause).status_code == 200
    before = qm.get(f"{NCS}/{number}").json
    refused = reporter.patch(f"{NCS}/{number}", json={"parameters": []})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"parameters"}
    assert qm.get(f"{NCS}/{number}").json == before


def test_an_admin_files_with_a_photo(world, client, auth):
    auth.as_role("admin")
    data = {
        "title": "Stain",
        "defect_type": "stain",
        "source": "inline",
        "line": "L1",
        "batch": "B1",
        "severity": "minor",
        "photos": [(io.BytesIO(PNG), "stain.png")],
    }
    response = client.post("/nc/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert [photo.original_name for photo in lookup.get_nc("NC-2026-00001").photos] == ["stain.png"]


@pytest.mark.parametrize("version", ["abc", "²", "0", "-1"])
def test_a_malformed_version_on_a_page_is_refused_and_changes_nothing(world, client, auth, make_user, version):
    reporter = make_user("supervisor", "wang")
    number = filing.file_nc(
        parse(
            FileNC, {"title": "Loose", "defect_type": "loose_button", "source": "inline", "line": "L1", "batch": "B1"}
        ),
        reporter,
    ).number
    auth.login("wang")
    response = client.post(f"/nc/{number}/edit", data={"version": version, "title": "Changed", "severity": "major"})
    assert response.status_code == 400
    nc = lookup.get_nc(number)
    assert (nc.title, nc.version) == ("Loose", 1)


@pytest.mark.parametrize(
    "query",
    ["reported_to=9999-12-31", "reported_from=0001-01-01", "reported_from=2026-02-30", "page=0", "per_page=100000"],
)
def test_list_filters_out_of_range_are_400(reader, query):
    response = reader.api.get(f"{NCS}?{query}")
    assert response.status_code == 400
    assert response.json["error"]["fields"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "yesterday"])
def test_a_report_time_out_of_range_is_400_and_files_nothing(world, api, moment):
    qm = api("quality_manager")
    response = qm.post(
        NCS, json={"title": "Old", "defect_type": "stain", "source": "inline", "line": "L1", "reported_at": moment}
    )
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"reported_at"}
    assert qm.get(NCS).json["total"] == 0


@pytest.mark.parametrize("action_id", [3_000_000_000, 10**20])
def test_an_action_id_out_of_range_is_404(world, api, action_id):
    response = api("quality_manager").post(f"/api/v1/actions/{action_id}/complete", json={"evidence": "x"})
    assert response.status_code == 404


def test_an_over_long_lab_value_is_400_and_stores_nothing(world, api):
    qm = api("quality_manager")
    body = {
        "parameter": "CN-FORM",
        "value": "0." + "0" * 150 + "1",
        "lab": "SGS",
        "report_number": "R1",
        "tested_at": "2026-11-20",
    }
    response = qm.post("/api/v1/batches/B1/results", json=body)
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"value"}
    assert qm.get("/api/v1/batches/B1/results").json["items"] == []


def test_exports_write_formulas_as_text(world, client, auth, make_user):
    file(as_user(client, make_user("supervisor")))
    auth.as_role("quality_manager")
    rows = list(csv.reader(io.StringIO(client.get("/nc?format=csv").text)))
    title = rows[1][rows[0].index("Title")]
    assert title.startswith("'=HYPERLINK")


def test_every_api_error_carries_fields(world, api):
    for response in (
        api(None).get(NCS),
        api("quality_manager").get(f"{NCS}/NC-1999-00001"),
        api("quality_manager").get("/api/v1/nope"),
    ):
        assert set(response.json["error"]) >= {"code", "message", "fields"}


@pytest.mark.parametrize("query", ["endpoint=x", "_method=POST", "status=closed&endpoint=x&page=2", "q=%00"])
def test_unknown_or_odd_list_keys_answer_a_refusal_not_a_failure(reader, query):
    """The list page shows what is wrong with the filters (400), never fails (500)."""
    response = reader.browser.get(f"/nc?{query}")
    assert response.status_code == 400
    if "%00" in query:
        assert "Contains a character that is not allowed." in response.text
    else:
        assert "Unknown field." in response.text
        # The unknown key is not carried into the pager's or the export's links.
        assert "endpoint=x" not in response.text and "_method=" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/lines/L%001",
        "/api/v1/suppliers/SN%00AP",
        "/api/v1/styles/%00",
        "/api/v1/batches/B%001",
        "/api/v1/parameters/CN-%00",
        f"{NCS}/NC-%00",
    ],
)
def test_a_nul_byte_in_a_code_is_simply_not_found(world, client, make_user, path):
    """PostgreSQL refuses a NUL byte in text: the lookup must answer 404 before asking it."""
    response = as_user(client, make_user("quality_manager")).get(path)
    assert response.status_code == 404, response.text
    assert response.json["error"]["code"] == "not_found"


def test_a_nul_byte_in_a_filed_reference_is_a_field_error(world, client, make_user):
    response = as_user(client, make_user("quality_manager")).post(
        NCS, json={"title": "x", "defect_type": "loose\x00button", "source": "inline", "line": "L\x001"}
    )
    assert response.status_code == 400, response.text
    assert set(response.json["error"]["fields"]) >= {"defect_type", "line"}
